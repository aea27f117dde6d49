"""Noise-conditioned Ridge experts (MVP-2.0): one expert per noise level vs one mixed model.

:class:`NoiseExperts` fits, for every noise level of a list, a Ridge *expert* on the
training spectra noised at that level (α chosen on the validation spectra noised at the
same level), and one *mixed* Ridge on the training sets of all levels pooled (α chosen on
the pooled validation sets). Noise comes from :func:`moehelpers.data.splits.noisy_splits`,
so every (dataset, level, seed) realisation — the test one in particular — is frozen.

:func:`cross_noise` scores every expert at every test level (the cross-noise R² matrix)
and the mixed model at every level, all on the same test stars;
:func:`compare_matched` gives the paired bootstrap of R²(expert at its own level) −
R²(mixed) per level and of its mean over levels.

Notes
-----
The mixed model is never fitted on a stacked design matrix (5 × 32k × 4096 float32 would
be 2.6 GB): each level's :class:`~moehelpers.engine.ridge.RidgeStats` is computed once, fits that
level's expert, and is added into the pooled statistics, which are exactly those of the
stacked data. Only one noisy copy of the training set is alive at a time; validation and
test matrices are small. Statistics share one reference row (``shift``), so adding them
needs no re-centring.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from moehelpers._validation import check_x
from moehelpers.data.splits import Splits, noisy_splits
from moehelpers.engine.linalg import check_chunk_size
from moehelpers.engine.ridge import DEFAULT_ALPHAS, RidgeRegressor, RidgeStats
from moehelpers.engine.store import fit_from_stats, shared_ridge_fit
from moehelpers.errors import InvalidParameterError, ShapeMismatchError
from moehelpers.metrics import paired_bootstrap, r2

__all__ = [
    "DEFAULT_LEVELS",
    "CrossNoise",
    "MatchedComparison",
    "NoiseExperts",
    "check_levels",
    "compare_matched",
    "cross_noise",
]

#: Noise levels of the original MVP-2.0 (σ multipliers of the error array).
DEFAULT_LEVELS: tuple[float, ...] = (0.0, 0.1, 0.2, 0.5, 1.0)


def _code(level: float) -> int:
    """Integer key of a level (µ-resolution, as in :func:`experiment.noise_seed`)."""
    return round(float(level) * 1_000_000)


def check_levels(levels: Any, name: str = "levels") -> np.ndarray:
    """Validate noise levels: a non-empty list of distinct finite numbers ≥ 0, order kept."""
    try:
        arr = np.atleast_1d(np.asarray(levels, dtype=np.float64)) if levels is not None else None
    except (TypeError, ValueError):
        arr = None
    if arr is None or arr.ndim != 1 or arr.size == 0:
        raise InvalidParameterError(f"{name} must be a non-empty list of noise levels; got "
                                    f"{levels!r}.")
    if not np.isfinite(arr).all() or (arr < 0).any():
        raise InvalidParameterError(f"{name} must be finite and ≥ 0 (noise 0 = clean flux); "
                                    f"got {arr.tolist()}.")
    codes = [_code(v) for v in arr]
    if len(set(codes)) != len(codes):
        raise InvalidParameterError(f"{name} has duplicates (to 1e-6): {arr.tolist()}; give "
                                    f"each level once.")
    return arr


def _find(levels: np.ndarray, level: float) -> int:
    """Position of ``level`` in ``levels`` (to 1e-6), or −1."""
    hits = [i for i, v in enumerate(levels) if _code(v) == _code(level)]
    return hits[0] if hits else -1


class NoiseExperts(BaseEstimator):
    """One Ridge expert per noise level and one mixed Ridge trained on all levels pooled.

    Parameters
    ----------
    levels : sequence of float ≥ 0, default=DEFAULT_LEVELS
        Training noise levels (one expert each); the mixed model pools all of them.
    alphas : float or sequence of float > 0, default=DEFAULT_ALPHAS
        α grid; each expert picks α on its own level's validation split, the mixed
        model on the validation splits of all levels pooled.
    seed : int, default=42
        Noise seed given to :func:`~moehelpers.data.splits.noisy_splits`.
    clip : bool, default=False
        Clip noisy flux at 0.
    method : {"auto", "eigen", "cholesky"}, default="auto"
        Solver method of the α path (see :class:`~moehelpers.engine.ridge.RidgeRegressor`).
    chunk_size : int, optional
        Rows per float64 chunk while accumulating statistics (default ~64 MiB).

    Attributes
    ----------
    levels_ : ndarray of shape (n_levels,)
    experts_ : list of RidgeRegressor
        ``experts_[k]`` was trained at ``levels_[k]``.
    mixed_ : RidgeRegressor
        Trained on the union of every level's noisy training set (``n_levels × n_train``
        rows: each star once per level).
    expert_alphas_ : ndarray of shape (n_levels,)
        The α each expert chose.
    n_features_in_ : int
    """

    def __init__(self, levels: Sequence[float] = DEFAULT_LEVELS,
                 alphas: float | Sequence[float] = DEFAULT_ALPHAS, *, seed: int = 42,
                 clip: bool = False, method: str = "auto",
                 chunk_size: int | None = None) -> None:
        self.levels = levels
        self.alphas = alphas
        self.seed = seed
        self.clip = clip
        self.method = method
        self.chunk_size = chunk_size

    def _ridge(self) -> RidgeRegressor:
        return RidgeRegressor(alphas=self.alphas, method=self.method, chunk_size=self.chunk_size)

    def _layout(self, splits: Splits) -> tuple[int, int, np.ndarray]:
        """``(p, chunk, shift)`` of a per-level fit: pixels, rows per chunk, shared shift.

        The shift is the pooled statistics' reference row (the mean of the first chunk of
        noiseless training flux), the same at every noise level.
        """
        train = splits.train
        p = train.flux.shape[1]
        if splits.val.flux.shape[1] != p:
            raise ShapeMismatchError(f"train has {p} pixels but val "
                                     f"{splits.val.flux.shape[1]}; use splits of one dataset.")
        chunk = check_chunk_size(self.chunk_size, p)
        shift = np.asarray(train.flux[: min(chunk, len(train))], dtype=np.float64).mean(axis=0)
        return p, chunk, shift

    def fit(self, splits: Splits) -> NoiseExperts:
        """Fit every expert and the mixed model on ``splits`` (train for fit, val for α)."""
        levels = check_levels(self.levels)
        y_train, y_val, n_val = splits.train.y, splits.val.y, len(splits.val)
        p, _, shift = self._layout(splits)
        pooled = RidgeStats(p, shift=shift)
        x_val_pooled = np.empty((levels.size * n_val, p), dtype=np.float32)
        experts = []
        n_train = len(splits.train)
        # fewer pooled rows than pixels (small runs): every model solves its dual system from
        # the rows (RidgeRegressor solver="auto"), so keep them; else each noisy copy dies
        # once its statistics are accumulated
        x_pooled = (np.empty((levels.size * n_train, p), dtype=np.float32)
                    if levels.size * n_train < p else None)
        for k, level in enumerate(levels):
            noisy = noisy_splits(splits, level, self.seed, which=("train", "val"),
                                 clip=self.clip)
            x_train = noisy.pop("train")
            x_val_pooled[k * n_val:(k + 1) * n_val] = noisy["val"]
            if x_pooled is not None:  # no Gram at all: every fit is a dual one
                x_pooled[k * n_train:(k + 1) * n_train] = x_train
                experts.append(self._ridge().fit(x_train, y_train, noisy["val"], y_val))
            else:  # the Gram feeds the pooled model; the expert may still be dual
                # both through the active statistics store (engine.store): the expert at a
                # level is MVP-0's global Ridge at that level, solved once per run
                expert, stats = shared_ridge_fit(x_train, y_train, noisy["val"], y_val,
                                                 self.alphas, method=self.method,
                                                 chunk_size=self.chunk_size)
                experts.append(expert)
                pooled += stats  # re-centred on the pooled model's shift
                del stats
            del noisy, x_train
        if x_pooled is not None:  # its dual system from the rows: no pooled Gram
            self.mixed_ = self._ridge().fit(x_pooled, np.tile(y_train, levels.size),
                                            x_val_pooled, np.tile(y_val, levels.size))
        else:
            self.mixed_ = fit_from_stats(self._ridge(), pooled, x_val_pooled,
                                         np.tile(y_val, levels.size))
        self.levels_ = levels
        self.experts_ = experts
        self.expert_alphas_ = np.array([e.alpha_ for e in experts])
        self.n_features_in_ = p
        return self

    def fit_stats(self, stats: Sequence[RidgeStats], X_val: Sequence[Any],
                  y_val: Any) -> NoiseExperts:
        """Fit from per-level training statistics computed elsewhere (e.g. streamed).

        ``stats[k]`` and ``X_val[k]`` are the training statistics and the noisy validation
        spectra at ``levels[k]``; ``y_val`` the validation targets (the same stars at every
        level). The mixed model uses the summed statistics and the pooled validation sets.
        """
        levels = check_levels(self.levels)
        if len(stats) != levels.size or len(X_val) != levels.size:
            raise ShapeMismatchError(
                f"{levels.size} levels need as many statistics and validation sets; got "
                f"{len(stats)} and {len(X_val)}.")
        y_val = np.asarray(y_val, dtype=np.float64)
        self.experts_ = [fit_from_stats(self._ridge(), s, xv, y_val)
                         for s, xv in zip(stats, X_val, strict=True)]
        self.mixed_ = fit_from_stats(self._ridge(), sum(stats), np.concatenate(list(X_val)),
                                     np.tile(y_val, levels.size))
        self.levels_ = levels
        self.expert_alphas_ = np.array([e.alpha_ for e in self.experts_])
        self.n_features_in_ = stats[0].n_features
        return self

    def expert(self, level: float) -> RidgeRegressor:
        """The expert trained at exactly ``level`` (to 1e-6)."""
        check_is_fitted(self, "experts_")
        k = _find(self.levels_, level)
        if k < 0:
            raise InvalidParameterError(f"no expert was trained at noise level {level!r}; "
                                        f"experts exist at {self.levels_.tolist()}.")
        return self.experts_[k]

    def route(self, noise_level: Any, n_samples: int) -> np.ndarray:
        """Index of the expert nearest in noise level for each of ``n_samples`` rows."""
        check_is_fitted(self, "experts_")
        nl = np.broadcast_to(np.asarray(noise_level, dtype=np.float64), (n_samples,))
        if not np.isfinite(nl).all() or (nl < 0).any():
            raise InvalidParameterError("noise_level must be finite and ≥ 0 for every row.")
        return np.abs(nl[:, None] - self.levels_[None, :]).argmin(axis=1)

    def predict(self, X: Any, noise_level: Any) -> np.ndarray:
        """Noise-matched prediction: each row goes to the expert nearest its noise level.

        ``noise_level`` is one number or one per row (known noise: oracle routing).
        """
        check_is_fitted(self, "experts_")
        X = np.asarray(check_x(X, n_features=self.n_features_in_, owner=type(self).__name__))
        which = self.route(noise_level, X.shape[0])
        out = np.empty(X.shape[0])
        for k in np.unique(which):
            rows = which == k
            out[rows] = self.experts_[k].predict(X[rows])
        return out

    def predict_mixed(self, X: Any) -> np.ndarray:
        """Prediction of the mixed (all-levels) model."""
        check_is_fitted(self, "mixed_")
        return self.mixed_.predict(X)


@dataclass(frozen=True)
class CrossNoise:
    """Every expert scored at every test level, and the mixed model at every level.

    Attributes
    ----------
    train_levels : ndarray of shape (n_experts,)
    test_levels : ndarray of shape (n_test_levels,)
    y : ndarray of shape (n_stars,)
        Test labels (the same stars at every level).
    pred : ndarray of shape (n_experts, n_test_levels, n_stars)
    pred_mixed : ndarray of shape (n_test_levels, n_stars)
    r2 : ndarray of shape (n_experts, n_test_levels)
        ``r2[i, j]``: expert trained at ``train_levels[i]`` tested at ``test_levels[j]``.
    r2_mixed : ndarray of shape (n_test_levels,)
    """

    train_levels: np.ndarray
    test_levels: np.ndarray
    y: np.ndarray = field(repr=False)
    pred: np.ndarray = field(repr=False)
    pred_mixed: np.ndarray = field(repr=False)
    r2: np.ndarray
    r2_mixed: np.ndarray

    def matched_index(self) -> np.ndarray:
        """For each test level, the row of the expert trained there (−1 when none)."""
        return np.array([_find(self.train_levels, t) for t in self.test_levels])

    @property
    def r2_matched(self) -> np.ndarray:
        """R² of the noise-matched expert at each test level (NaN where none was trained)."""
        idx = self.matched_index()
        return np.array([self.r2[i, j] if i >= 0 else np.nan for j, i in enumerate(idx)])

    def r2_of(self, train_level: float, test_level: float) -> float:
        """R² of the expert trained at ``train_level`` on ``test_level`` (NaN if absent)."""
        i, j = _find(self.train_levels, train_level), _find(self.test_levels, test_level)
        return float(self.r2[i, j]) if i >= 0 and j >= 0 else float("nan")

    def frame(self, mixed: bool = True) -> pd.DataFrame:
        """The matrix as a table: one row per model, one ``test <level>`` column per level."""
        rows = [{"model": f"expert {lv:g}", "train_level": float(lv),
                 **{f"test {t:g}": float(v) for t, v in zip(self.test_levels, r, strict=True)}}
                for lv, r in zip(self.train_levels, self.r2, strict=True)]
        if mixed:
            rows.append({"model": "mixed", "train_level": float("nan"),
                         **{f"test {t:g}": float(v)
                            for t, v in zip(self.test_levels, self.r2_mixed, strict=True)}})
        return pd.DataFrame(rows)


def cross_noise(model: NoiseExperts, splits: Splits, test_levels: Sequence[float] | None = None,
                *, seed: int | None = None) -> CrossNoise:
    """Score every expert of ``model`` and its mixed model at every test level.

    Parameters
    ----------
    model : NoiseExperts
        Fitted.
    splits : Splits
        Its ``test`` split is noised at each level (frozen by ``seed``).
    test_levels : sequence of float, optional
        Default: the training levels.
    seed : int, optional
        Noise seed (default: the model's, so the realisations match its training run).

    Returns
    -------
    CrossNoise
    """
    check_is_fitted(model, "experts_")
    levels = model.levels_ if test_levels is None else check_levels(test_levels, "test_levels")
    seed = model.seed if seed is None else seed
    y = splits.test.y
    n_exp, n_test = len(model.experts_), levels.size
    pred = np.empty((n_exp, n_test, y.size))
    pred_mixed = np.empty((n_test, y.size))
    for j, level in enumerate(levels):
        x = noisy_splits(splits, level, seed, which=("test",), clip=model.clip)["test"]
        for i, expert in enumerate(model.experts_):
            pred[i, j] = expert.predict(x)
        pred_mixed[j] = model.mixed_.predict(x)
    r2_cross = np.asarray(r2(y, pred.reshape(-1, y.size).T)).reshape(n_exp, n_test)
    r2_mixed = np.atleast_1d(np.asarray(r2(y, pred_mixed.T)))
    return CrossNoise(model.levels_.copy(), levels.copy(), y, pred, pred_mixed, r2_cross, r2_mixed)


@dataclass(frozen=True)
class MatchedComparison:
    """Paired bootstrap of R²(expert at its own level) − R²(mixed), per level and on average.

    Attributes
    ----------
    table : DataFrame
        One row per test level with a matched expert: ``noise_level, r2_expert, r2_mixed,
        delta_r2, delta_lo, delta_hi, frac_le_zero, n``.
    mean_delta, mean_ci_low, mean_ci_high : float
        Mean of ``delta_r2`` over those levels and its percentile CI; every level is
        resampled with the same star indices, so the mean's distribution is paired too.
    mean_frac_le_zero : float
        Fraction of resampled mean differences ≤ 0.
    ci : float
    n_boot, seed : int
    distribution : ndarray of shape (n_levels, n_boot)
        Resampled differences per level.
    """

    table: pd.DataFrame
    mean_delta: float
    mean_ci_low: float
    mean_ci_high: float
    mean_frac_le_zero: float
    ci: float
    n_boot: int
    seed: int
    distribution: np.ndarray = field(repr=False)


def compare_matched(cross: CrossNoise, *, n_boot: int = 1000, seed: int = 0,
                    ci: float = 0.95) -> MatchedComparison:
    """Expert − mixed at each test level that has a matched expert, same test stars."""
    rows, dists = [], []
    for j, i in enumerate(cross.matched_index()):
        if i < 0:
            continue
        res = paired_bootstrap(cross.y, cross.pred[i, j], cross.pred_mixed[j], n_boot=n_boot,
                               seed=seed, ci=ci)
        rows.append({"noise_level": float(cross.test_levels[j]), "r2_expert": res.score_a,
                     "r2_mixed": res.score_b, "delta_r2": res.difference,
                     "delta_lo": res.ci_low, "delta_hi": res.ci_high,
                     "frac_le_zero": res.frac_le_zero, "n": res.n})
        dists.append(res.distribution)
    columns = ["noise_level", "r2_expert", "r2_mixed", "delta_r2", "delta_lo", "delta_hi",
               "frac_le_zero", "n"]
    table = pd.DataFrame(rows, columns=columns)
    dist = np.array(dists).reshape(len(dists), n_boot)
    if not rows:
        nan = float("nan")
        return MatchedComparison(table, nan, nan, nan, nan, ci, n_boot, seed, dist)
    mean_dist = dist.mean(axis=0)  # same resampled stars at every level (same n, seed)
    finite = mean_dist[np.isfinite(mean_dist)]
    lo, hi = (np.percentile(finite, [50 * (1 - ci), 50 * (1 + ci)]) if finite.size
              else (np.nan, np.nan))
    return MatchedComparison(table, float(table["delta_r2"].mean()), float(lo), float(hi),
                             float(np.mean(mean_dist <= 0)), ci, n_boot, seed, dist)
