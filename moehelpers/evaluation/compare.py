"""Paired comparisons on the same test stars, as table columns and rows.

Every number comes from :func:`moehelpers.metrics.paired_bootstrap` (or
:func:`~moehelpers.metrics.retention`) on the same stars and resamples; these helpers only
name the columns the book's tables and records use: ``<name>``, ``<name>_lo``, ``<name>_hi``
for a point value and its 95% interval.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from moehelpers.metrics import PairedBootstrapResult, RetentionResult, paired_bootstrap

__all__ = ["ci_columns", "delta_row", "delta_table", "gap_table", "row_shares"]


def ci_columns(name: str, result: PairedBootstrapResult | RetentionResult) -> dict[str, float]:
    """``{name, name_lo, name_hi}`` of a paired difference or a retention ratio.

    Parameters
    ----------
    name : str
        Column stem, e.g. ``"delta_r2"``.
    result : PairedBootstrapResult or RetentionResult
        Its point value (``difference`` or ``rho``) and interval.

    Returns
    -------
    dict
    """
    point = result.rho if isinstance(result, RetentionResult) else result.difference
    return {name: point, f"{name}_lo": result.ci_low, f"{name}_hi": result.ci_high}


def delta_row(y: Any, pred: Any, base: Any, *, n_boot: int, seed: int) -> dict[str, float]:
    """R² of ``pred`` and its paired ΔR² over ``base`` with the 95% interval.

    Returns
    -------
    dict
        ``r2``, ``delta_r2``, ``delta_r2_lo``, ``delta_r2_hi``.
    """
    d = paired_bootstrap(y, pred, base, n_boot=n_boot, seed=seed)
    return {"r2": d.score_a, **ci_columns("delta_r2", d)}


def delta_table(y: Any, preds: Iterable[tuple[str, Any]], base: Any, *, label: str,
                n_boot: int, seed: int) -> pd.DataFrame:
    """One :func:`delta_row` per named prediction, against the same ``base``.

    Parameters
    ----------
    y : array-like of shape (n,)
    preds : iterable of (name, prediction)
        Pairs, so a name may repeat (e.g. when two rows are the same model).
    base : array-like of shape (n,)
        The reference predictions (e.g. the global Ridge).
    label : str
        Name of the column holding the names.
    n_boot, seed : int
        Bootstrap resamples and seed.

    Returns
    -------
    pandas.DataFrame
        ``label``, ``r2``, ``delta_r2``, ``delta_r2_lo``, ``delta_r2_hi``.
    """
    return pd.DataFrame([{label: name, **delta_row(y, p, base, n_boot=n_boot, seed=seed)}
                         for name, p in preds])


def gap_table(y: Any, preds: Mapping[str, Any], pairs: Sequence[tuple[str, str]], *,
              label: str = "gap", n_boot: int, seed: int) -> pd.DataFrame:
    """Paired R² differences ``a − b`` between named predictions.

    Parameters
    ----------
    y : array-like of shape (n,)
    preds : mapping of name → prediction
    pairs : sequence of (a, b)
        Names in ``preds``; positive differences mean ``a`` is better.
    label : str, default="gap"
        Column holding ``"a − b"``.
    n_boot, seed : int

    Returns
    -------
    pandas.DataFrame
        ``label``, ``delta_r2``, ``delta_r2_lo``, ``delta_r2_hi``.
    """
    return pd.DataFrame([
        {label: f"{a} − {b}",
         **ci_columns("delta_r2", paired_bootstrap(y, preds[a], preds[b], n_boot=n_boot,
                                                   seed=seed))}
        for a, b in pairs])


def row_shares(counts: Any) -> np.ndarray:
    """Row-normalised confusion counts (a row of zeros stays zero).

    Parameters
    ----------
    counts : array-like or DataFrame of shape (k, k)

    Returns
    -------
    ndarray of shape (k, k)
    """
    c = np.asarray(counts, dtype=float)
    return c / np.maximum(c.sum(axis=1, keepdims=True), 1)
