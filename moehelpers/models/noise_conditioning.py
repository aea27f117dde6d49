"""Continuous noise conditioning (MVP-7.3): one Ridge on ``[x, n·x, n²·x]`` over all levels.

:class:`NoiseConditionedRidge` extends :class:`~moehelpers.models.noise_experts.NoiseExperts`
(one expert per noise level + one mixed model) with conditional Ridge models whose
coefficients vary with the noise level ``n``: ``ŷ = b + w₀ᵀx + n w₁ᵀx (+ n² w₂ᵀx)``, trained
on the training spectra of all levels pooled. Because ``n`` is constant within a level, the
moment Grams ``Σ nᵏ x xᵀ`` are exact weighted sums of the per-level Grams that the experts
already need: the conditional models cost no extra pass over the data, and the wide design
``[x, n·x, n²·x]`` is never built. α of every model is chosen on validation spectra
(per level for experts, pooled with the true ``n`` for mixed and conditional models).

A deployed model does not know ``n``: :class:`~moehelpers.data.snr.NoiseLevelEstimator`
(fitted here on noisy training spectra, calibrated on validation) estimates it from the
noisy flux alone, and :func:`score_levels` scores the conditional models with the true and
with the estimated ``n`` on the same test stars as the experts and the mixed model.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.utils.validation import check_is_fitted

from moehelpers.data.snr import NoiseLevelEstimator
from moehelpers.data.splits import Splits, noisy_splits
from moehelpers.engine.ridge import DEFAULT_ALPHAS, RidgeStats
from moehelpers.engine.store import SharedRows, fit_from_stats
from moehelpers.errors import InvalidParameterError
from moehelpers.metrics import paired_bootstrap, percentile_ci
from moehelpers.models.conditional import ConditionalRidge
from moehelpers.models.noise_experts import DEFAULT_LEVELS, NoiseExperts, check_levels

__all__ = ["LevelScores", "NoiseConditionedRidge", "dr2_columns", "model_key", "n_hat_table",
           "scaled_stats", "score_levels"]


def scaled_stats(stats: RidgeStats, c: float) -> RidgeStats:
    """``c`` times every sum of ``stats`` (statistics of the same rows weighted by ``c``)."""
    parts = (c * stats.n, c * stats.sum_u, c * stats.sum_y, c * stats._upper,
             c * stats.xty, c * stats.sum_yy)
    return RidgeStats._from_parts(stats._shift0().copy(), parts)


class NoiseConditionedRidge(NoiseExperts):
    """Experts per noise level, the mixed model, and Ridge conditioned on the noise level.

    Parameters
    ----------
    levels, alphas, seed, clip, method, chunk_size
        As in :class:`~moehelpers.models.noise_experts.NoiseExperts`.
    orders : sequence of {1, 2}, default=(1, 2)
        Conditional orders: 1 → ``[x, n·x]``, 2 → ``[x, n·x, n²·x]``.
    alpha_search : {"grid", "walk"}, default="walk"
        α search of the conditional models (see
        :class:`~moehelpers.models.conditional.ConditionalRidge`).
    estimator : NoiseLevelEstimator or None, default=None
        Estimator of ``n`` from the flux, fitted on the first ``estimator_rows`` noisy
        training spectra of every level (validation spectra of every level for α and
        calibration). ``None`` skips it.
    estimator_rows : int, default=2000
        Training spectra per level for the estimator.

    Attributes
    ----------
    conditional_ : dict of int → ConditionalRidge
        One model per order (``n`` standardised over the pooled training rows).
    estimator_ : NoiseLevelEstimator or None
    level_stats_ : list of RidgeStats
        Training statistics per level (kept for further models, e.g. other orders).
    """

    def __init__(self, levels: Sequence[float] = DEFAULT_LEVELS,
                 alphas: float | Sequence[float] = DEFAULT_ALPHAS, *, seed: int = 42,
                 clip: bool = False, method: str = "auto", chunk_size: int | None = None,
                 orders: Sequence[int] = (1, 2), alpha_search: str = "walk",
                 estimator: NoiseLevelEstimator | None = None,
                 estimator_rows: int = 2000) -> None:
        super().__init__(levels, alphas, seed=seed, clip=clip, method=method,
                         chunk_size=chunk_size)
        self.orders = orders
        self.alpha_search = alpha_search
        self.estimator = estimator
        self.estimator_rows = estimator_rows

    def _check_orders(self) -> list[int]:
        orders = sorted({int(o) for o in self.orders})
        if not orders or any(o not in (1, 2) for o in orders):
            raise InvalidParameterError(f"orders must be a non-empty subset of (1, 2); got "
                                        f"{self.orders!r}.")
        return orders

    def fit(self, splits: Splits) -> NoiseConditionedRidge:
        """Fit experts, mixed, conditional models (and the estimator) on ``splits``."""
        levels = check_levels(self.levels)
        orders = self._check_orders()
        if levels.size < 2:
            raise InvalidParameterError("continuous noise conditioning needs at least two "
                                        f"training levels; got {levels.tolist()}.")
        train, y_train, y_val = splits.train, splits.train.y, splits.val.y
        n_val = len(splits.val)
        p, chunk, shift = self._layout(splits)
        x_val = np.empty((levels.size * n_val, p), dtype=np.float32)
        rows = min(int(self.estimator_rows), len(train))
        feats: list[np.ndarray] = []
        feats_val: list[np.ndarray] = []
        experts, level_stats = [], []
        # with fewer pooled rows than features the conditional models solve their dual
        # systems from the rows (ConditionalRidge solver="auto"): keep them only then
        n_pooled = levels.size * len(train)
        x_pooled = (np.empty((n_pooled, p), dtype=np.float32)
                    if n_pooled < (max(orders) + 1) * p else None)
        for k, level in enumerate(levels):
            noisy = noisy_splits(splits, level, self.seed, which=("train", "val"),
                                 clip=self.clip)
            if self.estimator is not None:
                feats.append(self.estimator.features(noisy["train"][:rows]))
                feats_val.append(self.estimator.features(noisy["val"]))
            x_train = noisy.pop("train")
            if x_pooled is not None:
                x_pooled[k * len(train):(k + 1) * len(train)] = x_train
            # through the active statistics store: a rerun reads every level's Gram
            stats = SharedRows(x_train, y_train).stats(chunk_size=chunk, shift=shift)
            x_val[k * n_val:(k + 1) * n_val] = noisy["val"]
            experts.append(fit_from_stats(self._ridge(), stats, noisy["val"], y_val,
                                          train=(x_train, y_train)))
            del x_train
            level_stats.append(stats)
            del noisy
        y_val_all = np.tile(y_val, levels.size)
        n_val_all = np.repeat(levels, n_val)
        pooled_rows = None if x_pooled is None else (
            x_pooled, np.tile(y_train, levels.size), np.repeat(levels, len(train)))
        if pooled_rows is not None and n_pooled < p:  # its dual system: no pooled Gram
            self.mixed_ = self._ridge().fit(*pooled_rows[:2], x_val, y_val_all)
        else:
            self.mixed_ = fit_from_stats(self._ridge(), sum(level_stats), x_val, y_val_all)

        def conditional(o: int) -> ConditionalRidge:
            return ConditionalRidge(o, self.alphas, condition="noise_level", method=self.method,
                                    alpha_search=self.alpha_search)

        if pooled_rows is not None and n_pooled < (orders[0] + 1) * p:
            # every order solves its dual system from the rows: no moment Grams needed
            self.conditional_ = {o: conditional(o).fit(*pooled_rows, x_val, y_val_all,
                                                       n_val_all) for o in orders}
        else:
            # n is constant within a level: Σ zᵏ x xᵀ = Σ_levels z_lᵏ G_l (equal rows per
            # level)
            mean, sd = float(levels.mean()), float(levels.std())
            z = (levels - mean) / sd
            moments = [sum(scaled_stats(s, float(zl**k)) for s, zl in zip(level_stats, z,
                                                                         strict=True))
                       for k in range(2 * max(orders) + 1)]
            self.conditional_ = {
                o: conditional(o).fit_moments(moments, mean, sd, x_val, y_val_all, n_val_all,
                                              train=pooled_rows)
                for o in orders}
            del moments
        del x_pooled, pooled_rows
        self.estimator_ = None
        if self.estimator is not None:
            from sklearn.base import clone

            self.estimator_ = clone(self.estimator).fit_levels(feats, feats_val, levels)
        self.levels_ = levels
        self.experts_ = experts
        self.level_stats_ = level_stats
        self.expert_alphas_ = np.array([e.alpha_ for e in experts])
        self.n_features_in_ = p
        return self

    def predict_conditional(self, X: np.ndarray, noise_level: np.ndarray | float,
                            order: int) -> np.ndarray:
        """Prediction of the order-``order`` conditional model given ``n`` per row."""
        check_is_fitted(self, "conditional_")
        if order not in self.conditional_:
            raise InvalidParameterError(f"no conditional model of order {order!r}; fitted: "
                                        f"{sorted(self.conditional_)}.")
        n = np.broadcast_to(np.asarray(noise_level, dtype=np.float64), (np.shape(X)[0],))
        return self.conditional_[order].predict(X, n)

    def val_r2_by_order(self) -> dict[int, float]:
        """Best pooled validation R² (true ``n``) of every conditional order, ``{order: R²}``
        (NaN scores of skipped α ignored)."""
        check_is_fitted(self, "conditional_")
        return {o: float(np.nanmax(c.val_scores_)) for o, c in self.conditional_.items()}


@dataclass(frozen=True)
class LevelScores:
    """Every model at every test level, on the same test stars.

    Attributes
    ----------
    table : DataFrame
        One row per (test level, model): ``noise_level, model, r2, r2_lo, r2_hi,
        d_expert, d_expert_lo, d_expert_hi, d_mixed, d_mixed_lo, d_mixed_hi, n``
        (``d_*``: R²(model) − R²(expert at that level / mixed), paired bootstrap).
    means : DataFrame
        One row per model: mean over levels of R² and of both differences, with paired CIs
        (every level resampled with the same star indices).
    n_hat : dict of float → ndarray
        Estimated noise level of every test star at every test level (if estimated).
    preds : dict of (float, str) → ndarray
    y : ndarray
    """

    table: pd.DataFrame
    means: pd.DataFrame
    n_hat: dict = field(repr=False)
    preds: dict = field(repr=False)
    y: np.ndarray = field(repr=False)

    def n_hat_table(self) -> pd.DataFrame:
        """Mean, median, standard deviation and bias (mean − level) of n̂ at every level.

        Returns
        -------
        DataFrame
            One row per level: ``noise_level, n_hat_mean, n_hat_median, n_hat_sd, bias``
            (empty when n̂ was not estimated).
        """
        return n_hat_table(self.n_hat)

    def model_metrics(self) -> dict[str, float | list[float]]:
        """Per-model record metrics, named by :func:`model_key`.

        Returns
        -------
        dict
            ``r2_<key>``: R² at every level (level order), then for every model
            ``mean_r2_<key>``, ``dR2_vs_expert_<key>``, ``dR2_vs_mixed_<key>``: the means
            over levels.
        """
        tab, mrow = self.table, self.means.set_index("model")
        cols = {"mean_r2": "mean_r2", "dR2_vs_expert": "d_expert", "dR2_vs_mixed": "d_mixed"}
        return {**{f"r2_{model_key(name)}": tab.loc[tab["model"] == name, "r2"].tolist()
                   for name in dict.fromkeys(tab["model"])},
                **{f"{col}_{model_key(name)}": float(mrow.loc[name, src])
                   for name in mrow.index for col, src in cols.items()}}


#: Summaries of n̂ per level that :func:`n_hat_table` can compute.
N_HAT_STATS = {"n_hat_mean": np.mean, "n_hat_median": np.median, "n_hat_sd": np.std,
               "bias": None}


def n_hat_table(n_hat: dict[float, np.ndarray],
                stats: Sequence[str] = ("n_hat_mean", "n_hat_median", "n_hat_sd", "bias")
                ) -> pd.DataFrame:
    """Summary of the estimated noise level n̂ of the test stars at every true level.

    Parameters
    ----------
    n_hat : dict of float → ndarray
        True level → n̂ of every test star.
    stats : sequence of str
        Columns, any of ``n_hat_mean``, ``n_hat_median``, ``n_hat_sd`` (population standard
        deviation) and ``bias`` (mean(n̂) − level).

    Returns
    -------
    DataFrame
        One row per level: ``noise_level`` and the ``stats`` (empty without levels).
    """
    bad = [s for s in stats if s not in N_HAT_STATS]
    if bad:
        raise InvalidParameterError(f"unknown n̂ statistics {bad}; known: {list(N_HAT_STATS)}.")
    return pd.DataFrame([
        {"noise_level": lv, **{s: float(np.mean(v) - lv) if s == "bias"
                               else float(N_HAT_STATS[s](v)) for s in stats}}
        for lv, v in n_hat.items()])


def dr2_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with the difference columns named for display: ``d_expert…`` →
    ``dR2_vs_expert…``, ``d_mixed…`` → ``dR2_vs_mixed…`` (every ``d_*`` column)."""
    return frame.rename(columns=lambda c: "dR2_vs_" + c[2:] if c.startswith("d_") else c)


def model_key(name: str) -> str:
    """Record key of a model name (no spaces, commas, hyphens or parentheses):
    ``cond1 (true n)`` → ``cond1_true``, ``MoE-2 (n̂)`` → ``MoE2_hat``,
    ``conditional m,n (n̂)`` → ``conditional_mn_hat``."""
    return (name.replace(" (true n)", "_true").replace(" (n̂)", "_hat").replace("m,n", "mn")
            .replace(" ", "_").replace("-", ""))


def score_levels(model: NoiseConditionedRidge, splits: Splits, *, n_boot: int = 1000,
                 seed: int = 0, ci: float = 0.95) -> LevelScores:
    """Score experts, mixed and conditional models (true and estimated ``n``) per level.

    The test split is noised at each training level with the model's seed (the frozen
    realisation every notebook uses).
    """
    check_is_fitted(model, "conditional_")
    y = splits.test.y
    rows, preds, n_hat, dists = [], {}, {}, {}
    for k, level in enumerate(model.levels_):
        x = noisy_splits(splits, level, model.seed, which=("test",), clip=model.clip)["test"]
        p = {"expert": model.experts_[k].predict(x), "mixed": model.mixed_.predict(x)}
        for o in model.conditional_:
            p[f"cond{o} (true n)"] = model.predict_conditional(x, level, o)
        if model.estimator_ is not None:
            n_hat[float(level)] = model.estimator_.predict(x)
            for o in model.conditional_:
                p[f"cond{o} (n̂)"] = model.predict_conditional(x, n_hat[float(level)], o)
        for name, pr in p.items():
            preds[(float(level), name)] = pr
            a = paired_bootstrap(y, pr, p["expert"], n_boot=n_boot, seed=seed, ci=ci)
            b = paired_bootstrap(y, pr, p["mixed"], n_boot=n_boot, seed=seed, ci=ci)
            rows.append({"noise_level": float(level), "model": name, "r2": a.score_a,
                         "d_expert": a.difference, "d_expert_lo": a.ci_low,
                         "d_expert_hi": a.ci_high, "d_mixed": b.difference,
                         "d_mixed_lo": b.ci_low, "d_mixed_hi": b.ci_high, "n": a.n})
            dists.setdefault(name, []).append((a.distribution, b.distribution))
    table = pd.DataFrame(rows)
    r2_boot = _r2_intervals(y, preds, model.levels_, list(dict.fromkeys(table["model"])),
                            n_boot, seed, ci)
    table = table.merge(r2_boot, on=["noise_level", "model"])
    table = table[["noise_level", "model", "r2", "r2_lo", "r2_hi", "d_expert", "d_expert_lo",
                   "d_expert_hi", "d_mixed", "d_mixed_lo", "d_mixed_hi", "n"]]
    mrows = []
    for name, parts in dists.items():
        de = np.mean([d[0] for d in parts], axis=0)
        dm = np.mean([d[1] for d in parts], axis=0)
        sel = table[table["model"] == name]
        mrows.append({"model": name, "mean_r2": float(sel["r2"].mean()),
                      "d_expert": float(sel["d_expert"].mean()),
                      **dict(zip(("d_expert_lo", "d_expert_hi"), percentile_ci(de, ci),
                                 strict=True)),
                      "d_mixed": float(sel["d_mixed"].mean()),
                      **dict(zip(("d_mixed_lo", "d_mixed_hi"), percentile_ci(dm, ci),
                                 strict=True))})
    return LevelScores(table, pd.DataFrame(mrows), n_hat, preds, y)


def _r2_intervals(y: np.ndarray, preds: dict, levels: np.ndarray, names: list[str],
                  n_boot: int, seed: int, ci: float) -> pd.DataFrame:
    """Percentile bootstrap CI of R² for every (level, model), same resampled stars."""
    from moehelpers.metrics import bootstrap_ci

    out = []
    for level in levels:
        for name in names:
            res = bootstrap_ci(y, preds[(float(level), name)], n_boot=n_boot, seed=seed, ci=ci)
            out.append({"noise_level": float(level), "model": name, "r2_lo": res.ci_low,
                        "r2_hi": res.ci_high})
    return pd.DataFrame(out)
