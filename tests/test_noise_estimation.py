"""Accuracy tables of noise-level estimators (evaluation.noise_estimation)."""

from __future__ import annotations

import numpy as np

from moehelpers.data.snr import noise_features
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


def _splits():
    from conftest import random_spectraset

    from moehelpers.data.splits import Splits

    return Splits(**{s: random_spectraset(n, 64, seed=k) for k, (s, n) in
                     enumerate((("train", 40), ("val", 20), ("test", 15)))})


def test_estimate_levels_trains_on_training_levels_and_tests_on_all() -> None:
    from moehelpers.data.snr import NoiseLevelEstimator, der_snr
    from moehelpers.data.splits import noisy_splits
    from moehelpers.evaluation import estimate_levels

    splits = _splits()
    out = estimate_levels(splits, [0.0, 1.0], [0.0, 0.5, 1.0], 3)
    assert list(out.estimators) == ["der_snr", "learned"]
    assert out.level.tolist() == [0.0] * 15 + [0.5] * 15 + [1.0] * 15
    assert all(v.shape == (45,) and (v >= 0).all() for v in out.n_hat.values())
    test_half = noisy_splits(splits, 0.5, 3, which=("test",))["test"]
    assert np.array_equal(out.nsr[15:30], 1.0 / der_snr(test_half))
    # the unseen level 0.5 never enters training: the same fit from levels 0 and 1 alone
    noisy = [noisy_splits(splits, lv, 3) for lv in (0.0, 1.0)]
    ref = NoiseLevelEstimator("learned").fit_features(
        np.vstack([noise_features(n["train"]) for n in noisy]), np.repeat([0.0, 1.0], 40),
        np.vstack([noise_features(n["val"]) for n in noisy]), np.repeat([0.0, 1.0], 20))
    assert out.estimators["learned"].alpha_ == ref.alpha_
    assert np.allclose(out.n_hat["learned"][15:30], ref.predict(test_half))


def test_der_snr_vs_true_ratios_per_level_skip_level_zero() -> None:
    from moehelpers.evaluation import der_snr_vs_true

    test = _splits().test
    level = np.repeat([0.0, 0.5, 1.0], 15)
    true = {lv: test.snr_pixel(lv) for lv in (0.5, 1.0)}
    est = np.concatenate([np.full(15, 1e6), 2.0 * true[0.5], true[1.0]])  # 2× too high at 0.5
    tab, points = der_snr_vs_true(test, 1.0 / est, level, [0.0, 0.5, 1.0])
    assert tab["noise_level"].tolist() == [0.5, 1.0]
    assert np.allclose(tab["median_ratio"], [2.0, 1.0])
    assert np.allclose(tab["ratio_p16"], [2.0, 1.0]) and np.allclose(tab["corr_log"], 1.0)
    assert np.isclose(tab.loc[0, "der_snr_median"], 2.0 * np.median(true[0.5]))
    assert [p[0] for p in points] == [0.5, 1.0] and np.allclose(points[1][1], true[1.0])
