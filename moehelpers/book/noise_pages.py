"""The noise-level pages: notebooks 04 (MVP-2.0, experts per noise level), 14 (MVP-7.3,
continuous noise conditioning), 17 (the combined Teff, [M/H], noise gate) and 18 (the noise
level estimated from the spectrum).

Their verdicts, record metrics, headline rows, the original study's reference columns and
the captions built from numbers. The shared pieces: :func:`mvp2_reference_columns` (04, 14)
and :func:`level_headline` (14, 17).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from moehelpers.book import report
from moehelpers.data.snr import NoiseLevelEstimator
from moehelpers.models.modulated import ModulatedRidge
from moehelpers.models.noise_conditioning import LevelScores, NoiseConditionedRidge, model_key
from moehelpers.models.noise_experts import CrossNoise, MatchedComparison, NoiseExperts
from moehelpers.models.piecewise import PiecewiseRidge
from moehelpers.records import references
from moehelpers.records import store as results

__all__ = ["CONDITIONING_HEADLINE", "GATE_HEADLINE", "best_estimator",
           "conditioning_caption", "conditioning_metrics", "conditioning_summary",
           "conditioning_verdicts", "estimation_metrics", "estimation_verdicts",
           "experts_by_level", "experts_caption", "experts_headline", "experts_metrics",
           "experts_verdicts", "gate_given", "gate_metrics", "gate_verdicts",
           "generalisation_metrics", "generalisation_table", "level_headline",
           "mvp2_reference_columns", "with_snr_reference"]

Verdicts = list[dict[str, Any]]

# -- shared ---------------------------------------------------------------------------------


def mvp2_reference_columns(levels: Sequence[float], prefix: str = "") -> dict[str, list[float]]:
    """The original study's MVP-2.0 expert and mixed R² at ``levels`` (NaN where it has none).

    Parameters
    ----------
    levels : sequence of float
        Noise levels, in row order.
    prefix : str
        Prefix of both column names (``"r2_"`` on the MVP-2.0 page).

    Returns
    -------
    dict of str → list of float
        ``"{prefix}expert {LABEL}"`` and ``"{prefix}mixed {LABEL}"`` (in that order).
    """
    return {f"{prefix}{m} {references.LABEL}": [references.mvp2_by_noise(m).get(lv, np.nan)
                                                for lv in levels]
            for m in ("expert", "mixed")}


def level_headline(metrics: Mapping[str, Any], models: Mapping[str, str],
                   given: Callable[[str], str] | None = None) -> list[dict[str, Any]]:
    """Headline rows (R² per noise level) of the models a record carries.

    Parameters
    ----------
    metrics : mapping
        Record metrics: ``noise_levels`` and, per model, its R² list under a key of
        ``models``.
    models : mapping of str → str
        Metric key → headline model name; keys absent from ``metrics`` (models not fitted)
        are skipped.
    given : callable or None
        Headline model name → what the model is given (``labels_given``); ``None``: nothing.

    Returns
    -------
    list of dict
        :func:`moehelpers.records.store.headline_per_level` rows.
    """
    series = {label: metrics[key] for key, label in models.items() if key in metrics}
    labels = None if given is None else {label: given(label) for label in series}
    return results.headline_per_level(metrics["noise_levels"], series, labels)


# -- notebook 04: experts per noise level (MVP-2.0) -------------------------------------------


def experts_by_level(matched: MatchedComparison, model: NoiseExperts, levels: Sequence[float],
                     snr_median: Sequence[float]) -> pd.DataFrame:
    """The expert-vs-mixed table per level with SNR, expert α and the original's numbers.

    Parameters
    ----------
    matched : MatchedComparison
        :func:`~moehelpers.models.noise_experts.compare_matched` output.
    model : NoiseExperts
        The fitted experts (their α).
    levels, snr_median : sequence of float
        The expert levels and the median L2 SNR of the test stars at each.

    Returns
    -------
    DataFrame
        ``matched.table`` with ``snr_l2_median`` and ``alpha_expert`` inserted after the level,
        then the original study's ``r2_expert``, ``r2_mixed`` and ``delta_r2`` columns.
    """
    lv = matched.table.noise_level
    by_level = matched.table.copy()
    by_level.insert(1, "snr_l2_median", [snr_median[list(levels).index(v)] for v in lv])
    by_level.insert(2, "alpha_expert", [model.expert(v).alpha_ for v in lv])
    for col, values in mvp2_reference_columns(lv, prefix="r2_").items():
        by_level[col] = values
    by_level[f"delta_r2 {references.LABEL}"] = (by_level[f"r2_expert {references.LABEL}"]
                                                - by_level[f"r2_mixed {references.LABEL}"])
    return by_level


def experts_caption(matched: MatchedComparison, mixed_alpha: float) -> str:
    """Caption of the expert-vs-mixed table: stars, mixed α, the mean ΔR² and the original's."""
    ref_mean_delta = float(np.mean(np.subtract(references.ORIGINAL["mvp2.r2_expert"],
                                               references.ORIGINAL["mvp2.r2_mixed"])))
    return (f"Noise-matched expert vs mixed model on {matched.table['n'].iloc[0]} test stars; "
            f"mixed α = {report.fmt(mixed_alpha)}. Mean ΔR² over levels: "
            f"{report.fmt(matched.mean_delta)} [{report.fmt(matched.mean_ci_low)}, "
            f"{report.fmt(matched.mean_ci_high)}]; {references.LABEL}: "
            f"{report.fmt(ref_mean_delta)}.")


def generalisation_metrics(cross: CrossNoise, top: float) -> dict[str, float]:
    """How the noise-0 and the highest-level experts generalise across levels.

    Parameters
    ----------
    cross : CrossNoise
        Test R² of every expert at every test level.
    top : float
        The highest expert level (also tested).

    Returns
    -------
    dict
        ``noise0_expert_at_max``, ``max_expert_at_max``, ``max_expert_at_noise0`` (test R²
        of the named expert at the named test level) and ``gap_at_max`` (the second minus the
        first).
    """
    gen = {"noise0_expert_at_max": cross.r2_of(0.0, top),
           "max_expert_at_max": cross.r2_of(top, top),
           "max_expert_at_noise0": cross.r2_of(top, 0.0)}
    gen["gap_at_max"] = gen["max_expert_at_max"] - gen["noise0_expert_at_max"]
    return gen


def generalisation_table(gen: Mapping[str, float], top: float) -> pd.DataFrame:
    """:func:`generalisation_metrics` beside the original study's numbers.

    Parameters
    ----------
    gen : mapping
        :func:`generalisation_metrics` output.
    top : float
        The highest expert level.

    Returns
    -------
    DataFrame
        Columns ``quantity``, ``this book`` and the reference label, one row per R².
    """
    ref = references.ORIGINAL
    return pd.DataFrame([
        {"quantity": f"R² of the noise-0 expert at noise {top:g}",
         "this book": gen["noise0_expert_at_max"],
         references.LABEL: ref["mvp2.noise0_expert_at_noise1"]},
        {"quantity": f"R² of the noise-{top:g} expert at noise {top:g}",
         "this book": gen["max_expert_at_max"],
         references.LABEL: references.mvp2_by_noise("expert").get(top, np.nan)},
        {"quantity": f"R² of the noise-{top:g} expert at noise 0",
         "this book": gen["max_expert_at_noise0"],
         references.LABEL: ref["mvp2.noise1_expert_at_noise0"]},
    ])


def experts_verdicts(matched: MatchedComparison, gen: Mapping[str, float], top: float,
                     delta_threshold: float) -> Verdicts:
    """The MVP-2.0 verdicts: H1.3 (mean, its CI, every level) and the noise-0 expert's failure.

    Parameters
    ----------
    matched : MatchedComparison
        Expert vs mixed per level and the mean with its paired CI.
    gen : mapping
        :func:`generalisation_metrics` output.
    top : float
        The highest expert level.
    delta_threshold : float
        ε of the document for a meaningful ΔR².

    Returns
    -------
    list of dict
        Verdicts of :func:`moehelpers.records.store.verdict`.
    """
    beats = (matched.table["delta_lo"] > 0).to_numpy()
    return [
        results.verdict("H1.3", matched.mean_delta, delta_threshold, ">=",
                        "mean over levels of R²(matched expert) − R²(mixed) ≥ ε (document "
                        "§0.1.1, §4.2)"),
        results.verdict("H1.3_ci", matched.mean_ci_low, delta_threshold, ">=",
                        "lower end of the 95% paired bootstrap CI of that mean ≥ ε"),
        results.verdict("H1.3_every_level", float(beats.mean()) if beats.size else float("nan"),
                        1.0, ">=", "the matched expert beats the mixed model at every level "
                        "(paired CI above 0)"),
        results.verdict("noise0_cannot_generalise", gen["gap_at_max"], delta_threshold, ">=",
                        f"R²(noise-{top:g} expert) − R²(noise-0 expert), both tested at "
                        f"noise {top:g}, ≥ ε"),
        results.verdict("noise0_fails_completely", gen["noise0_expert_at_max"], 0.0, "<",
                        f"R² of the noise-0 expert at noise {top:g} < 0 (document §5.1)"),
    ]


def experts_metrics(levels: list[float], snr_median: list[float], cross: CrossNoise,
                    model: NoiseExperts, matched: MatchedComparison,
                    gen: Mapping[str, float]) -> dict[str, Any]:
    """The metrics of the MVP-2.0 record.

    Returns
    -------
    dict
        Levels, median SNR, the cross-noise R² matrix, mixed and matched R², the α, the
        matched ΔR² per level with CIs, their mean with its CI, and ``gen``.
    """
    tab = matched.table
    return {"expert_noise_levels": levels, "snr_l2_median": snr_median,
            "r2_cross": cross.r2, "r2_mixed": cross.r2_mixed, "r2_matched": cross.r2_matched,
            "expert_alpha": model.expert_alphas_, "mixed_alpha": model.mixed_.alpha_,
            "delta_levels": tab["noise_level"].tolist(), "delta_r2": tab["delta_r2"].tolist(),
            "delta_lo": tab["delta_lo"].tolist(), "delta_hi": tab["delta_hi"].tolist(),
            "mean_delta_r2": matched.mean_delta, "mean_delta_lo": matched.mean_ci_low,
            "mean_delta_hi": matched.mean_ci_high, **gen}


def experts_headline(metrics: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Headline rows of the MVP-2.0 record: matched expert and mixed R² per level, beside the
    original study's."""
    ref = {"expert": references.mvp2_by_noise("expert"),
           "mixed": references.mvp2_by_noise("mixed")}
    return [results.headline_row(name, lv, r, reference=ref[key].get(float(lv), np.nan))
            for name, col, key in (("expert per noise level", "r2_matched", "expert"),
                                   ("mixed-noise Ridge", "r2_mixed", "mixed"))
            for lv, r in zip(metrics["expert_noise_levels"], metrics[col], strict=True)]


# -- notebook 14: continuous noise conditioning (MVP-7.3) -------------------------------------

#: Record metric → headline model of MVP-7.3 (orders not fitted are skipped).
CONDITIONING_HEADLINE = {"r2_expert": "expert per noise level", "r2_mixed": "mixed-noise Ridge",
                         "r2_cond1_hat": "noise-conditioned [x, n̂·x]",
                         "r2_cond2_hat": "noise-conditioned [x, n̂·x, n̂²·x]"}


def conditioning_caption(tab: pd.DataFrame, model: NoiseConditionedRidge,
                         anomaly_level: float) -> str:
    """Caption of the R²-per-level table: stars, every α and the original's MVP-2.0 anomaly."""
    alpha_info = (f"α: experts {', '.join(report.fmt(a) for a in model.expert_alphas_)}; mixed "
                  f"{report.fmt(model.mixed_.alpha_)}; " + "; ".join(
                      f"order {o} {report.fmt(c.alpha_)}" for o, c in model.conditional_.items()))
    ref_exp, ref_mix = references.mvp2_by_noise("expert"), references.mvp2_by_noise("mixed")
    ref_anomaly = ref_exp.get(anomaly_level, np.nan) - ref_mix.get(anomaly_level, np.nan)
    never = ("The original study never ran MVP-7.3 (no reference exists); "
             if "MVP-7.3" in references.NEVER_RUN else "")
    return (f"Test R² on {int(tab['n'].iloc[0])} stars per level. {alpha_info}. {never}its "
            f"MVP-2.0 expert and mixed R² are shown for reference ({references.LABEL}: expert − "
            f"mixed at noise {anomaly_level:g} = {report.fmt(ref_anomaly)}, the anomaly).")


def conditioning_verdicts(tab: pd.DataFrame, means: pd.DataFrame, best: int,
                          anomaly_level: float, close_threshold: float,
                          estimator_method: str) -> Verdicts:
    """The MVP-7.3 verdicts: H-C, the anomaly, the stop-loss, and (with n̂) the deployable ones.

    Parameters
    ----------
    tab : DataFrame
        :attr:`~moehelpers.models.noise_conditioning.LevelScores.table`.
    means : DataFrame
        Its means with display names (``dR2_vs_expert``, ``dR2_vs_mixed…``).
    best : int
        The conditional order with the higher pooled validation R².
    anomaly_level : float
        The level of the MVP-2.0 anomaly (NaN verdicts when it was not tested).
    close_threshold : float
        How far the conditional mean R² may fall behind the experts'.
    estimator_method : str
        How n̂ was estimated (named in the deployable verdicts).

    Returns
    -------
    list of dict
        Verdicts of :func:`moehelpers.records.store.verdict`.
    """
    mrow = means.set_index("model")
    true_name, hat_name = f"cond{best} (true n)", f"cond{best} (n̂)"
    at = tab[np.isclose(tab["noise_level"], anomaly_level)].set_index("model")
    has_anomaly = not at.empty
    verdicts = [
        results.verdict("H-C", mrow.loc[true_name, "dR2_vs_expert"], -close_threshold, ">=",
                        f"mean over levels of R²(order {best}, true n) − R²(expert) ≥ "
                        f"−{close_threshold:g} (document MVP-7.3)"),
        results.verdict("H-C_anomaly_vs_mixed",
                        at.loc[true_name, "d_mixed"] if has_anomaly else np.nan, 0.0, ">=",
                        f"at noise {anomaly_level:g}: R²(order {best}, true n) − R²(mixed) ≥ 0 "
                        "(does not fall behind: the anomaly removed)"),
        results.verdict("H-C_anomaly_vs_expert",
                        at.loc[true_name, "d_expert"] if has_anomaly else np.nan, 0.0, ">=",
                        f"at noise {anomaly_level:g}: R²(order {best}, true n) − R²(expert) ≥ 0"),
        results.verdict("stop_loss", mrow.loc[true_name, "dR2_vs_mixed"], 0.0, "<",
                        "stop-loss: mean R²(conditional) − R²(mixed) < 0 → noise needs discrete "
                        "treatment (passed = the stop-loss fires)"),
    ]
    if hat_name in mrow.index:
        verdicts += [
            results.verdict("H-C_deployable", mrow.loc[hat_name, "dR2_vs_expert"],
                            -close_threshold, ">=",
                            f"as H-C with n̂ estimated from the flux ({estimator_method})"),
            results.verdict("deployable_beats_mixed", mrow.loc[hat_name, "dR2_vs_mixed_lo"], 0.0,
                            ">", "with n̂: lower end of the paired CI of mean R²(conditional) − "
                            "R²(mixed) > 0"),
        ]
    return verdicts


def conditioning_summary(means: pd.DataFrame, val_best: Mapping[int, float], best: int) -> str:
    """One Markdown sentence: the order chosen on validation and the mean R² of each model."""
    mrow = means.set_index("model")
    labels = {"expert": "expert", "mixed": "mixed", f"cond{best} (true n)": "conditional (true n)",
              f"cond{best} (n̂)": "conditional (n̂)"}
    return (f"Order chosen on validation: {best} (pooled validation R² "
            + ", ".join(f"order {o}: {report.fmt(v)}" for o, v in val_best.items())
            + "). Mean R² over levels: " + ", ".join(
                f"{t} {report.fmt(mrow.loc[n, 'mean_r2'])}" for n, t in labels.items()
                if n in mrow.index)
            + ".")


def conditioning_metrics(model: NoiseConditionedRidge, levels: list[float], best: int,
                         val_best: Mapping[int, float], scores: LevelScores) -> dict[str, Any]:
    """The metrics of the MVP-7.3 record: levels, chosen order, every α, the estimator's
    validation R² and the per-model scores (:meth:`LevelScores.model_metrics`)."""
    return {"noise_levels": levels, "best_order": best,
            "val_r2_by_order": {str(o): v for o, v in val_best.items()},
            "expert_alpha": model.expert_alphas_, "mixed_alpha": model.mixed_.alpha_,
            "conditional_alpha": {str(o): c.alpha_ for o, c in model.conditional_.items()},
            "estimator_val_r2": model.estimator_.val_r2_ if model.estimator_ else np.nan,
            **scores.model_metrics()}


# -- notebook 17: the combined (Teff, [M/H], noise) gate ------------------------------------

#: Record metric → headline model of BEYOND-GATE (models not fitted are skipped).
GATE_HEADLINE = {"r2_MoE1": "MoE-1 (Teff, [M/H])", "r2_MoE2_hat": "MoE-2 (n̂)",
                 "r2_combined_hat": "combined gate (n̂)",
                 "r2_conditional_mn_hat": "conditional [x, m·x, n̂·x]"}


def gate_given(label: str) -> str:
    """What a BEYOND-GATE headline model is given: MoE-2 routes by n̂ alone; the others are
    routed with the true Teff / [M/H]."""
    return "none" if label.startswith("MoE-2") else "Teff/[M/H]"


def gate_verdicts(tab: pd.DataFrame, means: pd.DataFrame, delta_threshold: float,
                  with_conditional: bool) -> Verdicts:
    """The combined-gate verdicts: does it beat the better single gate (every level, mean), and
    does the conditional (m, n) model match it without bins?

    Parameters
    ----------
    tab, means : DataFrame
        :func:`~moehelpers.evaluation.level_scores.compare_to_best_single` output.
    delta_threshold : float
        ε of the document.
    with_conditional : bool
        Whether the conditional (m, n) model was fitted.

    Returns
    -------
    list of dict
        Verdicts of :func:`moehelpers.records.store.verdict`.
    """
    comb = tab[tab["model"] == "combined (n̂)"]
    verdicts = [
        results.verdict("combined_every_level", float(comb["d_best_single"].min()),
                        delta_threshold, ">=", "combined gate (n̂) − better of MoE-1 / MoE-2 "
                        f"(n̂) ≥ ε = {delta_threshold:g} at every level (minimum over levels)"),
        results.verdict("combined_mean", float(means.set_index("model").loc["combined (n̂)",
                                                                             "d_best_single"]),
                        delta_threshold, ">=", "mean over levels of the same difference ≥ ε"),
    ]
    if with_conditional:
        cm = tab[tab["model"] == "conditional m,n (n̂)"]
        verdicts.append(results.verdict(
            "conditional_vs_combined",
            float((cm["r2"].to_numpy() - comb["r2"].to_numpy()).mean()), 0.0, ">=",
            "mean over levels of R²(conditional m,n; n̂) − R²(combined; n̂) ≥ 0 (no bins "
            "needed)"))
    return verdicts


def gate_metrics(levels: list[float], estimator: NoiseLevelEstimator, combined: PiecewiseRidge,
                 cond: ModulatedRidge | None, tab: pd.DataFrame,
                 names: Sequence[str]) -> dict[str, Any]:
    """The metrics of the BEYOND-GATE record: levels, the estimator's validation R², the
    combined gate's expert count, the conditional α (NaN without it) and every model's R² per
    level (``r2_<model_key>``)."""
    return {"noise_levels": levels,
            "estimator_val_r2": estimator.val_r2_,
            "n_experts_combined": len(combined.experts_),
            "conditional_alpha": cond.alpha_ if cond is not None else float("nan"),
            **{f"r2_{model_key(n)}": tab.loc[tab["model"] == n, "r2"].tolist() for n in names}}


# -- notebook 18: the noise level estimated from the spectrum -----------------------------


def with_snr_reference(snr_tab: pd.DataFrame) -> pd.DataFrame:
    """``snr_tab`` with the original study's mean per-pixel SNR at each level (NaN if none)."""
    ref = dict(zip(references.ORIGINAL["snr.noise_levels"],
                   references.ORIGINAL["snr.pixel_mean"], strict=True))
    out = snr_tab.copy()
    out[f"snr_pixel_mean {references.LABEL}"] = [ref.get(v, np.nan)
                                                 for v in out["noise_level"]]
    return out


def best_estimator(overall: Mapping[str, Mapping[str, float]]) -> str:
    """The estimator with the higher validation R² (the first on ties)."""
    return max(overall, key=lambda k: overall[k]["val_r2"])


def estimation_verdicts(snr_tab: pd.DataFrame, overall: Mapping[str, Mapping[str, float]],
                        snr_ratio_tolerance: float, nearest_accuracy_min: float) -> Verdicts:
    """The BEYOND-SNR verdicts: DER_SNR tracks the true SNR, n̂ routes to the right level, the
    learned estimator beats DER_SNR.

    Parameters
    ----------
    snr_tab : DataFrame
        :func:`~moehelpers.evaluation.noise_estimation.der_snr_vs_true` table.
    overall : mapping
        Per estimator ``r2``, ``val_r2``, ``nearest_accuracy``
        (:func:`~moehelpers.evaluation.noise_estimation.estimator_accuracy`).
    snr_ratio_tolerance : float
        Largest allowed |median(DER_SNR / true SNR) − 1| at any level.
    nearest_accuracy_min : float
        Smallest mean share of spectra nearest to their true training level.

    Returns
    -------
    list of dict
        Verdicts of :func:`moehelpers.records.store.verdict`.
    """
    worst_ratio = float(np.max(np.abs(snr_tab["median_ratio"] - 1))) if len(snr_tab) else np.nan
    best = best_estimator(overall)
    return [
        results.verdict("der_snr_tracks_true_snr", worst_ratio, snr_ratio_tolerance, "<=",
                        "worst level: |median(DER_SNR / true per-pixel SNR) − 1| ≤ "
                        f"{snr_ratio_tolerance:g}"),
        results.verdict("level_routing", overall[best]["nearest_accuracy"],
                        nearest_accuracy_min, ">=", f"{best} estimator (best on validation): "
                        "mean share of test spectra nearest to their true training level ≥ "
                        f"{nearest_accuracy_min:g}"),
        results.verdict("learned_beats_der", overall["learned"]["r2"] - overall["der_snr"]["r2"],
                        0.0, ">", "R²(n̂ learned) − R²(n̂ DER_SNR) over all test spectra > 0"),
    ]


def estimation_metrics(test_levels: list[float], estimators: Mapping[str, NoiseLevelEstimator],
                       acc: pd.DataFrame, overall: Mapping[str, Mapping[str, float]],
                       snr_tab: pd.DataFrame) -> dict[str, Any]:
    """The metrics of the BEYOND-SNR record: levels, which estimator is best, the learned α,
    every overall score, bias and scatter per level, and DER_SNR's median ratio per level."""
    best = best_estimator(overall)
    return {"test_levels": test_levels, "best_is_learned": int(best == "learned"),
            "learned_alpha": estimators["learned"].alpha_,
            **{f"{name}_{k}": v for name, d in overall.items() for k, v in d.items()},
            **{f"{name}_bias": acc.loc[acc["estimator"] == name, "bias"].tolist()
               for name in estimators},
            **{f"{name}_sd": acc.loc[acc["estimator"] == name, "sd"].tolist()
               for name in estimators},
            "der_snr_median_ratio": snr_tab["median_ratio"].tolist()}
