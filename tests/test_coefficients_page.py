"""Coefficient page helpers (book.coefficients_page): MVP-5.0 tables beside the original
study, verdicts, reading and record metrics."""

from __future__ import annotations

import numpy as np
import pandas as pd

from moehelpers.book import coefficients_page as page
from moehelpers.evaluation.coefficients import topk_by_group
from moehelpers.records import references

REF = references.ORIGINAL


def _experts(k: int = 10) -> pd.DataFrame:
    return pd.DataFrame({"expert": ["a", "b", "c", "d"],
                         "[M/H] group": ["metal-poor", "metal-poor", "metal-rich", "solar"],
                         f"top-{k} share": [0.3, 0.2, 0.1, 0.15],
                         f"top-{k} share (raw w)": [0.31, 0.21, 0.11, 0.16]})


def _grid() -> pd.DataFrame:
    return pd.DataFrame({"Ca II 8498": [2.0, 1.0, 0.5, 1.5, 0.8], "Na I": [1.2, 0.9, 0.3, 1.1, 1.0],
                         "Paschen": [0.5, 0.6, 1.4, 0.9, 1.3]},
                        index=["a", "b", "c", "d", "global"])


def test_reference_tables_put_ours_beside_the_study() -> None:
    share = topk_by_group(_experts(), 10)
    t = page.topk_reference_table(share, REF["mvp5.top_k"])
    assert t["ours"].tolist() == ["0.20–0.30", "0.10–0.10"]
    lo, hi = REF["mvp5.topk_share_metal_poor"]
    assert t[references.LABEL].iloc[0] == f"{lo:.2f}–{hi:.2f}"
    other = page.topk_reference_table(topk_by_group(_experts(5), 5), 5)
    assert other[references.LABEL].tolist() == ["n/a", "n/a"]  # another k: no reference
    assert other["quantity"].iloc[0] == "top-5 share, metal-poor experts (min–max)"
    ca = page.ca8498_table(_grid())
    assert ca["ours"].tolist() == [0.8, 1.25]
    assert ca[references.LABEL].iloc[0] == REF["mvp5.ca8498_ratio"]
    assert np.isnan(ca[references.LABEL].iloc[1])


def test_verdicts_names_and_outcomes() -> None:
    share = topk_by_group(_experts(), 10)
    assert page.concentration_difference(share) == 0.25 - 0.1
    v = page.coefficient_verdicts(share, 1.5, 0.8, _grid(), 10)
    assert [x["name"] for x in v] == ["poor_more_concentrated", "metal_lines_high_mh",
                                      "hydrogen_low_mh", "ca8498_above_mean"]
    assert [x["passed"] for x in v] == [True, True, False, False]
    assert "top-10 share" in v[0]["rule"] and v[3]["value"] == 0.8


def test_metrics_and_reading() -> None:
    experts, grid = _experts(), _grid()
    share = topk_by_group(experts, 10)
    per_bin = pd.DataFrame({"r2_expert": [0.9, 0.8]})
    m = page.coefficient_metrics(experts, share, grid, per_bin, top_k=10, metal_ratio=1.5,
                                 paschen_ratio=0.8, n_experts=4)
    assert m["topk_share"] == [0.3, 0.2, 0.1, 0.15] and m["topk_share_poor_mean"] == 0.25
    assert m["concentration_difference"] == page.concentration_difference(share)
    assert m["ca8498_ratio_global"] == 0.8 and m["ca8498_ratio_experts_mean"] == 1.25
    assert m["window_ratio_global"] == [0.8, 1.0, 1.3] and m["r2_expert"] == [0.9, 0.8]
    text = page.coefficient_reading(grid, share, 10)
    # expert means: Ca II 8498 1.25, Na I 0.875, Paschen 0.85 → one window above 1
    assert "experts: Ca II 8498 (1.25× mean), Na I (0.88× mean), Paschen (0.85× mean)." in text
    assert "top-10 share 0.250 on average, metal-rich 0.100" in text
    assert "1 of 3 windows carry more weight" in text
    assert "top 7 pixels" in page.experts_caption(7)
