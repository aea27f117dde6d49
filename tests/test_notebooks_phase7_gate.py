"""Records of the Phase-7 notebooks MVP-7.1 (gate noise) and MVP-7.2 (Conditional Ridge++).

The ``executed`` fixture (tests/conftest.py) runs every notebook once per session with the
tiny parameters of ``TINY`` in tests/test_notebooks.py.
"""

from __future__ import annotations

import math

import numpy as np

from moehelpers.records import store as results


def test_mvp7_1_record(executed: dict) -> None:
    rec = results.load_record("tiny", "MVP-7.1", runs_dir=executed["runs"])
    m, p = rec["metrics"], rec["params"]
    assert p["gate_sigmas"] == [0.0, 0.2, 1.0] and p["gate_repeats"] == 3
    assert p["gate_seeds"] == [p["gate_noise_seed"] + r for r in range(3)]
    assert m["sigmas"] == sorted({0.0, 0.2, 1.0, p["sigma_decision"]})
    runs = results.table(rec, "runs")
    assert len(runs) == 3 * len(m["sigmas"]) * 3  # models × σ × repeats
    summary = results.table(rec, "summary")
    for tag, name in (("hard9", "hard MoE, 9 bins"), ("cond", "conditional Ridge, order 1")):
        rows = summary[summary["model"] == name]
        assert rows["sigma"].tolist() == m["sigmas"]
        assert m[f"r2_{tag}"] == rows["r2"].tolist()
        assert math.isclose(m[f"r2_{tag}"][0], m[f"r2_clean_{tag}"])  # σ = 0: no noise
        assert math.isclose(m[f"retention_{tag}"][0], 1.0)
        gain = m[f"r2_clean_{tag}"] - m["r2_global"]
        for r2, rho in zip(m[f"r2_{tag}"], m[f"retention_{tag}"], strict=True):
            assert math.isclose(rho, (r2 - m["r2_global"]) / gain, rel_tol=1e-9)
        assert (rows["r2_min"] <= rows["r2"] + 1e-12).all()
        assert (rows["r2"] <= rows["r2_max"] + 1e-12).all()
        sel = runs[(runs["model"] == name) & (runs["sigma"] == 1.0)]
        assert math.isclose(sel["r2"].mean(), m[f"r2_{tag}"][m["sigmas"].index(1.0)])
    v = rec["verdicts"]
    assert {"H-A1_conditional_keeps", "H-A1_hard_collapses", "H-A1_conditional_more_tolerant",
            "real_gate_conditional_better",
            "stop_loss_both_collapse"} <= set(v)
    assert v["H-A1_conditional_keeps"]["value"] == m["decision_retention_cond"]
    assert v["H-A1_conditional_keeps"]["threshold"] == p["keep_low"] == 0.6
    assert v["H-A1_hard_collapses"]["threshold"] == p["collapse_below"]
    assert rec["notes"]  # the decision in words
    assert 0 < m["sigma_real"] < 2 and np.isfinite(m["real_retention_cond"])
    assert m["real_delta_r2_lo"] <= m["real_delta_r2"] <= m["real_delta_r2_hi"]
    assert v["real_gate_conditional_better"]["value"] == m["real_delta_r2_lo"]


def test_mvp7_2_record(executed: dict) -> None:
    rec = results.load_record("tiny", "MVP-7.2", runs_dir=executed["runs"])
    m, p = rec["metrics"], rec["params"]
    assert p["pixel_bin"] == 16 and p["share_threshold"] == 0.9 and p["teff_threshold"] == 0.01
    assert p["pp_steps"] == ["m", "m, t", "m, t, m*t", "m, t, m*t, m^2, t^2"]
    assert m["n_gram_passes"] == 15  # distinct monomials m^i t^j of the last step
    steps = results.table(rec, "steps")
    assert steps["K"].tolist() == [1, 2, 3, 5] and steps["step"].tolist() == [0, 1, 2, 3]
    assert np.allclose(steps["delta_r2"], steps["r2"] - m["r2_global"])
    gain_moe = m["r2_moe"] - m["r2_global"]
    assert math.isclose(m["delta_moe"], gain_moe, rel_tol=1e-9)
    assert np.allclose(steps["share_moe_gain"], steps["delta_r2"] / gain_moe)
    assert np.allclose(steps["minus_moe"], steps["r2"] - m["r2_moe"])
    assert np.allclose(steps["step_gain"].iloc[1:], np.diff(steps["r2"]))
    assert m["best_step"] == int(np.argmax(steps["r2_val"]))  # chosen on validation
    assert math.isclose(m["teff_gain"], steps["r2"].iloc[2] - steps["r2"].iloc[0])
    assert m["teff_gain_lo"] <= m["teff_gain"] <= m["teff_gain_hi"]
    assert set(steps["alpha"]) <= set(p["alphas"])
    v = rec["verdicts"]
    assert v["MVP-7.2_share"]["value"] == m["share_moe_gain"][m["best_step"]]
    assert v["stop_loss_teff"]["value"] == m["teff_gain"]
    assert v["MVP-7.2_coverage"]["passed"] is True
    assert len(results.table(rec, "deploy")) == 3
