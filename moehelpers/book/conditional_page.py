"""Notebooks 07 (MVP-3.2, conditional Ridge by order of [M/H]) and 13 (MVP-7.2, Conditional
Ridge++ steps): captions, sentences, verdicts, record metrics and headlines.

The context tables beside the original study and the summary paragraphs are in
:mod:`moehelpers.book.conditional_context`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from moehelpers.book import report
from moehelpers.book.conditional_context import order_references
from moehelpers.evaluation.compare import ci_columns
from moehelpers.metrics import PairedBootstrapResult
from moehelpers.records import references
from moehelpers.records import store as results

__all__ = ["ORDER_COLUMNS", "PP_COLUMNS", "order_caption", "order_headline", "order_metrics",
           "order_verdicts", "pp_deploy_caption", "pp_fit_sentence", "pp_headline",
           "pp_metrics", "pp_step_caption", "pp_verdicts", "predictor_sentence"]

#: Columns of the MVP-3.2 order table recorded per variant of m (``<column>_<variant>``).
ORDER_COLUMNS = ("r2", "delta_r2", "delta_r2_lo", "delta_r2_hi", "share_moe_gain", "alpha")
#: Columns of the MVP-7.2 step table recorded as lists.
PP_COLUMNS = ("alpha", "r2", "r2_val", "delta_r2", "share_moe_gain", "share_moe_gain_lo",
              "share_moe_gain_hi", "step_gain")


# --- notebook 07: conditional Ridge by order (MVP-3.2) ---
def order_caption(moe_all: PairedBootstrapResult, moe_covered: PairedBootstrapResult,
                  n_covered: int, noise_level: float) -> str:
    """Caption of the MVP-3.2 order table.

    Parameters
    ----------
    moe_all, moe_covered : PairedBootstrapResult
        The 9-bin MoE against the global Ridge on all and on the covered test stars.
    n_covered : int
        Test stars inside the MoE's bins.
    noise_level : float

    Returns
    -------
    str
    """
    return (
        f"All {moe_all.n} test stars (noise {noise_level:g}); ΔR² against order 0; share of the "
        f"9-bin MoE gain (ΔR² {report.fmt(moe_all.difference)} on all stars with the global "
        f"model for the {moe_all.n - n_covered} uncovered ones, "
        f"{report.fmt(moe_covered.difference)} on the {n_covered} covered stars). r2_val: "
        "validation R² of the chosen α; the original study's R² (true [M/H]) on the right.")


def predictor_sentence(mh_r2: float, mh_alpha: float, bin_plan: Sequence[str]) -> str:
    """The [M/H] predictor's test R² and α, and the 9-bin plan (Markdown)."""
    return (f"[M/H] predictor: test R² {report.fmt(mh_r2)} (α {report.fmt(mh_alpha)}); 9-bin "
            "plan: " + "; ".join(bin_plan))


def order_verdicts(t: pd.Series, d: pd.Series, best_true: int, best_deploy: int, deploy: str,
                   delta_threshold: float) -> list[dict[str, Any]]:
    """The MVP-3.2 verdicts: Q8 (ΔR² ≥ threshold, its CI above 0), H2.3 (share of the MoE
    gain ≥ the original study's order-1 share) and Q8 with the predicted [M/H].

    Parameters
    ----------
    t, d : pandas.Series
        Rows of :func:`moehelpers.evaluation.conditional.order_table`: the best order with
        true [M/H] and the best deployable one.
    best_true, best_deploy : int
        Their orders (chosen on validation).
    deploy : str
        The deployable variant (``"true→pred"`` or ``"pred"``).
    delta_threshold : float
        ΔR² at which the document prefers the conditional model.

    Returns
    -------
    list of dict
        :func:`moehelpers.records.store.verdict` entries ``Q8``, ``Q8_ci``, ``H2.3``,
        ``Q8_predicted``.
    """
    return [
        results.verdict("Q8", t["delta_r2"], delta_threshold, ">=",
                        f"ΔR² (order {best_true}, chosen on validation; true [M/H]) vs global ≥ "
                        f"{delta_threshold:g}: the conditional model can replace the MoE"),
        results.verdict("Q8_ci", t["delta_r2_lo"], 0.0, ">",
                        "lower end of its 95% paired CI > 0"),
        results.verdict("H2.3", t["share_moe_gain"],
                        references.ORIGINAL["mvp3.conditional_share_order1"], ">=",
                        "share of the 9-bin MoE gain reached (all test stars) ≥ the original "
                        "study's order-1 share"),
        results.verdict("Q8_predicted", d["delta_r2"], delta_threshold, ">=",
                        f"ΔR² (order {best_deploy}; m = {deploy}, predicted [M/H] at test) ≥ "
                        f"{delta_threshold:g}"),
    ]


def order_metrics(table: pd.DataFrame, variants: Sequence[str], *, orders: Sequence[int],
                  r2_global: float, moe_all: PairedBootstrapResult,
                  moe_covered: PairedBootstrapResult, n_covered: int, mh_r2: float,
                  mh_alpha: float, best_true: int, best_deploy: int) -> dict[str, Any]:
    """The MVP-3.2 record metrics.

    Parameters
    ----------
    table : pandas.DataFrame
        :func:`moehelpers.evaluation.conditional.order_table`.
    variants : sequence of str
        Variants of m in the table; each gives keys ``<column>_<variant>`` (``→`` written
        ``_to_``) for the columns :data:`ORDER_COLUMNS`, one value per order.
    orders : sequence of int
    r2_global : float
        Test R² of order 0.
    moe_all, moe_covered : PairedBootstrapResult
        The 9-bin MoE against order 0 on all and on the covered test stars.
    n_covered : int
    mh_r2, mh_alpha : float
        Test R² and α of the [M/H] predictor.
    best_true, best_deploy : int
        Orders chosen on validation (true [M/H], deployable).

    Returns
    -------
    dict
    """
    return {"orders": orders, "r2_global": r2_global,
            "r2_moe_all": moe_all.score_a, "delta_moe_all": moe_all.difference,
            "delta_moe_covered": moe_covered.difference, "n_covered": n_covered,
            "mh_r2": mh_r2, "mh_alpha": mh_alpha,
            "best_order_true": best_true, "best_order_deploy": best_deploy,
            **{f"{k}_{v.replace('→', '_to_')}": table.loc[table["m"] == v, k].tolist()
               for v in variants for k in ORDER_COLUMNS}}


def order_headline(metrics: Mapping[str, Any], noise_level: float) -> list[dict[str, Any]]:
    """Headline rows of MVP-3.2: the best order with true [M/H] (the original study's R² at
    noise 0.2 as reference) and the best deployable order scored with predicted [M/H].

    Parameters
    ----------
    metrics : mapping
        :func:`order_metrics`.
    noise_level : float

    Returns
    -------
    list of dict
    """
    k_true, k_dep = int(metrics["best_order_true"]), int(metrics["best_order_deploy"])
    orders = list(metrics["orders"])
    reference = order_references().get(k_true, np.nan) if noise_level == 0.2 else np.nan
    return [
        results.headline_row(f"conditional Ridge, order {k_true}, true [M/H]", noise_level,
                             metrics["r2_true"][orders.index(k_true)],
                             labels_given="Teff/[M/H]", reference=reference),
        results.headline_row(f"conditional Ridge, order {k_dep}, predicted [M/H]", noise_level,
                             metrics["r2_true_to_pred"][orders.index(k_dep)])]


# --- notebook 13: Conditional Ridge++ (MVP-7.2) ---
def pp_fit_sentence(n_features: int, pixel_bin: int, n_passes: int, grams_s: float,
                    solve_s: Sequence[float], bin_plan: Sequence[str]) -> str:
    """What the MVP-7.2 fit used and cost: features, weighted Gram passes, solves, 9-bin plan.

    Parameters
    ----------
    n_features : int
        Binned pixels.
    pixel_bin : int
    n_passes : int
        Weighted Gram passes (distinct monomials).
    grams_s : float
        Seconds of those passes.
    solve_s : sequence of float
        Seconds of each step's solves.
    bin_plan : sequence of str
        The 9-bin MoE's plan statement.

    Returns
    -------
    str
        Markdown.
    """
    return (f"{n_features} features (pixel bin {pixel_bin}); {n_passes} weighted Gram "
            f"passes (distinct monomials) in {report.fmt(grams_s, 1)} s; solves per step "
            + ", ".join(f"{report.fmt(s, 1)} s" for s in solve_s) + ". 9-bin plan: "
            + "; ".join(bin_plan))


def pp_step_caption(moe_d: PairedBootstrapResult, noise_level: float, n_boot: int) -> str:
    """Caption of the MVP-7.2 step table (``moe_d``: the 9-bin MoE against the global Ridge)."""
    return (
        f"All {moe_d.n} test stars (noise {noise_level:g}), 95% paired bootstrap intervals "
        f"({n_boot} resamples). delta_r2: against the global Ridge (R² "
        f"{report.fmt(moe_d.score_b)}); share_moe_gain: of the 9-bin MoE's gain (ΔR² "
        f"{report.fmt(moe_d.difference)} [{report.fmt(moe_d.ci_low)}, "
        f"{report.fmt(moe_d.ci_high)}], 100% coverage); minus_moe: R² minus the MoE's; "
        "step_gain: against the previous step (step 0: against the global Ridge); r2_val: "
        "validation R² at the chosen α.")


def pp_deploy_caption(label_r2: Mapping[str, float]) -> str:
    """Caption of the MVP-7.2 table with predicted labels (``label_r2``: R² of m and t)."""
    return (f"Test R² of the label predictors: [M/H] {report.fmt(label_r2['m'])}, Teff "
            f"{report.fmt(label_r2['t'])}. ΔR² against the global Ridge, 95% paired bootstrap.")


def pp_verdicts(row_best: pd.Series, coverage: float, teff_gain: PairedBootstrapResult,
                teff_name: str, base_name: str, *, share_threshold: float,
                teff_threshold: float) -> list[dict[str, Any]]:
    """The MVP-7.2 verdicts: share of the MoE gain (value and CI), coverage, the Teff
    stop-loss and the Teff terms' interval.

    Parameters
    ----------
    row_best : pandas.Series
        Row of :func:`moehelpers.evaluation.conditional.step_table` of the step chosen on
        validation.
    coverage : float
        Share of test stars with a finite prediction of that step.
    teff_gain : PairedBootstrapResult
        R² of the Teff step minus step 0's.
    teff_name, base_name : str
        Names of the Teff step and of step 0.
    share_threshold : float
        Acceptance: share of the 9-bin MoE gain.
    teff_threshold : float
        Stop-loss: R² the Teff terms must add.

    Returns
    -------
    list of dict
        ``MVP-7.2_share``, ``MVP-7.2_share_ci``, ``MVP-7.2_coverage``, ``stop_loss_teff``,
        ``teff_gain_ci``.
    """
    return [
        results.verdict("MVP-7.2_share", row_best["share_moe_gain"], share_threshold, ">=",
                        f"the step chosen on validation ({row_best['model']}) reaches ≥ "
                        f"{share_threshold:.0%} of the 9-bin MoE gain on all test stars (100% "
                        "coverage)"),
        results.verdict("MVP-7.2_share_ci", row_best["share_moe_gain_lo"], share_threshold,
                        ">=", "… and the lower end of its 95% interval does too"),
        results.verdict("MVP-7.2_coverage", coverage, 1.0, ">=",
                        "every test star is predicted (100% coverage)"),
        results.verdict("stop_loss_teff", teff_gain.difference, teff_threshold, "<",
                        f"R² added by the Teff interaction terms ({teff_name} − "
                        f"{base_name}) < {teff_threshold:g}: Teff unimportant, keep [M/H] only"),
        results.verdict("teff_gain_ci", teff_gain.ci_low, 0.0, ">",
                        "the Teff terms' gain: lower end of its 95% paired interval > 0"),
    ]


def pp_metrics(table: pd.DataFrame, deploy: pd.DataFrame, *, n_features: int, n_passes: int,
               moe_d: PairedBootstrapResult, best: int, r2_full_global: float | None,
               teff_gain: PairedBootstrapResult, label_r2: Mapping[str, float]
               ) -> dict[str, Any]:
    """The MVP-7.2 record metrics.

    Parameters
    ----------
    table : pandas.DataFrame
        :func:`moehelpers.evaluation.conditional.step_table` (columns :data:`PP_COLUMNS`
        recorded as lists).
    deploy : pandas.DataFrame
        The table with predicted labels (its ``r2`` recorded as ``deploy_r2``).
    n_features, n_passes : int
        Binned pixels and weighted Gram passes.
    moe_d : PairedBootstrapResult
        The 9-bin MoE against the global Ridge.
    best : int
        Step chosen on validation.
    r2_full_global : float or None
        Global Ridge at full resolution (NaN when not measured).
    teff_gain : PairedBootstrapResult
    label_r2 : mapping
        R² of the predicted m and t.

    Returns
    -------
    dict
    """
    return {"n_features": n_features, "n_gram_passes": n_passes,
            "r2_global": moe_d.score_b, "r2_moe": moe_d.score_a,
            **ci_columns("delta_moe", moe_d), "best_step": best,
            "r2_global_full_resolution": np.nan if r2_full_global is None else r2_full_global,
            **ci_columns("teff_gain", teff_gain), "label_r2_m": label_r2["m"],
            "label_r2_t": label_r2["t"],
            **{k: table[k].tolist() for k in PP_COLUMNS},
            "deploy_r2": deploy["r2"].tolist()}


def pp_headline(table: pd.DataFrame, r2_moe: float, noise_level: float
                ) -> list[dict[str, Any]]:
    """Headline rows of MVP-7.2: every Conditional Ridge++ step and the 9-bin MoE (all told
    Teff and [M/H])."""
    return [*(results.headline_row(f"Conditional Ridge++ {r['model']}", noise_level, r["r2"],
                                   labels_given="Teff/[M/H]") for _, r in table.iterrows()),
            results.headline_row("9-bin MoE", noise_level, r2_moe, labels_given="Teff/[M/H]")]
