"""Notebook 05 (MVP-3.0): the best-K summary, verdicts, ΔR²(K) sentence, record metrics and
headline of the quantile-bins page."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from moehelpers.book import report
from moehelpers.metrics import PairedBootstrapResult
from moehelpers.records import references
from moehelpers.records import store as results

__all__ = ["curve_sentence", "quantile_headline", "quantile_metrics", "quantile_summary",
           "quantile_verdicts", "reference_delta"]


def reference_delta() -> dict[int, float]:
    """The original study's ΔR² per number of quantile bins K.

    Returns
    -------
    dict
        K → ΔR² (quantile experts − global), in the study's order.
    """
    ref = references.ORIGINAL
    return dict(zip(ref["mvp3.quantile_k"], ref["mvp3.quantile_delta_r2"], strict=True))


def quantile_summary(best_k: int, comp: Mapping[Any, PairedBootstrapResult],
                     vs_physical: PairedBootstrapResult,
                     ref_delta: Mapping[int, float]) -> pd.DataFrame:
    """Best K and the hand-made [M/H] edges beside the original study's best K.

    Parameters
    ----------
    best_k : int
        K chosen on validation.
    comp : mapping
        K (and ``"physical"``) → model vs global on all test stars.
    vs_physical : PairedBootstrapResult
        The best-K model (a) vs the physical [M/H] edges (b).
    ref_delta : mapping
        :func:`reference_delta`.

    Returns
    -------
    DataFrame
        Columns ``quantity``, ``ours`` and the reference label; four rows (K chosen, its
        ΔR², ΔR² of the physical edges, best − physical with its 95% CI), values as text.
    """
    label = references.LABEL
    ref_best = max(ref_delta, key=ref_delta.get)
    return pd.DataFrame([
        {"quantity": "K chosen on validation", "ours": str(best_k),
         label: f"{ref_best} (largest ΔR²)"},
        {"quantity": "ΔR² at that K (all test stars)",
         "ours": report.fmt(comp[best_k].difference), label: report.fmt(ref_delta[ref_best])},
        {"quantity": "ΔR² physical [M/H] edges + global fallback (all test stars)",
         "ours": report.fmt(comp["physical"].difference), label: "n/a"},
        {"quantity": "R² best quantile − R² physical [M/H] edges [95% CI]",
         "ours": f"{report.fmt(vs_physical.difference)} [{report.fmt(vs_physical.ci_low)}, "
                 f"{report.fmt(vs_physical.ci_high)}]", label: "n/a"},
    ])


def quantile_verdicts(vs_physical: PairedBootstrapResult, best_k: int,
                      best_gain: PairedBootstrapResult,
                      coverage: float) -> list[dict[str, Any]]:
    """The MVP-3.0 verdicts.

    Parameters
    ----------
    vs_physical : PairedBootstrapResult
        The best-K model vs the physical [M/H] edges on all test stars.
    best_k : int
        K chosen on validation.
    best_gain : PairedBootstrapResult
        The best-K model vs the global model on all test stars.
    coverage : float
        Share of test stars the best-K bins route to an expert.

    Returns
    -------
    list of dict
        Verdicts ``H2.1`` (beats the hand-made edges), ``H2.1_ci`` (its CI low > 0), ``Q6``
        (best K in [3, 5]), ``best_k_gain`` (ΔR² ≥ 0.03) and ``coverage`` (every test star).
    """
    return [
        results.verdict("H2.1", vs_physical.difference, 0.0, ">",
                        "quantile bins (K chosen on validation) beat the hand-made [M/H] edges "
                        "on all test stars: R² difference > 0"),
        results.verdict("H2.1_ci", vs_physical.ci_low, 0.0, ">",
                        "lower end of the 95% paired CI of that difference > 0"),
        results.verdict("Q6", float(3 <= best_k <= 5), 1.0, ">=",
                        "the best K (chosen on validation) lies in [3, 5] (the document expected)"),
        results.verdict("best_k_gain", best_gain.difference, 0.03, ">=",
                        "ΔR² of the best K vs global (all test stars) ≥ 0.03 (ε of the document)"),
        results.verdict("coverage", coverage, 1.0, ">=", "quantile bins cover every test star"),
    ]


def curve_sentence(by_k: pd.DataFrame, best_k: int, best_gain: PairedBootstrapResult,
                   ref_delta: Mapping[int, float]) -> str:
    """One Markdown sentence on the shape of ΔR²(K), the best K and the study's gains.

    Parameters
    ----------
    by_k : DataFrame
        One row per K in order (``delta_r2`` is read).
    best_k : int
        K chosen on validation.
    best_gain : PairedBootstrapResult
        The best-K model vs global on all test stars.
    ref_delta : mapping
        :func:`reference_delta`.

    Returns
    -------
    str
        "rises then falls", "is highest at the smallest K" or "… at the largest K", then the
        K values at which the original study gained.
    """
    peak = int(np.argmax(by_k["delta_r2"]))
    shape = ("rises then falls" if 0 < peak < len(by_k) - 1 else
             "is highest at the smallest K" if peak == 0 else "is highest at the largest K")
    return (f"Our ΔR²(K) curve {shape}: best on validation at K = {best_k} (test ΔR² "
            f"{report.fmt(best_gain.difference)}); {references.LABEL}: K with a gain: "
            + ", ".join(f"{k} ({report.fmt(d)})" for k, d in ref_delta.items() if d > 0)
            + "; every other K lost.")


def quantile_metrics(ks: Sequence[int], by_k: pd.DataFrame, best_k: int,
                     comp: Mapping[Any, PairedBootstrapResult],
                     vs_physical: PairedBootstrapResult, alpha_global: float) -> dict[str, Any]:
    """The metrics of the MVP-3.0 record.

    Parameters
    ----------
    ks : sequence of int
        The K values, in the order of ``by_k``.
    by_k : DataFrame
        One row per K (``n_bins``, ``delta_r2``, ``delta_r2_lo``, ``delta_r2_hi``, ``r2_val``).
    best_k : int
        K chosen on validation.
    comp : mapping
        K (and ``"physical"``) → model vs global on all test stars.
    vs_physical : PairedBootstrapResult
        The best-K model vs the physical [M/H] edges.
    alpha_global : float
        α of the global model.

    Returns
    -------
    dict
        The per-K lists, the global R², the best K, the physical edges' ΔR², best − physical
        with its interval, the number of test stars scored and the global α.
    """
    return {"ks": ks, "n_bins": by_k["n_bins"].tolist(), "delta_r2": by_k["delta_r2"].tolist(),
            "delta_lo": by_k["delta_r2_lo"].tolist(), "delta_hi": by_k["delta_r2_hi"].tolist(),
            "r2_val": by_k["r2_val"].tolist(), "r2_global": comp[ks[0]].score_b,
            "best_k": best_k, "delta_physical": comp["physical"].difference,
            "best_minus_physical": vs_physical.difference,
            "best_minus_physical_lo": vs_physical.ci_low,
            "best_minus_physical_hi": vs_physical.ci_high, "n_test_scored": comp[ks[0]].n,
            "alpha_global": alpha_global}


def quantile_headline(metrics: dict[str, Any], noise_level: float) -> list[dict[str, Any]]:
    """Headline row of MVP-3.0: the quantile [M/H] bins at the K chosen on validation.

    Parameters
    ----------
    metrics : dict
        :func:`quantile_metrics` output.
    noise_level : float
        Test noise level.

    Returns
    -------
    list of dict
        One :func:`~moehelpers.records.store.headline_row` row (R² = global R² + ΔR² at the
        best K; the gate reads the true [M/H]).
    """
    i_best = list(metrics["ks"]).index(metrics["best_k"])
    return [results.headline_row(f"quantile [M/H] bins, K = {metrics['best_k']}", noise_level,
                                 metrics["r2_global"] + metrics["delta_r2"][i_best],
                                 labels_given="Teff/[M/H]")]
