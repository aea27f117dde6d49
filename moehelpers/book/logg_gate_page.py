"""Notebook 08 (MVP-4.0, the log g gate trio: oracle, pseudo and learned): captions, the
classifier sentence, verdicts, the reading, record metrics and headline."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from moehelpers.book import report
from moehelpers.book.pseudo_gate_page import BOTTLENECK, DEPLOYABLE
from moehelpers.gates.pseudo import GateComparison, gate_reading
from moehelpers.records import store as results

__all__ = ["ORACLE_GAIN", "classifier_sentence", "gate_slug", "gates_caption",
           "logg_gate_headline", "logg_gate_metrics", "logg_gate_reading", "logg_gate_tables",
           "logg_gate_verdicts"]

#: ΔR² over the global Ridge at which the oracle log g gate is a ceiling worth chasing.
ORACLE_GAIN = 0.03


def gate_slug(name: str) -> str:
    """Record key of a routed gate: ``"pseudo"`` for the pseudo gate, else ``"learned"``."""
    return "pseudo" if name.startswith("pseudo") else "learned"


def gates_caption(n: int, noise_level: float, n_boot: int) -> str:
    """Caption of the table of the three gates on the same ``n`` test stars."""
    return (
        f"All {n} test stars, noise {noise_level:g}: R² of each gate's routing "
        "of the same experts; ΔR² against the global Ridge and retention of the oracle gain "
        f"(95% paired bootstrap intervals, {n_boot} resamples; the oracle keeps its own gain "
        "by definition); routing accuracy = share of "
        "stars sent to the expert of their true log g bin.")


def classifier_sentence(train_accuracy: float, test_accuracy: float, n_components: int,
                        explained_variance: float) -> str:
    """How often the learned gate's classifier picks the right bin, and what its PCA keeps.

    Parameters
    ----------
    train_accuracy, test_accuracy : float
        Share of (a sample of) training stars and of test stars routed to their true bin.
    n_components : int
        Principal components of the gate.
    explained_variance : float
        Share of the noisy training flux's variance they carry.

    Returns
    -------
    str
        Markdown.
    """
    return (f"The learned gate's classifier is right for "
            f"{report.fmt(100 * train_accuracy, 1)}% of (a sample of) its training stars and "
            f"{report.fmt(100 * test_accuracy, 1)}% of the test stars; its "
            f"{n_components} components carry "
            f"{report.fmt(100 * explained_variance, 1)}% of the "
            "variance of the noisy training flux.")


def logg_gate_verdicts(gates: pd.DataFrame, comps: Mapping[str, GateComparison]
                       ) -> list[dict[str, Any]]:
    """The MVP-4.0 verdicts: the oracle gain, then per routed gate "close to the oracle"
    (ρ ≥ 0.7) and "bottleneck" (ρ < 0.5).

    Parameters
    ----------
    gates : pandas.DataFrame
        :func:`moehelpers.gates.pseudo.gate_table` (row 0: the oracle).
    comps : mapping
        Gate name → its comparison with the oracle (judged retention ``judged_rho``).

    Returns
    -------
    list of dict
        ``oracle_gain``, then ``gate_close_<slug>`` and ``gate_bottleneck_<slug>`` per gate.
    """
    verdicts = [results.verdict("oracle_gain", gates["delta_r2"].iloc[0], ORACLE_GAIN, ">=",
                                "oracle log g gate: ΔR² over global ≥ 0.03 (a ceiling worth "
                                "chasing)")]
    for name, c in comps.items():
        tag = gate_slug(name)
        verdicts += [
            results.verdict(f"gate_close_{tag}", c.judged_rho, DEPLOYABLE, ">=",
                            f"{name}: keeps ≥ 70% of the oracle gain (close to the oracle: gate "
                            "noise is not the bottleneck)"),
            results.verdict(f"gate_bottleneck_{tag}", c.judged_rho, BOTTLENECK, "<",
                            f"{name}: keeps < 50% of the oracle gain (effort belongs in the "
                            "gate)"),
        ]
    return verdicts


def logg_gate_reading(gates: pd.DataFrame, comps: Mapping[str, GateComparison]) -> str:
    """Markdown bullets: the oracle's ceiling, then per gate ρ, routing accuracy and reading.

    Parameters
    ----------
    gates : pandas.DataFrame
        :func:`moehelpers.gates.pseudo.gate_table` (row 0: the oracle).
    comps : mapping
        Gate name → its comparison with the oracle.

    Returns
    -------
    str
    """
    fmt = report.fmt
    return (
        f"- **ceiling**: perfect routing by log g gains ΔR² = {fmt(gates['delta_r2'].iloc[0])} "
        f"[{fmt(gates['delta_r2_lo'].iloc[0])}, {fmt(gates['delta_r2_hi'].iloc[0])}] "
        "over the global Ridge.\n"
        + "\n".join(
            f"- **{name}**: ρ = {fmt(c.retention.rho)} [{fmt(c.retention.ci_low)}, "
            f"{fmt(c.retention.ci_high)}], routing accuracy "
            f"{fmt(100 * (1 - float(c.wrong.mean())), 1)}% → {gate_reading(c)}."
            for name, c in comps.items()))


def logg_gate_metrics(gates: pd.DataFrame, gaps: pd.DataFrame,
                      comps: Mapping[str, GateComparison], *, gate_train_accuracy: float,
                      gate_explained_variance: float, n_experts: int) -> dict[str, Any]:
    """The MVP-4.0 record metrics.

    Parameters
    ----------
    gates : pandas.DataFrame
        :func:`moehelpers.gates.pseudo.gate_table`, rows oracle then the gates of ``comps``.
    gaps : pandas.DataFrame
        :func:`moehelpers.evaluation.compare.gap_table` between the gates.
    comps : mapping
        Gate name → comparison with the oracle.
    gate_train_accuracy, gate_explained_variance : float
        The classifier's accuracy on (a sample of) its training stars; its PCA's kept share.
    n_experts : int

    Returns
    -------
    dict
        Per gate (keys ``oracle``, ``pseudo``, ``learned``) R² and ΔR² with intervals; per
        routed gate retention (raw, judged, interval), routing accuracy and confusion counts;
        the gaps, the global R² and the classifier's numbers.
    """
    slug = {name: gate_slug(name) for name in comps}
    short = ["oracle", *slug.values()]  # record keys of the gates, in table order
    return {"r2_global": float(gates["r2_global"].iloc[0]),
            **{col: dict(zip(short, gates[col].tolist(), strict=True))
               for col in ("r2", "delta_r2", "delta_r2_lo", "delta_r2_hi")},
            "retention": {slug[n]: c.retention.rho for n, c in comps.items()},
            "retention_judged": {slug[n]: c.judged_rho for n, c in comps.items()},
            "retention_lo": {slug[n]: c.retention.ci_low for n, c in comps.items()},
            "retention_hi": {slug[n]: c.retention.ci_high for n, c in comps.items()},
            "routing_accuracy": {slug[n]: 1 - float(c.wrong.mean()) for n, c in comps.items()},
            "gaps": gaps["delta_r2"].tolist(), "gate_train_accuracy": gate_train_accuracy,
            "gate_explained_variance": gate_explained_variance,
            "n_experts": n_experts,
            "confusion": {slug[n]: c.confusion.to_numpy().tolist() for n, c in comps.items()}}


def logg_gate_tables(gates: pd.DataFrame, gaps: pd.DataFrame, counts: pd.DataFrame,
                     comps: Mapping[str, GateComparison]) -> dict[str, pd.DataFrame]:
    """The MVP-4.0 record tables: gates, gaps, counts and one confusion table per gate."""
    return {"gates": gates, "gaps": gaps, "counts": counts,
            **{f"confusion_{gate_slug(n)}": c.confusion.reset_index() for n, c in comps.items()}}


def logg_gate_headline(metrics: Mapping[str, Any], noise_level: float) -> list[dict[str, Any]]:
    """Headline rows of MVP-4.0: the oracle (told log g), pseudo and learned gates."""
    return [results.headline_row(f"{g} log g gate", noise_level, metrics["r2"][g],
                                 labels_given="log g" if g == "oracle" else "none")
            for g in ("oracle", "pseudo", "learned")]
