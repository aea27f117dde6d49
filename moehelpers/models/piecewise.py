"""Piecewise Ridge: one Ridge expert per bin of a label scheme, plus a global model.

:class:`PiecewiseRidge` routes each star by its labels (true or predicted — whatever
labels are passed) through a :class:`~moehelpers.models.bins.BinScheme`; each bin's expert is a
Ridge model fitted on that bin's training stars with its α chosen on that bin's validation
stars. The global model (all training stars, α chosen on all validation stars) comes for
free: bins partition the sample, so their statistics sum to the global statistics.

Rules, stated once
------------------
* **Small training bins** (fewer than ``min_bin_train`` stars, document §2.2 MVP-1.0:
  "bins with < 100 stars → merge adjacent bins") are handled by
  :func:`~moehelpers.models.bins.resolve_small_bins`: ``"merge"`` joins the smallest offending
  group with its most populous face-neighbour, repeatedly; ``"fallback"`` hands its stars
  to the global model; ``"raise"`` refuses. ``bin_plan_.statement`` says what happened.
* **Small validation bins**: an expert whose bin holds fewer than ``min_bin_val``
  validation stars (or whose validation labels are all equal) cannot rank α by R² on its
  own stars; it takes the α that the global model chose on *all* validation stars, and
  ``bin_plan_.statement`` lists it. The fit itself always uses the bin's training stars.
* **Uncovered stars** (outside every bin, or in a ``"fallback"`` bin) are predicted by the
  global model when ``fallback=True``, else NaN.

One pass
--------
:func:`fit_together` fits several models (e.g. the 3×3, [M/H]-only and Teff-only schemes)
on the same training matrix from *one* :func:`~moehelpers.engine.ridge.grouped_stats` pass over
the common refinement of their bins; each expert's statistics are sums of refinement
groups, and one global model is shared by all of them. An expert with fewer stars than
pixels is solved in dual (kernel) form from its rows, as the engine does.

:class:`ConditionalRidge` (coefficients varying with [M/H], MVP-3.2) lives in
:mod:`moehelpers.models.conditional` and is re-exported here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from moehelpers._validation import check_alphas, check_choice, check_x, check_xy
from moehelpers.engine.ridge import (
    DEFAULT_ALPHAS,
    RidgePath,
    RidgeRegressor,
    RidgeStats,
    grouped_stats,
    ridge_path,
    ridge_path_from_stats,
)
from moehelpers.errors import BinTooSmallError, InvalidParameterError, ShapeMismatchError
from moehelpers.models.bins import BinPlan, BinScheme, physical_3x3, resolve_small_bins
from moehelpers.models.conditional import ConditionalRidge, moment_stats

__all__ = ["ConditionalRidge", "PiecewiseRidge", "fit_together", "moment_stats"]

_STRATEGIES = ("merge", "fallback", "raise")


class PiecewiseRidge(BaseEstimator):
    """One Ridge expert per bin of ``scheme``; global Ridge for uncovered stars.

    Parameters
    ----------
    scheme : BinScheme, default=None
        Bin scheme; ``None`` means the physical 3×3 (Teff × [M/H]) scheme.
    alphas : sequence of float > 0, default=DEFAULT_ALPHAS (1e-3 … 1e5)
        α grid shared by every expert and the global model.
    min_bin_train : int, default=100
        Bins with fewer training stars are handled by ``small_bins``.
    min_bin_val : int, default=20
        Experts with fewer validation stars take the global model's α (see module notes).
    small_bins : {"merge", "fallback", "raise"}, default="merge"
    fallback : bool, default=True
        Predict uncovered stars with the global model (else NaN).
    fit_intercept : bool, default=True
    solver : {"auto", "primal", "dual"}, default="auto"
        "auto": dual (kernel) form for an expert with fewer stars than pixels.
    method : {"auto", "eigen", "cholesky"}, default="auto"
    chunk_size : int, default=None
        Rows per float64 chunk of the statistics pass.

    Attributes
    ----------
    scheme_ : BinScheme
    bin_plan_ : BinPlan
        Expert per bin and the statement of merges, fallbacks and α fallbacks.
    global_ : RidgeRegressor
        The global model (all training stars; α on all validation stars).
    experts_ : list of RidgeRegressor
        One per expert, in expert-id order.
    alpha_per_expert_ : ndarray of shape (n_experts,)
    alpha_source_ : list of str
        ``"bin"`` (α chosen on the expert's validation stars) or ``"global"``.
    expert_names_ : list of str
        The bins each expert serves, joined by " + ".
    counts_ : DataFrame
        Per bin (and an ``uncovered`` row, bin −1): name, expert, n_train, n_val.
    n_features_in_ : int

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> lab = pd.DataFrame({"T_eff": rng.uniform(3750, 6000, 900),
    ...                     "M_H": rng.uniform(-2, 0.5, 900)})
    >>> X = rng.normal(size=(900, 5))
    >>> y = (X * (1 + (lab["M_H"].to_numpy() > 0))[:, None]).sum(axis=1)
    >>> m = PiecewiseRidge(alphas=[1e-3], min_bin_train=50).fit(X, y, lab)
    >>> len(m.experts_), bool(np.allclose(m.predict(X, lab), y, atol=1e-3))
    (9, True)
    """

    def __init__(
        self,
        scheme: BinScheme | None = None,
        alphas: float | Sequence[float] = DEFAULT_ALPHAS,
        *,
        min_bin_train: int = 100,
        min_bin_val: int = 20,
        small_bins: str = "merge",
        fallback: bool = True,
        fit_intercept: bool = True,
        solver: str = "auto",
        method: str = "auto",
        chunk_size: int | None = None,
    ) -> None:
        self.scheme = scheme
        self.alphas = alphas
        self.min_bin_train = min_bin_train
        self.min_bin_val = min_bin_val
        self.small_bins = small_bins
        self.fallback = fallback
        self.fit_intercept = fit_intercept
        self.solver = solver
        self.method = method
        self.chunk_size = chunk_size

    # ------------------------------------------------------------------ fitting
    def fit(
        self,
        X: Any,
        y: Any,
        labels: pd.DataFrame | Mapping[str, Any],
        X_val: Any = None,
        y_val: Any = None,
        labels_val: pd.DataFrame | Mapping[str, Any] | None = None,
    ) -> PiecewiseRidge:
        """Fit the experts and the global model; α per model on validation stars.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
        labels : DataFrame or mapping of column → array
            Routing labels of the training stars (the scheme's columns).
        X_val, y_val, labels_val : optional
            Validation spectra, targets and routing labels; required with more than one α.

        Returns
        -------
        self
        """
        fit_together([self], X, y, labels, X_val, y_val, labels_val)
        return self

    def fit_stats(
        self,
        bin_stats: Sequence[RidgeStats],
        labels: pd.DataFrame | Mapping[str, Any],
        X_val: Any = None,
        y_val: Any = None,
        labels_val: pd.DataFrame | Mapping[str, Any] | None = None,
    ) -> PiecewiseRidge:
        """Fit from per-bin statistics computed elsewhere (e.g. streamed from shards).

        ``bin_stats`` holds one :class:`~moehelpers.engine.ridge.RidgeStats` per bin of the scheme
        plus one for the uncovered stars (last), all of the training stars whose routing
        ``labels`` are given (labels only: the spectra are not needed). Every model is
        solved in primal form from the statistics, whatever ``solver`` says (except
        ``"dual"``, which needs the rows and is refused).
        """
        if self.solver == "dual":
            raise InvalidParameterError(
                "solver='dual' needs the training rows; fitting from statistics is primal. "
                "Use solver='auto' or 'primal'.")
        given = [v is not None for v in (X_val, y_val, labels_val)]
        if any(given) and not all(given):
            raise InvalidParameterError(
                "Pass X_val, y_val and labels_val together, or none of them.")
        n = len(next(iter(labels.values()))) if isinstance(labels, Mapping) else len(labels)
        scheme, _ = self._check_params()
        if len(bin_stats) != scheme.n_bins + 1:
            raise ShapeMismatchError(
                f"bin_stats must hold {scheme.n_bins + 1} statistics (one per bin of "
                f"{scheme.name!r}, then the uncovered stars); got {len(bin_stats)}.")
        p = bin_stats[0].n_features
        val = None
        if all(given):
            X_val, y_val, _ = check_xy(X_val, y_val, None, n_features=p, name="X_val")
            val = (X_val, y_val)
        r = _route(self, labels, n, labels_val, 0 if val is None else X_val.shape[0])
        counts = np.bincount(np.where(r.bins < 0, scheme.n_bins, r.bins),
                             minlength=scheme.n_bins + 1)
        if not np.allclose(counts, [s.n for s in bin_stats]):
            raise ShapeMismatchError(
                f"bin_stats hold {[round(s.n) for s in bin_stats]} stars per bin but the labels "
                f"route {counts.tolist()}; pass the labels of the same training stars.")
        if val is None and r.alphas.size > 1:
            raise InvalidParameterError(
                "More than one α needs validation data: α is chosen on a validation split "
                "only. Pass X_val, y_val and labels_val, or a single alpha.")
        path = ridge_path_from_stats(_summed(list(bin_stats)), r.alphas,
                                     fit_intercept=self.fit_intercept, method=self.method)
        sel = path.select(*val) if val is not None else None
        index = 0 if sel is None else sel.index
        self.global_ = self._regressor(path, index, None if sel is None else sel.val_scores)
        combo_col = np.append(r.plan.expert_of_bin, -1)  # uncovered stars serve no expert
        _fit_experts(self, r, list(bin_stats), combo_col, None, None, val, index)
        self.n_features_in_ = p
        return self

    def _check_params(self) -> tuple[BinScheme, np.ndarray]:
        check_choice("small_bins", self.small_bins, _STRATEGIES)
        check_choice("solver", self.solver, ("auto", "primal", "dual"))
        for name, low in (("min_bin_train", 1), ("min_bin_val", 2)):
            value = getattr(self, name)
            if not isinstance(value, int | np.integer) or isinstance(value, bool) or value < low:
                raise InvalidParameterError(f"{name} must be an integer ≥ {low}; got {value!r}.")
        scheme = physical_3x3() if self.scheme is None else self.scheme
        if not isinstance(scheme, BinScheme):
            raise InvalidParameterError(
                f"scheme must be a moehelpers.models.bins.BinScheme (e.g. physical_3x3()); got "
                f"{type(scheme).__name__}.")
        return scheme, check_alphas(self.alphas)

    def _global_key(self) -> tuple:
        return (tuple(check_alphas(self.alphas)), self.fit_intercept, self.solver, self.method)

    def _regressor(self, path: RidgePath, index: int, val_scores: np.ndarray | None
                   ) -> RidgeRegressor:
        reg = RidgeRegressor(alphas=path.alphas.tolist(), fit_intercept=self.fit_intercept,
                             solver=self.solver, method=self.method, chunk_size=self.chunk_size)
        reg._set_path(path, None, None)
        reg.alpha_ = float(path.alphas[index])
        reg.coef_, reg.intercept_ = path.coefs[index], float(path.intercepts[index])
        reg.val_scores_ = val_scores
        return reg

    # ------------------------------------------------------------------ routing, predicting
    def route(self, labels: pd.DataFrame | Mapping[str, Any]) -> np.ndarray:
        """Expert id per star; −1 where no expert serves it (uncovered or a fallback bin)."""
        check_is_fitted(self, "experts_")
        return self.bin_plan_.experts(self.scheme_.assign(labels))

    def predict(self, X: Any, labels: pd.DataFrame | Mapping[str, Any]) -> np.ndarray:
        """Predictions of shape (n_samples,): the routed expert, else global or NaN."""
        check_is_fitted(self, "experts_")
        X = check_x(X, n_features=self.n_features_in_, owner=type(self).__name__)
        experts = self.route(labels)
        _check_rows(experts, X.shape[0], "labels")
        out = np.full(X.shape[0], np.nan)
        for k, reg in enumerate(self.experts_):
            rows = np.flatnonzero(experts == k)
            if rows.size:
                out[rows] = np.asarray(X[rows]) @ reg.coef_ + reg.intercept_
        rest = np.flatnonzero(experts < 0)
        if self.fallback and rest.size:
            out[rest] = self.global_.predict(np.asarray(X[rest]))
        return out


def _check_rows(ids: np.ndarray, n: int, name: str) -> None:
    if ids.shape[0] != n:
        raise ShapeMismatchError(
            f"{name} has {ids.shape[0]} rows but X has {n}; give one label row per spectrum.")


def _is_dual(model: PiecewiseRidge, n_rows: int, n_features: int) -> bool:
    """Whether a model on ``n_rows`` stars is solved in dual (kernel) form from its rows."""
    return model.solver == "dual" or (model.solver == "auto" and n_rows < n_features)


def _summed(stats: list) -> Any:
    return stats[0] if len(stats) == 1 else sum(stats)


def _expert_path(model: PiecewiseRidge, X: Any, y: np.ndarray, rows: np.ndarray,
                 stats: list, alphas: np.ndarray) -> RidgePath:
    """Dual path from the rows when the expert has fewer stars than pixels, else primal
    from the sum of the expert's refinement-group statistics (always primal without ``X``)."""
    if X is not None and _is_dual(model, rows.size, X.shape[1]):
        return ridge_path(np.asarray(X[rows]), y[rows], alphas, solver="dual",
                          fit_intercept=model.fit_intercept, method=model.method)
    return ridge_path_from_stats(_summed(stats), alphas, fit_intercept=model.fit_intercept,
                                 method=model.method)


@dataclass
class _Routing:
    """One model's routing of the training (and validation) stars."""

    scheme: BinScheme
    alphas: np.ndarray
    plan: BinPlan
    bins: np.ndarray
    ids: np.ndarray
    bins_val: np.ndarray | None = None
    ids_val: np.ndarray | None = None


def _route(m: PiecewiseRidge, labels: Any, n: int, labels_val: Any, n_val: int) -> _Routing:
    scheme, alphas = m._check_params()
    bins = scheme.assign(labels)
    _check_rows(bins, n, "labels")
    plan = resolve_small_bins(scheme, bins, m.min_bin_train, strategy=m.small_bins)
    plan = BinPlan(plan.expert_of_bin.copy(), list(plan.statement))
    out = _Routing(scheme, alphas, plan, bins, plan.experts(bins))
    if labels_val is not None:
        out.bins_val = scheme.assign(labels_val)
        _check_rows(out.bins_val, n_val, "labels_val")
        out.ids_val = plan.experts(out.bins_val)
    return out


def fit_together(
    models: Sequence[PiecewiseRidge],
    X: Any,
    y: Any,
    labels: pd.DataFrame | Mapping[str, Any],
    X_val: Any = None,
    y_val: Any = None,
    labels_val: pd.DataFrame | Mapping[str, Any] | None = None,
    *,
    global_stats: RidgeStats | None = None,
) -> list[PiecewiseRidge]:
    """Fit several piecewise models on the same data from one statistics pass.

    The training stars are grouped by the tuple of their expert ids under every model (the
    common refinement of all bin plans); :func:`~moehelpers.engine.ridge.grouped_stats` reads each
    row once; every expert's statistics are a sum of refinement groups and the global
    statistics the sum of all. Models with the same α grid, intercept, solver and method
    share one global model (the same fitted object). Arguments as in
    :meth:`PiecewiseRidge.fit`. ``global_stats``: statistics of exactly ``(X, y)`` already
    computed by the caller (e.g. for another target's Gram); when every expert is solved
    in dual form the global model is then fitted from them, with no new pass over ``X``.

    Returns
    -------
    list of PiecewiseRidge
        ``models``, fitted in place.
    """
    if not models or not all(isinstance(m, PiecewiseRidge) for m in models):
        raise InvalidParameterError("models must be a non-empty sequence of PiecewiseRidge.")
    X, y, _ = check_xy(X, y, None)
    n, p = X.shape
    given = [v is not None for v in (X_val, y_val, labels_val)]
    if any(given) and not all(given):
        raise InvalidParameterError(
            "Pass X_val, y_val and labels_val together (validation spectra, targets and "
            "routing labels), or none of them.")
    val = None
    if all(given):
        X_val, y_val, _ = check_xy(X_val, y_val, None, n_features=p, name="X_val")
        val = (X_val, y_val)
    routes = [_route(m, labels, n, labels_val, 0 if val is None else X_val.shape[0])
              for m in models]
    if val is None and any(r.alphas.size > 1 for r in routes):
        raise InvalidParameterError(
            "More than one α needs validation data: α is chosen on a validation split only. "
            "Pass X_val, y_val and labels_val, or a single alpha.")
    # Refinement of the experts solved from statistics (primal); dual experts read their rows
    # and need no statistics of their own, so their stars fall into one group (−1).
    keys = []
    for m, r in zip(models, routes, strict=True):
        primal = np.array([not _is_dual(m, int(np.sum(r.ids == k)), p)
                           for k in range(r.plan.n_experts)] + [False])
        keys.append(np.where(primal[r.ids], r.ids, -1))  # r.ids == −1 reads primal[-1]
    combos, groups = np.unique(np.stack(keys, axis=1), axis=0, return_inverse=True)
    if global_stats is not None and (global_stats.n != n or global_stats.n_features != p):
        raise InvalidParameterError(
            f"global_stats hold n={global_stats.n:g} rows of {global_stats.n_features} features "
            f"but X is {n}×{p}; pass the statistics of these training spectra.")
    need_global = any(not _is_dual(m, n, p) for m in models) and global_stats is None
    need = need_global or combos.max() >= 0
    stats = grouped_stats(X, y, np.asarray(groups).ravel(), combos.shape[0],
                          chunk_size=models[0].chunk_size) if need else []
    # the global statistics: given, or summed from the groups once when first needed
    total: list = [] if global_stats is None else [global_stats]
    shared: dict[tuple, tuple[RidgeRegressor, int]] = {}
    for j, (m, r) in enumerate(zip(models, routes, strict=True)):
        key = m._global_key()
        if key not in shared:
            if _is_dual(m, n, p):
                path = ridge_path(X, y, r.alphas, solver="dual", fit_intercept=m.fit_intercept,
                                  method=m.method)
            else:
                total = total or [_summed(stats)]
                path = ridge_path_from_stats(total[0], r.alphas,
                                             fit_intercept=m.fit_intercept, method=m.method)
            sel = path.select(*val) if val is not None else None
            index = 0 if sel is None else sel.index
            shared[key] = (m._regressor(path, index, None if sel is None else sel.val_scores),
                           index)
        m.global_, global_index = shared[key]
        _fit_experts(m, r, stats, combos[:, j], X, y, val, global_index)
        m.n_features_in_ = p
    return list(models)


def _fit_experts(m: PiecewiseRidge, r: _Routing, stats: list, combo_col: np.ndarray, X: Any,
                 y: np.ndarray, val: tuple | None, global_index: int) -> None:
    names = r.scheme.bin_names()
    m.expert_names_ = [" + ".join(names[b] for b in np.flatnonzero(r.plan.expert_of_bin == k))
                       for k in range(r.plan.n_experts)]
    experts, alpha_source = [], []
    for k in range(r.plan.n_experts):
        rows = np.flatnonzero(r.ids == k)
        if rows.size == 0:
            raise BinTooSmallError(
                f"Expert {m.expert_names_[k]} has no training stars (too few stars overall for "
                f"{r.scheme.name!r}); use more training stars or a coarser scheme.")
        path = _expert_path(m, X, y, rows, [stats[g] for g in np.flatnonzero(combo_col == k)],
                            r.alphas)
        index, scores, source = global_index, None, "global"
        if val is not None:
            vrows = np.flatnonzero(r.ids_val == k)
            if vrows.size >= m.min_bin_val and np.ptp(val[1][vrows]) > 0:
                sel = path.select(np.asarray(val[0][vrows]), val[1][vrows])
                index, scores, source = sel.index, sel.val_scores, "bin"
            else:
                r.plan.statement.append(
                    f"{m.expert_names_[k]}: {vrows.size} validation stars < {m.min_bin_val}: "
                    f"α = {r.alphas[index]:g}, the global model's choice on all validation stars")
        experts.append(m._regressor(path, index, scores))
        alpha_source.append(source)
    m.scheme_, m.bin_plan_, m.experts_ = r.scheme, r.plan, experts
    m.alpha_per_expert_ = np.array([e.alpha_ for e in experts])
    m.alpha_source_ = alpha_source
    m.counts_ = _counts(r.scheme, r.plan, r.bins, r.bins_val)


def _counts(scheme: BinScheme, plan: BinPlan, bins: np.ndarray,
            bins_val: np.ndarray | None) -> pd.DataFrame:
    """Training and validation stars per bin (plus the uncovered row)."""
    table = scheme.counts(bins).rename(columns={"count": "n_train"})
    table.insert(2, "expert", np.append(plan.expert_of_bin, -1))
    table["n_val"] = 0 if bins_val is None else scheme.counts(bins_val)["count"].to_numpy()
    return table
