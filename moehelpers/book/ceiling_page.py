"""The ceiling page (notebook 16, the Fisher ceiling on log g): its sentences and captions
built from numbers, its verdicts and the record's notes and extra parameters.

The ceiling is computed by :mod:`moehelpers.evaluation.ceiling` (and checked by
:mod:`moehelpers.evaluation.ceiling_mc`); the recorded models are set against it by
:mod:`moehelpers.book.ceiling_compare`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from moehelpers.data.flux_kind import DISTORTION_ORDER
from moehelpers.evaluation.ceiling import MEDIAN_WINDOW, Ceiling
from moehelpers.records import store as results

__all__ = ["BY_NOISE_CAPTION", "BY_NOISE_COLUMNS", "CEILING_NOTES", "ceiling_extra_params",
           "ceiling_verdicts", "data_sentence", "mc_caption"]

#: Columns of the per-noise-level table the page shows (in that order).
BY_NOISE_COLUMNS = ["noise_level", "snr_l2_median", "r2_max_set", "r2_max_set_lo",
                    "r2_max_set_hi", "r2_max_median", "r2_cond_set", "r2_free_scale_set",
                    "r2_free_continuum_set", "r2_bayes_set", "r2_bayes_median",
                    "sigma_crlb_median"]
BY_NOISE_CAPTION = "Fisher ceiling on log g per noise level (test split)."

#: Notes of the record: how to read the per-star table and the ceiling.
CEILING_NOTES = ("Per-star bounds at noise 1 (multiply variances by L²). Read the ceiling with "
                 "moehelpers.book.ceiling_compare.ceiling_r2(noise_level, run) or "
                 "ceiling_table(run).")


def data_sentence(n_stars: int, n_pixels: int, known: Ceiling, ceil: Ceiling) -> str:
    """The test stars, pixels, flux check and uninformative pixels in one sentence.

    Parameters
    ----------
    n_stars, n_pixels : int
        Test stars and their pixels.
    known : Ceiling
        The known-continuum ceiling (it carries the stored-vs-recomputed flux residual).
    ceil : Ceiling
        The page's ceiling (its pixels without information).

    Returns
    -------
    str
        Markdown.
    """
    return (f"{n_stars} test stars, {n_pixels} pixels; max |stored − recomputed flux| = "
            f"{known.flux_residual:.2e}; pixels without information: "
            f"{int(ceil.n_bad_pixels.sum())}.")


def mc_caption(mc_draws: int, mc_noise_level: float) -> str:
    """Caption of the Monte-Carlo table, with the sampling sd of one variance ratio,
    ``√(2 / (draws − 1))``."""
    return (f"ML variance of log g over {mc_draws} noisy copies at noise {mc_noise_level:g} "
            f"vs the bounds. The sampling sd of one ratio is about "
            f"{np.sqrt(2 / (mc_draws - 1)):.2f}.")


def ceiling_verdicts(flux_residual: float, mc_ratio: float, n_mc: int,
                     headline: Mapping[str, Mapping[str, float]], frac: pd.DataFrame, *,
                     headline_level: float, mc_tolerance: float, mc_noise_level: float,
                     delta_threshold: float) -> list[dict[str, Any]]:
    """The page's four verdicts: the flux check, ML attaining the bound, headroom and no
    deployable model above the shrinkage ceiling.

    Parameters
    ----------
    flux_residual : float
        Max |stored − recomputed noiseless flux|.
    mc_ratio : float
        Mean over the Monte-Carlo stars of ML variance / marginal CRLB.
    n_mc : int
        Stars of the Monte-Carlo check.
    headline : mapping
        :func:`moehelpers.book.ceiling_compare.headline_levels` (level ``"{lv:g}"`` →
        ``gap``, …); a level it lacks gives a NaN headroom.
    frac : DataFrame
        :func:`moehelpers.book.ceiling_compare.fraction_of_ceiling` rows (may be empty).
    headline_level : float
        The level the headroom is judged at.
    mc_tolerance, mc_noise_level, delta_threshold : float
        Accepted ``|ratio − 1|``, noise level of the check and ε of the document.

    Returns
    -------
    list of dict
        ``flux_matches_grid``, ``ml_attains_bound``, ``headroom``,
        ``models_below_shrinkage_ceiling``.
    """
    lv0 = headline_level
    head0 = headline.get(f"{lv0:g}", {})
    deployable = frac[~frac["uses_true_labels"]] if len(frac) else frac
    excess = (deployable["r2"] - deployable["r2_bayes_set"]).dropna() if len(frac) else []
    return [
        results.verdict("flux_matches_grid", flux_residual, 1e-4, "<=",
                        "the stored noiseless flux is the interpolant differentiated "
                        "(max abs difference ≤ 1e-4)"),
        results.verdict("ml_attains_bound", abs(mc_ratio - 1.0), mc_tolerance, "<=",
                        f"ML variance / marginal CRLB within ±{mc_tolerance:g} of 1 "
                        f"(mean over {n_mc} stars at noise {mc_noise_level:g})"),
        results.verdict("headroom", float(head0.get("gap", np.nan)), delta_threshold, ">=",
                        f"ceiling − best deployable R² ≥ ε = {delta_threshold:g} at noise "
                        f"{lv0:g}"),
        results.verdict("models_below_shrinkage_ceiling",
                        float(np.max(excess)) if len(excess) else np.nan, 0.0, "<=",
                        "no deployable model exceeds the approximate shrinkage ceiling"),
    ]


def ceiling_extra_params(levels: list[float], compare_run: str, flux_kind: str
                         ) -> dict[str, Any]:
    """The record's extra parameters: levels, compared run and the ceiling's settings.

    Returns
    -------
    dict
        ``noise_levels``, ``compare_run``, ``median_window``, ``continuum``
        (``"marginalised"`` for ``flux_kind="distorted"``, else ``"known"``) and
        ``continuum_order``.
    """
    return {"noise_levels": levels, "compare_run": compare_run, "median_window": MEDIAN_WINDOW,
            "continuum": "marginalised" if flux_kind == "distorted" else "known",
            "continuum_order": DISTORTION_ORDER}
