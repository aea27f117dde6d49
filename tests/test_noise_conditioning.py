"""Continuous noise conditioning (MVP-7.3): conditional Ridge from per-level Grams."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from test_noise_experts import ALPHAS, _splits

from moehelpers.data.snr import NoiseLevelEstimator
from moehelpers.data.splits import noisy_splits
from moehelpers.engine.ridge import RidgeStats
from moehelpers.errors import InvalidParameterError
from moehelpers.models import dr2_columns, model_key, n_hat_table
from moehelpers.models.conditional import ConditionalRidge
from moehelpers.models.noise_conditioning import NoiseConditionedRidge, scaled_stats, score_levels


def test_scaled_stats_equal_weighted_stats() -> None:
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(30, 4)), rng.normal(size=30)
    s = scaled_stats(RidgeStats.from_data(x, y), -0.7)
    ref = RidgeStats.from_data(x, y, np.full(30, -0.7), shift=s.shift)
    assert np.allclose(s.gram, ref.gram) and np.allclose(s.xty, ref.xty)
    assert np.isclose(s.n, ref.n) and np.allclose(s.sum_u, ref.sum_u)


@pytest.mark.parametrize("order", [1, 2])
def test_conditional_from_level_grams_equals_stacked_fit(order: int) -> None:
    splits = _splits(n_train=120, n_val=40, n_test=40, p=10, seed=3)
    levels = [0.0, 0.3, 1.0]
    model = NoiseConditionedRidge(levels, alphas=ALPHAS, seed=5, orders=[order],
                                  alpha_search="grid").fit(splits)
    noisy = [noisy_splits(splits, lv, 5, which=("train", "val")) for lv in levels]
    x_tr = np.vstack([d["train"] for d in noisy])
    x_val = np.vstack([d["val"] for d in noisy])
    n_tr, n_val = np.repeat(levels, 120), np.repeat(levels, 40)
    ref = ConditionalRidge(order, ALPHAS, condition="noise_level").fit(
        x_tr, np.tile(splits.train.y, 3), n_tr, x_val, np.tile(splits.val.y, 3), n_val)
    got = model.conditional_[order]
    assert got.alpha_ == ref.alpha_
    assert np.isclose(got.m_mean_, ref.m_mean_) and np.isclose(got.m_scale_, ref.m_scale_)
    assert np.allclose(got.coef_, ref.coef_, rtol=1e-6, atol=1e-8)
    assert np.allclose(model.predict_conditional(x_val, n_val, order), ref.predict(x_val, n_val))


def test_scores_compare_on_the_same_stars() -> None:
    splits = _splits(n_train=300, n_val=100, n_test=150, p=20, seed=1)
    model = NoiseConditionedRidge([0.0, 0.5, 1.0], alphas=ALPHAS, seed=2, orders=[1, 2],
                                  estimator=NoiseLevelEstimator("der_snr"),
                                  estimator_rows=100).fit(splits)
    sc = score_levels(model, splits, n_boot=100, seed=0)
    tab = sc.table
    assert set(tab["model"]) == {"expert", "mixed", "cond1 (true n)", "cond2 (true n)",
                                 "cond1 (n̂)", "cond2 (n̂)"}
    assert (tab["n"] == 150).all()
    exp = tab[tab["model"] == "expert"].set_index("noise_level")["r2"]
    for _, row in tab.iterrows():
        assert np.isclose(row["d_expert"], row["r2"] - exp[row["noise_level"]])
        assert row["r2_lo"] <= row["r2"] <= row["r2_hi"]
    assert np.allclose(tab.loc[tab["model"] == "expert", "d_expert"], 0)
    means = sc.means.set_index("model")
    assert np.isclose(means.loc["mixed", "d_expert"], -means.loc["expert", "d_mixed"])
    assert set(sc.n_hat) == {0.0, 0.5, 1.0} and all(v.size == 150 for v in sc.n_hat.values())
    assert all((v >= 0).all() for v in sc.n_hat.values())  # (accuracy: tests/test_snr.py)
    x = noisy_splits(splits, 0.5, 2, which=("test",))["test"]
    assert np.allclose(sc.preds[(0.5, "cond1 (n̂)")],
                       model.predict_conditional(x, model.estimator_.predict(x), 1))
    # record helpers: n̂ summary, per-model metrics, validation R² per order
    nh = sc.n_hat_table().set_index("noise_level")
    assert np.isclose(nh.loc[0.5, "n_hat_mean"], sc.n_hat[0.5].mean())
    assert np.isclose(nh.loc[1.0, "bias"], sc.n_hat[1.0].mean() - 1.0)
    m = sc.model_metrics()
    assert m["r2_cond2_hat"] == tab.loc[tab["model"] == "cond2 (n̂)", "r2"].tolist()
    assert np.isclose(m["dR2_vs_mixed_expert"], means.loc["expert", "d_mixed"])
    assert len(m) == 6 + 3 * 6
    val = model.val_r2_by_order()
    assert set(val) == {1, 2}
    assert val[1] == pytest.approx(np.nanmax(model.conditional_[1].val_scores_))


def test_parameters_are_checked() -> None:
    splits = _splits(n_train=50, n_val=20, n_test=20, p=6)
    with pytest.raises(InvalidParameterError, match="orders"):
        NoiseConditionedRidge([0.0, 1.0], orders=[3]).fit(splits)
    with pytest.raises(InvalidParameterError, match="two"):
        NoiseConditionedRidge([0.5], alphas=1.0).fit(splits)
    model = NoiseConditionedRidge([0.0, 1.0], alphas=ALPHAS, orders=[1]).fit(splits)
    with pytest.raises(InvalidParameterError, match="order"):
        model.predict_conditional(splits.test.flux, 0.5, 2)


def test_record_names() -> None:
    assert model_key("cond1 (true n)") == "cond1_true"
    assert model_key("cond2 (n̂)") == "cond2_hat"
    assert model_key("mixed") == "mixed"
    frame = pd.DataFrame({"model": ["a"], "r2": [1.0], "d_expert_lo": [0.1], "d_mixed": [0.2]})
    assert list(dr2_columns(frame)) == ["model", "r2", "dR2_vs_expert_lo", "dR2_vs_mixed"]
    assert model_key("MoE-2 (n̂)") == "MoE2_hat"
    assert model_key("conditional m,n (true n)") == "conditional_mn_true"


def test_n_hat_table_columns_and_values() -> None:
    n_hat = {0.5: np.array([0.4, 0.6, 0.8])}
    full = n_hat_table(n_hat)
    assert list(full) == ["noise_level", "n_hat_mean", "n_hat_median", "n_hat_sd", "bias"]
    assert np.allclose(full.iloc[0, 1:].to_numpy(dtype=float),
                       [0.6, 0.6, np.std([0.4, 0.6, 0.8]), 0.1])
    assert list(n_hat_table(n_hat, ("n_hat_sd",))) == ["noise_level", "n_hat_sd"]
    with pytest.raises(InvalidParameterError, match="unknown"):
        n_hat_table(n_hat, ("mode",))
