"""Conditional Ridge: coefficients that vary smoothly with a label (MVP-3.2).

The model of the framework document (§2.2 MVP-3.2) is one Ridge on the expanded features
``φ(x, m) = [x, m·x, m²·x]`` (order 2; order 1 drops ``m²·x``, order 0 is plain Ridge):
``ŷ = b + w₀ᵀx + m·w₁ᵀx + m²·w₂ᵀx``, with ``m`` the conditioning label (e.g. [M/H]),
standardised on the training stars.

The ``(order+1)·P``-wide design is never built. Its normal equations consist of blocks
``Σ m^(p+q) x xᵀ`` and ``Σ m^p x y``, so the statistics are the weighted Grams
``Σ mᵏ x xᵀ`` for ``k = 0 … 2·order`` (:func:`moment_stats`, each one
:class:`~moehelpers.engine.ridge.RidgeStats` with ``weights = mᵏ``, accumulated in chunks). Every
moment is kept relative to one shared reference row ``s`` (``u = x − s``); with
``N_k = Σmᵏ``, ``S_k = Σmᵏu``, ``G_k = Σmᵏuuᵀ`` the centred block is

``C_pq = G_{p+q} − S_p S_qᵀ/n + (S_{p+q} − N_q S_p/n) sᵀ + s (S_{p+q} − N_p S_q/n)ᵀ
+ (N_{p+q} − N_p N_q/n) s sᵀ``

in which the large terms of the uncentred form cancel analytically. Validation
predictions are formed block by block (``Σ_p mᵖ · X β_p``). Only ``(order+1)·P`` square
float64 systems are ever held: at P = 4096, order 2 solves a 12288² system.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import check_is_fitted

from moehelpers._validation import check_alphas, check_choice, check_x, check_xy
from moehelpers.engine.block_path import BlockPathMixin, best_alpha_index
from moehelpers.engine.ridge import DEFAULT_ALPHAS, RidgeStats
from moehelpers.errors import InvalidParameterError, ShapeMismatchError

__all__ = ["ConditionalRidge", "moment_stats"]


def moment_stats(X: Any, y: Any, m: Any, max_power: int, *, chunk_size: int | None = None,
                 shift: np.ndarray | None = None,
                 base: RidgeStats | None = None) -> list[RidgeStats]:
    """Weighted statistics ``Σ mᵏ (x, y, x xᵀ, x y)`` for ``k = 0 … max_power``.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    y : array-like of shape (n_samples,)
    m : array-like of shape (n_samples,)
        The conditioning values as the model uses them (already standardised).
    max_power : int ≥ 0
    chunk_size : int, optional
        Rows per float64 chunk.
    shift : ndarray, optional
        Shared reference row (default: the first chunk's mean, or ``base.shift``).
    base : RidgeStats, optional
        Unweighted statistics of the same ``(X, y)`` already computed (e.g. by a global
        model): reused as ``k = 0`` instead of another pass over the data.

    Returns
    -------
    list of RidgeStats, all with the same ``shift``.
    """
    if isinstance(max_power, bool) or not isinstance(max_power, int | np.integer) \
            or max_power < 0:
        raise InvalidParameterError(f"max_power must be an integer ≥ 0; got {max_power!r}.")
    X, y, m = check_xy(X, y, m)
    if base is not None:
        if base.n_features != X.shape[1] or base.n != X.shape[0]:
            raise ShapeMismatchError(
                f"base statistics ({base.n_features} features, n={base.n:g}) do not match X "
                f"{X.shape}; pass the unweighted statistics of the same training rows.")
        shift = base._shift0() if shift is None else shift
        first = base.with_shift(shift) if not np.array_equal(base._shift0(), shift) else base
    else:
        first = RidgeStats.from_data(X, y, chunk_size=chunk_size, shift=shift)
        shift = first.shift
    out = [first]
    for k in range(1, int(max_power) + 1):
        out.append(RidgeStats.from_data(X, y, m**k, chunk_size=chunk_size, shift=shift))
    return out


def _blocks(moments: Sequence[RidgeStats], order: int, fit_intercept: bool
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """``(A, b, means, ȳ)`` of the (order+1)·P normal equations (``means`` per block)."""
    p, shift = moments[0].n_features, moments[0]._shift0()
    n_k = np.array([s.n for s in moments])
    s_k = [s.sum_u for s in moments]
    y_k = np.array([s.sum_y for s in moments])
    t_k = [s.xty for s in moments]
    n = n_k[0]
    width = (order + 1) * p
    a = np.empty((width, width))
    b = np.empty(width)
    means = np.zeros((order + 1, p))
    ybar = y_k[0] / n if fit_intercept else 0.0
    c = 1.0 / n if fit_intercept else 0.0  # centring drops out without an intercept
    for i in range(order + 1):
        rows = slice(i * p, (i + 1) * p)
        for j in range(i, order + 1):
            k = i + j
            block = moments[k].gram  # a fresh symmetric copy, one at a time
            block -= c * np.outer(s_k[i], s_k[j])
            block += np.outer(s_k[k] - c * n_k[j] * s_k[i], shift)
            block += np.outer(shift, s_k[k] - c * n_k[i] * s_k[j])
            block += (n_k[k] - c * n_k[i] * n_k[j]) * np.outer(shift, shift)
            a[rows, j * p:(j + 1) * p] = block
            a[j * p:(j + 1) * p, rows] = block.T
        b[rows] = t_k[i] - c * s_k[i] * y_k[0] + (y_k[i] - c * n_k[i] * y_k[0]) * shift
        means[i] = (s_k[i] + n_k[i] * shift) / n
    return a, b, means, ybar


class ConditionalRidge(BlockPathMixin, RegressorMixin, BaseEstimator):
    """One Ridge on ``[x, m·x, …, m^order·x]`` solved from weighted Gram blocks.

    Parameters
    ----------
    order : {0, 1, 2}, default=1
        Highest power of ``m`` (0 = plain Ridge on ``x``).
    alphas : float or sequence of float > 0, default=DEFAULT_ALPHAS
        α grid; with more than one α, ``fit`` needs validation data.
    fit_intercept : bool, default=True
        One unpenalised scalar intercept (as Ridge on the expanded features).
    condition : str, default="M_H"
        Name of the conditioning label (for tables and error messages).
    standardize : bool, default=True
        Use ``(m − mean)/sd`` with mean and sd of the training values.
    method : {"auto", "eigen", "cholesky"}, default="auto"
        One eigendecomposition for the grid, or one Cholesky per α.
    alpha_search : {"grid", "walk"}, default="grid"
        ``"grid"`` solves for every α. ``"walk"`` (with validation data and > 2 α) starts
        at the middle α of the sorted grid and moves to the better neighbour while the
        validation R² improves (ties → larger α), one Cholesky per visited α: the same α as
        ``"grid"`` whenever the validation curve has one peak, at about half the solves
        for the large order-2 systems. Unvisited α get NaN in ``val_scores_``.
    chunk_size : int, optional
        Rows per float64 chunk of the statistics pass.

    Attributes
    ----------
    coef_ : ndarray of shape ((order+1)·n_features,)
        ``[w₀, w₁, …]`` for the standardised ``m``.
    coef_blocks_ : ndarray of shape (order+1, n_features)
    intercept_ : float
    alpha_ : float
    alphas_, val_scores_ : ndarray
        α grid and validation R² per α (``None`` without validation data).
    m_mean_, m_scale_ : float
        Standardisation of ``m`` (0 and 1 when ``standardize=False``).
    n_features_in_ : int

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X, m = rng.normal(size=(300, 4)), rng.uniform(-2, 0.5, 300)
    >>> y = X @ [1.0, 2, 0, 0] + m * (X @ [0.0, 0, 1, 1])
    >>> model = ConditionalRidge(order=1, alphas=1e-6, standardize=False).fit(X, y, m)
    >>> bool(np.allclose(model.predict(X, m), y, atol=1e-5))
    True
    """

    def __init__(self, order: int = 1, alphas: float | Sequence[float] = DEFAULT_ALPHAS, *,
                 fit_intercept: bool = True, condition: str = "M_H", standardize: bool = True,
                 method: str = "auto", alpha_search: str = "grid",
                 chunk_size: int | None = None) -> None:
        self.order = order
        self.alphas = alphas
        self.fit_intercept = fit_intercept
        self.condition = condition
        self.standardize = standardize
        self.method = method
        self.alpha_search = alpha_search
        self.chunk_size = chunk_size

    def _check(self) -> np.ndarray:
        if self.order not in (0, 1, 2) or isinstance(self.order, bool):
            raise InvalidParameterError(f"order must be 0, 1 or 2; got {self.order!r}.")
        check_choice("method", self.method, ("auto", "eigen", "cholesky"))
        check_choice("alpha_search", self.alpha_search, ("grid", "walk"))
        return check_alphas(self.alphas)

    def scale(self, m: Any) -> np.ndarray:
        """The conditioning values as the model uses them: ``(m − m_mean_) / m_scale_``."""
        check_is_fitted(self, "m_mean_")
        return (np.asarray(m, dtype=np.float64) - self.m_mean_) / self.m_scale_

    def _set_scaling(self, m: np.ndarray) -> None:
        m = np.asarray(m, dtype=np.float64)
        if not np.isfinite(m).all():
            raise InvalidParameterError(f"{self.condition} values must be finite.")
        sd = float(m.std()) if self.standardize else 1.0
        if self.standardize and not sd > 0:
            raise InvalidParameterError(
                f"{self.condition} is constant on the training stars; it cannot be "
                "standardised (or condition anything). Use order=0.")
        self.m_mean_ = float(m.mean()) if self.standardize else 0.0
        self.m_scale_ = sd

    def fit(self, X: Any, y: Any, m: Any, X_val: Any = None, y_val: Any = None,
            m_val: Any = None) -> ConditionalRidge:
        """Accumulate the moment statistics of ``(X, y, m)`` and fit (α on validation)."""
        self._check()
        X, y, _ = check_xy(X, y, None)
        m = _check_m(m, X.shape[0], self.condition)
        self._set_scaling(m)
        moments = moment_stats(X, y, self.scale(m), 2 * self.order, chunk_size=self.chunk_size)
        return self._fit_moments(moments, X_val, y_val, m_val)

    def fit_moments(self, moments: Sequence[RidgeStats], m_mean: float, m_scale: float,
                    X_val: Any = None, y_val: Any = None, m_val: Any = None
                    ) -> ConditionalRidge:
        """Fit from :func:`moment_stats` of ``(m − m_mean)/m_scale`` computed elsewhere
        (at least ``2·order + 1`` moments; extra ones are ignored), so several orders
        share one statistics pass."""
        self._check()
        if not m_scale > 0:
            raise InvalidParameterError(f"m_scale must be > 0; got {m_scale!r}.")
        self.m_mean_, self.m_scale_ = float(m_mean), float(m_scale)
        return self._fit_moments(moments, X_val, y_val, m_val)

    def _fit_moments(self, moments: Sequence[RidgeStats], X_val: Any, y_val: Any,
                     m_val: Any) -> ConditionalRidge:
        alphas = self._check()
        need = 2 * self.order + 1
        if len(moments) < need:
            raise InvalidParameterError(
                f"order {self.order} needs {need} moment statistics (k = 0 … {need - 1}); got "
                f"{len(moments)}.")
        given = [v is not None for v in (X_val, y_val, m_val)]
        if any(given) and not all(given):
            raise InvalidParameterError("Pass X_val, y_val and m_val together, or none.")
        if alphas.size > 1 and not all(given):
            raise InvalidParameterError(
                f"{alphas.size} alphas but no validation data: α is chosen on a validation "
                "split only. Pass X_val, y_val and m_val, or a single alpha.")
        moments[0]._require_samples()
        a, b, means, ybar = _blocks(moments[:need], self.order, self.fit_intercept)
        p = moments[0].n_features
        self.n_features_in_ = p
        val = None
        if all(given):
            X_val, y_val, _ = check_xy(X_val, y_val, None, n_features=p, name="X_val")
            val = (X_val, y_val, self.scale(_check_m(m_val, X_val.shape[0], self.condition)))
        coefs, intercepts, scores = self._solve(a, b, means, ybar, alphas, val)
        del a
        best, self.val_scores_ = best_alpha_index(scores, alphas), scores
        self.alphas_, self.alpha_ = alphas, float(alphas[best])
        self.coef_ = coefs[best]
        self.coef_blocks_ = self.coef_.reshape(self.order + 1, p)
        self.intercept_ = float(intercepts[best])
        return self

    def _predict_path(self, X: Any, ms: np.ndarray, coefs: np.ndarray,
                      intercepts: np.ndarray) -> np.ndarray:
        """Predictions for every row of ``coefs``, block by block: Σ_p mᵖ · X β_p."""
        p = self.n_features_in_
        X = np.asarray(X)
        out = np.broadcast_to(intercepts, (X.shape[0], intercepts.size)).copy()
        for k in range(self.order + 1):
            out += (ms**k)[:, None] * (X @ coefs[:, k * p:(k + 1) * p].T)
        return out

    def predict(self, X: Any, m: Any) -> np.ndarray:
        """Predictions of shape (n_samples,) given the conditioning values ``m``."""
        check_is_fitted(self, "coef_")
        X = check_x(X, n_features=self.n_features_in_, owner=type(self).__name__)
        ms = self.scale(_check_m(m, X.shape[0], self.condition))
        return self._predict_path(X, ms, self.coef_[None, :],
                                  np.array([self.intercept_]))[:, 0]


def _check_m(m: Any, n: int, name: str) -> np.ndarray:
    out = np.asarray(m, dtype=np.float64).ravel()
    if out.shape[0] != n:
        raise ShapeMismatchError(
            f"{name} has {out.shape[0]} values but X has {n} rows; give one per spectrum.")
    if not np.isfinite(out).all():
        raise InvalidParameterError(f"{name} contains NaN or inf; every star needs a value.")
    return out
