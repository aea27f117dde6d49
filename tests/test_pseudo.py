"""Pseudo gating helpers: reused Gram, routing confusion and error tables."""

from __future__ import annotations

import numpy as np
import pandas as pd

from moehelpers.engine.ridge import RidgeRegressor, RidgeStats
from moehelpers.gates.pseudo import compare_gates, label_predictor, retarget, routing_errors
from moehelpers.models.bins import mh_only
from moehelpers.models.piecewise import PiecewiseRidge


def test_retarget_reuses_the_gram_and_matches_a_fresh_fit() -> None:
    rng = np.random.default_rng(0)
    X = (1 + 0.1 * rng.normal(size=(200, 5))).astype(np.float32)
    y, m = rng.normal(size=200), X @ np.arange(5.0) + 0.01 * rng.normal(size=200)
    stats = RidgeStats.from_data(X, y)
    again = retarget(stats, X, m, chunk_size=32)
    fresh = RidgeStats.from_data(X, m, shift=stats.shift)
    np.testing.assert_allclose(again.gram, stats.gram)
    np.testing.assert_allclose(again.xty, fresh.xty, atol=1e-9)
    reg = label_predictor(stats, X, m, X[:50], m[:50], [1e-3, 1.0])
    ref = RidgeRegressor([1e-3, 1.0]).fit(X, m, X[:50], m[:50])
    np.testing.assert_allclose(reg.coef_, ref.coef_, atol=1e-8)


def _mh_model(n: int = 900):
    """Stars whose relation changes at [M/H] = 0, and an [M/H]-binned model fitted on them."""
    rng = np.random.default_rng(1)
    lab = pd.DataFrame({"M_H": rng.uniform(-2.5, 0.5, n), "T_eff": 5000.0})
    X = rng.normal(size=(n, 4))
    y = X.sum(axis=1) * (1 + 2 * (lab["M_H"].to_numpy() > 0))
    model = PiecewiseRidge(mh_only(), [1e-3], min_bin_train=20).fit(X, y, lab)
    return rng, n, lab, X, y, model, model.global_.predict(X)


def test_compare_gates_perfect_prediction_keeps_all_the_gain() -> None:
    rng, n, lab, X, y, model, g = _mh_model()
    same = compare_gates("mh", model, X, y, lab, "M_H", lab["M_H"], g, n_boot=20, seed=0)
    assert abs(same.retention.rho - 1) < 1e-12 and not same.wrong.any()
    noisy = lab["M_H"] + rng.normal(0, 0.5, n)
    off = compare_gates("mh", model, X, y, lab, "M_H", noisy, g, n_boot=20, seed=0)
    assert off.retention.rho < 1 and off.wrong.any()
    conf = off.confusion
    assert conf.to_numpy().sum() == n and "uncovered" in conf.columns
    assert np.trace(conf.to_numpy()) == n - off.wrong.sum()  # one expert per bin here
    tab = routing_errors(off.wrong, lab["M_H"], [-np.inf, -1, 0, np.inf], "M_H",
                         extra=np.abs(noisy - lab["M_H"]))
    assert tab["n"].sum() == n and abs(tab["share_of_errors"].sum() - 1) < 1e-12
    assert set(off.row()) >= {"retention", "retention_lo", "retention_hi", "misrouted"}


def test_gate_table_and_reading_of_the_trio() -> None:
    from dataclasses import replace

    from moehelpers.gates.pseudo import gate_reading, gate_table
    from moehelpers.metrics import paired_bootstrap

    rng, n, lab, X, y, model, g = _mh_model()
    comps = {name: compare_gates(name, model, X, y, lab, "M_H", lab["M_H"] + s * rng.normal(
        size=n), g, n_boot=20, seed=0) for name, s in (("close", 0.05), ("far", 2.0))}
    oracle = comps["close"].pred_oracle
    t = gate_table(y, oracle, comps, g, oracle_name="oracle", n_boot=20, seed=0)
    assert t["gate"].tolist() == ["oracle", "close", "far"]
    assert t.loc[0, ["retention", "retention_lo", "retention_hi", "routing_accuracy"]].tolist() \
        == [1.0, 1.0, 1.0, 1.0]
    d = paired_bootstrap(y, comps["far"].pred_pseudo, g, n_boot=20, seed=0)
    assert t.loc[2, "delta_r2"] == d.difference and t.loc[2, "r2_global"] == d.score_b
    assert t.loc[1, "retention"] == comps["close"].retention.rho
    assert t.loc[2, "routing_accuracy"] == 1 - comps["far"].wrong.mean()
    assert gate_reading(comps["close"]).startswith("close to the oracle")
    assert gate_reading(comps["far"]).startswith("far from the oracle")
    mid = replace(comps["far"], retention=replace(comps["far"].retention, rho=0.6))
    assert gate_reading(mid).startswith("between the thresholds")
    lost = replace(comps["far"], retention=replace(comps["far"].retention, gain_oracle=-0.1))
    assert gate_reading(lost).startswith("not evaluable: the oracle")


def test_routing_error_table_stacks_schemes_and_labels() -> None:
    from moehelpers.gates.pseudo import routing_error_table

    mh = np.array([-2.0, -0.5, 0.2, 0.3])
    teff = np.array([4000.0, 5000.0, 6000.0, 6500.0])
    wrong = {"a": np.array([True, False, False, True]), "b": np.zeros(4, dtype=bool)}
    by = {"[M/H]": (mh, [-np.inf, 0, np.inf]), "Teff": (teff, [-np.inf, 5500, np.inf])}
    t = routing_error_table(wrong, by, extra=np.arange(4.0), extra_name="err")
    assert list(t.columns[:3]) == ["scheme", "label", "interval"] and "err" in t.columns
    assert t["scheme"].tolist() == ["a"] * 4 + ["b"] * 4
    assert t["label"].tolist() == ["[M/H]", "[M/H]", "Teff", "Teff"] * 2
    expect = routing_errors(wrong["a"], teff, [-np.inf, 5500, np.inf], "interval",
                            extra=np.arange(4.0))
    got = t[(t["scheme"] == "a") & (t["label"] == "Teff")].reset_index(drop=True)
    pd.testing.assert_frame_equal(got[expect.columns.drop("mean_extra")],
                                  expect.drop(columns="mean_extra"))
    assert got["err"].tolist() == expect["mean_extra"].tolist()


def test_gate_comparison_reading_follows_the_decision_rule() -> None:
    from dataclasses import replace

    from moehelpers.gates.pseudo import GateComparison
    from moehelpers.metrics import RetentionResult

    base = RetentionResult(rho=0.8, ci_low=0.7, ci_high=0.9, ci=0.95, r2_gate=0.84,
                           r2_global=0.8, r2_oracle=0.85, gain_oracle=0.05, small_gain=False,
                           frac_small_gain=0.0, min_gain=1e-3, n=10, n_boot=20, seed=0,
                           index_digest="x", distribution=np.zeros(20))
    c = GateComparison("x", base, np.zeros(1), np.zeros(1), np.zeros(1, bool), pd.DataFrame())
    assert c.reading().startswith("deployable")
    assert replace(c, retention=replace(base, rho=0.3)).reading() == "the gate is the bottleneck"
    assert "inconclusive" in replace(c, retention=replace(base, rho=0.6)).reading()
    assert "not evaluable" in replace(c, retention=replace(base, rho=np.nan)).reading()
    assert "do not beat" in replace(c, retention=replace(base, gain_oracle=-0.01)).reading()
