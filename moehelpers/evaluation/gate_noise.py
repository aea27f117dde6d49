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

__all__ = ["GateNoiseCurve", "gate_noise_curve", "noisy_gate"]

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
