"""Book text and figure helpers of the conditional-Ridge pages (MVP-7.2, MVP-7.4)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from moehelpers.book import conditional_context as cc
from moehelpers.book import plots
from moehelpers.metrics import paired_bootstrap
from moehelpers.records import references


def _steps() -> pd.DataFrame:
    return pd.DataFrame({"step": [0, 1], "model": ["[x, m·x]", "[x, m·x, t·x]"],
                         "delta_r2": [0.02, 0.03], "share_moe_gain": [0.5, 0.9],
                         "share_moe_gain_lo": [0.4, 0.8], "share_moe_gain_hi": [0.6, 1.0]})


def test_context_table_puts_references_beside_ours() -> None:
    t = cc.pp_context_table(0.8, 0.85, 0.9)
    assert t["r2 here"].tolist() == [0.8, 0.85, 0.9]
    ref = references.ORIGINAL
    assert t[f"r2 {references.LABEL}"].iloc[0] == ref["mvp0.r2_all"]
    full = cc.pp_context_table(0.8, 0.85, 0.9, r2_full_global=0.81)
    assert len(full) == 4 and full.iloc[3].tolist()[:2] == ["global Ridge, full resolution",
                                                             0.81]
    html = cc.pp_context_html(0.8, 0.85, 0.9, None, 2048)
    assert "global Ridge, full resolution" not in html and "0.8500" in html


def test_summary_and_reading_texts() -> None:
    rng = np.random.default_rng(0)
    y = rng.normal(size=50)
    gain = paired_bootstrap(y, y + 0.1 * rng.normal(size=50), y + rng.normal(size=50),
                            n_boot=10, seed=0)
    text = cc.pp_summary_markdown(_steps(), 1, gain)
    assert "step 1, [x, m·x, t·x]" in text and "90% [80, 100]%" in text and "50%" in text
    assert "passes both" in cc.window_gate_reading(True, False, 1.0, 100, 2.0)
    assert "stop-loss applies" in cc.window_gate_reading(False, True, 1.0, 100, 2.0)
    no = cc.window_gate_reading(False, False, 1.0, 100, 2.0)
    assert "does not pass both acceptance conditions." in no and "100 binned pixels" in no


def test_share_by_step_and_confusion_figures() -> None:
    fig = plots.share_by_step(_steps(), 0.9, 0.8, references.LABEL)
    trace = fig.data[0]
    np.testing.assert_allclose(trace.error_y.array, [0.1, 0.1])
    np.testing.assert_allclose(trace.error_y.arrayminus, [0.1, 0.1])
    counts = pd.DataFrame([[3, 1], [0, 0]], index=["a", "b"], columns=["a", "b"])
    heat = plots.confusion_shares(counts, "t", chosen="routed").data[0]
    assert list(heat.x) == ["routed a", "routed b"] and list(heat.y) == ["true a", "true b"]
    np.testing.assert_allclose(heat.z, [[0.75, 0.25], [0.0, 0.0]])


def test_order_references_summary_and_figure() -> None:
    ref = cc.order_references()
    assert list(ref) == list(references.ORIGINAL["mvp3.conditional_orders"])
    row = pd.Series({"delta_r2": 0.05, "delta_r2_lo": 0.04, "delta_r2_hi": 0.06,
                     "share_moe_gain": 0.8})
    text = cc.order_summary_markdown(row, row, 2, 1, "true→pred")
    assert text.startswith("Best order on validation (true [M/H]): 2, ΔR² 0.05")
    assert "(true→pred, order 1)" in text and "80% of the 9-bin gain" in text
    table = pd.DataFrame({"m": ["true", "true", "pred", "pred"], "order": [0, 1, 0, 1],
                          "delta_r2": [0.0, 0.05, 0.0, 0.03],
                          "delta_r2_lo": [0.0, 0.04, 0.0, 0.01],
                          "delta_r2_hi": [0.0, 0.06, 0.0, 0.05]})
    fig = plots.delta_by_order(table, ref, references.LABEL, 0.06, 0.04, [0, 1])
    assert [tr.name for tr in fig.data] == ["m = true", "m = pred",
                                            f"true m, {references.LABEL}"]
    np.testing.assert_allclose(fig.data[1].error_y.array, [0.0, 0.02])
    assert fig.data[2].y[0] == 0.0
