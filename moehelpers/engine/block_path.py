"""The α path of Ridge models solved from primal block statistics (shared machinery).

:class:`~moehelpers.models.modulated.ModulatedRidge` (and its one-label case
:class:`~moehelpers.models.conditional.ConditionalRidge`) reduces to one primal system
``(A + α I) β = b`` assembled from weighted Gram blocks, whose predictions are formed block
by block (``Σₐ zₐ · X βₐ``). This mixin owns what they share: the α path (all α from one
decomposition, or a validation hill-climb that solves only the α it visits), the intercepts,
and the choice of α on validation R² with ties going to the larger α.

A class using it provides ``fit_intercept``, ``method``, ``alpha_search``, optionally
``alpha_start``, and ``_predict_path(X, z, coefs, intercepts)``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from moehelpers.engine import linalg as _linalg
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

    def _solve(self, a: np.ndarray, b: np.ndarray, means: np.ndarray, ybar: float,
               alphas: np.ndarray, val: tuple | None
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """Coefficients, intercepts and validation R² (None without validation) per α."""
        if self.alpha_search == "walk" and val is not None and alphas.size > 2:
            return self._walk(a, b, means, ybar, alphas, val)
        if _linalg.choose_method(self.method, alphas.size) == "eigen":
            coefs = _linalg.solve_eigen_primal(*_linalg.eigen_decompose(a), b, alphas)
        else:
            coefs = _linalg.solve_cholesky_primal(a, b, alphas)
        intercepts = self._intercepts(coefs, means, ybar)
        scores = None if val is None else np.atleast_1d(
            r2(val[1], self._predict_path(val[0], val[2], coefs, intercepts)))
        return coefs, intercepts, scores

    def _walk(self, a: np.ndarray, b: np.ndarray, means: np.ndarray, ybar: float,
              alphas: np.ndarray, val: tuple) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Hill-climb over the sorted α grid on validation R² (see ``alpha_search``).

        Starts in the middle of the grid, or at the α nearest ``alpha_start`` when the class
        has one; unvisited α keep NaN scores.
        """
        coefs = np.full((alphas.size, b.size), np.nan)
        intercepts = np.full(alphas.size, np.nan)
        scores = np.full(alphas.size, np.nan)
        rank = np.argsort(alphas, kind="stable")

        def visit(pos: int) -> float:
            i = rank[pos]
            if np.isnan(scores[i]):
                coefs[i] = _linalg.solve_cholesky_primal(a, b, alphas[i:i + 1])[0]
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
