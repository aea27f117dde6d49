"""Scoring conditional Ridge models (MVP-3.2, MVP-7.2) against the global Ridge and the MoE.

All rows are on the same test stars with :func:`moehelpers.metrics.paired_bootstrap` and
:func:`~moehelpers.metrics.retention` (same resamples for every model): ΔR² over the global
Ridge, the share of the 9-bin MoE's gain, and (MVP-7.2) the gain of each step over the
previous one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from moehelpers.engine.store import shared_ridge_fit
from moehelpers.evaluation.compare import ci_columns
from moehelpers.metrics import PairedBootstrapResult, paired_bootstrap, r2, retention

__all__ = ["best_by_validation", "best_order", "full_resolution_r2", "order_row", "order_table",
           "share_of_gain", "step_table", "val_r2", "variant_predictions"]


def val_r2(model: Any) -> float:
    """Validation R² at the chosen α (the best of the visited α; unvisited are NaN)."""
    return float(np.nanmax(model.val_scores_))


def best_by_validation(models: Sequence[Any]) -> int:
    """Index of the model with the best validation R² (first on ties)."""
    return int(np.argmax([val_r2(m) for m in models]))


def step_table(y: Any, models: Sequence[Any], names: Sequence[str], preds: Sequence[Any],
               pred_global: Any, pred_moe: Any, *, n_boot: int, seed: int) -> pd.DataFrame:
    """One row per Conditional Ridge++ step (MVP-7.2), all on the same test stars.

    Parameters
    ----------
    y : array-like of shape (n,)
    models : sequence of ModulatedRidge
        Fitted steps (``terms_``, ``alpha_``, ``val_scores_``).
    names : sequence of str
        Feature-set name of each step.
    preds : sequence of array-like of shape (n,)
        Test predictions of each step.
    pred_global, pred_moe : array-like of shape (n,)
        Global Ridge and 9-bin MoE (100% coverage) predictions.
    n_boot, seed : int

    Returns
    -------
    pandas.DataFrame
        ``step``, ``model``, ``K``, ``alpha``, ``r2_val``, ``r2``; ``delta_r2`` (over the global
        Ridge), ``share_moe_gain`` (retention of the MoE's gain), ``minus_moe`` (R² minus the
        MoE's) and ``step_gain`` (over the previous step; step 0 over the global Ridge), each
        with ``_lo`` / ``_hi``.
    """
    kw = {"n_boot": n_boot, "seed": seed}
    rows = []
    for k, (name, mdl, p) in enumerate(zip(names, models, preds, strict=True)):
        d = paired_bootstrap(y, p, pred_global, **kw)
        rows.append({
            "step": k, "model": name, "K": len(mdl.terms_), "alpha": mdl.alpha_,
            "r2_val": val_r2(mdl), "r2": d.score_a, **ci_columns("delta_r2", d),
            **ci_columns("share_moe_gain", retention(y, p, pred_global, pred_moe, **kw)),
            **ci_columns("minus_moe", paired_bootstrap(y, p, pred_moe, **kw)),
            **ci_columns("step_gain", paired_bootstrap(y, p, preds[k - 1] if k else pred_global,
                                                       **kw))})
    return pd.DataFrame(rows)


def share_of_gain(gain: float, moe_gain: float) -> float:
    """``gain / moe_gain``: the share of the MoE's gain; NaN when the MoE does not gain."""
    return gain / moe_gain if moe_gain > 0 else float("nan")


def order_table(y: Any, preds: Mapping[tuple[str, int], Any],
                fitted: Mapping[tuple[str, int], Any], base: Any, covered: Any,
                moe_all: PairedBootstrapResult, moe_covered: PairedBootstrapResult, *,
                reference: Mapping[int, float], reference_column: str,
                reference_variant: str = "true", n_boot: int, seed: int) -> pd.DataFrame:
    """One row per (source of m, order) of the conditional Ridge (MVP-3.2).

    Parameters
    ----------
    y : array-like of shape (n,)
    preds : mapping of (variant, order) → test prediction
        ``variant`` names how m was supplied (``"true"``, ``"true→pred"``, ``"pred"``).
    fitted : mapping of (variant, order) → ConditionalRidge
        The model behind each prediction (``alpha_``, ``val_scores_``).
    base : array-like of shape (n,)
        Order 0, the global Ridge.
    covered : boolean array of shape (n,)
        Stars inside the MoE's bins.
    moe_all, moe_covered : PairedBootstrapResult
        The 9-bin MoE against ``base`` on all and on the covered stars.
    reference : mapping of order → R²
        The original study's R² (true [M/H]), shown on the rows of ``reference_variant``.
    reference_column : str
        Name of that column.
    reference_variant : str, default="true"
    n_boot, seed : int

    Returns
    -------
    pandas.DataFrame
        ``m``, ``order``, ``alpha``, ``r2_val``, ``r2``, ``delta_r2`` (+ ``_lo``, ``_hi``,
        all stars, against order 0), ``share_moe_gain``, ``delta_r2_covered``,
        ``share_moe_gain_covered`` and the reference column.
    """
    kw = {"n_boot": n_boot, "seed": seed}
    rows = []
    for (v, o), p in preds.items():
        a = paired_bootstrap(y, p, base, **kw)
        c = paired_bootstrap(y, p, base, index=covered, **kw)
        rows.append({
            "m": v, "order": o, "alpha": fitted[(v, o)].alpha_, "r2_val": val_r2(fitted[(v, o)]),
            "r2": a.score_a, **ci_columns("delta_r2", a),
            "share_moe_gain": share_of_gain(a.difference, moe_all.difference),
            "delta_r2_covered": c.difference,
            "share_moe_gain_covered": share_of_gain(c.difference, moe_covered.difference),
            reference_column: reference.get(o, np.nan) if v == reference_variant else np.nan})
    return pd.DataFrame(rows)


def best_order(models: Mapping[tuple[str, int], Any], source: str, orders: Sequence[int]) -> int:
    """Order > 0 of ``source`` with the best validation R² (first on ties; 0 if none).

    Parameters
    ----------
    models : mapping of (source, order) → ConditionalRidge
        As :func:`moehelpers.models.conditional.fit_orders` returns.
    source : str
        Source of m whose models compete (``"true"`` or ``"pred"``).
    orders : sequence of int

    Returns
    -------
    int
    """
    return max((o for o in orders if o > 0), key=lambda o: val_r2(models[(source, o)]),
               default=0)


def variant_predictions(models: Mapping[tuple[str, int], Any],
                        variants: Mapping[str, tuple[str, Mapping[str, Any]]],
                        orders: Sequence[int], X: Any
                        ) -> tuple[dict[tuple[str, int], Any], dict[tuple[str, int], Any]]:
    """The model behind each (variant, order) of MVP-3.2 and its test predictions.

    Parameters
    ----------
    models : mapping of (source, order) → ConditionalRidge
        Fitted models; order 0 exists for the source ``"true"`` only (it ignores m).
    variants : mapping of name → (source, m)
        How m is supplied: the source the model was fitted on and the m values per split
        whose ``"test"`` entry is used (e.g. ``{"true→pred": ("true", mh_hat)}``).
    orders : sequence of int
    X : array-like of shape (n, P)
        Test flux.

    Returns
    -------
    fitted, preds : dict of (variant, order) → model, → array of shape (n,)
    """
    fitted = {(v, o): models[(src if o > 0 else "true", o)]  # order 0 ignores m: one baseline
              for v, (src, _) in variants.items() for o in orders}
    preds = {(v, o): fitted[(v, o)].predict(X, variants[v][1]["test"]) for v, o in fitted}
    return fitted, preds


def order_row(table: pd.DataFrame, variant: str, order: int) -> pd.Series:
    """The row of :func:`order_table` for one variant of m and one order."""
    return table[(table["m"] == variant) & (table["order"] == order)].iloc[0]


def full_resolution_r2(X: Mapping[str, Any], y: Mapping[str, Any], alphas: Sequence[float]
                       ) -> float:
    """Test R² of the global Ridge on the unbinned pixels (α chosen on validation): the cost
    of pixel binning in MVP-7.2.

    Parameters
    ----------
    X, y : mapping of split → array
        Full-resolution flux and targets of ``"train"``, ``"val"`` and ``"test"``.
    alphas : sequence of float

    Returns
    -------
    float
    """
    # the full-resolution Gram of this noisy flux is the one notebooks 06 and 07 form: read
    # from the statistics store when active, with the path (the same fit as RidgeRegressor's)
    full, _ = shared_ridge_fit(X["train"], y["train"], X["val"], y["val"], alphas)
    return float(r2(y["test"], full.predict(X["test"])))
