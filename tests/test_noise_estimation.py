"""Accuracy tables of noise-level estimators (evaluation.noise_estimation)."""

from __future__ import annotations

import numpy as np

from moehelpers.evaluation import estimator_accuracy


def test_bias_scatter_and_nearest_level_accuracy() -> None:
    level = np.repeat([0.0, 0.5, 2.0], 4)
    exact = level.copy()
    off = level + np.tile([0.3, 0.3, -0.1, -0.1], 3)  # +0.3 routes 0.0 → 0.5 at level 0
    acc, overall = estimator_accuracy({"exact": exact, "off": off}, level, [0.0, 0.5, 2.0],
                                      [0.0, 0.5], {"exact": 1.0, "off": 0.5})
    a = acc.set_index(["estimator", "noise_level"])
    assert np.isclose(a.loc[("off", 0.5), "bias"], 0.1)
    assert np.isclose(a.loc[("off", 0.5), "sd"], 0.2)
    assert np.isclose(a.loc[("exact", 0.0), "robust_sd"], 0.0)
    assert a.loc[("off", 0.0), "nearest_accuracy"] == 0.5
    assert np.isnan(a.loc[("exact", 2.0), "nearest_accuracy"])
    assert not a.loc[("exact", 2.0), "seen_in_training"]
    assert overall["exact"] == {"r2": 1.0, "val_r2": 1.0, "nearest_accuracy": 1.0}
    assert overall["off"]["r2"] < 1.0 and overall["off"]["nearest_accuracy"] == 0.75
