"""Scores, paired bootstrap and retention — honest comparisons by construction.

Every bootstrap function draws its resamples from :func:`bootstrap_indices`, so the same
``(n, n_boot, seed)`` gives the same resampled test indices everywhere: two models compared
with one seed are resampled identically (paired), and so are the three models of
:func:`retention`. Two :class:`Predictions` can only be compared on the same test indices
(:func:`compare` raises :class:`IndexMismatchError` otherwise).

Examples
--------
>>> rng = np.random.default_rng(0)
>>> y = rng.normal(size=200)
>>> moe = Predictions(np.arange(200), y + rng.normal(0, 0.3, 200), "moe")
>>> glob = Predictions(np.arange(200), y + rng.normal(0, 0.5, 200), "global")
>>> res = compare(y, moe, glob, n_boot=500, seed=1)
>>> bool(res.ci_low > 0)
True
>>> compare(y, moe.restrict(np.arange(100)), glob)
Traceback (most recent call last):
...
moehelpers.errors.IndexMismatchError: 'moe' covers 100 test stars and 'global' 200 ...
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from moehelpers.errors import IndexMismatchError, InvalidParameterError, ShapeMismatchError

__all__ = [
    "BootstrapResult",
    "IndexMismatchError",
    "PairedBootstrapResult",
    "Predictions",
    "RetentionResult",
    "Scores",
    "align",
    "bootstrap_ci",
    "bootstrap_indices",
    "compare",
    "mae",
    "paired_bootstrap",
    "percentile_ci",
    "r2",
    "retention",
    "rmse",
    "scores",
]

# Index matrices are built this many entries at a time (~16 MiB of int64): 1000 resamples of
# 10k stars then take 1e7 gathers per model in ~60 chunks, without a 80 MB index matrix.
_CHUNK_ENTRIES = 2**21


# --------------------------------------------------------------------------- plain metrics
def _pair(y_true: Any, y_pred: Any) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(y_true, dtype=np.float64)
    p = np.asarray(y_pred, dtype=np.float64)
    if y.ndim != 1 or p.shape[:1] != y.shape or p.ndim > 2:
        raise ShapeMismatchError(
            f"y_true must be 1-D and y_pred of shape (n,) or (n, k) with the same n; got "
            f"{y.shape} and {p.shape}."
        )
    if y.size == 0:
        raise ShapeMismatchError("y_true is empty; at least one value is needed.")
    if not (np.isfinite(y).all() and np.isfinite(p).all()):
        raise InvalidParameterError("y_true and y_pred must be finite (found NaN or inf).")
    return y, p


def r2(y_true: Any, y_pred: Any) -> float | np.ndarray:
    """Coefficient of determination ``1 − Σ(y − ŷ)² / Σ(y − ȳ)²``.

    ``y_pred`` may be (n, k): one score per column. Constant ``y_true`` gives ``nan``.
    """
    y, p = _pair(y_true, y_pred)
    yc = y - y.mean()
    sst = float(yc @ yc)
    resid = (y[:, None] if p.ndim == 2 else y) - p
    sse = (resid * resid).sum(axis=0)
    out = 1.0 - sse / sst if sst > 0 else np.full(np.shape(sse), np.nan)
    return float(out) if p.ndim == 1 else out


def mae(y_true: Any, y_pred: Any) -> float | np.ndarray:
    """Mean absolute error (per column for 2-D ``y_pred``)."""
    y, p = _pair(y_true, y_pred)
    out = np.abs((y[:, None] if p.ndim == 2 else y) - p).mean(axis=0)
    return float(out) if p.ndim == 1 else out


def rmse(y_true: Any, y_pred: Any) -> float | np.ndarray:
    """Root mean squared error (per column for 2-D ``y_pred``)."""
    y, p = _pair(y_true, y_pred)
    resid = (y[:, None] if p.ndim == 2 else y) - p
    out = np.sqrt((resid * resid).mean(axis=0))
    return float(out) if p.ndim == 1 else out


@dataclass(frozen=True)
class Scores:
    """R², MAE and RMSE of one model on ``n`` stars."""

    r2: float
    mae: float
    rmse: float
    n: int

    def as_dict(self) -> dict[str, float | int]:
        """Plain dict, e.g. for a result record."""
        return {"r2": self.r2, "mae": self.mae, "rmse": self.rmse, "n": self.n}


def scores(y_true: Any, y_pred: Any) -> Scores:
    """All three metrics of 1-D predictions."""
    y, p = _pair(y_true, y_pred)
    return Scores(r2=r2(y, p), mae=mae(y, p), rmse=rmse(y, p), n=int(y.size))


# --------------------------------------------------------------------------- bootstrap core
_METRICS = ("r2", "mae", "rmse")


def bootstrap_indices(n: int, n_boot: int, seed: int) -> Iterator[np.ndarray]:
    """Yield the resampled index matrix in row chunks, shape (chunk, n), ints in ``[0, n)``.

    The rows depend only on ``(n, n_boot, seed)``: chunk sizes are fixed by ``n``, so every
    function of this module with the same seed sees the same resamples.
    """
    rng = np.random.default_rng(seed)
    rows = max(1, _CHUNK_ENTRIES // max(n, 1))
    for start in range(0, n_boot, rows):
        yield rng.integers(0, n, size=(min(rows, n_boot - start), n))


def _boot_metric(metric: str, y: np.ndarray, preds: list[np.ndarray], n_boot: int, seed: int):
    """Point values (k,) and bootstrap values (k, n_boot) of ``metric`` for k models."""
    if metric not in _METRICS:
        raise InvalidParameterError(f"metric must be one of {list(_METRICS)}; got {metric!r}.")
    if not isinstance(n_boot, int | np.integer) or n_boot < 1:
        raise InvalidParameterError(f"n_boot must be a positive integer; got {n_boot!r}.")
    fn: Callable = {"r2": r2, "mae": mae, "rmse": rmse}[metric]
    point = np.array([fn(y, p) for p in preds])
    resid = np.stack([y - p for p in preds])  # (k, n)
    per_star = np.abs(resid) if metric == "mae" else resid * resid
    yc = y - y.mean()  # centred once: Σy² − (Σy)²/n stays accurate for labels like Teff
    dist = np.empty((len(preds), n_boot))
    start = 0
    for idx in bootstrap_indices(y.size, n_boot, seed):
        stop = start + idx.shape[0]
        vals = per_star[:, idx].mean(axis=2)  # (k, chunk): same rows for every model
        if metric == "r2":
            yb = yc[idx]
            var = (yb * yb).mean(axis=1) - yb.mean(axis=1) ** 2
            with np.errstate(divide="ignore", invalid="ignore"):
                vals = np.where(var > 0, 1.0 - vals / var, np.nan)
        elif metric == "rmse":
            vals = np.sqrt(vals)
        dist[:, start:stop] = vals
        start = stop
    return point, dist


def _subset(
    y_true: Any, preds: list[Any], index: Any
) -> tuple[np.ndarray, list[np.ndarray], np.ndarray]:
    y = np.asarray(y_true, dtype=np.float64)
    arrays = [_pair(y, p)[1] for p in preds]
    if any(a.ndim != 1 for a in arrays):
        raise ShapeMismatchError("Bootstrap predictions must be 1-D, one value per star.")
    pos = np.arange(y.size) if index is None else _positions(index, y.size)
    if pos.size == 0:
        raise ShapeMismatchError("index selects no stars; at least one is needed.")
    return y[pos], [a[pos] for a in arrays], pos


def _positions(index: Any, n: int) -> np.ndarray:
    idx = np.asarray(index)
    if idx.dtype == bool:
        if idx.shape != (n,):
            raise ShapeMismatchError(f"A boolean mask must have length {n}; got {idx.shape}.")
        return np.flatnonzero(idx)
    if (
        idx.ndim != 1
        or idx.dtype.kind not in "iu"
        or (idx.size and (idx.min() < 0 or idx.max() >= n))
    ):
        raise ShapeMismatchError(f"index must be a boolean mask or integer positions in [0, {n}).")
    return idx.astype(np.intp)


def _digest(pos: np.ndarray) -> str:
    """Short fingerprint of the scored positions, to record which subset was used."""
    return hashlib.sha1(np.ascontiguousarray(pos, dtype=np.int64).tobytes()).hexdigest()[:12]


def percentile_ci(dist: Any, ci: float = 0.95) -> tuple[float, float]:
    """Percentile interval ``(lo, hi)`` of a bootstrap distribution, non-finite draws dropped.

    The one interval rule of the package: every CI (R², ΔR², retention, gate-noise curves,
    noise conditioning) is the central ``ci`` share of the finite resampled values; NaN when
    none is finite.
    """
    dist = np.asarray(dist, dtype=np.float64).ravel()
    if not 0 < ci < 1:
        raise InvalidParameterError(f"ci must lie strictly between 0 and 1; got {ci}.")
    finite = dist[np.isfinite(dist)]
    if finite.size == 0:
        return float("nan"), float("nan")
    lo, hi = np.percentile(finite, [50 * (1 - ci), 50 * (1 + ci)])
    return float(lo), float(hi)


@dataclass(frozen=True)
class BootstrapResult:
    """Bootstrap of one model's metric; ``ci_low``/``ci_high`` are percentile bounds."""

    metric: str
    point: float
    ci_low: float
    ci_high: float
    ci: float
    n: int
    n_boot: int
    seed: int
    index_digest: str
    distribution: np.ndarray = field(repr=False)


@dataclass(frozen=True)
class PairedBootstrapResult:
    """Paired bootstrap of ``metric(a) − metric(b)`` on the same resampled stars.

    ``frac_le_zero`` is the fraction of resampled differences ≤ 0 (a p-like value for
    "a is better in R²"; for MAE/RMSE lower is better, so look at ``1 − frac_le_zero``).
    """

    metric: str
    difference: float
    score_a: float
    score_b: float
    ci_low: float
    ci_high: float
    ci: float
    frac_le_zero: float
    n: int
    n_boot: int
    seed: int
    index_digest: str
    distribution: np.ndarray = field(repr=False)


def bootstrap_ci(
    y_true: Any,
    pred: Any,
    *,
    index: Any = None,
    n_boot: int = 1000,
    seed: int = 0,
    metric: str = "r2",
    ci: float = 0.95,
) -> BootstrapResult:
    """Percentile bootstrap CI of one model's metric (``index``: optional mask/positions)."""
    y, (p,), pos = _subset(y_true, [pred], index)
    point, dist = _boot_metric(metric, y, [p], n_boot, seed)
    lo, hi = percentile_ci(dist[0], ci)
    return BootstrapResult(
        metric, float(point[0]), lo, hi, ci, int(y.size), n_boot, seed, _digest(pos), dist[0]
    )


def paired_bootstrap(
    y_true: Any,
    pred_a: Any,
    pred_b: Any,
    *,
    index: Any = None,
    n_boot: int = 1000,
    seed: int = 0,
    metric: str = "r2",
    ci: float = 0.95,
) -> PairedBootstrapResult:
    """Paired bootstrap of the metric difference a − b.

    Parameters
    ----------
    y_true, pred_a, pred_b : array-like of shape (n,)
    index : boolean mask of shape (n,) or integer positions, default=None
        Subset of stars scored for both models (e.g. the covered stars); all when ``None``.
    n_boot : int, default=1000
    seed : int, default=0
    metric : {"r2", "mae", "rmse"}, default="r2"
    ci : float, default=0.95

    Returns
    -------
    PairedBootstrapResult
    """
    y, (a, b), pos = _subset(y_true, [pred_a, pred_b], index)
    point, dist = _boot_metric(metric, y, [a, b], n_boot, seed)
    diff = dist[0] - dist[1]
    lo, hi = percentile_ci(diff, ci)
    return PairedBootstrapResult(
        metric=metric,
        difference=float(point[0] - point[1]),
        score_a=float(point[0]),
        score_b=float(point[1]),
        ci_low=lo,
        ci_high=hi,
        ci=ci,
        frac_le_zero=float(np.mean(diff <= 0)),
        n=int(y.size),
        n_boot=n_boot,
        seed=seed,
        index_digest=_digest(pos),
        distribution=diff,
    )


# --------------------------------------------------------------------------- aligned API
@dataclass(frozen=True)
class Predictions:
    """Predictions of one model with the test indices they belong to.

    Parameters
    ----------
    index : ndarray of int, shape (n,)
        Test-set indices (unique), e.g. positions in the test split.
    y_pred : ndarray of shape (n,)
    name : str
    """

    index: np.ndarray
    y_pred: np.ndarray
    name: str = "model"

    def __post_init__(self) -> None:
        index = np.asarray(self.index)
        y_pred = np.asarray(self.y_pred, dtype=np.float64)
        if index.ndim != 1 or index.dtype.kind not in "iu" or y_pred.shape != index.shape:
            raise ShapeMismatchError(
                f"Predictions {self.name!r}: index must be 1-D integers with one entry per "
                f"prediction; got index {index.shape} {index.dtype}, y_pred {y_pred.shape}."
            )
        if np.unique(index).size != index.size:
            raise InvalidParameterError(f"Predictions {self.name!r}: index has duplicates.")
        object.__setattr__(self, "index", index.astype(np.int64))
        object.__setattr__(self, "y_pred", y_pred)

    def restrict(self, mask_or_index: Any) -> Predictions:
        """Keep a subset: a boolean mask over these entries, or test indices (all present)."""
        sel = np.asarray(mask_or_index)
        if sel.dtype == bool:
            if sel.shape != self.index.shape:
                raise ShapeMismatchError(
                    f"mask must have length {self.index.size}; got {sel.shape}."
                )
            return Predictions(self.index[sel], self.y_pred[sel], self.name)
        wanted = sel.ravel().astype(np.int64)
        order = np.argsort(self.index)
        pos = order[np.clip(np.searchsorted(self.index[order], wanted), 0, self.index.size - 1)]
        missing = wanted[self.index[pos] != wanted] if self.index.size else wanted
        if missing.size:
            raise IndexMismatchError(
                f"Predictions {self.name!r} lack {missing.size} of the requested test indices "
                f"(first: {missing[:5].tolist()}); it can only be restricted to indices it has."
            )
        return Predictions(self.index[pos], self.y_pred[pos], self.name)


def align(
    y_true_by_index: Any, *preds: Predictions
) -> tuple[np.ndarray, list[np.ndarray], np.ndarray]:
    """Labels and predictions of several models on their common, identical index set.

    ``y_true_by_index`` is indexed by test index: an array (``y[index]``) or a pandas Series
    (``y.loc[index]``). Raises :class:`IndexMismatchError` if the index sets differ; the
    order of entries may differ (everything is sorted by index).
    """
    first = preds[0]
    for other in preds[1:]:
        if not np.array_equal(np.sort(first.index), np.sort(other.index)):
            common = np.intersect1d(first.index, other.index).size
            raise IndexMismatchError(
                f"{first.name!r} covers {first.index.size} test stars and {other.name!r} "
                f"{other.index.size} ({common} in common); models must be scored on the same "
                f"stars. Align explicitly, e.g. a.restrict(b.index) and b.restrict(a.index)."
            )
    index = np.sort(first.index)
    if hasattr(y_true_by_index, "loc"):
        ys = y_true_by_index.loc[index]
    else:
        ys = np.asarray(y_true_by_index)
        if index.size and (index.min() < 0 or index.max() >= ys.shape[0]):
            raise IndexMismatchError(
                f"Test indices run from {index.min()} to {index.max()} but y_true has "
                f"{ys.shape[0]} entries; pass the labels of the whole test split."
            )
        ys = ys[index]
    arrays = [p.y_pred[np.argsort(p.index)] for p in preds]
    return np.asarray(ys, dtype=np.float64), arrays, index


def compare(
    y_true_by_index: Any, a: Predictions, b: Predictions, **kwargs: Any
) -> PairedBootstrapResult:
    """Paired bootstrap of ``a − b`` after checking both cover the same test indices.

    ``kwargs`` (n_boot, seed, metric, ci) go to :func:`paired_bootstrap`.
    """
    y, (pa, pb), _ = align(y_true_by_index, a, b)
    return paired_bootstrap(y, pa, pb, **kwargs)


# --------------------------------------------------------------------------- retention
@dataclass(frozen=True)
class RetentionResult:
    """Retention ρ = (R²_gate − R²_global) / (R²_oracle − R²_global) with a paired CI.

    ``small_gain`` is True when the oracle's gain over the global model is below
    ``min_gain`` (|denominator|): ρ is then ``nan`` rather than a ratio of noise.
    ``frac_small_gain`` is the fraction of resamples where that happened (those resamples
    are left out of the CI).
    """

    rho: float
    ci_low: float
    ci_high: float
    ci: float
    r2_gate: float
    r2_global: float
    r2_oracle: float
    gain_oracle: float
    small_gain: bool
    frac_small_gain: float
    min_gain: float
    n: int
    n_boot: int
    seed: int
    index_digest: str
    distribution: np.ndarray = field(repr=False)


def retention(
    y_true: Any,
    pred_gate: Any,
    pred_global: Any,
    pred_oracle: Any,
    *,
    index: Any = None,
    n_boot: int = 1000,
    seed: int = 0,
    ci: float = 0.95,
    min_gain: float = 1e-3,
) -> RetentionResult:
    """Share of the oracle's R² gain that a gate keeps, with a paired bootstrap CI.

    All three models are scored on the same stars and the same resamples. When
    ``|R²_oracle − R²_global| < min_gain`` the ratio is undefined: ``rho`` is ``nan`` and
    ``small_gain`` is True (likewise per resample, excluded from the CI).
    """
    y, preds, pos = _subset(y_true, [pred_gate, pred_global, pred_oracle], index)
    point, dist = _boot_metric("r2", y, preds, n_boot, seed)

    def ratio(gate: Any, glob: Any, oracle: Any) -> tuple[Any, Any]:
        den = oracle - glob
        small = ~(np.abs(den) >= min_gain)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(small, np.nan, (gate - glob) / den), small

    rho, small = ratio(*point)
    rho_b, small_b = ratio(*dist)
    lo, hi = percentile_ci(rho_b, ci)
    return RetentionResult(
        rho=float(rho),
        ci_low=lo,
        ci_high=hi,
        ci=ci,
        r2_gate=float(point[0]),
        r2_global=float(point[1]),
        r2_oracle=float(point[2]),
        gain_oracle=float(point[2] - point[1]),
        small_gain=bool(small),
        frac_small_gain=float(np.mean(small_b)),
        min_gain=min_gain,
        n=int(y.size),
        n_boot=n_boot,
        seed=seed,
        index_digest=_digest(pos),
        distribution=rho_b,
    )
