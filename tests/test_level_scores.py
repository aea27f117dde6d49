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
