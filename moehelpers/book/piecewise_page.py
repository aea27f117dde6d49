"""Notebooks 02 and 03 (MVP-1.0, MVP-1.1): verdicts, decision sentences, record metrics and
headlines of the piecewise Ridge pages."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from moehelpers.book import report
from moehelpers.evaluation import per_bin
from moehelpers.metrics import PairedBootstrapResult, Scores
from moehelpers.models.piecewise import PiecewiseRidge
from moehelpers.records import references
from moehelpers.records import store as results

__all__ = ["EPSILON", "pct", "piecewise_decision", "piecewise_headline", "piecewise_metrics",
           "piecewise_verdicts", "rigorous_headline", "rigorous_metrics", "rigorous_note",
           "rigorous_verdicts"]

#: The document's ε: the smallest ΔR² worth a mixture of experts.
EPSILON = 0.03


# ------------------------------------------------------------------ MVP-1.0 (notebook 02)
def piecewise_verdicts(overall: PairedBootstrapResult, bins_table: pd.DataFrame,
                       model: PiecewiseRidge, alphas: Sequence[float]) -> list[dict[str, Any]]:
    """The MVP-1.0 verdicts: the 9-bin gain, its interval, per-bin wins, bin sizes, α grid.

    Parameters
    ----------
    overall : PairedBootstrapResult
        Piecewise (a) vs global (b) on the covered test stars.
    bins_table : DataFrame
        :func:`~moehelpers.evaluation.per_bin.per_bin_table` output (``delta_r2`` is read).
    model : PiecewiseRidge
        The fitted model (its ``counts_``, ``global_.alpha_`` and ``alpha_per_expert_``).
    alphas : sequence of float
        The α grid searched.

    Returns
    -------
    list of dict
        Verdicts ``H1.2`` (ΔR² ≥ ε), ``H1.2_ci`` (CI low > 0), ``H1.1`` (every bin with a ΔR²
        beats the global model), ``Q3`` (≥ 100 training stars per bin) and
        ``alpha_interior`` (every chosen α inside the grid).
    """
    valid = bins_table["delta_r2"].notna()
    better = float((bins_table.loc[valid, "delta_r2"] > 0).mean()) if valid.any() else np.nan
    alpha_interior = per_bin.interior_share([model.global_.alpha_, *model.alpha_per_expert_],
                                            alphas)
    return [
        results.verdict("H1.2", overall.difference, EPSILON, ">=",
                        "ΔR² (piecewise − global, same covered test stars) ≥ 0.03"),
        results.verdict("H1.2_ci", overall.ci_low, 0.0, ">",
                        "lower end of the 95% paired bootstrap CI of ΔR² > 0"),
        results.verdict("H1.1", better, 1.0, ">=",
                        "share of bins whose expert beats the global model on the bin's stars"),
        results.verdict("Q3", int(model.counts_.query("bin >= 0")["n_train"].min()), 100, ">=",
                        "every bin holds ≥ 100 training stars (document: else merge)"),
        results.verdict("alpha_interior", alpha_interior, 1.0, ">=",
                        "every chosen α lies inside the grid (grid wide enough)"),
    ]


def piecewise_decision(overall: PairedBootstrapResult, bins_table: pd.DataFrame) -> str:
    """The decision-tree paragraph (document §6.1) of MVP-1.0, in Markdown.

    Parameters
    ----------
    overall : PairedBootstrapResult
        Piecewise vs global on the covered test stars.
    bins_table : DataFrame
        Per-bin table (``name`` and ``delta_r2`` are read: the weakest bin is named).

    Returns
    -------
    str
        Case A (ΔR² ≥ ε: pursue MoE) or B (limited gains), our ΔR² and interval beside the
        original study's, a warning when the interval includes 0, and the weakest bin.
    """
    ref = references.ORIGINAL
    case = "A" if overall.difference >= EPSILON else "B"
    meaning = {
        "A": "the mapping is piecewise simple in (Teff, [M/H]): MoE is worth pursuing, the gate "
             "should use (Teff, [M/H]), continue with MVP-2 and MVP-3",
        "B": "the mapping is smooth across (Teff, [M/H]): MoE gains are limited here; check "
             "other binnings and whether noise experts (MVP-2) help before investing in MoE",
    }[case]
    valid = bins_table["delta_r2"].notna()
    worst = bins_table.loc[bins_table["delta_r2"].idxmin()] if valid.any() else None
    return (
        f"**Decision tree (document §6.1): case {case}** — {meaning}. "
        f"Our ΔR² = {report.fmt(overall.difference)} "
        f"[{report.fmt(overall.ci_low)}, {report.fmt(overall.ci_high)}] on {overall.n} stars; "
        f"{references.LABEL}: {report.fmt(ref['mvp1.delta_r2'])} "
        f"[{report.fmt(ref['mvp1.delta_r2_ci'][0])}, {report.fmt(ref['mvp1.delta_r2_ci'][1])}]. "
        + ("" if overall.ci_low > 0 else "The 95% interval includes 0: at this sample size the "
           "case is not established. ")
        + ("" if worst is None else
           f"Weakest bin: {worst['name']} (ΔR² {report.fmt(worst['delta_r2'])})."))


def piecewise_metrics(covered: np.ndarray, overall: PairedBootstrapResult, global_all: Scores,
                      model: PiecewiseRidge, bins_table: pd.DataFrame) -> dict[str, Any]:
    """The metrics of the MVP-1.0 record.

    Parameters
    ----------
    covered : ndarray of bool
        Test stars inside the bins.
    overall : PairedBootstrapResult
        Piecewise (a) vs global (b) on the covered stars.
    global_all : Scores
        The global model on all test stars.
    model : PiecewiseRidge
        The fitted model.
    bins_table : DataFrame
        Per-bin table.

    Returns
    -------
    dict
        Coverage, R² of both models, ΔR² and its interval, the chosen α values, the number of
        experts and the per-bin ΔR² / R² lists.
    """
    return {"coverage": float(covered.mean()), "n_covered": overall.n,
            "r2_global_all": global_all.r2, "r2_global_covered": overall.score_b,
            "r2_moe_covered": overall.score_a, "delta_r2": overall.difference,
            "delta_lo": overall.ci_low, "delta_hi": overall.ci_high,
            "alpha_global": model.global_.alpha_,
            "alpha_experts": model.alpha_per_expert_.tolist(),
            "n_experts": len(model.experts_),
            "per_bin_delta_r2": bins_table["delta_r2"].tolist(),
            "per_bin_r2_expert": bins_table["r2_expert"].tolist(),
            "per_bin_r2_global": bins_table["r2_global"].tolist()}


def piecewise_headline(metrics: dict[str, Any], noise_level: float) -> list[dict[str, Any]]:
    """Headline rows of MVP-1.0: the global and the 9-bin piecewise Ridge on covered stars.

    Parameters
    ----------
    metrics : dict
        :func:`piecewise_metrics` output.
    noise_level : float
        Test noise level (the references apply at the study's 0.2 only).

    Returns
    -------
    list of dict
        Two :func:`~moehelpers.records.store.headline_row` rows.
    """
    return [
        results.headline_row("global Ridge", noise_level, metrics["r2_global_covered"],
                             subset="covered stars",
                             reference=references.reference_at("mvp0.r2_covered", noise_level)),
        results.headline_row("piecewise Ridge, 9 bins", noise_level, metrics["r2_moe_covered"],
                             subset="covered stars",
                             reference=references.reference_at("mvp1.r2_moe", noise_level))]


# ------------------------------------------------------------------ MVP-1.1 (notebook 03)
def pct(v: float) -> str:
    """A share as a whole percentage (``0.625`` → ``"62%"``); ``"n/a"`` when not finite."""
    return f"{v:.0%}" if np.isfinite(v) else "n/a"


def rigorous_verdicts(runs: Sequence[per_bin.SeedResult], per_seed: pd.DataFrame,
                      ours: dict[str, float], alphas: Sequence[float]) -> list[dict[str, Any]]:
    """The MVP-1.1 verdicts: the first seed's gain and interval, the seeds, the fallback, the
    ablations and the α grid.

    Parameters
    ----------
    runs : sequence of SeedResult
        The seeds' runs, first seed first.
    per_seed : DataFrame
        :func:`~moehelpers.evaluation.per_bin.seed_table` of ``runs``.
    ours : dict
        :func:`~moehelpers.evaluation.per_bin.rigorous_summary` of ``runs``.
    alphas : sequence of float
        The α grid searched.

    Returns
    -------
    list of dict
        Verdicts ``H1.2``, ``H1.2_ci`` (CI low ≥ ε), ``H1.2_seeds`` (mean over seeds ≥ ε),
        ``seeds_positive``, ``fallback``, ``mh_dominates`` ([M/H]-only keeps a larger share
        than Teff-only) and ``alpha_interior``.
    """
    c = runs[0].comparisons["nine_bin"]
    share_gap = ours["share_mh_only"] - ours["share_teff_only"]
    alpha_interior = per_bin.interior_share(runs[0].alphas, alphas)
    return [
        results.verdict("H1.2", c.difference, EPSILON, ">=",
                        "ΔR² (9-bin − global, same covered stars, first seed) ≥ 0.03"),
        results.verdict("H1.2_ci", c.ci_low, EPSILON, ">=",
                        "lower end of the 95% paired bootstrap CI ≥ 0.03 (robust acceptance)"),
        results.verdict("H1.2_seeds", ours["seeds_mean"], EPSILON, ">=",
                        f"mean ΔR² over {len(runs)} seeds ≥ 0.03"),
        results.verdict("seeds_positive", float(per_seed["delta_r2"].min()), 0.0, ">",
                        "ΔR² > 0 at every seed"),
        results.verdict("fallback", ours["delta_fallback"], EPSILON, ">=",
                        "with the global fallback (100% coverage) ΔR² on all stars ≥ 0.03"),
        results.verdict("mh_dominates", share_gap, 0.0, ">",
                        "[M/H]-only keeps a larger share of the 9-bin gain than Teff-only"),
        results.verdict("alpha_interior", alpha_interior, 1.0, ">=",
                        "every α chosen at the first seed lies inside the grid (grid wide "
                        "enough)"),
    ]


def rigorous_note(runs: Sequence[per_bin.SeedResult], ours: dict[str, float],
                  ref: dict[str, Any]) -> str:
    """The closing note of MVP-1.1 in Markdown: our gain beside the original study's.

    Parameters
    ----------
    runs, ours
        As in :func:`rigorous_verdicts`.
    ref : dict
        :func:`moehelpers.records.references.reference_for` of the setting.

    Returns
    -------
    str
        The first seed's ΔR² and interval, the mean ± sd over seeds, the reference's, how much
        the misaligned comparison overstates the gain and the ablation shares.
    """
    main = runs[0]
    c = main.comparisons["nine_bin"]
    return (
        f"**Closing note.** Our 9-bin gain: ΔR² = {report.fmt(c.difference)} "
        f"[{report.fmt(c.ci_low)}, {report.fmt(c.ci_high)}] (seed {main.seed}, {c.n} covered "
        f"stars), {report.fmt(ours['seeds_mean'])} ± {report.fmt(ours['seeds_sd'])} over "
        f"{len(runs)} seeds; {references.LABEL} ({ref['setting']}): "
        f"{report.fmt(ref['delta_r2'])} [{report.fmt(ref['delta_lo'])}, "
        f"{report.fmt(ref['delta_hi'])}], {report.fmt(ref['seeds_mean'])} ± "
        f"{report.fmt(ref['seeds_sd'])}. Scoring the global model on all stars instead of the "
        f"same stars would have reported {report.fmt(main.delta_misaligned)} "
        f"({report.fmt(main.delta_misaligned - c.difference)} too much). [M/H]-only keeps "
        f"{pct(ours['share_mh_only'])} of the gain, Teff-only {pct(ours['share_teff_only'])} "
        f"({references.LABEL}: {pct(ref['share_mh_only'])} and {pct(ref['share_teff_only'])}).")


def rigorous_metrics(runs: Sequence[per_bin.SeedResult], per_seed: pd.DataFrame,
                     ours: dict[str, float], seeds: Sequence[int]) -> dict[str, Any]:
    """The metrics of the MVP-1.1 record.

    Parameters
    ----------
    runs, per_seed, ours
        As in :func:`rigorous_verdicts`.
    seeds : sequence of int
        The seeds (recorded as given).

    Returns
    -------
    dict
        ``ours``, plus the first seed's covered count and α values and the per-seed ΔR²
        (with interval) and fallback ΔR² lists.
    """
    return {**ours, "n_covered": runs[0].comparisons["nine_bin"].n, "seeds": seeds,
            "per_seed_delta_r2": per_seed["delta_r2"].tolist(),
            "per_seed_delta_lo": per_seed["delta_r2_lo"].tolist(),
            "per_seed_delta_hi": per_seed["delta_r2_hi"].tolist(),
            "per_seed_delta_fallback": per_seed["delta_fallback"].tolist(),
            "alphas_first_seed": runs[0].alphas}


def rigorous_headline(metrics: dict[str, Any], noise_level: float) -> list[dict[str, Any]]:
    """Headline row of MVP-1.1: the 9-bin piecewise Ridge of the first seed, covered stars.

    Parameters
    ----------
    metrics : dict
        :func:`rigorous_metrics` output (``r2_moe`` is read).
    noise_level : float
        Test noise level.

    Returns
    -------
    list of dict
        One :func:`~moehelpers.records.store.headline_row` row.
    """
    return [results.headline_row("piecewise Ridge, 9 bins (seed 1)", noise_level,
                                 metrics["r2_moe"], subset="covered stars",
                                 reference=references.reference_at("mvp1.r2_moe", noise_level))]
