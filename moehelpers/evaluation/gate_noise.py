"""Gate-noise sensitivity (MVP-7.1): how models that use a label degrade when it is noisy.

Each model is a function of the gate value handed to it at prediction time (hard routing by
bins of ``m̃``, or a conditional model using ``m̃`` as a continuous term); the models are
fitted once, on the true labels. :func:`gate_noise_curve` feeds every model the same noisy
values ``m̃ = m + σ·εᵣ`` with ``εᵣ ~ N(0, 1)`` drawn once per repeat ``r`` from
``seed + r`` (common random numbers: at a given repeat every σ and every model sees the same
ε, so the curves are paired). Scores are on the same test stars throughout:

* R² per (model, σ, repeat), and their spread across repeats (the band);
* the repeat-mean R² — equal to ``1 − Σᵢ meanᵣ(eᵢᵣ²) / SST`` — with a bootstrap CI over the
  test stars (every repeat of a resampled star goes with it);
* retention ``ρ(σ) = (R̄²(σ) − R²_global) / (R²(σ = 0) − R²_global)``, the share of its own
  noiseless gain a model keeps, with the same bootstrap (NaN when the noiseless gain is below
  ``min_gain``, as in :func:`moehelpers.metrics.retention`);
* paired differences of repeat-mean R² between models, with the same bootstrap.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from moehelpers.errors import InvalidParameterError, ShapeMismatchError
from moehelpers.metrics import bootstrap_indices, percentile_ci

__all__ = ["GateNoiseCurve", "GateNoiseModels", "curve_metrics", "decision", "fit_models",
           "gate_noise_curve", "noisy_gate", "predicted_gate_retention"]

Predictor = Callable[[np.ndarray], np.ndarray]


def noisy_gate(m: Any, sigma: float, seed: int, clip: tuple[float, float] | None = None
               ) -> np.ndarray:
    """``m + σ·ε`` with ``ε ~ N(0, 1)`` from ``numpy.random.default_rng(seed)``, optionally
    clipped to ``clip = (low, high)``. The same seed gives the same ε for every σ."""
    m = np.asarray(m, dtype=np.float64)
    if not (np.isfinite(sigma) and sigma >= 0):
        raise InvalidParameterError(f"gate noise σ must be finite and ≥ 0; got {sigma!r}.")
    out = m + sigma * np.random.default_rng(seed).standard_normal(m.shape[0])
    return out if clip is None else np.clip(out, *clip)


@dataclass(frozen=True)
class GateNoiseCurve:
    """Result of :func:`gate_noise_curve`.

    Attributes
    ----------
    runs : DataFrame
        One row per (model, sigma, repeat): seed, r2.
    summary : DataFrame
        One row per (model, sigma): r2 (repeat mean), r2_sd, r2_min, r2_max (across repeats),
        r2_lo, r2_hi (bootstrap CI over stars), retention, retention_lo, retention_hi.
    differences : DataFrame
        One row per (model_a, model_b, sigma) pair asked for: delta_r2 = R̄²_a − R̄²_b, CI.
    r2_global : float
    r2_clean : dict
        R² of each model at σ = 0 (the denominator of its retention).
    seeds : list of int
    n, n_boot, boot_seed : int
    """

    runs: pd.DataFrame
    summary: pd.DataFrame
    differences: pd.DataFrame
    r2_global: float
    r2_clean: dict[str, float]
    seeds: list[int]
    n: int
    n_boot: int
    boot_seed: int
    predictions: dict[tuple[str, float], np.ndarray] = field(repr=False)

    def at(self, model: str, sigma: float) -> pd.Series:
        """The summary row of ``model`` at ``sigma``."""
        rows = self.summary[(self.summary["model"] == model)
                            & np.isclose(self.summary["sigma"], sigma)]
        if rows.empty:
            raise InvalidParameterError(f"no summary for model {model!r} at σ={sigma!r}; "
                                        f"models {sorted(set(self.summary['model']))}.")
        return rows.iloc[0]

    def difference(self, model_a: str, model_b: str, sigma: float) -> pd.Series:
        """The differences row of ``(model_a, model_b)`` at ``sigma``."""
        d = self.differences
        rows = d[(d["model_a"] == model_a) & (d["model_b"] == model_b)
                 & np.isclose(d["sigma"], sigma)]
        if rows.empty:
            raise InvalidParameterError(f"pair ({model_a!r}, {model_b!r}) at σ={sigma!r} was "
                                        "not compared; list it in gate_noise_curve(compare=).")
        return rows.iloc[0]


def _r2_rows(y: np.ndarray, err2: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """R² of the mean-over-repeats squared errors ``err2`` (n,) for each resample row."""
    yb = y[idx]
    sst = ((yb - yb.mean(axis=1, keepdims=True)) ** 2).sum(axis=1)
    return 1.0 - err2[idx].sum(axis=1) / sst


def gate_noise_curve(y_true: Any, predict: Mapping[str, Predictor], m: Any,
                     sigmas: Sequence[float], *, pred_global: Any, n_repeats: int = 10,
                     seed: int = 0, clip: tuple[float, float] | None = None,
                     compare: Sequence[tuple[str, str]] = (), n_boot: int = 1000,
                     boot_seed: int = 0, ci: float = 0.95, min_gain: float = 1e-3
                     ) -> GateNoiseCurve:
    """R² and retention of every model as the gate value gets noisier.

    Parameters
    ----------
    y_true : array-like of shape (n,)
        Targets of the test stars.
    predict : mapping name → callable
        ``f(m̃) → predictions (n,)`` for the same test stars (the model and its spectra are
        bound inside the callable), e.g. ``lambda v: moe.predict(X, lab.assign(M_H=v))``.
    m : array-like of shape (n,)
        True gate values (e.g. [M/H] in dex).
    sigmas : sequence of float ≥ 0
        Standard deviations of the injected noise, in the units of ``m``.
    pred_global : array-like of shape (n,)
        Predictions of the model that ignores the gate (the zero of retention).
    n_repeats : int, default=10
        Noise draws per σ; repeat ``r`` uses seed ``seed + r`` (recorded in ``seeds``).
    seed : int, default=0
    clip : (float, float), optional
        Range ``m̃`` is clipped to before it reaches any model (e.g. the training range).
    compare : sequence of (str, str)
        Model pairs whose paired R² difference is reported at every σ.
    n_boot, boot_seed, ci : bootstrap over the test stars (same resamples everywhere).
    min_gain : float, default=1e-3
        Retention is NaN where a model's noiseless gain over the global model is smaller.

    Returns
    -------
    GateNoiseCurve
    """
    y = np.asarray(y_true, dtype=np.float64)
    m = np.asarray(m, dtype=np.float64)
    g = np.asarray(pred_global, dtype=np.float64)
    if m.shape != y.shape or g.shape != y.shape or y.ndim != 1:
        raise ShapeMismatchError(f"y_true {y.shape}, m {m.shape} and pred_global {g.shape} "
                                 "must be 1-D with one value per test star.")
    if not predict:
        raise InvalidParameterError("predict is empty; give at least one model.")
    if isinstance(n_repeats, bool) or int(n_repeats) < 1:
        raise InvalidParameterError(f"n_repeats must be ≥ 1; got {n_repeats!r}.")
    for a, b in compare:
        if a not in predict or b not in predict:
            raise InvalidParameterError(f"compare pair ({a!r}, {b!r}) names a model not in "
                                        f"predict ({sorted(predict)}).")
    sig = [float(s) for s in sigmas]
    seeds = [int(seed) + r for r in range(int(n_repeats))]
    idx = np.stack(list(bootstrap_indices(y.size, n_boot, boot_seed)))
    ss_tot = float(((y - y.mean()) ** 2).sum())
    r2_global = 1.0 - float(((y - g) ** 2).sum()) / ss_tot
    boot_global = _r2_rows(y, (y - g) ** 2, idx)
    clean_m = m if clip is None else np.clip(m, *clip)
    runs, rows, preds, boot = [], [], {}, {}
    r2_clean, boot_clean = {}, {}
    for name, f in predict.items():
        p0 = _checked(f(clean_m), y.size, name)
        r2_clean[name] = 1.0 - float(((y - p0) ** 2).sum()) / ss_tot
        boot_clean[name] = _r2_rows(y, (y - p0) ** 2, idx)
        for s in sig:
            p = np.stack([_checked(f(noisy_gate(m, s, sd, clip)), y.size, name)
                          for sd in seeds])
            err2 = (y[None, :] - p) ** 2
            r2_rep = 1.0 - err2.sum(axis=1) / ss_tot
            runs += [{"model": name, "sigma": s, "repeat": r, "seed": sd, "r2": float(v)}
                     for r, (sd, v) in enumerate(zip(seeds, r2_rep, strict=True))]
            preds[(name, s)] = p
            boot[(name, s)] = _r2_rows(y, err2.mean(axis=0), idx)
            den, den_b = r2_clean[name] - r2_global, boot_clean[name] - boot_global
            r2_mean = float(r2_rep.mean())
            with np.errstate(divide="ignore", invalid="ignore"):
                rho = (r2_mean - r2_global) / den if abs(den) >= min_gain else np.nan
                rho_b = np.where(np.abs(den_b) >= min_gain,
                                 (boot[(name, s)] - boot_global) / den_b, np.nan)
            rows.append({
                "model": name, "sigma": s, "r2": r2_mean, "r2_sd": float(r2_rep.std(ddof=1))
                if r2_rep.size > 1 else 0.0, "r2_min": float(r2_rep.min()),
                "r2_max": float(r2_rep.max()),
                **dict(zip(("r2_lo", "r2_hi"), percentile_ci(boot[(name, s)], ci),
                           strict=True)),
                "retention": float(rho),
                **dict(zip(("retention_lo", "retention_hi"), percentile_ci(rho_b, ci),
                           strict=True))})
    diffs = []
    for a, b in compare:
        for s in sig:
            d_b = boot[(a, s)] - boot[(b, s)]
            ra = float(np.mean([r["r2"] for r in runs if r["model"] == a and r["sigma"] == s]))
            rb = float(np.mean([r["r2"] for r in runs if r["model"] == b and r["sigma"] == s]))
            lo, hi = percentile_ci(d_b, ci)
            diffs.append({"model_a": a, "model_b": b, "sigma": s, "delta_r2": ra - rb,
                          "delta_r2_lo": lo, "delta_r2_hi": hi})
    return GateNoiseCurve(
        runs=pd.DataFrame(runs), summary=pd.DataFrame(rows),
        differences=pd.DataFrame(diffs, columns=["model_a", "model_b", "sigma", "delta_r2",
                                                 "delta_r2_lo", "delta_r2_hi"]),
        r2_global=r2_global, r2_clean=r2_clean, seeds=seeds, n=int(y.size), n_boot=n_boot,
        boot_seed=boot_seed, predictions=preds)


def _checked(p: Any, n: int, name: str) -> np.ndarray:
    p = np.asarray(p, dtype=np.float64)
    if p.shape != (n,):
        raise ShapeMismatchError(f"model {name!r} returned shape {p.shape}; expected ({n},).")
    if not np.isfinite(p).all():
        raise InvalidParameterError(f"model {name!r} returned NaN/inf predictions; give it a "
                                    "fallback for stars it cannot serve.")
    return p


# ------------------------------------------------------------------ the MVP-7.1 experiment
@dataclass
class GateNoiseModels:
    """The models of MVP-7.1, fitted once on the true [M/H] (see :func:`fit_models`).

    ``hard`` maps a name to a :class:`~moehelpers.models.piecewise.PiecewiseRidge` (routing by
    bins of the gate value); ``conditional`` is the ModulatedRidge on ``[x, m·x, …]``;
    ``mh_model`` predicts [M/H] from the flux (the real gate); ``clip`` is the training range
    of [M/H] that noisy gate values are clipped to.
    """

    hard: dict[str, Any]
    conditional: Any
    conditional_name: str
    mh_model: Any
    clip: tuple[float, float]

    def predictors(self, X: Any, labels: pd.DataFrame) -> dict[str, Predictor]:
        """``{name: f(m̃) → ŷ}`` on the spectra ``X`` with the gate value replaced by ``m̃``."""
        out: dict[str, Predictor] = {
            name: (lambda v, mdl=mdl: mdl.predict(X, labels.assign(M_H=v)))
            for name, mdl in self.hard.items()}
        out[self.conditional_name] = lambda v: self.conditional.predict(X, {"m": v})
        return out


def fit_models(X: Mapping[str, Any], y: Mapping[str, Any], labels: Mapping[str, pd.DataFrame],
               alphas: Sequence[float], *, cond_order: int = 1, min_bin_train: int = 100,
               min_bin_val: int = 20) -> GateNoiseModels:
    """Fit the 9-bin and [M/H]-only hard MoE, the conditional Ridge and the [M/H] predictor.

    One pass of statistics over the training flux: the global Gram is shared by the [M/H]
    predictor, both MoE and the conditional model (whose α walk starts at the global α).
    α of every model is chosen on the validation split.
    """
    from moehelpers.engine.store import shared_stats
    from moehelpers.gates import pseudo
    from moehelpers.models import bins as gating
    from moehelpers.models.modulated import ModulatedRidge, ModulatorScaling, modulated_stats
    from moehelpers.models.piecewise import PiecewiseRidge, fit_together

    mh = {s: labels[s]["M_H"].to_numpy() for s in ("train", "val")}
    stats = shared_stats(X["train"], y["train"])  # the Gram notebooks 06 and 07 form too
    mh_model = pseudo.label_predictor(stats, X["train"], mh["train"], X["val"], mh["val"],
                                      alphas)
    hard = {name: PiecewiseRidge(scheme, alphas, min_bin_train=min_bin_train,
                                 min_bin_val=min_bin_val)
            for name, scheme in (("hard MoE, 9 bins", gating.physical_3x3()),
                                 ("hard MoE, 3 [M/H] bins", gating.mh_only()))}
    fit_together(list(hard.values()), X["train"], y["train"], labels["train"], X["val"],
                 y["val"], labels["val"], global_stats=stats)
    cond = ModulatedRidge([f"m^{k}" for k in range(1, cond_order + 1)], alphas,
                          alpha_search="walk",
                          alpha_start=hard["hard MoE, 9 bins"].global_.alpha_)
    z_train = {"m": mh["train"]}
    scaling = ModulatorScaling.fit(z_train)
    gram = modulated_stats(X["train"], y["train"], scaling.transform(z_train),
                           cond.required_monomials(scaling.names), base=stats)
    cond.fit_stats(gram, scaling, X["val"], y["val"], {"m": mh["val"]},
                   train=(X["train"], y["train"], z_train))
    clip = (float(mh["train"].min()), float(mh["train"].max()))
    return GateNoiseModels(hard, cond, f"conditional Ridge, order {cond_order}", mh_model,
                           clip)


def predicted_gate_retention(y: Any, predict: Mapping[str, Predictor], m_hat: Any,
                             m_true: Any, pred_global: Any, clip: tuple[float, float], *,
                             n_boot: int, seed: int) -> pd.DataFrame:
    """R² and retention of each model routed by a predicted gate value ``m_hat``.

    Retention is of each model's own noiseless gain (gate = true ``m``, clipped as ``m_hat``)
    over ``pred_global``, with its paired bootstrap interval (:func:`moehelpers.metrics.
    retention`).
    """
    from moehelpers.metrics import retention

    rows = []
    for name, f in predict.items():
        rr = retention(y, f(m_hat), pred_global, f(np.clip(m_true, *clip)), n_boot=n_boot,
                       seed=seed)
        rows.append({"model": name, "r2": rr.r2_gate, "retention": rr.rho,
                     "retention_lo": rr.ci_low, "retention_hi": rr.ci_high})
    return pd.DataFrame(rows)


def decision(passed: Mapping[str, bool | None], keep_low: float) -> str:
    """The document's MVP-7.1 decision from the verdicts (stop-loss, switch or not)."""
    if passed.get("stop_loss_both_collapse"):
        return ("stop-loss: both models collapse under gate noise — the gate itself is not "
                "reliable enough; a latent gate learned from the spectra (H-A2) is needed")
    if passed.get("H-A1_conditional_keeps") and passed.get("H-A1_hard_collapses"):
        return ("switch to conditioning: the conditional model keeps its gain while hard "
                "routing collapses (H-A1 supported)")
    if passed.get("H-A1_conditional_keeps"):
        return ("no switch forced: the conditional model keeps its gain, but the hard MoE "
                "does not collapse either at this σ (H-A1 not supported as stated)")
    return ("no switch: the conditional model does not keep ≥ "
            f"{keep_low:g} of its gain at this σ (H-A1 not supported)")


def curve_metrics(curve: GateNoiseCurve, keys: Mapping[str, str], real: pd.DataFrame
                  ) -> dict[str, Any]:
    """Per-model series of the curve (``r2_<key>``, ``retention_<key>``, …), clean R² and the
    predicted-gate retention, named by the short ``keys`` of the models."""
    s = curve.summary
    by_model = {name: s[s["model"] == name] for name in keys}
    return {"sigmas": sorted(s["sigma"].unique().tolist()), "r2_global": curve.r2_global,
            **{f"r2_clean_{keys[n]}": curve.r2_clean[n] for n in keys},
            **{f"{k}_{keys[n]}": df[k].tolist() for n, df in by_model.items()
               for k in ("r2", "r2_sd", "r2_min", "r2_max", "retention", "retention_lo",
                         "retention_hi")},
            **{f"real_retention_{keys[n]}": float(v) for n, v in
               zip(real["model"], real["retention"], strict=True)}}
