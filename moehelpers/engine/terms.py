"""Modulator terms of :mod:`moehelpers.models.modulated` (private): names, monomials, scaling.

A modulator is a monomial of a few base variables (e.g. ``m*t``, ``m^2``), stored as its
exponent vector; products of modulators are monomials again, which is what lets the
modulated Ridge deduplicate its weighted Grams. Re-exported by :mod:`moehelpers.models.modulated`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from moehelpers.errors import InvalidParameterError, MissingLabelError, ShapeMismatchError

__all__ = [
    "ModulatorScaling",
    "Monomial",
    "gram_monomials",
    "monomial_values",
    "term_exponents",
    "term_name",
    "term_variables",
]

Monomial = tuple[int, ...]
_FACTOR = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)(?:\^([0-9]+))?$")


@dataclass(frozen=True)
class ModulatorScaling:
    """Base variables of the modulators and their standardisation on the training stars.

    Attributes
    ----------
    names : tuple of str
    mean, scale : ndarray of shape (n_variables,)
        ``v = (raw − mean) / scale`` (0 and 1 without standardisation).
    """

    names: tuple[str, ...]
    mean: np.ndarray
    scale: np.ndarray

    @classmethod
    def fit(cls, Z: Any, *, standardize: bool = True,
            names: Sequence[str] | None = None) -> ModulatorScaling:
        """Learn the scaling of the columns of ``Z`` (DataFrame, mapping or 2-D array)."""
        names, raw = _columns(Z, names)
        if not standardize:
            return cls(names, np.zeros(len(names)), np.ones(len(names)))
        sd = raw.std(axis=0)
        if not (sd > 0).all():
            bad = [n for n, s in zip(names, sd, strict=True) if not s > 0]
            raise InvalidParameterError(
                f"modulator variable(s) {bad} are constant on the training stars; they cannot "
                "be standardised (or modulate anything). Drop them from Z.")
        return cls(names, raw.mean(axis=0), sd)

    def transform(self, Z: Any, n_rows: int | None = None) -> np.ndarray:
        """Standardised variables, shape (n_samples, n_variables), columns in ``names`` order."""
        _, raw = _columns(Z, self.names, select=True)
        if n_rows is not None and raw.shape[0] != n_rows:
            raise ShapeMismatchError(
                f"Z has {raw.shape[0]} rows but X has {n_rows}; give one row per spectrum.")
        return (raw - self.mean) / self.scale


def _columns(Z: Any, names: Sequence[str] | None, select: bool = False
             ) -> tuple[tuple[str, ...], np.ndarray]:
    """``(names, float64 matrix)`` of the modulator variables in ``Z``."""
    if isinstance(Z, pd.DataFrame | Mapping):
        have = list(Z.columns if isinstance(Z, pd.DataFrame) else Z.keys())
        names = tuple(str(c) for c in have) if names is None else tuple(names)
        missing = [n for n in names if n not in have]
        if missing:
            raise MissingLabelError(
                f"modulator variable(s) {missing} not in Z (columns: {have}); pass them as "
                "columns of Z or fix the names in terms.")
        raw = np.column_stack([np.asarray(Z[n], dtype=np.float64).ravel() for n in names])
    else:
        raw = np.asarray(Z, dtype=np.float64)
        raw = raw[:, None] if raw.ndim == 1 else raw
        if raw.ndim != 2:
            raise ShapeMismatchError(f"Z must be 1-D or 2-D; got shape {raw.shape}.")
        default = tuple(f"z{j}" for j in range(raw.shape[1]))
        names = default if names is None else tuple(names)
        if len(names) != raw.shape[1] and not (select and set(names) <= set(default)):
            raise ShapeMismatchError(
                f"Z has {raw.shape[1]} columns but {len(names)} variable names {names} were "
                "given; pass a DataFrame with named columns or one name per column.")
        if select and len(names) != raw.shape[1]:
            raw = raw[:, [default.index(n) for n in names]]
    if not np.isfinite(raw).all():
        raise InvalidParameterError(
            "Z (modulator variables) contains NaN or inf; every star needs finite values.")
    return names, raw


def _factors(term: str | Sequence[str]) -> list[str]:
    if isinstance(term, str):
        return term.replace("**", "^").replace("·", "*").replace(" ", "").split("*")
    return [str(f) for f in term]


def term_variables(terms: Sequence[str | Sequence[str]] | str) -> tuple[str, ...]:
    """Variable names used by ``terms``, in order of first appearance."""
    out: list[str] = []
    for term in [terms] if isinstance(terms, str) else terms:
        for f in _factors(term):
            hit = _FACTOR.match(f)
            if hit is None:
                raise InvalidParameterError(
                    f"cannot read modulator term {term!r}: factor {f!r} is not a variable "
                    "name (optionally ^power). Write e.g. 'm', 'm*t', 'm^2'.")
            if hit.group(1) not in out:
                out.append(hit.group(1))
    return tuple(out)


def term_exponents(terms: Sequence[str | Sequence[str]] | None,
                   names: Sequence[str]) -> np.ndarray:
    """Exponent matrix (K, n_variables) of the modulator monomials.

    A term is a string of factors joined by ``*`` (or ``·``), each ``name`` or ``name^k``
    (``name**k`` also accepted), e.g. ``"m*t"``, ``"m^2"``; or a sequence of names whose
    product it is (``("m", "t")``). ``None``: every variable once, linearly.
    """
    names = list(names)
    if terms is None:
        return np.eye(len(names), dtype=int)
    if isinstance(terms, str):
        terms = [terms]
    out = []
    for term in terms:
        factors = _factors(term)
        e = np.zeros(len(names), dtype=int)
        for f in factors:
            hit = _FACTOR.match(str(f))
            if hit is None or hit.group(1) not in names:
                raise InvalidParameterError(
                    f"cannot read modulator term {term!r}: factor {f!r} is not one of the "
                    f"variables {names} (optionally ^power). Write e.g. 'm', 'm*t', 'm^2'.")
            e[names.index(hit.group(1))] += int(hit.group(2) or 1)
        if not e.any():
            raise InvalidParameterError(f"modulator term {term!r} is a constant; x is always "
                                        "in the model already (z₀ = 1).")
        out.append(e)
    if not out:
        raise InvalidParameterError("terms is empty; give at least one modulator (or use "
                                    "RidgeRegressor for the plain model).")
    exps = np.array(out)
    if len({tuple(e) for e in exps}) != len(exps):
        raise InvalidParameterError(f"terms {list(terms)} repeat a monomial; give each once.")
    return exps


def term_name(e: Sequence[int], names: Sequence[str]) -> str:
    """Readable name of a monomial, e.g. ``m*t^2``; ``1`` for the constant."""
    parts = [n if k == 1 else f"{n}^{k}" for n, k in zip(names, e, strict=True) if k]
    return "*".join(parts) or "1"


def _with_one(exponents: np.ndarray) -> np.ndarray:
    return np.vstack([np.zeros((1, exponents.shape[1]), dtype=int), exponents])


def gram_monomials(exponents: np.ndarray) -> list[Monomial]:
    """Distinct monomials ``zₐ z_b`` (``a ≤ b``, with ``z₀ = 1``) whose Grams the fit needs."""
    full = _with_one(np.asarray(exponents, dtype=int))
    return sorted({tuple(int(v) for v in full[a] + full[b])
                   for a in range(len(full)) for b in range(a, len(full))})


def monomial_values(V: np.ndarray, e: Sequence[int]) -> np.ndarray:
    """``∏ v_j^{e_j}`` row by row (ones for the constant monomial)."""
    out = np.ones(V.shape[0])
    for j, k in enumerate(e):
        if k:
            out = out * V[:, j] ** int(k)
    return out
