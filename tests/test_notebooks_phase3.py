"""Records of the Phase-3 notebooks (MVP-3.0, 3.1, 3.2), from the tiny papermill run.

The ``executed`` fixture (tests/conftest.py) runs every notebook once per session with the
tiny parameters of ``TINY`` in tests/test_notebooks.py.
"""

from __future__ import annotations

import math

import numpy as np

from moehelpers.records import store as results


def test_mvp3_0_record(executed: dict) -> None:
    rec = results.load_record("tiny", "MVP-3.0", runs_dir=executed["runs"])
    m, p = rec["metrics"], rec["params"]
    assert p["ks"] == [2, 3, 4, 5, 6] and p["min_test"] == 30
    assert p["seed"] == 42 and p["boot_seed"] == 0 and p["n_test"] == 100
    assert m["ks"] == p["ks"] and m["n_test_scored"] == 100  # every test star is scored
    assert all(1 <= nb <= k for nb, k in zip(m["n_bins"], m["ks"], strict=True))
    assert all(lo <= d <= hi for d, lo, hi in zip(m["delta_r2"], m["delta_lo"], m["delta_hi"],
                                                  strict=True))
    assert m["best_k"] == m["ks"][int(np.argmax(m["r2_val"]))]  # K chosen on validation
    by_k = results.table(rec, "by_k")
    assert np.allclose(by_k["delta_r2"], by_k["r2_moe"] - by_k["r2_global"])
    per_bin = results.table(rec, "per_bin")
    for k, nb in zip(m["ks"], m["n_bins"], strict=True):
        rows = per_bin[per_bin["K"] == k]
        assert len(rows) == nb and rows["n_test"].sum() == 100  # 100% coverage per K
        assert rows["n_test"].min() >= p["min_test"] or nb == 1  # merged to ≥ min_test
    assert rec["verdicts"]["coverage"]["passed"] is True
    assert {"H2.1", "H2.1_ci", "Q6", "best_k_gain"} <= set(rec["verdicts"])
    assert rec["verdicts"]["H2.1"]["value"] == m["best_minus_physical"]


def test_mvp3_1_record(executed: dict) -> None:
    rec = results.load_record("tiny", "MVP-3.1", runs_dir=executed["runs"])
    m, p = rec["metrics"], rec["params"]
    assert p["gate_ks"] == [2, 3] and p["seed"] == 42 and p["boot_seed"] == 0
    table = results.table(rec, "retention")
    assert table["scheme"].tolist() == ["quantile K=2", "quantile K=3", "physical [M/H] edges"]
    assert (table["n"] == 100).all()
    for _, r in table.iterrows():
        gain_p, gain_o = r["r2_pseudo"] - r["r2_global"], r["r2_oracle"] - r["r2_global"]
        if abs(gain_o) >= 1e-3:
            assert math.isclose(r["retention"], gain_p / gain_o, rel_tol=1e-9)
        assert (r["gain_oracle"] > 0) == np.isfinite(r["retention_judged"]) or \
            not np.isfinite(r["retention"])
    assert m["retention"] == table["retention"].tolist()
    for name, conf in m["confusion"].items():
        c = np.asarray(conf)
        assert c.sum() == 100, name
    assert 0 <= min(m["misrouted"]) and max(m["misrouted"]) <= 1
    errors = results.table(rec, "routing_errors")
    assert set(errors["label"]) == {"true [M/H]", "Teff"}
    assert (errors.groupby(["scheme", "label"])["n"].sum() == 100).all()
    assert {"H2.2", "gate_bottleneck", "oracle_gain"} <= set(rec["verdicts"])
    assert rec["verdicts"]["H2.2"]["threshold"] == 0.7
    assert rec["verdicts"]["gate_bottleneck"]["threshold"] == 0.5
    assert -1 < m["mh_r2"] <= 1 and m["mh_alpha"] in p["alphas"]


def test_mvp3_2_record(executed: dict) -> None:
    rec = results.load_record("tiny", "MVP-3.2", runs_dir=executed["runs"])
    m, p = rec["metrics"], rec["params"]
    assert p["orders"] == [0, 1, 2] and p["fit_on_predicted"] is True
    assert p["seed"] == 42 and p["delta_threshold"] == 0.04
    table = results.table(rec, "by_order")
    assert table["m"].unique().tolist() == ["true", "true→pred", "pred"]
    base = table[table["order"] == 0]
    assert np.allclose(base["r2"], m["r2_global"]) and np.allclose(base["delta_r2"], 0)
    assert np.allclose(table["delta_r2"], table["r2"] - m["r2_global"])
    assert m["r2_true"] == table.loc[table["m"] == "true", "r2"].tolist()
    if m["delta_moe_all"] > 0:
        assert np.allclose(table["share_moe_gain"], table["delta_r2"] / m["delta_moe_all"])
    assert math.isclose(m["delta_moe_all"], m["r2_moe_all"] - m["r2_global"])
    assert set(table["alpha"]) <= set(p["alphas"])
    v = rec["verdicts"]
    assert {"Q8", "Q8_ci", "H2.3", "Q8_predicted"} <= set(v)
    best = m["best_order_true"]
    assert v["Q8"]["value"] == m["delta_r2_true"][p["orders"].index(best)]
    assert v["Q8"]["threshold"] == 0.04
