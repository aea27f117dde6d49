"""Pseudo-gate page helpers (book.pseudo_gate_page): MVP-3.1 tables, verdicts, sentences,
record metrics and headline."""

from __future__ import annotations

import numpy as np
import pandas as pd

from moehelpers.book import pseudo_gate_page as page
from moehelpers.book import report
from moehelpers.gates.pseudo import GateComparison
from moehelpers.metrics import RetentionResult, Scores
from moehelpers.records import references

REF = references.ORIGINAL


def _comp(name: str, rho: float, gain: float) -> GateComparison:
    r = RetentionResult(rho, rho - 0.1, rho + 0.1, 0.95, 0.7 + rho * gain, 0.7, 0.7 + gain,
                        gain, False, 0.0, 1e-3, 4, 10, 0, "x", np.zeros(10))
    conf = pd.DataFrame([[2, 0], [1, 1]])
    return GateComparison(name, r, np.zeros(4), np.zeros(4), np.array([0, 0, 1, 0], bool), conf)


def _comps(rho0: float = 0.8, gain0: float = 0.05) -> dict[str, GateComparison]:
    names = [f"quantile K={REF['mvp3.pseudo_k']}", "quantile K=9", "physical [M/H] edges"]
    return {names[0]: _comp(names[0], rho0, gain0), names[1]: _comp(names[1], 0.3, 0.05),
            names[2]: _comp(names[2], 0.6, -0.01)}


SLUG = {f"quantile K={REF['mvp3.pseudo_k']}": "K2", "quantile K=9": "K9",
        "physical [M/H] edges": "physical"}


def test_predictor_and_retention_tables() -> None:
    t = page.predictor_table(Scores(0.9, 0.1, 0.2, 4), 0.01)
    assert t["ours"].tolist() == [0.9, 0.2, 0.01]
    assert t[references.LABEL].iloc[0] == REF["mvp3.pseudo_mh_r2"]
    assert t[references.LABEL].iloc[1:].isna().all()
    table = page.retention_table(_comps())
    assert table["scheme"].tolist() == list(_comps())
    col = table[f"retention {references.LABEL}"]
    assert col.iloc[0] == REF["mvp3.pseudo_retention_k2"] and col.iloc[1:].isna().all()
    assert table["misrouted"].tolist() == [0.25] * 3


def test_pseudo_verdicts_names_thresholds_and_outcomes() -> None:
    v = page.pseudo_verdicts(_comps(), SLUG)
    assert [x["name"] for x in v] == ["H2.2", "gate_bottleneck", "H2.2_K9",
                                      "gate_bottleneck_K9", "H2.2_physical",
                                      "gate_bottleneck_physical", "oracle_gain"]
    assert [x["passed"] for x in v] == [True, False, False, True, None, None, True]
    assert [x["threshold"] for x in v[:2]] == [0.7, 0.5] and v[1]["op"] == "<"
    low = page.pseudo_verdicts(_comps(rho0=0.4, gain0=0.01), SLUG)
    assert [low[i]["passed"] for i in (0, 1, 6)] == [False, True, False]


def test_retention_sentences_read_each_scheme() -> None:
    text = page.retention_sentences(_comps())
    assert "ρ = 0.800 [0.700, 0.900] → deployable" in text
    assert "→ the gate is the bottleneck" in text and "→ not evaluable" in text
    assert text.endswith(f"R² {report.fmt(REF['mvp3.pseudo_mh_r2'], 2)}.")


def test_pseudo_metrics_and_headline() -> None:
    comps = _comps()
    m = page.pseudo_metrics(Scores(0.9, 0.1, 0.2, 4), 0.01, page.retention_table(comps),
                            comps, SLUG)
    assert (m["mh_r2"], m["mh_rmse"], m["mh_alpha"]) == (0.9, 0.2, 0.01)
    assert m["retention"] == [0.8, 0.3, 0.6] and m["misrouted"] == [0.25] * 3
    assert np.isnan(m["retention_judged"][2]) and m["r2_global"] == 0.7
    assert m["confusion"] == {"K2": [[2, 0], [1, 1]], "K9": [[2, 0], [1, 1]],
                              "physical": [[2, 0], [1, 1]]}
    h = page.pseudo_headline(m, [2, 9], 0.2)
    assert [r["model"] for r in h] == ["oracle [M/H] gate, K = 2", "pseudo [M/H] gate, K = 2"]
    assert [r["labels_given"] for r in h] == ["Teff/[M/H]", "none"]
    assert [r["r2"] for r in h] == [m["r2_oracle"][0], m["r2_pseudo"][0]]
