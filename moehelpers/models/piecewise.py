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

from collections.abc import Callable, Mapping, Sequence
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
from moehelpers.engine.store import (
    active_store,
    array_fingerprint,
    cached_path,
    cached_stats_path,
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
        path = _stats_path(self, list(bin_stats), r.alphas)
        sel = path.select(*val) if val is not None else None
        index = 0 if sel is None else sel.index
        self.global_ = self._regressor(path, index, None if sel is None else sel.val_scores)
        combo_col = np.append(r.plan.expert_of_bin, -1)  # uncovered stars serve no expert
        _fit_experts(self, r, lambda k, rows: _stats_path(
            self, [bin_stats[g] for g in np.flatnonzero(combo_col == k)], r.alphas), val, index)
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


class _PathSource:
    """The Ridge paths of one :func:`fit_together` call, computed once each, lazily.

    The grouped statistics pass over ``X`` runs at most once, and only when a primal path
    is asked for that the active statistics store
    (:func:`moehelpers.engine.store.active_store`) does not hold. Keys are the content of
    ``(X, y)``, the refinement groups (their fingerprint and which of them are summed), the
    chunk size, the α grid and the solver settings, so a hit is the path this call would
    compute, bit for bit: a notebook that fits the same models on the same noisy training
    flux as another reads their paths instead of refitting.
    """

    def __init__(self, X: np.ndarray, y: np.ndarray, groups: np.ndarray, n_groups: int,
                 chunk_size: int | None) -> None:
        self.X, self.y, self.groups, self.n_groups = X, y, groups, n_groups
        self.chunk_size = chunk_size
        self.store = active_store()
        self._stats: list[RidgeStats] | None = None
        if self.store is not None:
            self._data = array_fingerprint(X, y)
            self._grouping = array_fingerprint(groups)

    def stats(self) -> list[RidgeStats]:
        if self._stats is None:
            self._stats = grouped_stats(self.X, self.y, self.groups, self.n_groups,
                                        chunk_size=self.chunk_size)
        return self._stats

    def primal(self, ids: np.ndarray, alphas: np.ndarray, model: PiecewiseRidge) -> RidgePath:
        """Path from the sum of the statistics of refinement groups ``ids`` (in order)."""
        settings = {"solver": "primal", "fit_intercept": model.fit_intercept,
                    "method": model.method, "chunk_size": self.chunk_size,
                    "n_groups": self.n_groups}

        def compute() -> RidgePath:
            return ridge_path_from_stats(_summed([self.stats()[g] for g in ids]), alphas,
                                         fit_intercept=model.fit_intercept, method=model.method)

        if self.store is None:
            return compute()
        return cached_path(self.store, self._data, "groups:" + ",".join(map(str, ids)), alphas,
                           settings, compute, grouping=self._grouping)

    def dual(self, rows: np.ndarray | None, alphas: np.ndarray, model: PiecewiseRidge
             ) -> RidgePath:
        """Dual path from the rows ``rows`` of ``X`` (all rows when ``None``)."""
        settings = {"solver": "dual", "fit_intercept": model.fit_intercept,
                    "method": model.method}

        def compute() -> RidgePath:
            xs, ys = (self.X, self.y) if rows is None else (np.asarray(self.X[rows]),
                                                            self.y[rows])
            return ridge_path(xs, ys, alphas, solver="dual", fit_intercept=model.fit_intercept,
                              method=model.method)

        if self.store is None:
            return compute()
        return cached_path(self.store, self._data,
                           "all" if rows is None else array_fingerprint(rows), alphas,
                           settings, compute)

    def given(self, stats: RidgeStats, alphas: np.ndarray, model: PiecewiseRidge
              ) -> RidgePath:
        """Primal path from statistics the caller computed (keyed by their content)."""
        if self.store is None:
            return _stats_path(model, [stats], alphas)
        return cached_stats_path(stats, alphas, fit_intercept=model.fit_intercept,
                                 method=model.method, store=self.store)

    def expert(self, model: PiecewiseRidge, rows: np.ndarray, ids: np.ndarray,
               alphas: np.ndarray) -> RidgePath:
        """Dual from the rows when the expert has fewer stars than pixels, else primal from
        the sum of its refinement groups' statistics."""
        if _is_dual(model, rows.size, self.X.shape[1]):
            return self.dual(rows, alphas, model)
        return self.primal(ids, alphas, model)


def _stats_path(model: PiecewiseRidge, stats: list, alphas: np.ndarray) -> RidgePath:
    """Primal path from the sum of given statistics (:meth:`PiecewiseRidge.fit_stats`)."""
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
    source = _PathSource(X, y, np.asarray(groups).ravel(), combos.shape[0],
                         models[0].chunk_size)
    shared: dict[tuple, tuple[RidgeRegressor, int]] = {}
    for j, (m, r) in enumerate(zip(models, routes, strict=True)):
        key = m._global_key()
        if key not in shared:
            if _is_dual(m, n, p):
                path = source.dual(None, r.alphas, m)
            elif global_stats is not None:
                path = source.given(global_stats, r.alphas, m)
            else:  # the global statistics: the sum of every refinement group
                path = source.primal(np.arange(combos.shape[0]), r.alphas, m)
            sel = path.select(*val) if val is not None else None
            index = 0 if sel is None else sel.index
            shared[key] = (m._regressor(path, index, None if sel is None else sel.val_scores),
                           index)
        m.global_, global_index = shared[key]
        _fit_experts(m, r, lambda k, rows, col=combos[:, j], m=m, r=r: source.expert(
            m, rows, np.flatnonzero(col == k), r.alphas), val, global_index)
        m.n_features_in_ = p
    return list(models)


def _fit_experts(m: PiecewiseRidge, r: _Routing,
                 expert_path: Callable[[int, np.ndarray], RidgePath], val: tuple | None,
                 global_index: int) -> None:
    """Fit ``m``'s experts; ``expert_path(k, rows)`` gives expert ``k``'s path."""
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
        path = expert_path(k, rows)
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
