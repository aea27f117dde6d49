"""Paired-comparison tables (evaluation.compare) and conditional-model scoring
(evaluation.conditional): the columns name the bootstrap results they come from."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from moehelpers.evaluation import compare, conditional
from moehelpers.metrics import paired_bootstrap, retention

KW = {"n_boot": 50, "seed": 3}


def _preds(n: int = 200):
    rng = np.random.default_rng(0)
    y = rng.normal(size=n)
    return y, {name: y + s * rng.normal(size=n)
               for name, s in (("good", 0.2), ("mid", 0.5), ("bad", 1.0))}


def test_delta_and_gap_tables_match_paired_bootstrap() -> None:
    y, p = _preds()
    d = paired_bootstrap(y, p["good"], p["bad"], **KW)
    assert compare.delta_row(y, p["good"], p["bad"], **KW) == {
        "r2": d.score_a, "delta_r2": d.difference, "delta_r2_lo": d.ci_low,
        "delta_r2_hi": d.ci_high}
    t = compare.delta_table(y, [("a", p["good"]), ("a", p["mid"])], p["bad"], label="model",
                            **KW)
    assert list(t.columns) == ["model", "r2", "delta_r2", "delta_r2_lo", "delta_r2_hi"]
    assert t["model"].tolist() == ["a", "a"] and t["delta_r2"].iloc[0] == d.difference
    gaps = compare.gap_table(y, p, [("good", "mid"), ("bad", "good")], **KW)
    assert gaps["gap"].tolist() == ["good − mid", "bad − good"]
    assert gaps["delta_r2"].iloc[0] > 0 > gaps["delta_r2"].iloc[1]
    assert (gaps["delta_r2_lo"] <= gaps["delta_r2"]).all()
    assert (gaps["delta_r2"] <= gaps["delta_r2_hi"]).all()
    r = retention(y, p["mid"], p["bad"], p["good"], **KW)
    assert compare.ci_columns("rho", r) == {"rho": r.rho, "rho_lo": r.ci_low,
                                            "rho_hi": r.ci_high}


def test_row_shares_normalise_rows_and_keep_empty_rows_zero() -> None:
    shares = compare.row_shares(pd.DataFrame([[1, 3], [0, 0]]))
    np.testing.assert_array_equal(shares, [[0.25, 0.75], [0.0, 0.0]])


def test_step_table_scores_each_step_against_global_moe_and_previous() -> None:
    y, p = _preds()
    models = [SimpleNamespace(terms_=["m"], alpha_=1.0, val_scores_=np.array([0.1, np.nan])),
              SimpleNamespace(terms_=["m", "t"], alpha_=10.0,
                              val_scores_=np.array([np.nan, 0.3]))]
    preds = [p["mid"], p["good"]]
    t = conditional.step_table(y, models, ["s0", "s1"], preds, p["bad"], p["good"], **KW)
    assert t["step"].tolist() == [0, 1] and t["K"].tolist() == [1, 2]
    assert t["r2_val"].tolist() == [0.1, 0.3]
    assert conditional.best_by_validation(models) == 1
    step1 = paired_bootstrap(y, p["good"], p["mid"], **KW)
    assert t["step_gain"].iloc[1] == step1.difference
    assert t["step_gain"].iloc[0] == t["delta_r2"].iloc[0]  # step 0: over the global Ridge
    assert t["share_moe_gain"].iloc[1] == pytest.approx(1.0)  # the MoE's own predictions
    assert t["minus_moe"].iloc[1] == 0.0


def test_order_table_rows_shares_and_reference_column() -> None:
    y, p = _preds()
    covered = np.arange(y.size) < 150
    m0 = SimpleNamespace(alpha_=1.0, val_scores_=np.array([0.2]))
    m1 = SimpleNamespace(alpha_=0.1, val_scores_=np.array([0.5, np.nan]))
    preds = {("true", 0): p["bad"], ("true", 1): p["mid"], ("true→pred", 0): p["bad"],
             ("true→pred", 1): p["good"]}
    fitted = {("true", 0): m0, ("true", 1): m1, ("true→pred", 0): m0, ("true→pred", 1): m1}
    moe_all = paired_bootstrap(y, p["good"], p["bad"], **KW)
    moe_cov = paired_bootstrap(y, p["good"], p["bad"], index=covered, **KW)
    t = conditional.order_table(y, preds, fitted, p["bad"], covered, moe_all, moe_cov,
                                reference={0: 0.8, 1: 0.9}, reference_column="ref", **KW)
    assert t["m"].tolist() == ["true", "true", "true→pred", "true→pred"]
    assert t["alpha"].tolist() == [1.0, 0.1, 1.0, 0.1] and t["r2_val"].iloc[1] == 0.5
    assert t["delta_r2"].iloc[0] == 0.0 and t["share_moe_gain"].iloc[3] == pytest.approx(1.0)
    assert t["share_moe_gain_covered"].iloc[3] == pytest.approx(1.0)
    assert t["ref"].iloc[:2].tolist() == [0.8, 0.9] and t["ref"].iloc[2:].isna().all()
    assert conditional.share_of_gain(0.01, 0.02) == 0.5
    assert np.isnan(conditional.share_of_gain(0.01, 0.0))


def test_best_order_picks_validation_best_first_on_ties_and_zero_without_orders() -> None:
    def m(score: float) -> SimpleNamespace:
        return SimpleNamespace(val_scores_=np.array([score, np.nan]))

    models = {("true", 0): m(0.9), ("true", 1): m(0.5), ("true", 2): m(0.7),
              ("pred", 1): m(0.6), ("pred", 2): m(0.6)}
    assert conditional.best_order(models, "true", [0, 1, 2]) == 2  # order 0 never competes
    assert conditional.best_order(models, "pred", [0, 1, 2]) == 1  # tie: the first order
    assert conditional.best_order(models, "true", [0]) == 0


def test_variant_predictions_share_the_baseline_and_use_each_variants_m() -> None:
    class Model:
        def __init__(self, k: float) -> None:
            self.k = k

        def predict(self, X, m):
            return self.k * X[:, 0] + m

    X = np.ones((3, 2))
    models = {("true", 0): Model(0.0), ("true", 1): Model(1.0), ("pred", 1): Model(2.0)}
    mh, mh_hat = {"test": np.array([1.0, 2.0, 3.0])}, {"test": np.array([10.0, 20.0, 30.0])}
    variants = {"true": ("true", mh), "true→pred": ("true", mh_hat), "pred": ("pred", mh_hat)}
    fitted, preds = conditional.variant_predictions(models, variants, [0, 1], X)
    assert list(fitted) == [(v, o) for v in variants for o in (0, 1)]
    assert all(fitted[(v, 0)] is models[("true", 0)] for v in variants)  # one baseline
    assert fitted[("true→pred", 1)] is models[("true", 1)]
    assert fitted[("pred", 1)] is models[("pred", 1)]
    np.testing.assert_array_equal(preds[("true", 1)], [2.0, 3.0, 4.0])
    np.testing.assert_array_equal(preds[("true→pred", 1)], [11.0, 21.0, 31.0])
    np.testing.assert_array_equal(preds[("pred", 1)], [12.0, 22.0, 32.0])


def test_order_row_selects_variant_and_order() -> None:
    t = pd.DataFrame({"m": ["true", "true", "pred"], "order": [0, 1, 1], "r2": [0.1, 0.2, 0.3]})
    assert conditional.order_row(t, "true", 1)["r2"] == 0.2
    assert conditional.order_row(t, "pred", 1)["r2"] == 0.3


def test_full_resolution_r2_is_the_validated_global_ridge_on_test() -> None:
    from moehelpers.engine.ridge import RidgeRegressor
    from moehelpers.metrics import r2

    rng = np.random.default_rng(1)
    X = {s: rng.normal(size=(n, 5)) for s, n in (("train", 80), ("val", 30), ("test", 40))}
    w = rng.normal(size=5)
    y = {s: X[s] @ w + 0.1 * rng.normal(size=len(X[s])) for s in X}
    alphas = [1e-3, 1.0, 100.0]
    ref = RidgeRegressor(alphas).fit(X["train"], y["train"], X["val"], y["val"])
    got = conditional.full_resolution_r2(X, y, alphas)
    assert got == float(r2(y["test"], ref.predict(X["test"]))) and got > 0.9
