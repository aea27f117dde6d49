"""Conditional Ridge: coefficients that vary smoothly with one label (MVP-3.2).

The model of the framework document (§2.2 MVP-3.2) is one Ridge on the expanded features
``φ(x, m) = [x, m·x, m²·x]`` (order 2; order 1 drops ``m²·x``, order 0 is plain Ridge):
``ŷ = b + w₀ᵀx + m·w₁ᵀx + m²·w₂ᵀx``, with ``m`` the conditioning label (e.g. [M/H]),
standardised on the training stars.

It is the one-variable case of :class:`~moehelpers.models.modulated.ModulatedRidge` with the
terms ``m, m², …`` — same statistics, same block solver, same α search. The weighted Grams
it needs are ``Σ mᵏ x xᵀ`` for ``k = 0 … 2·order`` (:func:`moment_stats`), so several orders
share one statistics pass (:meth:`ConditionalRidge.fit_moments`). At P = 4096, order 2
solves a 12288² system.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from sklearn.utils.validation import check_is_fitted

from moehelpers._validation import check_xy
from moehelpers.engine.ridge import DEFAULT_ALPHAS, RidgeStats
from moehelpers.engine.terms import ModulatorScaling
from moehelpers.errors import InvalidParameterError, ShapeMismatchError
from moehelpers.models.modulated import ModulatedRidge, modulated_stats

__all__ = ["ConditionalRidge", "fit_orders", "moment_stats", "standardized_moments"]

_VAR = "m"  # the one modulator variable's internal name


def moment_stats(X: Any, y: Any, m: Any, max_power: int, *, chunk_size: int | None = None,
                 shift: np.ndarray | None = None,
                 base: RidgeStats | None = None) -> list[RidgeStats]:
    """Weighted statistics ``Σ mᵏ (x, y, x xᵀ, x y)`` for ``k = 0 … max_power``.

    :func:`~moehelpers.models.modulated.modulated_stats` of the single variable ``m``.

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
        Shared reference row (default: ``base``'s, or the first chunk's mean).
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
    if base is not None and (base.n_features != X.shape[1] or base.n != X.shape[0]):
        raise ShapeMismatchError(
            f"base statistics ({base.n_features} features, n={base.n:g}) do not match X "
            f"{X.shape}; pass the unweighted statistics of the same training rows.")
    stats = modulated_stats(X, y, m[:, None], [(k,) for k in range(int(max_power) + 1)],
                            chunk_size=chunk_size, shift=shift, base=base)
    return [stats[(k,)] for k in range(int(max_power) + 1)]


class ConditionalRidge(ModulatedRidge):
    """One Ridge on ``[x, m·x, …, m^order·x]``: :class:`ModulatedRidge` of one label's powers.

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
        As in :class:`~moehelpers.models.modulated.ModulatedRidge`.
    alpha_start : float, optional
        Where the walk starts (default the middle of the grid).
    chunk_size : int, optional
        Rows per float64 chunk of the statistics pass.
    solver : {"auto", "primal", "dual"}, default="auto"
        As in :class:`~moehelpers.models.modulated.ModulatedRidge`: with the training rows at
        hand and fewer of them than the (order+1)·P features, ``"auto"`` solves the n × n
        dual system instead of the moment Grams' primal one (the same model).

    Attributes
    ----------
    coef_ : ndarray of shape ((order+1)·n_features,)
        ``[w₀, w₁, …]`` for the standardised ``m``.
    coef_blocks_ : ndarray of shape (order+1, n_features)
    intercept_, alpha_ : float
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
                 alpha_start: float | None = None, chunk_size: int | None = None,
                 solver: str = "auto") -> None:
        self.order = order
        self.alphas = alphas
        self.fit_intercept = fit_intercept
        self.condition = condition
        self.standardize = standardize
        self.method = method
        self.alpha_search = alpha_search
        self.alpha_start = alpha_start
        self.chunk_size = chunk_size
        self.solver = solver

    @property
    def terms(self) -> list[str]:
        """The modulator terms ``m, m^2, …`` of this order."""
        return [_VAR if k == 1 else f"{_VAR}^{k}" for k in range(1, int(self.order) + 1)]

    def _exponents(self, names: Sequence[str]) -> np.ndarray:
        self._check_order()
        return np.arange(1, int(self.order) + 1, dtype=int).reshape(-1, 1)

    def _check_order(self) -> None:
        if isinstance(self.order, bool) or self.order not in (0, 1, 2):
            raise InvalidParameterError(f"order must be 0, 1 or 2; got {self.order!r}.")

    @property
    def m_mean_(self) -> float:
        check_is_fitted(self, "scaling_")
        return float(self.scaling_.mean[0])

    @property
    def m_scale_(self) -> float:
        check_is_fitted(self, "scaling_")
        return float(self.scaling_.scale[0])

    def scale(self, m: Any) -> np.ndarray:
        """The conditioning values as the model uses them: ``(m − m_mean_) / m_scale_``."""
        return (np.asarray(m, dtype=np.float64) - self.m_mean_) / self.m_scale_

    def _scaling(self, m: np.ndarray) -> ModulatorScaling:
        if not self.standardize:
            return ModulatorScaling((_VAR,), np.zeros(1), np.ones(1))
        sd = float(m.std())
        if not sd > 0:
            raise InvalidParameterError(
                f"{self.condition} is constant on the training stars; it cannot be "
                "standardised (or condition anything). Use order=0.")
        return ModulatorScaling((_VAR,), np.array([m.mean()]), np.array([sd]))

    def _set_scaling(self, m: Any) -> None:
        """Learn the standardisation of ``m`` now (a streamed fit reads the labels first)."""
        m = np.asarray(m, dtype=np.float64).ravel()
        self.scaling_ = self._scaling(_check_m(m, m.shape[0], self.condition))

    def _z(self, m: Any, n: int) -> dict[str, np.ndarray] | None:
        return None if m is None else {_VAR: _check_m(m, n, self.condition)}

    def fit(self, X: Any, y: Any, m: Any, X_val: Any = None, y_val: Any = None,
            m_val: Any = None) -> ConditionalRidge:
        """Fit on ``(X, y, m)`` (α on validation): from the moment statistics, or from the
        rows themselves when the dual system is smaller (``solver``)."""
        self._check_order()
        self._check()
        X, y, _ = check_xy(X, y, None)
        m = _check_m(m, X.shape[0], self.condition)
        scaling = self._scaling(m)
        if self._dual(X.shape[0], (int(self.order) + 1) * X.shape[1]):
            return self._fit_rows(X, y, {_VAR: m}, scaling, X_val, y_val,
                                  self._val_z(X_val, m_val))
        moments = moment_stats(X, y, scaling.transform({_VAR: m})[:, 0], 2 * int(self.order),
                               chunk_size=self.chunk_size)
        return self._fit(moments, scaling, X_val, y_val, m_val)

    def fit_moments(self, moments: Sequence[RidgeStats], m_mean: float, m_scale: float,
                    X_val: Any = None, y_val: Any = None, m_val: Any = None, *,
                    train: tuple[Any, Any, Any] | None = None) -> ConditionalRidge:
        """Fit from :func:`moment_stats` of ``(m − m_mean)/m_scale`` computed elsewhere
        (at least ``2·order + 1`` moments; extra ones are ignored), so several orders
        share one statistics pass.

        ``train=(X, y, m)``, the rows the moments came from, lets ``solver="auto"`` take
        the dual system when it is smaller.
        """
        self._check_order()
        if not m_scale > 0:
            raise InvalidParameterError(f"m_scale must be > 0; got {m_scale!r}.")
        scaling = ModulatorScaling((_VAR,), np.array([float(m_mean)]),
                                   np.array([float(m_scale)]))
        if train is not None:
            X, y, m = train
            train = (X, y, self._z(m, np.asarray(X).shape[0]))
        return self._fit(moments, scaling, X_val, y_val, m_val, train)

    def _val_z(self, X_val: Any, m_val: Any) -> dict[str, Any] | None:
        if X_val is not None and m_val is not None:
            return self._z(m_val, np.asarray(X_val).shape[0])
        return None if m_val is None else {_VAR: m_val}

    def _fit(self, moments: Sequence[RidgeStats], scaling: ModulatorScaling, X_val: Any,
             y_val: Any, m_val: Any, train: tuple[Any, Any, Any] | None = None
             ) -> ConditionalRidge:
        need = 2 * int(self.order) + 1
        if len(moments) < need:
            raise InvalidParameterError(
                f"order {self.order} needs {need} moment statistics (k = 0 … {need - 1}); got "
                f"{len(moments)}.")
        stats = {(k,): st for k, st in enumerate(moments[:need])}
        return self.fit_stats(stats, scaling, X_val, y_val, self._val_z(X_val, m_val),
                              train=train)

    def predict(self, X: Any, m: Any) -> np.ndarray:
        """Predictions of shape (n_samples,) given the conditioning values ``m``."""
        return super().predict(X, self._z(m, np.asarray(X).shape[0]))

    def score(self, X: Any, y: Any, m: Any) -> float:
        """R² of :meth:`predict` on ``(X, m)`` against ``y``."""
        return super().score(X, y, self._z(m, np.asarray(X).shape[0]))


def _check_m(m: Any, n: int, name: str) -> np.ndarray:
    out = np.asarray(m, dtype=np.float64).ravel()
    if out.shape[0] != n:
        raise ShapeMismatchError(
            f"{name} has {out.shape[0]} values but X has {n} rows; give one per spectrum.")
    if not np.isfinite(out).all():
        raise InvalidParameterError(f"{name} contains NaN or inf; every star needs a value.")
    return out


# --- notebooks 07 and 15: moments of m standardised on the training stars ---
def standardized_moments(X: Any, y: Any, m: Any, max_power: int, *,
                         base: RidgeStats | None = None
                         ) -> tuple[list[RidgeStats], float, float]:
    """:func:`moment_stats` of ``m`` standardised on these (training) stars.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    y : array-like of shape (n_samples,)
    m : array-like of shape (n_samples,)
        Raw conditioning values (e.g. [M/H]).
    max_power : int ≥ 0
        Highest power of the standardised ``m`` (``2 · order`` for a model of that order).
    base : RidgeStats, optional
        Unweighted statistics of ``(X, y)``, reused for ``k = 0``.

    Returns
    -------
    moments : list of RidgeStats
    mean, sd : float
        The standardisation, for :meth:`ConditionalRidge.fit_moments`.
    """
    m = np.asarray(m)
    mean, sd = float(m.mean()), float(m.std())
    return moment_stats(X, y, (m - mean) / sd, max_power, base=base), mean, sd


def fit_orders(sources: Mapping[str, Mapping[str, Any]], X: Mapping[str, Any],
               y: Mapping[str, Any], orders: Sequence[int], alphas: float | Sequence[float], *,
               alpha_search: str = "walk", base: RidgeStats | None = None
               ) -> dict[tuple[str, int], ConditionalRidge]:
    """Conditional Ridge of every order for every source of ``m`` (MVP-3.2).

    One :func:`standardized_moments` pass per source (powers up to ``2 · max(orders)``)
    serves all its orders; an order with more features than training rows solves its dual
    system from the rows instead (``solver="auto"``). Order 0 ignores ``m``, so it is fitted
    once, for the source ``"true"`` only.

    Parameters
    ----------
    sources : mapping of str → mapping of split → array of shape (n_split,)
        The conditioning values per split (``"train"``, ``"val"``), e.g.
        ``{"true": mh, "pred": mh_hat}``.
    X, y : mapping of split → array
        Flux and targets of the ``"train"`` and ``"val"`` splits.
    orders : sequence of int
        Orders to fit (0 is the global Ridge).
    alphas : float or sequence of float
        Ridge α grid.
    alpha_search : {"walk", "grid"}, default="walk"
        :class:`ConditionalRidge`'s α search.
    base : RidgeStats, optional
        Unweighted statistics of the training ``(X, y)``, reused for power 0.

    Returns
    -------
    dict of (source, order) → ConditionalRidge
        Fitted models in the order sources × orders (``("pred", 0)`` absent).
    """
    models: dict[tuple[str, int], ConditionalRidge] = {}
    n, p = np.shape(X["train"])
    for source, m in sources.items():
        fitted = [o for o in orders if o > 0 or source == "true"]  # order 0 ignores m
        # every order with more features than rows solves its dual system from the rows;
        # the moment Grams are accumulated only when some order needs them
        moments = mean = sd = None
        if any(n >= (o + 1) * p for o in fitted):
            moments, mean, sd = standardized_moments(X["train"], y["train"], m["train"],
                                                     2 * max(orders), base=base)
        for order in fitted:
            model = ConditionalRidge(order, alphas, alpha_search=alpha_search)
            args = (X["val"], y["val"], m["val"])
            models[(source, order)] = (
                model.fit(X["train"], y["train"], m["train"], *args) if moments is None
                else model.fit_moments(moments, mean, sd, *args,
                                       train=(X["train"], y["train"], m["train"])))
        del moments
    return models
