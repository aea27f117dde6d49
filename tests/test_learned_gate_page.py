"""Learned-gate page helpers (book.learned_gate_page): MVP-6.0 split statement, captions,
verdicts and reading."""

from __future__ import annotations

from types import SimpleNamespace

import pandas as pd

from moehelpers.book import learned_gate_page as page
from moehelpers.records import references

SLUG = {"physical 3×3": "3x3", "[M/H]-only": "mh"}


def _gaps(d_3x3: float, lo_3x3: float) -> pd.DataFrame:
    return pd.DataFrame({"scheme": ["physical 3×3", "physical 3×3", "[M/H]-only",
                                    "[M/H]-only"],
                         "gate": ["logistic soft", "mixture soft"] * 2,
                         "delta_r2": [-1.0, d_3x3, 1.0, -0.01],
                         "delta_r2_lo": [-2.0, lo_3x3, 0.5, -0.02]})


def test_verdicts_judge_the_soft_mixture_gate_of_each_scheme() -> None:
    v = page.learned_gate_verdicts(_gaps(0.01, -0.001), SLUG)
    assert [x["name"] for x in v] == ["learned_ge_pseudo_3x3", "learned_ge_pseudo_ci_3x3",
                                      "learned_ge_pseudo_mh", "learned_ge_pseudo_ci_mh"]
    assert [x["value"] for x in v] == [0.01, -0.001, -0.01, -0.02]  # not the logistic rows
    assert [x["passed"] for x in v] == [True, False, False, False]
    assert {x["threshold"] for x in v} == {0.0} and {x["op"] for x in v} == {">="}
    assert [x["passed"] for x in page.learned_gate_verdicts(_gaps(0.0, 0.0), SLUG)][:2] == [
        True, True]


def test_reading_and_texts() -> None:
    gates = pd.DataFrame({"scheme": ["physical 3×3"] * 3 + ["[M/H]-only"] * 3,
                          "gate": ["oracle", "pseudo", "mixture soft"] * 2,
                          "r2": [0.9, 0.8, 0.85, 0.88, 0.81, 0.83], "r2_global": [0.7] * 6})
    text = page.learned_gate_reading(gates, 12.34)
    assert text.startswith("- **physical 3×3**: oracle R² 0.900, pseudo 0.800, soft mixture "
                           "0.850, global 0.700.\n- **[M/H]-only**: oracle R² 0.880")
    ref = references.ORIGINAL
    assert f"reached R² {ref['mvp6.mlp_gate_r2']:.3f}" in text
    assert text.endswith("Notebook time 12.3 s.")
    features = SimpleNamespace(n_features_out_=5, feature_names_=["a", "b", "c", "d", "e"])
    models = {"physical 3×3": SimpleNamespace(experts_=[1, 2], bin_plan_=SimpleNamespace(
        statement=[])), "[M/H]-only": SimpleNamespace(experts_=[1], bin_plan_=SimpleNamespace(
            statement=["x merged", "y merged"]))}
    s = page.split_statement(100, 3, 75, 25, features, models)
    assert s.startswith("**Split of the 100 training stars** (seed 3): 75 train the experts, "
                        "25 train the gates. **Gate features**: 5 (a, b, c, …, d, e).")
    assert "- **physical 3×3**: 2 experts; no bins merged" in s
    assert "- **[M/H]-only**: 1 experts; x merged; y merged" in s
    assert page.l2_sentence({"a": 1e-3, "b": 1e-2}) == (
        "L2 of the mixture gate chosen on validation: a 0.0010, b 0.0100.")
    assert page.gates_caption(500, 0.2, 100).startswith("All 500 test stars, noise 0.2:")
