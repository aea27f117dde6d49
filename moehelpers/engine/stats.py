"""Sufficient statistics of Ridge regression, accumulated in chunks (private).

:class:`RidgeStats` holds ``n, Σx, Σy, G = Σ x xᵀ, Xᵀy, Σy²`` in float64 (relative to a
reference row, see :mod:`moehelpers.engine.ridge`'s Notes); :func:`grouped_stats` computes every
group's statistics in one pass. Both are re-exported by :mod:`moehelpers.engine.ridge`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from moehelpers._validation import check_groups, check_xy
from moehelpers.engine import linalg as _linalg
from moehelpers.engine.linalg import check_chunk_size
from moehelpers.errors import BinTooSmallError, InvalidParameterError

__all__ = ["RidgeStats", "grouped_stats"]


class RidgeStats:
    """Sufficient statistics of a (weighted) linear least-squares problem, in float64.

    Parameters
    ----------
    n_features : int
        Number of columns P.
    shift : ndarray of shape (n_features,), default=None
        Reference row subtracted before accumulating (``u = x − shift``); set from the first
        chunk's mean when ``None``. It changes rounding only, never the results.

    Attributes
    ----------
    n, sum_y, sum_yy : float
        ``Σw``, ``Σw·y``, ``Σw·y²``.
    sum_u, xty : ndarray of shape (n_features,)
        ``Σw·u`` and ``Σw·u·y``.
    gram : ndarray of shape (n_features, n_features)
        ``Σw·u uᵀ``.

    Notes
    -----
    Weights may have any sign, so ``weights=m**k`` yields the moment Grams ``Σ mᵏ x xᵀ`` of
    conditional models; fitting requires a positive total weight. Statistics add with ``+``
    (also ``sum(list_of_stats)``), e.g. per-bin statistics sum to the global ones.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X, y = rng.random((50, 3), dtype=np.float32), rng.random(50)
    >>> stats = RidgeStats.from_data(X[:20], y[:20]) + RidgeStats.from_data(X[20:], y[20:])
    >>> bool(np.allclose(stats.mean_x, X.mean(axis=0)))
    True
    """

    def __init__(self, n_features: int, *, shift: np.ndarray | None = None) -> None:
        self.n_features = int(n_features)
        self.shift = None if shift is None else np.array(shift, dtype=np.float64)
        self.n = self.sum_y = self.sum_yy = 0.0
        self.sum_u = np.zeros(self.n_features)
        self.xty = np.zeros(self.n_features)
        # Only the upper triangle is maintained (BLAS syrk, potrf and eigh read only it).
        self._upper = np.zeros((self.n_features, self.n_features), order="F")

    @property
    def gram(self) -> np.ndarray:
        """``Σw·u uᵀ``, shape (n_features, n_features) (a symmetric copy)."""
        return _linalg.symmetrize_upper(self._upper)

    @classmethod
    def from_data(
        cls,
        X: Any,
        y: Any,
        weights: Any = None,
        *,
        chunk_size: int | None = None,
        shift: np.ndarray | None = None,
    ) -> RidgeStats:
        """Statistics of ``(X, y)`` accumulated over row chunks (see :meth:`accumulate`)."""
        return cls(np.shape(X)[1], shift=shift).accumulate(X, y, weights, chunk_size=chunk_size)

    @classmethod
    def _from_parts(cls, shift: np.ndarray, parts: tuple) -> RidgeStats:
        out = cls(shift.shape[0], shift=shift)
        out.n, out.sum_u, out.sum_y, out._upper, out.xty, out.sum_yy = parts
        return out

    def accumulate(
        self, X: Any, y: Any, weights: Any = None, *, chunk_size: int | None = None
    ) -> RidgeStats:
        """Add the rows of ``X`` (array or HDF5 dataset, float32 fine) and ``y``; return self.

        ``chunk_size`` rows are converted to float64 at a time (default: ~64 MiB). The update
        is all-or-nothing: on bad input (NaN, shape) the statistics are left unchanged.
        """
        X, y, weights = check_xy(X, y, weights, n_features=self.n_features, finite=False)
        chunk = check_chunk_size(chunk_size, self.n_features)
        shift = self.shift
        if shift is None:
            shift = np.asarray(X[: min(chunk, X.shape[0])], dtype=np.float64).mean(axis=0)
        self += RidgeStats._from_parts(shift, _linalg.accumulate_rows(X, y, weights, shift, chunk))
        return self

    def copy(self) -> RidgeStats:
        """A deep copy."""
        parts = (self.n, self.sum_u.copy(), self.sum_y, self._upper.copy(), self.xty.copy())
        return RidgeStats._from_parts(self._shift0().copy(), (*parts, self.sum_yy))

    def _shift0(self) -> np.ndarray:
        return np.zeros(self.n_features) if self.shift is None else self.shift

    def with_shift(self, shift: np.ndarray) -> RidgeStats:
        """The same statistics expressed with another reference row (``u' = u + d``)."""
        shift = np.asarray(shift, dtype=np.float64)
        d, su, n = self._shift0() - shift, self.sum_u, self.n
        upper = self._upper + (np.outer(su, d) + np.outer(d, su) + n * np.outer(d, d))
        parts = (n, su + n * d, self.sum_y, upper, self.xty + d * self.sum_y, self.sum_yy)
        return RidgeStats._from_parts(shift, parts)

    def __iadd__(self, other: RidgeStats) -> RidgeStats:
        if not isinstance(other, RidgeStats):
            return NotImplemented
        if other.n_features != self.n_features:
            raise InvalidParameterError(
                f"Cannot add RidgeStats with {self.n_features} and {other.n_features} features."
            )
        if self.shift is None and self.n == 0:
            self.shift = None if other.shift is None else other.shift.copy()
        elif other.shift is None or not np.array_equal(other.shift, self._shift0()):
            other = other.with_shift(self._shift0())
        self.n += other.n
        self.sum_u += other.sum_u
        self.sum_y += other.sum_y
        self._upper += other._upper
        self.xty += other.xty
        self.sum_yy += other.sum_yy
        return self

    def __add__(self, other: RidgeStats) -> RidgeStats:
        if not isinstance(other, RidgeStats):
            return NotImplemented
        out = self.copy()
        out += other
        return out

    def __radd__(self, other: Any) -> RidgeStats:
        if isinstance(other, int) and other == 0:  # lets sum(stats_list) work
            return self.copy()
        return NotImplemented

    def __repr__(self) -> str:
        return f"RidgeStats(n_features={self.n_features}, n={self.n:g})"

    @property
    def mean_x(self) -> np.ndarray:
        """Weighted column means ``x̄``."""
        self._require_samples()
        return self._shift0() + self.sum_u / self.n

    @property
    def mean_y(self) -> float:
        """Weighted mean of y."""
        self._require_samples()
        return self.sum_y / self.n

    def _system(self, fit_intercept: bool) -> tuple[np.ndarray, np.ndarray, float]:
        """``(A, b, Σw(y − ȳ)²)`` of the normal equations; only A's upper triangle is valid."""
        if not fit_intercept:
            raw = self.with_shift(np.zeros(self.n_features))
            return raw._upper, raw.xty, raw.sum_yy
        self._require_samples()
        su, n = self.sum_u, self.n
        upper = self._upper - np.outer(su, su / n)
        return upper, self.xty - su * (self.sum_y / n), self.sum_yy - self.sum_y**2 / n

    def centered(self) -> tuple[np.ndarray, np.ndarray, float]:
        """``(G_c, X_cᵀy_c, Σw(y − ȳ)²)`` with ``G_c = G − n x̄ x̄ᵀ``."""
        upper, b, syy = self._system(True)
        return _linalg.symmetrize_upper(upper), b, syy

    def uncentered(self) -> tuple[np.ndarray, np.ndarray, float]:
        """``(Σw x xᵀ, Σw x y, Σw y²)`` of the raw (unshifted) data; any total weight."""
        upper, b, syy = self._system(False)
        return _linalg.symmetrize_upper(upper), b, syy

    def _require_samples(self) -> None:
        if not self.n > 0:
            raise BinTooSmallError(
                f"RidgeStats has total weight n={self.n:g}; at least one sample with positive "
                "weight is needed. Accumulate data first, or merge this bin with a neighbour."
            )


def grouped_stats(
    X: Any,
    y: Any,
    groups: Any,
    n_groups: int,
    *,
    weights: Any = None,
    chunk_size: int | None = None,
    shift: np.ndarray | None = None,
) -> list[RidgeStats]:
    """Statistics of every group in one pass over the data.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    y : array-like of shape (n_samples,)
    groups : array-like of int, shape (n_samples,)
        Group of each row, in ``[0, n_groups)``. Groups partition the sample, so
        ``sum(result)`` equals the statistics of all rows (give uncovered stars their own
        group and leave it out of the bin models but not of the sum).
    n_groups : int
    weights, chunk_size, shift : see :class:`RidgeStats`; one ``shift`` is shared by all groups.

    Returns
    -------
    list of RidgeStats, one per group (``n == 0`` for an empty group).
    """
    X, y, weights = check_xy(X, y, weights, finite=False)
    groups = check_groups(groups, X.shape[0], n_groups)
    p = X.shape[1]
    chunk = check_chunk_size(chunk_size, p)
    if shift is None:
        shift = np.asarray(X[: min(chunk, X.shape[0])], dtype=np.float64).mean(axis=0)
    order = np.argsort(groups, kind="stable")  # rows of a group stay in increasing order
    bounds = np.concatenate([[0], np.cumsum(np.bincount(groups, minlength=n_groups))])
    out = []
    for g in range(n_groups):
        rows = order[bounds[g] : bounds[g + 1]]
        parts = _linalg.accumulate_rows(X, y, weights, shift, chunk, rows)
        out.append(RidgeStats._from_parts(shift, parts))
    return out
