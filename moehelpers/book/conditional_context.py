"""Context tables of the conditional-Ridge pages: our numbers beside the original study's.

The original study's numbers come from :mod:`moehelpers.records.references` and are always
labelled as references (its data differ from ours).
"""

from __future__ import annotations

import pandas as pd

from moehelpers.book import report
from moehelpers.metrics import PairedBootstrapResult
from moehelpers.records import references

__all__ = ["order_references", "order_summary_markdown", "pp_context_html", "pp_context_table",
           "pp_summary_markdown", "window_gate_reading"]


def pp_context_table(r2_global: float, r2_order1: float, r2_moe: float,
                     r2_full_global: float | None = None) -> pd.DataFrame:
    """MVP-7.2 context: global Ridge, order-1 conditional Ridge and 9-bin MoE, here and in
    the original study.

    Parameters
    ----------
    r2_global, r2_order1, r2_moe : float
        Test R² of the global Ridge, ``[x, m·x]`` and the 9-bin MoE (100% coverage), all on
        the binned pixels.
    r2_full_global : float, optional
        The global Ridge at full resolution (a fourth row when given).

    Returns
    -------
    pandas.DataFrame
        ``model``, ``r2 here``, ``r2 <reference label>``.
    """
    ref = references.ORIGINAL
    table = pd.DataFrame({
        "model": ["global Ridge", "[x, m·x] (MVP-3.2)", "9-bin MoE (fallback, 100% coverage)"],
        "r2 here": [r2_global, r2_order1, r2_moe],
        f"r2 {references.LABEL}": [ref["mvp0.r2_all"], ref["mvp3.conditional_r2_by_order"][1],
                                   ref["mvp0.r2_all"] + ref["mvp1.delta_r2_fallback"]]})
    if r2_full_global is not None:
        table.loc[len(table)] = ["global Ridge, full resolution", r2_full_global,
                                 ref["mvp0.r2_all"]]
    return table


def pp_context_html(r2_global: float, r2_order1: float, r2_moe: float,
                    r2_full_global: float | None, n_features: int) -> str:
    """:func:`pp_context_table` as captioned HTML (``n_features``: binned pixels used)."""
    return report.table_html(
        pp_context_table(r2_global, r2_order1, r2_moe, r2_full_global), caption=(
            f"Context. Our models use {n_features} binned pixels; the original study's "
            "numbers (its data differ) on the right. "
            + ("The original study never completed MVP-7.2: there is no reference for the ++ "
               "steps." if "MVP-7.2" in references.NEVER_RUN else "")))


def pp_summary_markdown(table: pd.DataFrame, best: int, teff_gain: PairedBootstrapResult
                        ) -> str:
    """The MVP-7.2 reading in one paragraph: the step chosen on validation, its share of the
    9-bin MoE gain, step 0's share beside the original study's, and the Teff terms' gain.

    Parameters
    ----------
    table : pandas.DataFrame
        :func:`moehelpers.evaluation.conditional.step_table`.
    best : int
        Row of the step chosen on validation.
    teff_gain : PairedBootstrapResult
        R² of the Teff step minus step 0's.

    Returns
    -------
    str
    """
    row_best, row0 = table.iloc[best], table.iloc[0]
    fmt = report.fmt
    ref_share = references.ORIGINAL["mvp3.conditional_share_order1"]
    return (
        f"Chosen on validation: step {best}, {row_best['model']}: ΔR² "
        f"{fmt(row_best['delta_r2'])} over the global Ridge, "
        f"{fmt(100 * row_best['share_moe_gain'], 0)}% "
        f"[{fmt(100 * row_best['share_moe_gain_lo'], 0)}, "
        f"{fmt(100 * row_best['share_moe_gain_hi'], 0)}]% of the 9-bin MoE gain; step 0 "
        f"({row0['model']}) {fmt(100 * row0['share_moe_gain'], 0)}% (the original study: "
        f"{fmt(100 * ref_share, 0)}%). The Teff interaction terms add "
        f"{fmt(teff_gain.difference)} [{fmt(teff_gain.ci_low)}, {fmt(teff_gain.ci_high)}] in "
        "R².")


def window_gate_reading(accepted: bool, stop: bool, pp_alpha: float, n_pixels: int,
                        seconds: float) -> str:
    """The MVP-7.4 reading of the document's rules, with the Conditional Ridge++ fit and the
    original study's window-gate retention (its own protocol) for context.

    Parameters
    ----------
    accepted : bool
        Both acceptance conditions passed.
    stop : bool
        The stop-loss applies (window gate ≈ Conditional Ridge++).
    pp_alpha : float
        α of Conditional Ridge++.
    n_pixels : int
        Binned pixels Conditional Ridge++ used.
    seconds : float
        Notebook wall time so far.

    Returns
    -------
    str
        Markdown.
    """
    ref, fmt = references.ORIGINAL, report.fmt
    return (
        "**Reading**: the window gate "
        + ("passes both acceptance conditions: a learned gate is worth pursuing towards "
           "NN-MoE." if accepted else
           "does not pass both acceptance conditions" + (
               "; it is within the margin of Conditional Ridge++, so the stop-loss applies: "
               "use the conditional model." if stop else "."))
        + f" Conditional Ridge++ used α = {fmt(pp_alpha, 3)} on {n_pixels} binned pixels. "
        "Reference (original study, REFERENCE.md §4, 3 [M/H] experts, its own protocol): a "
        f"soft window gate kept ≈ {fmt(100 * ref['mvp6.window_soft_retention_mh3'], 0)}% of "
        f"the oracle gain, hard routing {fmt(100 * ref['mvp6.window_hard_retention_mh3'], 0)}"
        f"%. Notebook time {fmt(seconds, 1)} s.")


def order_references() -> dict[int, float]:
    """The original study's conditional-Ridge R² by order of [M/H] (MVP-3.2, true [M/H])."""
    ref = references.ORIGINAL
    return dict(zip(ref["mvp3.conditional_orders"], ref["mvp3.conditional_r2_by_order"],
                    strict=True))


def order_summary_markdown(t: pd.Series, d: pd.Series, best_true: int, best_deploy: int,
                           deploy: str) -> str:
    """The MVP-3.2 reading: the best order with true [M/H] and with predicted [M/H], beside
    the original study's R² by order and its order-1 share of the MoE gain.

    Parameters
    ----------
    t, d : pandas.Series
        Rows of :func:`moehelpers.evaluation.conditional.order_table` for the best order with
        true [M/H] and for the deployable variant.
    best_true, best_deploy : int
        Their orders.
    deploy : str
        The deployable variant (``"true→pred"`` or ``"pred"``).

    Returns
    -------
    str
    """
    fmt = report.fmt
    return (
        f"Best order on validation (true [M/H]): {best_true}, ΔR² {fmt(t['delta_r2'])} "
        f"[{fmt(t['delta_r2_lo'])}, {fmt(t['delta_r2_hi'])}], "
        f"{fmt(100 * t['share_moe_gain'], 0)}% of the 9-bin gain; with the predicted "
        f"[M/H] ({deploy}, order {best_deploy}): ΔR² {fmt(d['delta_r2'])}. "
        f"{references.LABEL}: R² by order "
        + ", ".join(f"{o}: {fmt(r, 4)}" for o, r in order_references().items())
        + f"; order 1 reached "
        f"{fmt(100 * references.ORIGINAL['mvp3.conditional_share_order1'], 0)}% of the MoE "
        "gain.")
