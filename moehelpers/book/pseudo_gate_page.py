"""Notebook 06 (MVP-3.1): the [M/H] predictor table, the retention table beside the original
study, verdicts, retention sentences, record metrics and headline of the pseudo-gate page."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from moehelpers.book import report
from moehelpers.gates.pseudo import GateComparison
from moehelpers.metrics import Scores
from moehelpers.records import references
from moehelpers.records import store as results

__all__ = ["BOTTLENECK", "DEPLOYABLE", "predictor_table", "pseudo_headline", "pseudo_metrics",
           "pseudo_verdicts", "retention_sentences", "retention_table"]

#: Retention ρ at or above which a pseudo gate is deployable (document's decision rule).
DEPLOYABLE = 0.7
#: Retention ρ below which the gate is the bottleneck.
BOTTLENECK = 0.5


def predictor_table(mh_scores: Scores, alpha: float) -> pd.DataFrame:
    """R², RMSE and α of the [M/H] predictor, beside the original study's R².

    Parameters
    ----------
    mh_scores : Scores
        Predicted vs true [M/H] on the test stars.
    alpha : float
        α chosen on validation.

    Returns
    -------
    DataFrame
        Columns ``quantity``, ``ours`` and the reference label (NaN where the study gave none).
    """
    label, ref = references.LABEL, references.ORIGINAL
    return pd.DataFrame([
        {"quantity": "R² of predicted [M/H], test", "ours": mh_scores.r2,
         label: ref["mvp3.pseudo_mh_r2"]},
        {"quantity": "RMSE of predicted [M/H] (dex)", "ours": mh_scores.rmse, label: np.nan},
        {"quantity": "α chosen on validation", "ours": alpha, label: np.nan},
    ])


def retention_table(comps: Mapping[str, GateComparison]) -> pd.DataFrame:
    """One row per gated scheme (:meth:`GateComparison.row`) plus the study's retention.

    Parameters
    ----------
    comps : mapping
        Scheme name → its oracle/pseudo comparison.

    Returns
    -------
    DataFrame
        The rows, with a column ``retention <reference label>`` holding the original study's
        ρ at its K (``quantile K=<k>``) and NaN elsewhere.
    """
    ref = references.ORIGINAL
    table = pd.DataFrame([c.row() for c in comps.values()])
    table[f"retention {references.LABEL}"] = [
        ref["mvp3.pseudo_retention_k2"] if name == f"quantile K={ref['mvp3.pseudo_k']}"
        else np.nan for name in comps]
    return table


def pseudo_verdicts(comps: Mapping[str, GateComparison],
                    slug: Mapping[str, str]) -> list[dict[str, Any]]:
    """The MVP-3.1 verdicts: deployable / bottleneck per scheme, and the oracle gain.

    Parameters
    ----------
    comps : mapping
        Scheme name → comparison; the first scheme is judged (bare names ``H2.2`` and
        ``gate_bottleneck``), the others get ``_<slug>`` suffixes.
    slug : mapping
        Scheme name → short name for the suffix.

    Returns
    -------
    list of dict
        Per scheme ``H2.2`` (ρ ≥ 0.7) and ``gate_bottleneck`` (ρ < 0.5), then
        ``oracle_gain`` (the first scheme's oracle gain over global ≥ 0.03).
    """
    first = next(iter(comps))
    verdicts = []
    for i, (name, c) in enumerate(comps.items()):
        tag = "" if i == 0 else f"_{slug[name]}"
        verdicts += [
            results.verdict(f"H2.2{tag}", c.judged_rho, DEPLOYABLE, ">=",
                            f"{name}: pseudo gate keeps ≥ 70% of the oracle gain (deployable)"),
            results.verdict(f"gate_bottleneck{tag}", c.judged_rho, BOTTLENECK, "<",
                            f"{name}: pseudo gate keeps < 50% of the oracle gain (gate is the "
                            "bottleneck)"),
        ]
    verdicts.append(results.verdict("oracle_gain", comps[first].retention.gain_oracle, 0.03, ">=",
                                    f"{first}: oracle gain over global ≥ 0.03 (a gain worth "
                                    "keeping)"))
    return verdicts


def retention_sentences(comps: Mapping[str, GateComparison]) -> str:
    """Markdown list: ρ with its interval and its reading per scheme, then the study's ρ.

    Parameters
    ----------
    comps : mapping
        Scheme name → comparison.

    Returns
    -------
    str
        One bullet per scheme, then the original study's K, ρ and predictor R².
    """
    ref = references.ORIGINAL
    return ("\n".join(
        f"- **{name}**: ρ = {report.fmt(c.retention.rho)} [{report.fmt(c.retention.ci_low)}, "
        f"{report.fmt(c.retention.ci_high)}] → {c.reading()}." for name, c in comps.items())
        + f"\n\n{references.LABEL}: K = {ref['mvp3.pseudo_k']}, "
        f"ρ = {report.fmt(ref['mvp3.pseudo_retention_k2'])} with a [M/H] predictor of R² "
        f"{report.fmt(ref['mvp3.pseudo_mh_r2'], 2)}.")


def pseudo_metrics(mh_scores: Scores, mh_alpha: float, table: pd.DataFrame,
                   comps: Mapping[str, GateComparison],
                   slug: Mapping[str, str]) -> dict[str, Any]:
    """The metrics of the MVP-3.1 record.

    Parameters
    ----------
    mh_scores : Scores
        The [M/H] predictor on the test stars.
    mh_alpha : float
        Its α.
    table : DataFrame
        :func:`retention_table` output.
    comps : mapping
        Scheme name → comparison (its confusion matrix is recorded).
    slug : mapping
        Scheme name → short key of the confusion matrices.

    Returns
    -------
    dict
        Predictor R², RMSE and α; per-scheme lists of retention (raw, judged, interval),
        oracle and pseudo R² and misrouted share; the global R²; the confusion matrices.
    """
    return {"mh_r2": mh_scores.r2, "mh_rmse": mh_scores.rmse, "mh_alpha": mh_alpha,
            **{k: table[k].tolist() for k in ("retention", "retention_judged", "retention_lo",
                                              "retention_hi", "r2_oracle", "r2_pseudo",
                                              "misrouted")},
            "r2_global": float(table["r2_global"].iloc[0]),
            "confusion": {slug[name]: c.confusion.to_numpy().tolist()
                          for name, c in comps.items()}}


def pseudo_headline(metrics: dict[str, Any], gate_ks: Sequence[int],
                    noise_level: float) -> list[dict[str, Any]]:
    """Headline rows of MVP-3.1: the oracle and the pseudo [M/H] gate at the first K.

    Parameters
    ----------
    metrics : dict
        :func:`pseudo_metrics` output (``r2_oracle`` and ``r2_pseudo`` are read).
    gate_ks : sequence of int
        The K values routed; the first is the judged one.
    noise_level : float
        Test noise level.

    Returns
    -------
    list of dict
        Two :func:`~moehelpers.records.store.headline_row` rows (the oracle reads the true
        labels, the pseudo gate none).
    """
    return [results.headline_row(f"{g} [M/H] gate, K = {int(gate_ks[0])}", noise_level,
                                 metrics[f"r2_{g}"][0],
                                 labels_given="Teff/[M/H]" if g == "oracle" else "none")
            for g in ("oracle", "pseudo")]
