"""Log g gate page helpers (book.logg_gate_page): MVP-4.0 captions, verdicts, reading,
record metrics, tables and headline."""

from __future__ import annotations

import numpy as np
import pandas as pd

from moehelpers.book import logg_gate_page as page
from moehelpers.gates.pseudo import GateComparison
from moehelpers.metrics import RetentionResult

PSEUDO, LEARNED = "pseudo (ŷ global)", "learned (flux classifier)"


def _comp(name: str, rho: float, gain: float = 0.05) -> GateComparison:
    r = RetentionResult(rho, rho - 0.1, rho + 0.1, 0.95, 0.7 + rho * gain, 0.7, 0.7 + gain,
                        gain, False, 0.0, 1e-3, 4, 10, 0, "x", np.zeros(10))
    conf = pd.DataFrame([[2, 0], [1, 1]], index=["b0", "b1"], columns=["b0", "b1"])
    return GateComparison(name, r, np.zeros(4), np.zeros(4), np.array([0, 0, 1, 0], bool), conf)


def _gates(oracle_gain: float = 0.05) -> pd.DataFrame:
    return pd.DataFrame({"gate": ["oracle (true log g)", PSEUDO, LEARNED], "n": [4] * 3,
                         "r2_global": [0.7] * 3, "r2": [0.7 + oracle_gain, 0.74, 0.72],
                         "delta_r2": [oracle_gain, 0.04, 0.02],
                         "delta_r2_lo": [oracle_gain - 0.01, 0.03, 0.01],
                         "delta_r2_hi": [oracle_gain + 0.01, 0.05, 0.03],
                         "routing_accuracy": [1.0, 0.75, 0.75]})


def test_verdicts_names_thresholds_and_outcomes() -> None:
    comps = {PSEUDO: _comp(PSEUDO, 0.8), LEARNED: _comp(LEARNED, 0.4)}
    v = page.logg_gate_verdicts(_gates(), comps)
    assert [x["name"] for x in v] == ["oracle_gain", "gate_close_pseudo",
                                      "gate_bottleneck_pseudo", "gate_close_learned",
                                      "gate_bottleneck_learned"]
    assert [x["threshold"] for x in v] == [0.03, 0.7, 0.5, 0.7, 0.5]
    assert [x["passed"] for x in v] == [True, True, False, False, True]
    small = page.logg_gate_verdicts(_gates(0.01), {PSEUDO: _comp(PSEUDO, 0.6, gain=-0.01)})
    assert [x["passed"] for x in small] == [False, None, None]  # no oracle gain: not judged


def test_metrics_tables_and_headline_keyed_by_gate() -> None:
    comps = {PSEUDO: _comp(PSEUDO, 0.8), LEARNED: _comp(LEARNED, 0.4)}
    gates, gaps = _gates(), pd.DataFrame({"delta_r2": [0.01, 0.03, 0.02]})
    m = page.logg_gate_metrics(gates, gaps, comps, gate_train_accuracy=0.9,
                               gate_explained_variance=0.8, n_experts=4)
    assert m["r2"] == {"oracle": 0.75, "pseudo": 0.74, "learned": 0.72}
    assert m["retention"] == {"pseudo": 0.8, "learned": 0.4}
    assert m["routing_accuracy"] == {"pseudo": 0.75, "learned": 0.75}
    assert m["gaps"] == [0.01, 0.03, 0.02] and m["confusion"]["pseudo"] == [[2, 0], [1, 1]]
    assert m["r2_global"] == 0.7 and m["n_experts"] == 4
    tables = page.logg_gate_tables(gates, gaps, gates, comps)
    assert list(tables) == ["gates", "gaps", "counts", "confusion_pseudo", "confusion_learned"]
    assert tables["confusion_learned"].columns[0] == "index"
    h = page.logg_gate_headline(m, 0.2)
    assert [(r["model"], r["r2"], r["labels_given"]) for r in h] == [
        ("oracle log g gate", 0.75, "log g"), ("pseudo log g gate", 0.74, "none"),
        ("learned log g gate", 0.72, "none")]


def test_texts_name_the_numbers() -> None:
    comps = {PSEUDO: _comp(PSEUDO, 0.8), LEARNED: _comp(LEARNED, 0.4)}
    reading = page.logg_gate_reading(_gates(), comps)
    assert reading.startswith("- **ceiling**: perfect routing by log g gains ΔR² = 0.050 "
                              "[0.040, 0.060]")
    assert f"- **{PSEUDO}**: ρ = 0.800 [0.700, 0.900], routing accuracy 75.0% → close" in reading
    assert "the gate is the bottleneck" in reading
    s = page.classifier_sentence(0.9, 0.75, 20, 0.6543)
    assert "90.0% of (a sample of) its training stars and 75.0% of the test" in s
    assert "its 20 components carry 65.4% of the" in s
    assert page.gates_caption(1000, 0.2, 500).startswith("All 1000 test stars, noise 0.2:")
    assert "500 resamples" in page.gates_caption(1000, 0.2, 500)
    assert page.gate_slug(PSEUDO) == "pseudo" and page.gate_slug(LEARNED) == "learned"
