"""The MVP-7.1 page (notebook 12, gate-noise sensitivity): hard routing vs conditioning.

The original study's curves beside this run's, the captions built from numbers, the
verdicts of the document's decision rule at ``sigma_decision``, the decision in words, the
record metrics and headline rows. The curve itself is computed by
:mod:`moehelpers.evaluation.gate_noise`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from moehelpers.book import report
from moehelpers.evaluation.gate_noise import GateNoiseCurve, GateNoiseModels, curve_metrics
from moehelpers.metrics import PairedBootstrapResult
from moehelpers.records import references
from moehelpers.records import store as results

__all__ = ["DIFFERENCES_CAPTION", "MH_ONLY", "PRIMARY", "curve_caption", "decision_markdown",
           "differences_table", "gate_noise_headline", "gate_noise_metrics",
           "gate_noise_verdicts", "predicted_gate_caption", "record_keys",
           "reference_curves", "retention_lines", "with_reference_r2"]

#: The hard MoE every Phase 3–7 page measures against (its [M/H] coordinate is noised).
PRIMARY = "hard MoE, 9 bins"
#: The [M/H]-only 3-bin MoE (MVP-1.1 ablation), shown beside it.
MH_ONLY = "hard MoE, 3 [M/H] bins"

#: Caption of the paired-difference table.
DIFFERENCES_CAPTION = ("Paired difference of repeat-mean R² (conditional − hard) on the same "
                       "stars and the same noise draws, 95% bootstrap interval over stars.")


def record_keys(conditional_name: str) -> dict[str, str]:
    """Model name → the short key of its record metrics (``r2_<key>``, ``retention_<key>``…).

    Parameters
    ----------
    conditional_name : str
        Name of the conditional model (:attr:`GateNoiseModels.conditional_name`).

    Returns
    -------
    dict of str → str
        9-bin MoE ``"hard9"``, [M/H]-only MoE ``"hard3"``, conditional ``"cond"``.
    """
    return {PRIMARY: "hard9", MH_ONLY: "hard3", conditional_name: "cond"}


def reference_curves() -> dict[str, dict[float, float]]:
    """The original study's R² per gate σ, as the figure's legend names them.

    Returns
    -------
    dict of str → dict of float → float
        ``"hard MoE, {LABEL}"`` and ``"conditional, {LABEL}"`` (in that order), σ → R².
    """
    ref, label = references.ORIGINAL, references.LABEL
    return {f"hard MoE, {label}": dict(zip(ref["mvp7.sigma"], ref["mvp7.hard_r2"], strict=True)),
            f"conditional, {label}": dict(zip(ref["mvp7.sigma"], ref["mvp7.conditional_r2"],
                                              strict=True))}


def with_reference_r2(summary: pd.DataFrame, conditional_name: str) -> pd.DataFrame:
    """The curve summary with the original study's R² as its last column.

    The original study's hard-MoE R² goes beside the 9-bin MoE, its conditional R² beside
    the conditional model; other models and σ it has no number for get NaN.

    Parameters
    ----------
    summary : DataFrame
        :attr:`GateNoiseCurve.summary` (columns ``model``, ``sigma``, …).
    conditional_name : str
        Name of the conditional model.

    Returns
    -------
    DataFrame
        ``summary`` plus ``"r2 {LABEL}"``.
    """
    ref_hard, ref_cond = reference_curves().values()
    return summary.assign(**{
        f"r2 {references.LABEL}": [
            (ref_cond if mdl == conditional_name else ref_hard if mdl == PRIMARY else {}
             ).get(s, np.nan)
            for mdl, s in zip(summary["model"], summary["sigma"], strict=True)]})


def curve_caption(curve: GateNoiseCurve, noise_level: float, repeats: int) -> str:
    """Caption of the curve table: stars, flux noise, repeats and their seeds, the global R².

    Parameters
    ----------
    curve : GateNoiseCurve
        The scored curve.
    noise_level : float
        Flux noise level of the test spectra.
    repeats : int
        Noise draws per σ.

    Returns
    -------
    str
    """
    return (
        f"All {curve.n} test stars (flux noise {noise_level:g}); gate noise σ in dex of [M/H], "
        f"{repeats} repeats per σ (seeds {curve.seeds[0]}–{curve.seeds[-1]}). r2: mean over "
        "repeats with its 95% bootstrap interval over stars; r2_sd/min/max: spread across repeats; "
        f"retention of each model's own noiseless gain over the global Ridge (R² "
        f"{report.fmt(curve.r2_global)}). The original study's R² (its hard MoE and conditional "
        "Ridge; its data differ) on the right.")


def differences_table(curve: GateNoiseCurve) -> pd.DataFrame:
    """The paired differences of the curve, one ``"a − b"`` pair column.

    Parameters
    ----------
    curve : GateNoiseCurve

    Returns
    -------
    DataFrame
        ``pair, sigma, delta_r2, delta_r2_lo, delta_r2_hi``.
    """
    diffs = curve.differences.assign(pair=lambda d: d["model_a"] + " − " + d["model_b"])
    return diffs[["pair", "sigma", "delta_r2", "delta_r2_lo", "delta_r2_hi"]]


def predicted_gate_caption(mh_r2: float, sigma_real: float) -> str:
    """Caption of the table of both models routed by the [M/H] predicted from the spectrum.

    Parameters
    ----------
    mh_r2 : float
        Test R² of the [M/H] predictor.
    sigma_real : float
        Its RMS error, dex.

    Returns
    -------
    str
    """
    return (f"Routed by the [M/H] predicted from the noisy spectrum (test R² of the predictor "
            f"{report.fmt(mh_r2)}, RMS error {report.fmt(sigma_real)} dex): "
            "R² and retention of each model's own noiseless gain, 95% paired bootstrap "
            "interval.")


def retention_lines(keep_low: float, keep_high: float, collapse_below: float
                    ) -> dict[str, float]:
    """The horizontal lines of the retention figure (the decision rule's thresholds).

    Returns
    -------
    dict of str → float
        ``"keep ≥ 60%"``, ``"keep ≥ 80%"``, ``"collapsed below"`` → threshold.
    """
    return {"keep ≥ 60%": keep_low, "keep ≥ 80%": keep_high, "collapsed below": collapse_below}


def _at_decision(curve: GateNoiseCurve, conditional_name: str, sigma: float
                 ) -> tuple[pd.Series, pd.Series, pd.Series, pd.Series]:
    """Conditional, 9-bin and [M/H]-only rows and their difference (conditional − 9-bin)."""
    return (curve.at(conditional_name, sigma), curve.at(PRIMARY, sigma), curve.at(MH_ONLY, sigma),
            curve.difference(conditional_name, PRIMARY, sigma))


def gate_noise_verdicts(curve: GateNoiseCurve, conditional_name: str,
                        real_diff: PairedBootstrapResult, sigma_real: float, *,
                        sigma_decision: float, keep_low: float, keep_high: float,
                        collapse_below: float) -> list[dict[str, Any]]:
    """The MVP-7.1 verdicts (H-A1 and the stop-loss) at ``sigma_decision``.

    Parameters
    ----------
    curve : GateNoiseCurve
        The scored curve (holds ``sigma_decision``).
    conditional_name : str
        Name of the conditional model.
    real_diff : PairedBootstrapResult
        R² (conditional − 9-bin MoE), both routed by the predicted [M/H].
    sigma_real : float
        RMS error of the predicted [M/H], dex.
    sigma_decision, keep_low, keep_high, collapse_below : float
        The "larger σ" of the rule, the document's 60–80% and the collapse threshold.

    Returns
    -------
    list of dict
        Verdicts of :func:`moehelpers.records.store.verdict`.
    """
    rho_c, rho_h, rho_3, diff = _at_decision(curve, conditional_name, sigma_decision)
    return [
        results.verdict("H-A1_conditional_keeps", rho_c["retention"], keep_low, ">=",
                        f"conditional Ridge keeps ≥ {keep_low:g} of its gain at σ = "
                        f"{sigma_decision:g} dex"),
        results.verdict("H-A1_conditional_keeps_high", rho_c["retention"], keep_high, ">=",
                        f"… and ≥ {keep_high:g} (the upper end of the document's 60–80%)"),
        results.verdict("H-A1_hard_collapses", rho_h["retention"], collapse_below, "<",
                        f"the 9-bin hard MoE keeps < {collapse_below:g} of its gain at σ = "
                        f"{sigma_decision:g} dex (collapsed)"),
        results.verdict("H-A1_hard_mh_collapses", rho_3["retention"], collapse_below, "<",
                        f"the [M/H]-only 3-bin hard MoE keeps < {collapse_below:g} of its gain"),
        results.verdict("H-A1_conditional_more_tolerant", diff["delta_r2_lo"], 0.0, ">",
                        f"R² (conditional − 9-bin hard) at σ = {sigma_decision:g}: lower end of "
                        "the 95% interval > 0"),
        results.verdict("real_gate_conditional_better", real_diff.ci_low, 0.0, ">",
                        f"routed by the predicted [M/H] (RMS {sigma_real:.3f} dex): R² "
                        "(conditional − 9-bin hard), lower end of the 95% paired interval > 0"),
        results.verdict("stop_loss_both_collapse",
                        max(rho_c["retention"], rho_h["retention"]), collapse_below, "<",
                        "both keep < collapse threshold (gate unreliable → latent gate, H-A2)"),
    ]


def decision_markdown(decision: str, curve: GateNoiseCurve, conditional_name: str,
                      sigma_decision: float, real: pd.DataFrame,
                      real_diff: PairedBootstrapResult, sigma_real: float) -> str:
    """The decision in words with the retentions and R² differences it rests on.

    Parameters
    ----------
    decision : str
        :func:`moehelpers.evaluation.gate_noise.decision`.
    curve : GateNoiseCurve
    conditional_name : str
    sigma_decision : float
    real : DataFrame
        :func:`~moehelpers.evaluation.gate_noise.predicted_gate_retention` (``model``,
        ``retention``).
    real_diff : PairedBootstrapResult
        R² (conditional − 9-bin MoE) routed by the predicted [M/H].
    sigma_real : float
        RMS error of the predicted [M/H], dex.

    Returns
    -------
    str
        Markdown.
    """
    fmt = report.fmt
    rho_c, rho_h, rho_3, diff = _at_decision(curve, conditional_name, sigma_decision)
    real_rho = real.set_index("model")["retention"]
    return (
        f"**Decision at σ = {sigma_decision:g} dex:** {decision}. Retention there: conditional "
        f"{fmt(rho_c['retention'])} [{fmt(rho_c['retention_lo'])}, "
        f"{fmt(rho_c['retention_hi'])}], 9-bin hard MoE {fmt(rho_h['retention'])} "
        f"[{fmt(rho_h['retention_lo'])}, {fmt(rho_h['retention_hi'])}], [M/H]-only "
        f"hard MoE {fmt(rho_3['retention'])}; R² difference (conditional − 9-bin) "
        f"{fmt(diff['delta_r2'])} [{fmt(diff['delta_r2_lo'])}, "
        f"{fmt(diff['delta_r2_hi'])}]. With the [M/H] predicted from the spectra "
        f"(RMS {fmt(sigma_real)} dex) the conditional model keeps "
        f"{fmt(real_rho[conditional_name])} and the 9-bin MoE {fmt(real_rho[PRIMARY])} of "
        f"their gains; R² difference {fmt(real_diff.difference)} "
        f"[{fmt(real_diff.ci_low)}, {fmt(real_diff.ci_high)}].")


def gate_noise_metrics(curve: GateNoiseCurve, fitted: GateNoiseModels, real: pd.DataFrame,
                       real_diff: PairedBootstrapResult, *, sigmas: list[float],
                       sigma_decision: float, sigma_real: float, mh_r2: float
                       ) -> dict[str, Any]:
    """The metrics of the MVP-7.1 record.

    Parameters
    ----------
    curve : GateNoiseCurve
    fitted : GateNoiseModels
        The fitted models (conditional α, the [M/H] clip range).
    real : DataFrame
        Retention of each model routed by the predicted [M/H].
    real_diff : PairedBootstrapResult
        R² (conditional − 9-bin MoE) routed by the predicted [M/H].
    sigmas : list of float
        Gate σ of the curve.
    sigma_decision, sigma_real, mh_r2 : float
        σ of the decision rule, RMS error and test R² of the [M/H] predictor.

    Returns
    -------
    dict
        :func:`~moehelpers.evaluation.gate_noise.curve_metrics` series, then σ, clip range,
        α, the predictor, the retentions and R² difference at ``sigma_decision`` and the
        predicted-gate R² difference with its interval.
    """
    cond = fitted.conditional_name
    rho_c, rho_h, _, diff = _at_decision(curve, cond, sigma_decision)
    return {**curve_metrics(curve, record_keys(cond), real), "sigmas": sigmas,
            "clip": list(fitted.clip), "cond_alpha": fitted.conditional.alpha_,
            "sigma_real": sigma_real, "mh_r2": mh_r2,
            "decision_retention_cond": rho_c["retention"],
            "decision_retention_hard9": rho_h["retention"],
            "decision_delta_r2": diff["delta_r2"], "real_delta_r2": real_diff.difference,
            "real_delta_r2_lo": real_diff.ci_low, "real_delta_r2_hi": real_diff.ci_high}


def gate_noise_headline(metrics: Mapping[str, Any], noise_level: float
                        ) -> list[dict[str, Any]]:
    """Headline rows of the MVP-7.1 record: both models with a clean (true) gate.

    Parameters
    ----------
    metrics : mapping
        :func:`gate_noise_metrics` (``r2_clean_hard9``, ``r2_clean_cond``).
    noise_level : float
        Flux noise level of the test spectra.

    Returns
    -------
    list of dict
        :func:`moehelpers.records.store.headline_row` rows, given Teff/[M/H].
    """
    return [results.headline_row("hard MoE, 9 bins (clean gate)", noise_level,
                                 metrics["r2_clean_hard9"], labels_given="Teff/[M/H]"),
            results.headline_row("conditional Ridge (clean gate)", noise_level,
                                 metrics["r2_clean_cond"], labels_given="Teff/[M/H]")]
