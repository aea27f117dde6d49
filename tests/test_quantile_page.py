"""Quantile-bins page helpers (book.quantile_page): MVP-3.0 summary, verdicts, ΔR²(K) sentence,
record metrics and headline."""

from __future__ import annotations

import numpy as np
import pandas as pd

from moehelpers.book import quantile_page as page
from moehelpers.metrics import PairedBootstrapResult
from moehelpers.records import references


def _paired(diff: float, lo: float = -1.0, hi: float = 1.0, b: float = 0.7, n: int = 60
            ) -> PairedBootstrapResult:
    return PairedBootstrapResult("r2", diff, b + diff, b, lo, hi, 0.95, 0.0, n, 10, 0, "x",
                                 np.zeros(10))


def test_reference_delta_is_the_study_per_k() -> None:
    ref = page.reference_delta()
    assert list(ref) == list(references.ORIGINAL["mvp3.quantile_k"])
    assert list(ref.values()) == list(references.ORIGINAL["mvp3.quantile_delta_r2"])


def test_quantile_summary_rows() -> None:
    comp = {3: _paired(0.04), "physical": _paired(0.01)}
    s = page.quantile_summary(3, comp, _paired(0.03, 0.01, 0.05), {2: 0.02, 4: 0.05, 5: -0.1})
    label = references.LABEL
    assert s["ours"].tolist() == ["3", "0.040", "0.010", "0.030 [0.010, 0.050]"]
    assert s[label].tolist() == ["4 (largest ΔR²)", "0.050", "n/a", "n/a"]


def test_quantile_verdicts_names_and_outcomes() -> None:
    v = page.quantile_verdicts(_paired(0.02, 0.001, 0.04), 4, _paired(0.05), 1.0)
    assert [x["name"] for x in v] == ["H2.1", "H2.1_ci", "Q6", "best_k_gain", "coverage"]
    assert all(x["passed"] for x in v)
    v = page.quantile_verdicts(_paired(-0.01, -0.03, 0.01), 6, _paired(0.02), 0.9)
    assert [x["passed"] for x in v] == [False, False, False, False, False]
    assert v[2]["value"] == 0.0 and v[3]["threshold"] == 0.03


def test_curve_sentence_shapes() -> None:
    ref = {2: 0.01, 3: -0.02}
    rise = page.curve_sentence(pd.DataFrame({"delta_r2": [0.0, 0.05, 0.01]}), 3, _paired(0.05),
                               ref)
    assert "rises then falls" in rise and "K = 3 (test ΔR² 0.050)" in rise
    assert "K with a gain: 2 (0.010); every other K lost." in rise
    assert "smallest K" in page.curve_sentence(pd.DataFrame({"delta_r2": [0.05, 0.0]}), 2,
                                               _paired(0.05), ref)
    assert "largest K" in page.curve_sentence(pd.DataFrame({"delta_r2": [0.0, 0.05]}), 3,
                                              _paired(0.05), ref)


def test_quantile_metrics_and_headline() -> None:
    by_k = pd.DataFrame({"n_bins": [2, 3], "delta_r2": [0.01, 0.04], "delta_r2_lo": [0.0, 0.02],
                         "delta_r2_hi": [0.02, 0.06], "r2_val": [0.8, 0.85]})
    comp = {2: _paired(0.01, b=0.7, n=99), 3: _paired(0.04), "physical": _paired(0.02)}
    m = page.quantile_metrics([2, 3], by_k, 3, comp, _paired(0.02, 0.0, 0.04), 10.0)
    assert m["ks"] == [2, 3] and m["delta_r2"] == [0.01, 0.04] and m["n_test_scored"] == 99
    assert m["r2_global"] == 0.7 and m["delta_physical"] == 0.02 and m["alpha_global"] == 10.0
    assert (m["best_minus_physical"], m["best_minus_physical_hi"]) == (0.02, 0.04)
    (h,) = page.quantile_headline(m, 0.2)
    assert h["model"] == "quantile [M/H] bins, K = 3" and h["labels_given"] == "Teff/[M/H]"
    np.testing.assert_allclose(h["r2"], 0.74)
