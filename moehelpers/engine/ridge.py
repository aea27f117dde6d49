"""The Ridge engine: sufficient statistics, α paths from one decomposition, the estimator.

Layers (as in scikit-learn's ``_ridge.py``): :mod:`moehelpers.engine.linalg` holds the array
kernels; :func:`ridge_path` / :func:`ridge_path_from_stats` validate and dispatch;
:class:`RidgeRegressor` sits on top.

Notes
-----
Ridge with intercept minimises ``Σᵢ wᵢ (yᵢ − b − xᵢᵀβ)² + α‖β‖²``. Eliminating ``b`` gives
``b = ȳ − x̄ᵀβ`` and ``(G_c + αI) β = X_cᵀ y_c`` with the centred Gram
``G_c = Σ w (x − x̄)(x − x̄)ᵀ = G − n x̄ x̄ᵀ`` (``n = Σw``), so the whole fit needs only
``n, Σx, Σy, G = Σ x xᵀ, Xᵀy, Σy²`` — sums that add across chunks, shards and bins.

*Primal* (``n ≥ P``): ``G_c = V Λ Vᵀ`` once, then
``β(α) = V diag(1/(λ + α)) Vᵀ X_cᵀ y_c`` for every α: ``Vᵀ X_cᵀ y_c`` is computed once and
the whole path is one ``(n_alphas, P) × (P, P)`` product.
*Dual* (``n < P``): by ``(X_cᵀX_c + αI)⁻¹X_cᵀ = X_cᵀ(X_cX_cᵀ + αI)⁻¹`` with the kernel
``K = X_c X_cᵀ = U Σ Uᵀ``, ``β(α) = X_cᵀ U diag(1/(σ + α)) Uᵀ y_c`` — an ``n × n`` problem.
Weights enter as rows scaled by ``√w``. Negative eigenvalues (rounding) are set to 0.

An eigendecomposition costs 10–20 Cholesky factorisations of the same matrix, so for short
grids (≤ 10 α) ``method="auto"`` factorises ``G_c + αI`` (or ``K + αI``) once per α instead;
both give the same coefficients (tests check both against scikit-learn).

Sums are accumulated in float64 from float32 input after subtracting a reference row
(``shift``, the first chunk's mean), which avoids cancellation in ``G − n x̄ x̄ᵀ``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import check_is_fitted

from moehelpers._validation import (
    check_alphas,
    check_choice,
    check_groups,
    check_sample_weight,
    check_x,
    check_xy,
)
from moehelpers.engine import linalg as _linalg
from moehelpers.engine.linalg import check_chunk_size
from moehelpers.engine.stats import RidgeStats, grouped_stats
from moehelpers.errors import BinTooSmallError, InvalidParameterError, ShapeMismatchError
from moehelpers.metrics import r2

__all__ = [
    "DEFAULT_ALPHAS",
    "RidgePath",
    "RidgeRegressor",
    "RidgeSelection",
    "RidgeStats",
    "grouped_ridge_paths",
    "grouped_stats",
    "ridge_path",
    "ridge_path_from_stats",
    "ridge_path_select",
]

DEFAULT_ALPHAS: tuple[float, ...] = tuple(float(a) for a in np.logspace(-3, 5, 9))
_SOLVERS = ("auto", "primal", "dual")
_METHODS = ("auto", "eigen", "cholesky")


@dataclass(frozen=True)
class RidgePath:
    """Coefficients for every α of a grid.

    Attributes
    ----------
    alphas : ndarray of shape (n_alphas,)
    coefs : ndarray of shape (n_alphas, n_features)
    intercepts : ndarray of shape (n_alphas,)
    solver : {"primal", "dual"}
    method : {"eigen", "cholesky"}
    """

    alphas: np.ndarray
    coefs: np.ndarray
    intercepts: np.ndarray
    solver: str
    method: str

    def predict(self, X: Any) -> np.ndarray:
        """Predictions for every α, shape (n_samples, n_alphas), from one matrix product."""
        X = np.asarray(check_x(X, n_features=self.coefs.shape[1]))
        return X @ self.coefs.T + self.intercepts[None, :]

    def select(self, X_val: Any, y_val: Any) -> RidgeSelection:
        """Choose α by R² on a validation split (ties → the larger α)."""
        X_val, y_val, _ = check_xy(X_val, y_val, None, n_features=self.coefs.shape[1], name="X_val")
        if y_val.shape[0] < 2 or np.ptp(y_val) == 0:
            raise InvalidParameterError(
                f"y_val must hold at least 2 distinct values to score α by R²; got "
                f"{y_val.shape[0]} value(s) with range {np.ptp(y_val) if y_val.size else 0}."
            )
        scores = np.atleast_1d(r2(y_val, self.predict(X_val)))
        # scores within 1e-12 of the best count as ties; larger α is the safer choice
        tied = scores >= scores.max() - 1e-12 * max(1.0, abs(scores.max()))
        best = int(np.flatnonzero(tied)[np.argmax(self.alphas[tied])])
        return RidgeSelection(
            alpha=float(self.alphas[best]),
            index=best,
            val_scores=scores,
            coef=self.coefs[best],
            intercept=float(self.intercepts[best]),
            path=self,
        )


@dataclass(frozen=True)
class RidgeSelection:
    """The α chosen on validation data, with the scores of every α and the whole path."""

    alpha: float
    index: int
    val_scores: np.ndarray
    coef: np.ndarray
    intercept: float
    path: RidgePath = field(repr=False)


def _resolve_solver(solver: str, n: float, p: int, have_data: bool) -> str:
    check_choice("solver", solver, _SOLVERS)
    if solver == "dual" and not have_data:
        raise InvalidParameterError(
            "solver='dual' needs the training rows (kernel X Xᵀ); statistics only support "
            "solver='primal'. Pass X and y, or use solver='auto'."
        )
    if solver == "auto":
        return "dual" if have_data and n < p else "primal"
    return solver


def ridge_path_from_stats(
    stats: RidgeStats,
    alphas: Sequence[float] | np.ndarray = DEFAULT_ALPHAS,
    *,
    fit_intercept: bool = True,
    method: str = "auto",
    precision: str = "float64",
) -> RidgePath:
    """Ridge coefficients for every α from sufficient statistics (primal solver).

    ``precision="mixed"`` (or ``"float32"``) factorises ``A + αI`` in float32 and refines the
    solution to float64 (Cholesky method only; see :mod:`moehelpers.engine.mixed`).

    Returns
    -------
    RidgePath
    """
    alphas = check_alphas(alphas)
    check_choice("method", method, _METHODS)
    method = _linalg.choose_method(method, alphas.shape[0])
    _linalg.check_precision(precision)
    stats._require_samples()
    a, b, _ = stats._system(fit_intercept)
    if method == "eigen":
        coefs = _linalg.solve_eigen_primal(*_linalg.eigen_decompose(a), b, alphas)
    else:
        coefs = _linalg.solve_cholesky_primal(a, b, alphas, precision)
    intercepts = stats.mean_y - coefs @ stats.mean_x if fit_intercept else np.zeros(len(alphas))
    return RidgePath(alphas, coefs, intercepts, "primal", method)


def _dual_path(X, y, w, alphas, fit_intercept: bool, method: str,
               precision: str = "float64") -> RidgePath:
    method = _linalg.choose_method(method, alphas.shape[0])
    coefs, intercepts = _linalg.dual_coefs(X, y, w, alphas, fit_intercept, method, precision)
    return RidgePath(alphas, coefs, intercepts, "dual", method)


def ridge_path(
    X: Any,
    y: Any,
    alphas: Sequence[float] | np.ndarray = DEFAULT_ALPHAS,
    *,
    fit_intercept: bool = True,
    solver: str = "auto",
    method: str = "auto",
    sample_weight: Any = None,
    chunk_size: int | None = None,
) -> RidgePath:
    """Ridge coefficients for every α in ``alphas`` from data.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        float32 is kept as float32 in memory; sums are formed in float64.
    y : array-like of shape (n_samples,)
    alphas : sequence of float > 0, default=DEFAULT_ALPHAS (1e-3 … 1e5, 9 values)
    fit_intercept : bool, default=True
    solver : {"auto", "primal", "dual"}, default="auto"
        "auto" uses the dual (kernel) form when n_samples < n_features.
    method : {"auto", "eigen", "cholesky"}, default="auto"
        One eigendecomposition for all α, or one Cholesky per α ("auto": Cholesky for
        ≤ 10 α, the cheaper choice; see the module Notes).
    sample_weight : array-like of shape (n_samples,), default=None
        Non-negative weights.
    chunk_size : int, default=None
        Rows per float64 chunk for the primal statistics.

    Returns
    -------
    RidgePath
    """
    alphas = check_alphas(alphas)
    check_choice("method", method, _METHODS)
    X, y, w = check_xy(X, y, sample_weight)
    w = check_sample_weight(w)
    if _resolve_solver(solver, X.shape[0], X.shape[1], True) == "dual":
        return _dual_path(X, y, w, alphas, fit_intercept, method)
    stats = RidgeStats.from_data(X, y, w, chunk_size=chunk_size)
    return ridge_path_from_stats(stats, alphas, fit_intercept=fit_intercept, method=method)


def ridge_path_select(
    train: RidgeStats | Any,
    y_train: Any,
    X_val: Any,
    y_val: Any,
    alphas: Sequence[float] | np.ndarray = DEFAULT_ALPHAS,
    **path_kwargs: Any,
) -> RidgeSelection:
    """Fit the path on training data (array or :class:`RidgeStats`), choose α on validation.

    ``y_train`` must be ``None`` when ``train`` is a :class:`RidgeStats`. The chosen α
    maximises R² on ``(X_val, y_val)``; ties go to the larger α. ``path_kwargs`` go to
    :func:`ridge_path` (or :func:`ridge_path_from_stats`).
    """
    if isinstance(train, RidgeStats):
        if y_train is not None:
            raise InvalidParameterError(
                "y_train must be None when training statistics are given (y is inside them)."
            )
        path = ridge_path_from_stats(train, alphas, **path_kwargs)
    else:
        path = ridge_path(train, y_train, alphas, **path_kwargs)
    return path.select(X_val, y_val)


def grouped_ridge_paths(
    X: Any,
    y: Any,
    groups: Any,
    n_groups: int,
    alphas: Sequence[float] | np.ndarray = DEFAULT_ALPHAS,
    *,
    fit_intercept: bool = True,
    solver: str = "auto",
    method: str = "auto",
    chunk_size: int | None = None,
    precision: str = "float64",
) -> tuple[RidgePath, list[RidgePath]]:
    """Paths of the global model and of every group's model from one pass over the data.

    Each group's rows are read once: a group with fewer rows than features is gathered whole
    (at most a P×P float64 block), giving its statistics and its dual path at once; a larger
    group is streamed in chunks into its statistics and solved in primal form. The global
    statistics are the sum of the groups' (primal). Raises
    :class:`~moehelpers.errors.BinTooSmallError` for an empty group.

    ``precision="mixed"`` factorises in float32 and refines every solve to float64;
    ``"float32"`` also forms the Gram/kernel products in float32 (rows centred on a float32
    reference row first) with float64 sums (:mod:`moehelpers.engine.mixed`); ``"float64"``
    (default) does everything in float64.

    Returns
    -------
    global_path : RidgePath
    group_paths : list of RidgePath, one per group
    """
    alphas = check_alphas(alphas)
    check_choice("method", method, _METHODS)
    X, y, _ = check_xy(X, y, None, finite=False)
    groups = check_groups(groups, X.shape[0], n_groups)
    n, p = X.shape
    chunk = check_chunk_size(chunk_size, p)
    counts = np.bincount(groups, minlength=n_groups)
    if (counts == 0).any():
        raise BinTooSmallError(
            f"Group(s) {np.flatnonzero(counts == 0).tolist()} have no rows; every group needs "
            "at least one. Merge empty bins or lower n_groups."
        )
    mixed = _linalg.check_precision(precision) == "float32"
    shift = np.asarray(X[: min(chunk, n)], dtype=np.float64).mean(axis=0)
    if mixed:
        shift = _linalg.float32_shift(shift)
    order = np.argsort(groups, kind="stable")
    bounds = np.concatenate([[0], np.cumsum(counts)])
    total, paths = RidgeStats(p, shift=shift), []
    kw = {"fit_intercept": fit_intercept, "method": method, "precision": precision}
    for g in range(n_groups):
        rows = order[bounds[g] : bounds[g + 1]]
        if _resolve_solver(solver, rows.size, p, True) == "dual":
            # ≤ P×P rows: one read; float32 rows stay float32 in mixed precision
            xb = np.asarray(X[rows], dtype=np.float32 if mixed else np.float64)
            yb = np.asarray(y[rows], dtype=np.float64)
            stats = RidgeStats._from_parts(
                shift, _linalg.accumulate_rows(xb, yb, None, shift, chunk, None, precision)
            )
            paths.append(_dual_path(xb, yb, None, alphas, **kw))
        else:
            stats = RidgeStats._from_parts(
                shift, _linalg.accumulate_rows(X, y, None, shift, chunk, rows, precision)
            )
            paths.append(ridge_path_from_stats(stats, alphas, **kw))
        total += stats  # bins partition the sample: their sums are the global sums
    if _resolve_solver(solver, n, p, True) == "dual":  # tiny problems: n < P overall
        global_path = _dual_path(X, y, None, alphas, **kw)
    else:
        global_path = ridge_path_from_stats(total, alphas, **kw)
    return global_path, paths


class RidgeRegressor(RegressorMixin, BaseEstimator):
    """Ridge regression whose α is chosen on a validation split, never on train or test.

    Parameters
    ----------
    alphas : float or sequence of float > 0, default=DEFAULT_ALPHAS
        α grid (1e-3 … 1e5). With more than one α, ``fit`` needs ``X_val``/``y_val``.
    fit_intercept : bool, default=True
    solver : {"auto", "primal", "dual"}, default="auto"
        "auto": dual (kernel) form when n_samples < n_features.
    method : {"auto", "eigen", "cholesky"}, default="auto"
        One eigendecomposition for the whole grid, or one Cholesky per α.
    chunk_size : int, default=None
        Rows per float64 chunk when accumulating statistics (default ~64 MiB).

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,)
    intercept_ : float
    alpha_ : float
        The selected α (the only α when the grid has one value).
    alphas_ : ndarray of shape (n_alphas,)
    coef_path_ : ndarray of shape (n_alphas, n_features)
    intercept_path_ : ndarray of shape (n_alphas,)
    val_scores_ : ndarray of shape (n_alphas,) or None
        Validation R² of every α; ``None`` when fitted without validation data.
    solver_, method_ : str
        Solver and method actually used.
    n_features_in_ : int

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 5)).astype(np.float32)
    >>> y = X @ np.arange(5.0) + 1
    >>> model = RidgeRegressor(alphas=[1e-3, 1e-1, 10]).fit(
    ...     X[:150], y[:150], X_val=X[150:], y_val=y[150:])
    >>> model.alpha_
    0.001
    >>> bool(np.allclose(model.predict(X[:2]), y[:2], atol=1e-3))
    True
    """

    def __init__(
        self,
        alphas: float | Sequence[float] = DEFAULT_ALPHAS,
        *,
        fit_intercept: bool = True,
        solver: str = "auto",
        method: str = "auto",
        chunk_size: int | None = None,
    ) -> None:
        self.alphas = alphas
        self.fit_intercept = fit_intercept
        self.solver = solver
        self.method = method
        self.chunk_size = chunk_size

    def _checked_alphas(self, X_val: Any, y_val: Any) -> np.ndarray:
        if (X_val is None) != (y_val is None):
            raise InvalidParameterError(
                "Pass both X_val and y_val (validation spectra and labels), or neither."
            )
        have_val = X_val is not None
        alphas = check_alphas(self.alphas)
        if alphas.size > 1 and not have_val:
            raise InvalidParameterError(
                f"{type(self).__name__} got {alphas.size} alphas but no validation data; α is "
                "chosen on a validation split only. Pass X_val and y_val to fit, or a single "
                "alpha (e.g. alphas=1.0)."
            )
        return alphas

    def fit(
        self,
        X: Any,
        y: Any,
        X_val: Any = None,
        y_val: Any = None,
        sample_weight: Any = None,
    ) -> RidgeRegressor:
        """Fit the path on ``(X, y)`` and keep the α with the best validation R²."""
        alphas = self._checked_alphas(X_val, y_val)
        path = ridge_path(
            X,
            y,
            alphas,
            fit_intercept=self.fit_intercept,
            solver=self.solver,
            method=self.method,
            sample_weight=sample_weight,
            chunk_size=self.chunk_size,
        )
        return self._set_path(path, X_val, y_val)

    def fit_stats(self, stats: RidgeStats, X_val: Any = None, y_val: Any = None, *,
                  train: tuple[Any, Any] | None = None) -> RidgeRegressor:
        """Fit from :class:`RidgeStats` (primal solver).

        ``train=(X, y)``, the rows the statistics were accumulated from (when they are in
        memory anyway), lets ``solver="auto"`` solve the n × n dual system instead when
        there are fewer rows than features: the same model, far cheaper.
        """
        alphas = self._checked_alphas(X_val, y_val)
        if train is not None:
            X, y = train
            if np.shape(X) != (stats.n, stats.n_features):
                raise ShapeMismatchError(
                    f"train X has shape {np.shape(X)} but the statistics were accumulated "
                    f"from {stats.n:g} rows of {stats.n_features} features; pass the rows the "
                    "statistics came from.")
            if _resolve_solver(self.solver, stats.n, stats.n_features, have_data=True
                               ) == "dual":
                return self._set_path(ridge_path(X, y, alphas, fit_intercept=self.fit_intercept,
                                                 solver="dual", method=self.method),
                                      X_val, y_val)
        _resolve_solver(self.solver, stats.n, stats.n_features, have_data=False)
        path = ridge_path_from_stats(
            stats, alphas, fit_intercept=self.fit_intercept, method=self.method
        )
        return self._set_path(path, X_val, y_val)

    def fit_path(self, path: RidgePath, X_val: Any = None, y_val: Any = None) -> RidgeRegressor:
        """Take a computed :class:`RidgePath` (e.g. a stored one) and choose α on validation.

        The path's α grid must be this estimator's ``alphas``.
        """
        alphas = self._checked_alphas(X_val, y_val)
        if not np.array_equal(np.asarray(path.alphas, dtype=float), alphas):
            raise InvalidParameterError(
                f"The path was computed for α = {np.asarray(path.alphas).tolist()}, but this "
                f"estimator has alphas = {alphas.tolist()}. Build the estimator with the path's "
                "α grid, or recompute the path.")
        return self._set_path(path, X_val, y_val)

    def _set_path(self, path: RidgePath, X_val: Any, y_val: Any) -> RidgeRegressor:
        if X_val is not None:
            sel = path.select(X_val, y_val)
            best, self.val_scores_ = sel.index, sel.val_scores
        else:
            best, self.val_scores_ = 0, None
        self.alphas_, self.coef_path_, self.intercept_path_ = (
            path.alphas,
            path.coefs,
            path.intercepts,
        )
        self.alpha_ = float(path.alphas[best])
        self.coef_ = path.coefs[best]
        self.intercept_ = float(path.intercepts[best])
        self.solver_, self.method_ = path.solver, path.method
        self.n_features_in_ = path.coefs.shape[1]
        return self

    def predict(self, X: Any) -> np.ndarray:
        """Predictions, shape (n_samples,), in float64."""
        check_is_fitted(self, "coef_")
        X = np.asarray(check_x(X, n_features=self.n_features_in_, owner=type(self).__name__))
        return X @ self.coef_ + self.intercept_
