"""The α path of Ridge models solved from block statistics or rows (shared machinery).

:class:`~moehelpers.models.modulated.ModulatedRidge` (and its one-label case
:class:`~moehelpers.models.conditional.ConditionalRidge`) reduces to one primal system
``(A + α I) β = b`` assembled from weighted Gram blocks, whose predictions are formed block
by block (``Σₐ zₐ · X βₐ``). With fewer training rows n than features D the same model
comes from the dual system ``(K + αI) c = y_c``, ``β = X_cᵀ c``, with the n × n kernel
``K = X_c X_cᵀ`` of the centred expanded rows (:meth:`BlockPathMixin._solve_dual`). This
mixin owns what both share: the α path (all α from one decomposition, or a validation
hill-climb that solves only the α it visits), the intercepts, and the choice of α on
validation R² with ties going to the larger α.

A class using it provides ``fit_intercept``, ``method``, ``alpha_search``, optionally
``alpha_start``, and ``_predict_path(X, z, coefs, intercepts)``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from moehelpers.engine import linalg as _linalg
from moehelpers.engine.store import active_store, cached_solutions
from moehelpers.metrics import r2

__all__ = ["BlockPathMixin", "best_alpha_index"]


def _tie_tol(top: float) -> float:
    return 1e-12 * max(1.0, abs(top))


def best_alpha_index(scores: np.ndarray | None, alphas: np.ndarray) -> int:
    """Index of the best validation score (NaN = not visited); ties go to the larger α."""
    if scores is None:
        return 0
    top = np.nanmax(scores)
    tied = scores >= top - _tie_tol(top)  # NaN (unvisited) → False
    return int(np.flatnonzero(tied)[np.argmax(alphas[tied])])


class BlockPathMixin:
    """α path, validation hill-climb and intercepts of a primal block-statistics Ridge."""

    fit_intercept: bool
    method: str
    alpha_search: str

    def _predict_path(self, X: Any, z: np.ndarray, coefs: np.ndarray,
                      intercepts: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def _intercepts(self, coefs: np.ndarray, means: np.ndarray, ybar: float) -> np.ndarray:
        if not self.fit_intercept:
            return np.zeros(coefs.shape[0])
        return ybar - coefs @ means.ravel()

    def _solve(self, system: Callable[[], tuple[np.ndarray, np.ndarray]], key: str | None,
               means: np.ndarray, ybar: float, alphas: np.ndarray, val: tuple | None
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """Coefficients, intercepts and validation R² (None without validation) per α, from
        the primal system ``(A + αI) β = b`` that ``system()`` assembles.

        With a ``key`` — a content hash of everything the system is assembled from — and an
        active statistics store, each solve is an entry
        (:func:`~moehelpers.engine.store.cached_solutions`): a rerun's α walk reads the α it
        visits and assembles the system only if one is missing. ``key=None`` solves without
        the store. The values do not change.
        """
        store = None if key is None else active_store()
        key = key or ""
        built: list[tuple[np.ndarray, np.ndarray]] = []

        def ab() -> tuple[np.ndarray, np.ndarray]:
            if not built:
                built.append(system())
            return built[0]

        def each(al: np.ndarray) -> np.ndarray:
            return cached_solutions(store, key, al, "cholesky",
                                    lambda: _linalg.solve_cholesky_primal(*ab(), al))

        def path(al: np.ndarray) -> np.ndarray:
            if _linalg.choose_method(self.method, al.size) == "eigen":
                return cached_solutions(store, key, al, "eigen", lambda: (
                    _linalg.solve_eigen_primal(*_linalg.eigen_decompose(ab()[0]), ab()[1], al)))
            return each(al)

        try:
            return self._alpha_path(each, path, means, ybar, alphas, val)
        finally:
            built.clear()  # the (K+1)·P system (1.2 GB at K=2, P=4096) goes now

    def _solve_dual(self, xc: np.ndarray, yc: np.ndarray, means: np.ndarray, ybar: float,
                    alphas: np.ndarray, val: tuple | None
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """As :meth:`_solve`, from the centred design ``X_c`` (n × D) itself: the n × n kernel
        ``X_c X_cᵀ`` replaces the D × D Gram (``β = X_cᵀ (K + αI)⁻¹ y_c``, the same model),
        far cheaper when n < D."""
        kernel = xc @ xc.T

        def each(al: np.ndarray) -> np.ndarray:
            return _linalg.solve_cholesky_dual(kernel, xc, yc, al)

        def path(al: np.ndarray) -> np.ndarray:
            if _linalg.choose_method(self.method, al.size) == "eigen":
                return _linalg.solve_eigen_dual(*_linalg.eigen_decompose(kernel), xc, yc, al)
            return each(al)

        return self._alpha_path(each, path, means, ybar, alphas, val)

    def _alpha_path(self, each: Callable[[np.ndarray], np.ndarray],
                    path: Callable[[np.ndarray], np.ndarray], means: np.ndarray, ybar: float,
                    alphas: np.ndarray, val: tuple | None
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """``each(α[i:i+1])`` solves one α (the walk), ``path(α)`` the whole grid."""
        if self.alpha_search == "walk" and val is not None and alphas.size > 2:
            return self._walk(each, means, ybar, alphas, val)
        coefs = path(alphas)
        intercepts = self._intercepts(coefs, means, ybar)
        scores = None if val is None else np.atleast_1d(
            r2(val[1], self._predict_path(val[0], val[2], coefs, intercepts)))
        return coefs, intercepts, scores

    def _walk(self, each: Callable[[np.ndarray], np.ndarray], means: np.ndarray,
              ybar: float, alphas: np.ndarray, val: tuple
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Hill-climb over the sorted α grid on validation R² (see ``alpha_search``).

        Starts in the middle of the grid, or at the α nearest ``alpha_start`` when the class
        has one; unvisited α keep NaN scores.
        """
        coefs = np.full((alphas.size, means.size), np.nan)
        intercepts = np.full(alphas.size, np.nan)
        scores = np.full(alphas.size, np.nan)
        rank = np.argsort(alphas, kind="stable")

        def visit(pos: int) -> float:
            i = rank[pos]
            if np.isnan(scores[i]):
                coefs[i] = each(alphas[i:i + 1])[0]
                intercepts[i] = self._intercepts(coefs[i:i + 1], means, ybar)[0]
                pred = self._predict_path(val[0], val[2], coefs[i:i + 1], intercepts[i:i + 1])
                scores[i] = float(r2(val[1], pred[:, 0]))
            return scores[i]

        start = getattr(self, "alpha_start", None)
        pos = (alphas.size - 1) // 2 if start is None else int(
            np.argmin(np.abs(np.log(alphas[rank]) - np.log(start))))
        while True:
            cands = [q for q in (pos - 1, pos, pos + 1) if 0 <= q < alphas.size]
            vals = [visit(q) for q in cands]
            top = max(vals)
            nxt = max(q for q, v in zip(cands, vals, strict=True)
                      if v >= top - _tie_tol(top))  # ties → larger α
            if nxt == pos:
                return coefs, intercepts, scores
            pos = nxt
