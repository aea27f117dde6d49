"""Models compared at several levels with the best single gate (evaluation.level_scores)."""

from __future__ import annotations

import numpy as np

from moehelpers.evaluation import compare_to_best_single
from moehelpers.metrics import r2


def test_best_single_is_chosen_per_level_and_differences_are_paired() -> None:
    rng = np.random.default_rng(0)
    y = rng.normal(size=200)
    good, bad = y + 0.1 * rng.normal(size=200), y + 1.0 * rng.normal(size=200)
    preds = {}
    for lv, (a, b) in {0.0: (good, bad), 1.0: (bad, good)}.items():
        preds.update({(lv, "global"): y + 2.0 * rng.normal(size=200), (lv, "A"): a,
                      (lv, "B"): b, (lv, "AB"): (a + b) / 2})
    tab, means = compare_to_best_single(y, preds, [0.0, 1.0], ["global", "A", "B", "AB"],
                                        candidates=("A", "B"), n_boot=200, seed=1)
    assert len(tab) == 8 and (tab["n"] == 200).all()
    assert tab.groupby("noise_level")["best_single"].first().to_dict() == {0.0: "A", 1.0: "B"}
    row = tab[(tab["noise_level"] == 1.0) & (tab["model"] == "AB")].iloc[0]
    assert np.isclose(row["r2"], r2(y, preds[(1.0, "AB")]))
    assert np.isclose(row["d_best_single"], row["r2"] - r2(y, good))
    assert np.isclose(row["d_global"], row["r2"] - r2(y, preds[(1.0, "global")]))
    assert row["d_best_single_lo"] <= row["d_best_single"] <= row["d_best_single_hi"]
    m = means.set_index("model")
    assert np.isclose(m.loc["A", "mean_r2"], tab.loc[tab["model"] == "A", "r2"].mean())
    assert m.loc["AB", "d_best_single_lo"] <= m.loc["AB", "d_best_single_hi"]


def test_r2_by_level_keeps_the_model_order() -> None:
    import pandas as pd

    from moehelpers.evaluation import r2_by_level

    tab = pd.DataFrame({"noise_level": [0.0, 0.0, 1.0, 1.0], "model": ["z", "a", "z", "a"],
                        "r2": [0.9, 0.8, 0.5, 0.4]})
    wide = r2_by_level(tab)
    assert list(wide.columns) == ["z", "a"] and wide.index.tolist() == [0.0, 1.0]
    assert wide.loc[1.0, "a"] == 0.4


class _Echo:
    """Stub model whose prediction says what it was routed with."""

    def __init__(self, tag: float) -> None:
        self.tag = tag
        self.global_ = self

    def predict(self, x, route=None):
        if route is None:
            return np.full(len(x), self.tag)
        if isinstance(route, dict):  # the conditional model: m and n per star
            return self.tag + route["n"]
        if hasattr(route, "columns"):  # a label frame (noise column for the combined gate)
            return self.tag + (route["noise"].to_numpy() if "noise" in route else np.zeros(len(x)))
        return self.tag + np.broadcast_to(route, (len(x),))


def test_combined_gate_predictions_route_by_true_n_and_by_n_hat() -> None:
    from conftest import random_spectraset

    from moehelpers.data.splits import Splits
    from moehelpers.evaluation import combined_gate_predictions

    splits = Splits(**{s: random_spectraset(6, 16, seed=k)
                       for k, s in enumerate(("train", "val", "test"))})

    class _Est:
        def predict(self, x):
            return np.full(len(x), 7.0)

    preds, n_hat = combined_gate_predictions(splits, [0.0, 0.5], 1, _Est(), moe1=_Echo(10.0),
                                             moe2=_Echo(20.0), combined=_Echo(30.0))
    assert sorted(n_hat) == [0.0, 0.5] and (n_hat[0.5] == 7.0).all()
    assert [k[1] for k in preds if k[0] == 0.5] == [
        "global", "MoE-1", "MoE-2 (true n)", "MoE-2 (n̂)", "combined (true n)", "combined (n̂)"]
    assert (preds[(0.5, "MoE-2 (true n)")] == 20.5).all()
    assert (preds[(0.5, "MoE-2 (n̂)")] == 27.0).all()
    assert (preds[(0.5, "combined (true n)")] == 30.5).all()
    assert (preds[(0.5, "combined (n̂)")] == 37.0).all() and (preds[(0.5, "MoE-1")] == 10).all()
    preds, _ = combined_gate_predictions(splits, [0.5], 1, _Est(), moe1=_Echo(10.0),
                                         moe2=_Echo(20.0), combined=_Echo(30.0),
                                         cond=_Echo(40.0))
    assert (preds[(0.5, "conditional m,n (true n)")] == 40.5).all()
    assert (preds[(0.5, "conditional m,n (n̂)")] == 47.0).all()
