"""Modulated Ridge: coefficients that vary linearly with any set of modulators (MVP-7.x).

One Ridge on

``φ(x, z) = [x, z₁·x, …, z_K·x]``, i.e. ``ŷ = b + w₀ᵀx + Σₐ zₐ · wₐᵀx``,

where each modulator ``zₐ`` is a *monomial* of a few base variables standardised on the
training stars, e.g. with ``m = [M/H]`` and ``t = Teff``: ``terms = ["m", "t", "m*t", "m^2",
"t^2"]`` (MVP-7.2, Conditional Ridge++), or a noise level ``n``: ``["n", "n^2"]`` (MVP-7.3).
``terms=None`` uses every base variable once, linearly (K = number of variables).

The ``(K+1)·P``-wide design is never built. With ``z₀ = 1`` its normal equations consist of
blocks ``Σ zₐ z_b x xᵀ`` and ``Σ zₐ x y``; since every ``zₐ z_b`` is again a monomial, the
statistics are one weighted :class:`~moehelpers.engine.ridge.RidgeStats` per *distinct* product
monomial (:func:`gram_monomials`; 15 instead of 21 for the five terms above), each
accumulated in chunks by :func:`modulated_stats`. Every Gram is kept relative to one shared
reference row ``s`` and centred analytically (:func:`_blocks`; with ``N``, ``S``, ``G`` the
weighted count, sum and Gram of ``u = x − s`` for a monomial, the block of ``zₐ, z_b`` is
``G_ab − S_a S_bᵀ/n + (S_ab − N_b S_a/n) sᵀ + s (S_ab − N_a S_b/n)ᵀ + (N_ab − N_a N_b/n) s sᵀ``,
in which the large terms of the uncentred form cancel analytically). Its one-variable case
with the powers of ``m`` as terms is :class:`~moehelpers.models.conditional.ConditionalRidge`
(MVP-3.2). Only the square
``(K+1)·P`` float64 system is held; validation predictions are formed block by block.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import check_is_fitted

from moehelpers._validation import check_alphas, check_choice, check_x, check_xy
from moehelpers.engine import linalg as _linalg
from moehelpers.engine.block_path import BlockPathMixin, best_alpha_index
from moehelpers.engine.fitted import code_fingerprint
from moehelpers.engine.ridge import DEFAULT_ALPHAS, RidgeStats
from moehelpers.engine.store import SharedRows, active_store, stats_fingerprint
from moehelpers.engine.terms import (  # re-exported
    ModulatorScaling,
    Monomial,
    _with_one,
    gram_monomials,
    monomial_values,
    term_exponents,
    term_name,
    term_variables,
)
from moehelpers.errors import InvalidParameterError, ShapeMismatchError
from moehelpers.metrics import r2

__all__ = ["ModulatedRidge", "ModulatorScaling", "fit_steps", "gram_monomials",
           "label_modulators", "modulated_stats", "monomial_values", "parse_steps",
           "step_monomials", "step_name", "step_stats", "term_exponents", "term_name",
           "term_variables"]

def modulated_stats(X: Any, y: Any, V: np.ndarray, monomials: Sequence[Monomial], *,
                    chunk_size: int | None = None, shift: np.ndarray | None = None,
                    base: RidgeStats | None = None,
                    cache: Mapping[Monomial, RidgeStats] | None = None
                    ) -> dict[Monomial, RidgeStats]:
    """Weighted statistics ``Σ w (x, y, x xᵀ, x y)`` with ``w`` each monomial of ``V``.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    y : array-like of shape (n_samples,)
    V : ndarray of shape (n_samples, n_variables)
        Base variables as the model uses them (:meth:`ModulatorScaling.transform`).
    monomials : sequence of tuple of int
        E.g. :func:`gram_monomials` of the terms (of the largest model, to share them).
    chunk_size : int, optional
        Rows per float64 chunk (one pass over ``X`` per new monomial).
    shift : ndarray, optional
        Shared reference row (default: ``base``'s, a cached one, or the first chunk's mean).
    base : RidgeStats, optional
        Unweighted statistics of the same ``(X, y)`` (reused for the constant monomial).
    cache : mapping, optional
        Statistics already computed for the same rows (e.g. a smaller model's): reused.

    Returns
    -------
    dict monomial → RidgeStats, all with the same ``shift`` (``cache`` entries included).

    Notes
    -----
    Statistics of disjoint row blocks add (``{k: a[k] + b[k] for k in a}``), so data that
    arrive in pieces (shards, or one noisy copy per noise level pooled into one model) are
    accumulated block by block with one :class:`ModulatorScaling` fitted on all of them.

    With an active statistics store (a notebook) each pass is an entry keyed by the content
    of ``X``, ``y``, the weights and the shift (:class:`~moehelpers.engine.store.SharedRows`):
    the moment Grams several pages form of the same noisy flux are computed once per run,
    and a rerun reads them. The values do not depend on it.
    """
    X, y, _ = check_xy(X, y, None)
    V = np.asarray(V, dtype=np.float64)
    if V.ndim != 2 or V.shape[0] != X.shape[0]:
        raise ShapeMismatchError(f"V must have shape (n_samples={X.shape[0]}, n_variables); "
                                 f"got {V.shape}.")
    out = dict(cache or {})
    for key, st in [*out.items(), *([(None, base)] if base is not None else [])]:
        if st.n_features != X.shape[1]:
            raise ShapeMismatchError(
                f"statistics for {key} have {st.n_features} features but X has {X.shape[1]}; "
                "pass statistics of the same training rows.")
    if shift is None:
        known = [*out.values(), *([base] if base is not None else [])]
        shift = known[0]._shift0() if known else np.asarray(
            X[: min(_linalg.check_chunk_size(chunk_size, X.shape[1]), X.shape[0])],
            dtype=np.float64).mean(axis=0)
    out = {k: v if np.array_equal(v._shift0(), shift) else v.with_shift(shift)
           for k, v in out.items()}
    zero = (0,) * V.shape[1]
    if base is not None and zero not in out:
        if base.n != X.shape[0]:
            raise ShapeMismatchError(f"base statistics hold n={base.n:g} rows but X has "
                                     f"{X.shape[0]}; pass those of the same rows.")
        out[zero] = base if np.array_equal(base._shift0(), shift) else base.with_shift(shift)
    rows = SharedRows(X, y)  # each pass through the active statistics store, if any
    for mono in monomials:
        mono = tuple(int(v) for v in mono)
        if len(mono) != V.shape[1]:
            raise ShapeMismatchError(f"monomial {mono} has {len(mono)} exponents for "
                                     f"{V.shape[1]} variables.")
        if mono not in out:
            w = None if not any(mono) else monomial_values(V, mono)
            out[mono] = rows.stats(w, shift=shift, chunk_size=chunk_size)
    return out


def _blocks(stats: Mapping[Monomial, RidgeStats], full: np.ndarray, fit_intercept: bool
            ) -> tuple[np.ndarray, np.ndarray]:
    """``(A, b)`` of the (K+1)·P normal equations (see the module docstring); their means
    and ȳ are :func:`_block_means`'s."""
    zero = tuple(int(v) for v in full[0])
    first = stats[zero]
    p, shift = first.n_features, first._shift0()
    keys = [tuple(int(v) for v in e) for e in full]
    n, y0 = first.n, first.sum_y
    c = 1.0 / n if fit_intercept else 0.0  # centring drops out without an intercept
    k1 = len(keys)
    a = np.empty((k1 * p, k1 * p))
    b = np.empty(k1 * p)
    for i in range(k1):
        si, ni = stats[keys[i]].sum_u, stats[keys[i]].n
        rows = slice(i * p, (i + 1) * p)
        for j in range(i, k1):
            sj, nj = stats[keys[j]].sum_u, stats[keys[j]].n
            prod = stats[tuple(int(v) for v in full[i] + full[j])]
            block = prod.gram  # a fresh symmetric copy, one at a time
            block -= c * np.outer(si, sj)
            block += np.outer(prod.sum_u - c * nj * si, shift)
            block += np.outer(shift, prod.sum_u - c * ni * sj)
            block += (prod.n - c * ni * nj) * np.outer(shift, shift)
            a[rows, j * p:(j + 1) * p] = block
            a[j * p:(j + 1) * p, rows] = block.T
        st = stats[keys[i]]
        b[rows] = st.xty - c * si * y0 + (st.sum_y - c * ni * y0) * shift
    return a, b


def _block_means(stats: Mapping[Monomial, RidgeStats], full: np.ndarray, fit_intercept: bool
                 ) -> tuple[np.ndarray, float]:
    """Means of the expanded features ``(Σ zₐ x)/n`` per block and ȳ (0 without an
    intercept): the intercept of :func:`_blocks`' system, without assembling it."""
    first = stats[tuple(int(v) for v in full[0])]
    shift, n = first._shift0(), first.n
    means = np.array([(stats[tuple(int(v) for v in e)].sum_u
                       + stats[tuple(int(v) for v in e)].n * shift) / n for e in full])
    return means, (first.sum_y / n if fit_intercept else 0.0)


def _blocks_key(stats: Mapping[Monomial, RidgeStats], full: np.ndarray, fit_intercept: bool
                ) -> str:
    """Content hash of what :func:`_blocks` assembles the system from: every statistic it
    reads (:func:`~moehelpers.engine.store.stats_fingerprint`, ~0.3 s per 4096-pixel Gram,
    against ~5 s to assemble and hash a 12288² system), the monomials, the intercept and
    the package's code (:func:`~moehelpers.engine.fitted.code_fingerprint`)."""
    keys = [tuple(int(v) for v in e) for e in full]
    used = dict.fromkeys([*keys, *(tuple(int(v) for v in full[i] + full[j])
                                   for i in range(len(keys)) for j in range(i, len(keys)))])
    h = hashlib.sha256(f"blocks|{int(bool(fit_intercept))}|{keys}|".encode())
    h.update(code_fingerprint().encode())
    for m in used:
        h.update(f"{m}:{stats_fingerprint(stats[m])};".encode())
    return h.hexdigest()


class ModulatedRidge(BlockPathMixin, RegressorMixin, BaseEstimator):
    """One Ridge on ``[x, z₁·x, …, z_K·x]`` solved from weighted Gram blocks.

    Parameters
    ----------
    terms : sequence of str, optional
        Modulator monomials of the variables (columns) of ``Z``, e.g.
        ``["m", "t", "m*t", "m^2", "t^2"]`` (see :func:`term_exponents`). ``None``: every
        column of ``Z`` once, linearly.
    alphas : float or sequence of float > 0, default=DEFAULT_ALPHAS
        α grid; with more than one α, ``fit`` needs validation data.
    fit_intercept : bool, default=True
        One unpenalised scalar intercept (as Ridge on the expanded features).
    standardize : bool, default=True
        Standardise every variable on the training stars before forming the monomials.
    method : {"auto", "eigen", "cholesky"}, default="auto"
    alpha_search : {"grid", "walk"}, default="grid"
        ``"grid"`` solves for every α. ``"walk"`` (with validation data and > 2 α) climbs the
        sorted grid from ``alpha_start`` while the validation R² improves (ties → larger α),
        one Cholesky per visited α: the same α as ``"grid"`` whenever the validation curve
        has one peak, at about half the solves for large systems. Unvisited α get NaN in
        ``val_scores_``.
    alpha_start : float, optional
        Where the walk starts (nearest grid value in log α; default the middle of the
        grid), e.g. the α a smaller model chose.
    chunk_size : int, optional
        Rows per float64 chunk of the statistics passes.
    solver : {"auto", "primal", "dual"}, default="auto"
        ``"primal"`` solves the (K+1)·P system from the weighted Grams; ``"dual"`` the n × n
        kernel system of the n training rows (needs the rows: :meth:`fit`, or ``train=`` of
        :meth:`fit_stats`); ``"auto"`` takes the dual when the rows are given and n < (K+1)·P
        (as scikit-learn's Ridge does). Both give the same model up to rounding.

    Attributes
    ----------
    scaling_ : ModulatorScaling
    exponents_ : ndarray of shape (K, n_variables)
    terms_ : list of str
        Readable names of the K modulators.
    coef_ : ndarray of shape ((K+1)·n_features,)
    coef_blocks_ : ndarray of shape (K+1, n_features)
        ``w₀`` (plain ``x``) then one block per term.
    intercept_, alpha_ : float
    alphas_, val_scores_ : ndarray
    n_features_in_ : int

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X, Z = rng.normal(size=(300, 4)), {"m": rng.normal(size=300), "t": rng.normal(size=300)}
    >>> y = X @ [1.0, 2, 0, 0] + Z["m"] * Z["t"] * (X @ [0.0, 0, 1, 1])
    >>> model = ModulatedRidge(["m", "t", "m*t"], 1e-6, standardize=False).fit(X, y, Z)
    >>> bool(np.allclose(model.predict(X, Z), y, atol=1e-5))
    True
    """

    def __init__(self, terms: Sequence[str | Sequence[str]] | None = None,
                 alphas: float | Sequence[float] = DEFAULT_ALPHAS, *,
                 fit_intercept: bool = True, standardize: bool = True, method: str = "auto",
                 alpha_search: str = "grid", alpha_start: float | None = None,
                 chunk_size: int | None = None, solver: str = "auto") -> None:
        self.terms = terms
        self.alphas = alphas
        self.fit_intercept = fit_intercept
        self.standardize = standardize
        self.method = method
        self.alpha_search = alpha_search
        self.alpha_start = alpha_start
        self.chunk_size = chunk_size
        self.solver = solver

    def _check(self) -> np.ndarray:
        check_choice("method", self.method, ("auto", "eigen", "cholesky"))
        check_choice("solver", self.solver, ("auto", "primal", "dual"))
        check_choice("alpha_search", self.alpha_search, ("grid", "walk"))
        if self.alpha_start is not None and not (np.isfinite(self.alpha_start)
                                                 and self.alpha_start > 0):
            raise InvalidParameterError(f"alpha_start must be > 0; got {self.alpha_start!r}.")
        return check_alphas(self.alphas)

    def _exponents(self, names: Sequence[str]) -> np.ndarray:
        """Exponent matrix (K, n_variables) of this model's modulators."""
        return term_exponents(self.terms, names)

    def required_monomials(self, names: Sequence[str]) -> list[Monomial]:
        """Monomials whose statistics :meth:`fit_stats` needs, for variables ``names``."""
        return gram_monomials(self._exponents(names))

    def _dual(self, n_rows: int | None, n_columns: int) -> bool:
        """Whether to solve the n × n dual system (``n_rows`` None: no rows at hand)."""
        if n_rows is None:
            if self.solver == "dual":
                raise InvalidParameterError(
                    'solver="dual" needs the training rows: call fit(X, y, Z), or pass '
                    "train=(X, y, Z) to fit_stats.")
            return False
        return self.solver == "dual" or (self.solver == "auto" and n_rows < n_columns)

    def fit(self, X: Any, y: Any, Z: Any, X_val: Any = None, y_val: Any = None,
            Z_val: Any = None) -> ModulatedRidge:
        """Fit on ``(X, y, Z)`` (α on validation): from the weighted statistics, or from the
        rows themselves when the dual system is smaller (``solver``)."""
        self._check()
        X, y, _ = check_xy(X, y, None)
        names = None if self.terms is None else term_variables(self.terms)
        scaling = ModulatorScaling.fit(Z, standardize=self.standardize, names=names)
        k1 = self._exponents(scaling.names).shape[0] + 1
        if self._dual(X.shape[0], k1 * X.shape[1]):
            return self._fit_rows(X, y, Z, scaling, X_val, y_val, Z_val)
        V = scaling.transform(Z, X.shape[0])
        stats = modulated_stats(X, y, V, self.required_monomials(scaling.names),
                                chunk_size=self.chunk_size)
        return self.fit_stats(stats, scaling, X_val, y_val, Z_val)

    def fit_stats(self, stats: Mapping[Monomial, RidgeStats], scaling: ModulatorScaling,
                  X_val: Any = None, y_val: Any = None, Z_val: Any = None, *,
                  train: tuple[Any, Any, Any] | None = None) -> ModulatedRidge:
        """Fit from :func:`modulated_stats` computed elsewhere with ``scaling`` (extra
        monomials are ignored), so several models share the statistics passes.

        ``train=(X, y, Z)``, the rows these statistics were accumulated from, lets
        ``solver="auto"`` take the dual system when it is smaller.
        """
        alphas = self._check()
        exps = self._exponents(scaling.names)
        missing = [m for m in gram_monomials(exps) if m not in stats]
        if missing:
            raise InvalidParameterError(
                f"statistics for monomials {[term_name(m, scaling.names) for m in missing]} "
                "are missing; compute them with modulated_stats(..., "
                "model.required_monomials(names)).")
        full = _with_one(exps)
        first = stats[tuple(int(v) for v in full[0])]
        first._require_samples()
        if train is not None:
            X, y, _ = check_xy(train[0], train[1], None, n_features=first.n_features,
                               name="train X")
            if X.shape[0] != first.n:
                raise ShapeMismatchError(
                    f"train holds {X.shape[0]} rows but the statistics were accumulated "
                    f"from {first.n:g}; pass the rows the statistics came from.")
            if self._dual(X.shape[0], full.shape[0] * X.shape[1]):
                return self._fit_rows(X, y, train[2], scaling, X_val, y_val, Z_val)
        else:
            self._dual(None, 0)  # solver="dual" without rows raises
        val = self._start(scaling, exps, first.n_features, X_val, y_val, Z_val, alphas)
        means, ybar = _block_means(stats, full, self.fit_intercept)
        key = None if active_store() is None else _blocks_key(stats, full, self.fit_intercept)
        coefs, intercepts, scores = self._solve(
            lambda: _blocks(stats, full, self.fit_intercept), key, means, ybar, alphas, val)
        return self._finish(coefs, intercepts, scores, alphas)

    def _start(self, scaling: ModulatorScaling, exps: np.ndarray, p: int, X_val: Any,
               y_val: Any, Z_val: Any, alphas: np.ndarray) -> tuple | None:
        """Check the validation arguments, set the fitted scaling; ``(X, y, z)`` or None."""
        given = [v is not None for v in (X_val, y_val, Z_val)]
        if any(given) and not all(given):
            raise InvalidParameterError("Pass X_val, y_val and Z_val together, or none.")
        if alphas.size > 1 and not all(given):
            raise InvalidParameterError(
                f"{alphas.size} alphas but no validation data: α is chosen on a validation "
                "split only. Pass X_val, y_val and Z_val, or a single alpha.")
        self.scaling_, self.exponents_ = scaling, exps
        self.terms_ = [term_name(e, scaling.names) for e in exps]
        self.n_features_in_ = p
        if not all(given):
            return None
        X_val, y_val, _ = check_xy(X_val, y_val, None, n_features=p, name="X_val")
        return X_val, y_val, self._zvals(Z_val, X_val.shape[0])

    def _fit_rows(self, X: np.ndarray, y: np.ndarray, Z: Any, scaling: ModulatorScaling,
                  X_val: Any, y_val: Any, Z_val: Any) -> ModulatedRidge:
        """The dual solve: the centred expanded rows ``[x, z₁·x, …]`` and their n × n kernel."""
        alphas = self._check()
        exps = self._exponents(scaling.names)
        n, p = X.shape
        val = self._start(scaling, exps, p, X_val, y_val, Z_val, alphas)
        zv = self._zvals(Z, n)
        design = (zv[:, :, None] * np.asarray(X, dtype=np.float64)[:, None, :]).reshape(n, -1)
        y = np.asarray(y, dtype=np.float64)
        if self.fit_intercept:
            means, ybar = design.mean(axis=0), float(y.mean())
            design -= means
        else:
            means, ybar = np.zeros(design.shape[1]), 0.0
        coefs, intercepts, scores = self._solve_dual(design, y - ybar, means.reshape(-1, p),
                                                     ybar, alphas, val)
        return self._finish(coefs, intercepts, scores, alphas)

    def _finish(self, coefs: np.ndarray, intercepts: np.ndarray, scores: np.ndarray | None,
                alphas: np.ndarray) -> ModulatedRidge:
        best, self.val_scores_ = best_alpha_index(scores, alphas), scores
        self.alphas_, self.alpha_ = alphas, float(alphas[best])
        self.coef_ = coefs[best]
        self.coef_blocks_ = self.coef_.reshape(-1, self.n_features_in_)
        self.intercept_ = float(intercepts[best])
        return self

    def _zvals(self, Z: Any, n: int) -> np.ndarray:
        """Modulator values (n, K+1), first column ones."""
        V = self.scaling_.transform(Z, n)
        return np.column_stack([monomial_values(V, e) for e in _with_one(self.exponents_)])

    def _predict_path(self, X: Any, zv: np.ndarray, coefs: np.ndarray,
                      intercepts: np.ndarray) -> np.ndarray:
        """Predictions for every row of ``coefs``, block by block: Σₐ zₐ · X βₐ."""
        p = self.n_features_in_
        X = np.asarray(X)
        out = np.broadcast_to(intercepts, (X.shape[0], intercepts.size)).copy()
        for k in range(zv.shape[1]):
            out += zv[:, k:k + 1] * (X @ coefs[:, k * p:(k + 1) * p].T)
        return out

    def predict(self, X: Any, Z: Any) -> np.ndarray:
        """Predictions of shape (n_samples,) given the modulator variables ``Z``."""
        check_is_fitted(self, "coef_")
        X = check_x(X, n_features=self.n_features_in_, owner=type(self).__name__)
        return self._predict_path(X, self._zvals(Z, X.shape[0]), self.coef_[None, :],
                                  np.array([self.intercept_]))[:, 0]

    def score(self, X: Any, y: Any, Z: Any) -> float:
        """R² of :meth:`predict` on ``(X, Z)`` against ``y``."""
        return float(r2(np.asarray(y, dtype=np.float64), self.predict(X, Z)))


# --- step-by-step feature sets (MVP-7.2 Conditional Ridge++, MVP-7.4) ---

def label_modulators(labels: Any) -> Any:
    """The ``(m, t)`` modulators of Conditional Ridge++: ``m = [M/H]``, ``t = Teff``.

    Parameters
    ----------
    labels : pandas.DataFrame
        Star labels with columns ``M_H`` and ``T_eff``.

    Returns
    -------
    pandas.DataFrame
        Columns ``m`` and ``t`` (raw values; :class:`ModulatorScaling` standardises them).
    """
    import pandas as pd

    return pd.DataFrame({"m": labels["M_H"].to_numpy(), "t": labels["T_eff"].to_numpy()})


def parse_steps(specs: Sequence[str]) -> list[list[str]]:
    """Modulator terms per step from comma-separated specs (``"m, t, m*t"``).

    Parameters
    ----------
    specs : sequence of str
        One spec per step; blanks around the terms and empty terms are dropped.

    Returns
    -------
    list of list of str
    """
    return [[t.strip() for t in spec.split(",") if t.strip()] for spec in specs]


def step_name(terms: Sequence[str]) -> str:
    """Readable feature set of a step, e.g. ``"[x, m·x, t·x]"``."""
    return f"[x, {', '.join(f'{t}·x' for t in terms)}]"


def step_monomials(steps: Sequence[Sequence[str]], names: Sequence[str]) -> list[Monomial]:
    """The distinct Gram monomials all ``steps`` need together (sorted), for ``names``."""
    return sorted({mono for terms in steps
                   for mono in ModulatedRidge(terms).required_monomials(names)})


def step_stats(steps: Sequence[Sequence[str]], X: Any, y: Any, Z: Any, *,
               base: RidgeStats | None = None
               ) -> tuple[dict[Monomial, RidgeStats], ModulatorScaling, list[Monomial]]:
    """The statistics every step needs, in one weighted pass per distinct monomial.

    Parameters
    ----------
    steps : sequence of sequence of str
        Modulator terms per step (:func:`parse_steps`).
    X, y : array-like
        Training flux and targets.
    Z : pandas.DataFrame
        Raw modulators of the training stars (standardised here, :class:`ModulatorScaling`).
    base : RidgeStats, optional
        The unweighted statistics of ``(X, y)`` if already computed (reused for ``z₀ z₀``).

    Returns
    -------
    stats : dict of Monomial → RidgeStats
    scaling : ModulatorScaling
    monomials : list of Monomial
        The distinct monomials (:func:`step_monomials`), one pass each.
    """
    scaling = ModulatorScaling.fit(Z)
    monomials = step_monomials(steps, scaling.names)
    return (modulated_stats(X, y, scaling.transform(Z), monomials, base=base), scaling,
            monomials)


def fit_steps(steps: Sequence[Sequence[str]], stats: Mapping[Monomial, RidgeStats],
              scaling: ModulatorScaling, X_val: Any, y_val: Any, Z_val: Any,
              alphas: float | Sequence[float], *, alpha_start: float | None = None,
              train: tuple[Any, Any, Any] | None = None
              ) -> tuple[list[ModulatedRidge], list[float]]:
    """Fit one :class:`ModulatedRidge` per step from shared statistics, each α walk starting
    at the α of the previous step (the first at ``alpha_start``).

    Parameters
    ----------
    steps : sequence of sequence of str
        Modulator terms per step (:func:`parse_steps`).
    stats : mapping
        :func:`modulated_stats` over :func:`step_monomials` of all steps.
    scaling : ModulatorScaling
        The scaling ``stats`` were computed with.
    X_val, y_val, Z_val
        Validation data (α choice).
    alphas : float or sequence of float
    alpha_start : float, optional
        Start of the first walk (e.g. the global Ridge's α).
    train : tuple (X, y, Z), optional
        The rows ``stats`` came from: a step with more features than rows then solves its
        dual system (:meth:`ModulatedRidge.fit_stats`).

    Returns
    -------
    models : list of ModulatedRidge
        Fitted, in step order.
    seconds : list of float
        Wall time of each step's solves.
    """
    import time

    models, seconds, start = [], [], alpha_start
    for terms in steps:
        t0 = time.perf_counter()
        model = ModulatedRidge(terms, alphas, alpha_search="walk", alpha_start=start)
        models.append(model.fit_stats(stats, scaling, X_val, y_val, Z_val, train=train))
        seconds.append(time.perf_counter() - t0)
        start = model.alpha_
    return models, seconds
