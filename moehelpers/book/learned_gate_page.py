"""Notebook 10 (MVP-6.0, a minimal learned gate over frozen Ridge experts): the split
statement, captions, verdicts and the reading.

The gates are fitted and scored by :mod:`moehelpers.evaluation.learned_gate` (also the
record's metrics, :func:`~moehelpers.evaluation.learned_gate.gate_metrics`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from moehelpers.book import report
from moehelpers.records import references
from moehelpers.records import store as results

__all__ = ["JUDGED_GATE", "gates_caption", "l2_sentence", "learned_gate_reading",
           "learned_gate_verdicts", "split_statement"]

#: The learned gate the document's rule "learned ≥ pseudo" is judged on.
JUDGED_GATE = "mixture soft"


def split_statement(n_train: int, seed: int, n_expert: int, n_gate: int, features: Any,
                    models: Mapping[str, Any]) -> str:
    """How the training stars were split between experts and gates, the gate features and
    each scheme's experts and bin plan (Markdown).

    Parameters
    ----------
    n_train : int
        Training stars.
    seed : int
        Seed of the expert / gate split.
    n_expert, n_gate : int
        Stars of each part.
    features : GateFeatures
        Fitted gate features (``n_features_out_``, ``feature_names_``).
    models : mapping of str → PiecewiseRidge
        The fitted schemes (``experts_``, ``bin_plan_``).

    Returns
    -------
    str
    """
    return (
        f"**Split of the {n_train} training stars** (seed {seed}): "
        f"{n_expert} train the experts, {n_gate} train the gates. **Gate features**: "
        f"{features.n_features_out_} ({', '.join(features.feature_names_[:3])}, …, "
        f"{', '.join(features.feature_names_[-2:])}).\n\n"
        + "\n".join(f"- **{n}**: {len(m.experts_)} experts; "
                    + ("; ".join(m.bin_plan_.statement) or "no bins merged")
                    for n, m in models.items()))


def gates_caption(n: int, noise_level: float, n_boot: int) -> str:
    """Caption of the table of every routing of the frozen experts on ``n`` test stars."""
    return (
        f"All {n} test stars, noise {noise_level:g}: R² of each routing of the same "
        "frozen experts; ΔR² over the global Ridge and retention of the oracle gain (95% paired "
        f"bootstrap intervals, {n_boot} resamples); routing accuracy = share of stars whose "
        "chosen (most probable) option is their true one (the global model for uncovered "
        "stars).")


def l2_sentence(l2: Mapping[str, float]) -> str:
    """The mixture gate's L2 chosen on validation, per scheme."""
    return ("L2 of the mixture gate chosen on validation: "
            + ", ".join(f"{n} {report.fmt(v, 4)}" for n, v in l2.items()) + ".")


def learned_gate_verdicts(gaps: pd.DataFrame, slug: Mapping[str, str]
                          ) -> list[dict[str, Any]]:
    """The MVP-6.0 verdicts: per scheme, the soft mixture gate's R² minus the pseudo gate's
    ≥ 0, and the lower end of its interval ≥ 0.

    Parameters
    ----------
    gaps : pandas.DataFrame
        :func:`moehelpers.evaluation.learned_gate.learned_vs_pseudo` (``scheme``, ``gate``,
        ``delta_r2``, ``delta_r2_lo``).
    slug : mapping
        Scheme name → short key, in page order.

    Returns
    -------
    list of dict
        ``learned_ge_pseudo_<slug>`` and ``learned_ge_pseudo_ci_<slug>`` per scheme.
    """
    verdicts = []
    for name, key in slug.items():
        row = gaps[(gaps["scheme"] == name) & (gaps["gate"] == JUDGED_GATE)].iloc[0]
        verdicts += [
            results.verdict(f"learned_ge_pseudo_{key}", row["delta_r2"], 0.0, ">=",
                            f"{name}: R²(soft mixture gate) − R²(pseudo gate) ≥ 0 (document "
                            "rule)"),
            results.verdict(f"learned_ge_pseudo_ci_{key}", row["delta_r2_lo"], 0.0, ">=",
                            f"{name}: lower end of the paired 95% interval of that difference "
                            "≥ 0"),
        ]
    return verdicts


def learned_gate_reading(gates: pd.DataFrame, seconds: float) -> str:
    """Markdown: per scheme the oracle, pseudo, soft mixture and global R²; then the
    original study's MLP and logistic gates (a reference) and the notebook time.

    Parameters
    ----------
    gates : pandas.DataFrame
        :attr:`moehelpers.evaluation.learned_gate.GateResults.table` (per scheme: the oracle
        row first, then the pseudo gate).
    seconds : float
        Notebook wall time so far.

    Returns
    -------
    str
    """
    ref, fmt = references.ORIGINAL, report.fmt
    return (
        "\n".join(f"- **{n}**: oracle R² {fmt(g0['r2'].iloc[0])}, pseudo "
                  f"{fmt(g0['r2'].iloc[1])}, soft mixture "
                  f"{fmt(g0.loc[g0['gate'] == JUDGED_GATE, 'r2'].iloc[0])}, global "
                  f"{fmt(g0['r2_global'].iloc[0])}."
                  for n, g0 in gates.groupby("scheme", sort=False))
        + f"\n\nReference (original study, REFERENCE.md §4; different data and a different "
        f"protocol): an MLP gate over frozen Ridge experts reached R² "
        f"{fmt(ref['mvp6.mlp_gate_r2'])} vs {fmt(ref['mvp6.logistic_gate_r2'])} for "
        f"a logistic gate. Notebook time {fmt(seconds, 1)} s.")
