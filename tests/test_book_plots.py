"""Figures of moehelpers.book.plots built from small tables (traces, not pixels)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from moehelpers.book import plots


def _levels_table() -> pd.DataFrame:
    rows = [{"noise_level": lv, "model": name, "r2": r, "r2_lo": r - 0.1, "r2_hi": r + 0.2}
            for name, base in (("expert", 0.9), ("mixed", 0.8)) for lv, r in
            ((0.0, base), (1.0, base - 0.5))]
    return pd.DataFrame(rows)


def test_level_curves_one_trace_per_model_with_asymmetric_bars() -> None:
    fig = plots.level_curves(_levels_table(), title="t",
                             dash=lambda n: "dash" if n == "mixed" else "solid")
    assert [t.name for t in fig.data] == ["expert", "mixed"]
    assert fig.data[1].line.color == "black" and fig.data[1].line.dash == "dash"
    assert fig.data[0].line.color == plots.COLORS[0]
    assert np.allclose(fig.data[0].error_y.array, 0.2)
    assert np.allclose(fig.data[0].error_y.arrayminus, 0.1)
    assert np.allclose(fig.layout.yaxis.range, [0.3 - 0.1 - 0.05, 1.02])


def test_level_curves_subset_offset_and_range() -> None:
    fig = plots.level_curves(_levels_table(), names=["expert"], color_offset=1, title="t",
                             yaxis_range=[0, 1])
    assert len(fig.data) == 1 and fig.data[0].line.color == plots.COLORS[1]
    assert tuple(fig.layout.yaxis.range) == (0, 1)


def test_n_hat_boxes_one_box_per_level_and_the_true_levels() -> None:
    fig = plots.n_hat_boxes({0.1: np.array([0.1, 0.2]), 0.5: np.array([0.4, 0.6])}, "t")
    assert [t.type for t in fig.data] == ["box", "box", "scatter"]
    assert list(fig.data[2].x) == ["0.1", "0.5"] and list(fig.data[2].y) == [0.1, 0.5]


def test_cross_noise_curves_one_line_per_expert_and_the_mixed_model() -> None:
    from types import SimpleNamespace

    cross = SimpleNamespace(train_levels=[0.0, 1.0], test_levels=[0.0, 1.0],
                            r2=np.array([[0.9, -5.0], [0.7, 0.6]]), r2_mixed=np.array([0.8, 0.5]))
    fig = plots.cross_noise_curves(cross, floor=-1.0)
    assert [t.name for t in fig.data] == ["expert 0", "expert 1", "mixed"]
    assert fig.data[2].line.dash == "dash"
    assert np.allclose(fig.layout.yaxis.range, [-1.5 - 0.05, 1.02])  # −5 is off-axis


def test_matched_delta_shows_only_known_references() -> None:
    tab = pd.DataFrame({"noise_level": [0.0, 0.3], "delta_r2": [0.1, 0.2],
                        "delta_lo": [0.0, 0.1], "delta_hi": [0.3, 0.4]})
    fig = plots.matched_delta(tab, pd.Series([0.05, np.nan]), "ref", 0.02)
    assert list(fig.data[1].x) == [0.0] and list(fig.data[1].y) == [0.05]
    assert np.allclose(fig.data[0].error_y.array, 0.2)


def test_alpha_paths_label_the_chosen_alpha() -> None:
    from types import SimpleNamespace

    est = SimpleNamespace(alphas_=np.array([1.0, 10.0]), val_scores_=np.array([0.5, np.nan]),
                          alpha_=1.0)
    fig = plots.alpha_paths({"expert 0": est, "mixed": est})
    assert [t.name for t in fig.data] == ["expert 0 (α = 1)", "mixed (α = 1)"]
    assert fig.data[1].line.color == "black"
    assert np.allclose(fig.layout.yaxis.range, [0.45, 1.02])


def test_estimator_boxes_group_by_true_level() -> None:
    level = np.array([0.1, 0.1, 0.5])
    fig = plots.estimator_boxes({"a": level, "b": level + 0.1}, level, [0.1, 0.5])
    assert [t.name for t in fig.data] == ["a", "b", "true level"]
    assert list(fig.data[0].x) == ["0.1", "0.1", "0.5"] and fig.layout.boxmode == "group"


def test_der_snr_scatter_has_a_one_to_one_line_over_the_true_range() -> None:
    pts = [(0.1, np.array([10.0, 20.0]), np.array([11.0, 19.0])),
           (0.5, np.array([2.0, 4.0]), np.array([2.5, 3.0]))]
    fig = plots.der_snr_scatter(pts)
    assert [t.name for t in fig.data] == ["n = 0.1", "n = 0.5", "1:1"]
    assert list(fig.data[2].x) == [2.0, 20.0] == list(fig.data[2].y)
