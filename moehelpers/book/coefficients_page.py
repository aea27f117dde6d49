"""Notebook 09 (MVP-5.0, Ridge coefficients by wavelength): captions, the tables beside the
original study, verdicts, the reading, record metrics.

The numbers come from :mod:`moehelpers.evaluation.coefficients`; the original study's from
:mod:`moehelpers.records.references`, always labelled as references (its data differ).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from moehelpers.book import report
from moehelpers.records import references
from moehelpers.records import store as results

__all__ = ["CA8498", "DIFFERENCE_CAPTION", "ca8498_table", "coefficient_metrics",
           "coefficient_reading", "coefficient_verdicts", "concentration_difference",
           "experts_caption", "topk_reference_table"]

#: The window whose importance the original study reported.
CA8498 = "Ca II 8498"
#: Caption of the windows of the mean difference spectrum.
DIFFERENCE_CAPTION = (
    "Windows in the mean difference spectrum w(metal-rich) − w(metal-poor): mean |Δw| "
    "inside the window relative to the mean |Δw| over all pixels, and the mean signed Δw.")


def experts_caption(top_k: int) -> str:
    """Caption of the per-expert table of :func:`moehelpers.evaluation.coefficients.
    expert_table`."""
    return (
        f"Per expert (standardised coefficients): share of Σw² in the top {top_k} pixels, the "
        "same on raw coefficients, pixels needed for half the energy, and the mean |w| inside "
        "each group of physical windows relative to the expert's mean |w| over all pixels.")


def topk_reference_table(share: Mapping[str, pd.Series], top_k: int) -> pd.DataFrame:
    """Our top-k share range of the metal-poor and metal-rich experts beside the original
    study's (``"n/a"`` when ``top_k`` differs from the study's k).

    Parameters
    ----------
    share : mapping
        :func:`moehelpers.evaluation.coefficients.topk_by_group` (``min``, ``max`` per group).
    top_k : int

    Returns
    -------
    pandas.DataFrame
        ``quantity``, ``ours``, the reference label; one row per group.
    """
    ref = references.ORIGINAL
    same_k = top_k == ref["mvp5.top_k"]
    return pd.DataFrame([
        {"quantity": f"top-{top_k} share, {g} experts (min–max)",
         "ours": f"{report.fmt(share[g]['min'], 2)}–{report.fmt(share[g]['max'], 2)}",
         references.LABEL: "–".join(report.fmt(v, 2) for v in ref[key]) if same_k else "n/a"}
        for g, key in (("metal-poor", "mvp5.topk_share_metal_poor"),
                       ("metal-rich", "mvp5.topk_share_metal_rich"))])


def ca8498_table(grid: pd.DataFrame) -> pd.DataFrame:
    """Ca II 8498 importance of the global model and mean over the experts, beside the
    original study's ratio.

    Parameters
    ----------
    grid : pandas.DataFrame
        Wide table of :func:`moehelpers.evaluation.coefficients.window_grid` (rows: experts,
        then ``global``).

    Returns
    -------
    pandas.DataFrame
    """
    ca = grid[CA8498]
    return pd.DataFrame([
        {"quantity": "Ca II 8498: mean |w| / mean |w|, global model", "ours": ca["global"],
         references.LABEL: references.ORIGINAL["mvp5.ca8498_ratio"]},
        {"quantity": "Ca II 8498: the same, mean over the experts",
         "ours": float(ca.drop("global").mean()), references.LABEL: np.nan},
    ])


def concentration_difference(share: Mapping[str, pd.Series]) -> float:
    """Mean top-k share of the metal-poor experts minus that of the metal-rich ones."""
    return float(share["metal-poor"]["mean"] - share["metal-rich"]["mean"])


def coefficient_verdicts(share: Mapping[str, pd.Series], metal_ratio: float,
                         paschen_ratio: float, grid: pd.DataFrame, top_k: int
                         ) -> list[dict[str, Any]]:
    """The MVP-5.0 verdicts: the original study's concentration finding, the metal-line and
    Paschen ratios, and Ca II 8498 above the mean.

    Parameters
    ----------
    share : mapping
        :func:`moehelpers.evaluation.coefficients.topk_by_group`.
    metal_ratio, paschen_ratio : float
        :func:`moehelpers.evaluation.coefficients.group_ratios`.
    grid : pandas.DataFrame
        Wide window grid (row ``global`` read for Ca II 8498).
    top_k : int

    Returns
    -------
    list of dict
        ``poor_more_concentrated``, ``metal_lines_high_mh``, ``hydrogen_low_mh``,
        ``ca8498_above_mean``.
    """
    return [
        results.verdict("poor_more_concentrated", concentration_difference(share), 0.0, ">",
                        f"metal-poor experts carry a larger top-{top_k} share of Σw² than "
                        "metal-rich ones (difference of means; the original study's finding)"),
        results.verdict("metal_lines_high_mh", metal_ratio, 1.0, ">",
                        "metal-rich experts weight the metal-line windows (Ca II, Na I, Mg I) "
                        "more than metal-poor ones (ratio of relative importance)"),
        results.verdict("hydrogen_low_mh", paschen_ratio, 1.0, ">",
                        "metal-poor experts weight the Paschen windows more than metal-rich "
                        "ones (ratio of relative importance)"),
        results.verdict("ca8498_above_mean", float(grid[CA8498]["global"]), 1.0, ">",
                        "global model: mean |w| in the Ca II 8498 window above the mean |w|"),
    ]


def coefficient_reading(grid: pd.DataFrame, share: Mapping[str, pd.Series], top_k: int) -> str:
    """Markdown bullets: the most weighted windows over the experts, the top-k shares beside
    the original study's ranges, and how many windows carry more weight than the average pixel.

    Parameters
    ----------
    grid : pandas.DataFrame
        Wide window grid (rows: experts, then ``global``).
    share : mapping
        :func:`moehelpers.evaluation.coefficients.topk_by_group`.
    top_k : int

    Returns
    -------
    str
    """
    ref, fmt = references.ORIGINAL, report.fmt
    top_windows = grid.drop(index="global").mean().sort_values(ascending=False)
    poor, rich = ref["mvp5.topk_share_metal_poor"], ref["mvp5.topk_share_metal_rich"]
    return (
        "- Most weighted windows, averaged over the experts: "
        + ", ".join(f"{n} ({fmt(v, 2)}× mean)" for n, v in top_windows.head(3).items())
        + ".\n"
        f"- Metal-poor experts: top-{top_k} share {fmt(share['metal-poor']['mean'], 3)} on "
        f"average, metal-rich {fmt(share['metal-rich']['mean'], 3)} "
        f"(original: {fmt(poor[0], 2)}–{fmt(poor[1], 2)} vs "
        f"{fmt(rich[0], 2)}–{fmt(rich[1], 2)} at k = {ref['mvp5.top_k']}).\n"
        "- Design hint of the document (window attention / multi-resolution): "
        f"{int((top_windows > 1).sum())} of {top_windows.size} windows carry more weight per "
        "pixel than the average pixel (averaged over the experts).")


def coefficient_metrics(experts: pd.DataFrame, share: Mapping[str, pd.Series],
                        grid: pd.DataFrame, per_bin: pd.DataFrame, *, top_k: int,
                        metal_ratio: float, paschen_ratio: float, n_experts: int
                        ) -> dict[str, Any]:
    """The MVP-5.0 record metrics.

    Parameters
    ----------
    experts : pandas.DataFrame
        :func:`moehelpers.evaluation.coefficients.expert_table`.
    share : mapping
        :func:`moehelpers.evaluation.coefficients.topk_by_group`.
    grid : pandas.DataFrame
        Wide window grid (rows: experts, then ``global``).
    per_bin : pandas.DataFrame
        :func:`moehelpers.evaluation.per_bin.per_bin_table` (``r2_expert`` recorded).
    top_k : int
    metal_ratio, paschen_ratio : float
    n_experts : int

    Returns
    -------
    dict
        Top-k shares (standardised, raw, group means and their difference), the ratios, Ca II
        8498 (global, experts' mean), expert count and R², the global model's window ratios.
    """
    ca = grid[CA8498]
    return {"topk_share": experts[f"top-{top_k} share"].tolist(),
            "topk_share_raw": experts[f"top-{top_k} share (raw w)"].tolist(),
            "topk_share_poor_mean": share["metal-poor"]["mean"],
            "topk_share_rich_mean": share["metal-rich"]["mean"],
            "concentration_difference": concentration_difference(share),
            "metal_ratio": metal_ratio, "paschen_ratio": paschen_ratio,
            "ca8498_ratio_global": float(ca["global"]),
            "ca8498_ratio_experts_mean": float(ca.drop("global").mean()),
            "n_experts": n_experts,
            "r2_expert": per_bin["r2_expert"].tolist(),
            "window_ratio_global": grid.loc["global"].tolist()}
