"""Records of the Phase-1 notebooks (MVP-1.0, MVP-1.1), from the tiny papermill run.

The ``executed`` fixture (tests/conftest.py) runs every notebook once per session with the
tiny parameters of ``TINY`` in tests/test_notebooks.py.
"""

from __future__ import annotations

import math

import numpy as np

from moehelpers.records import store as results


def test_mvp1_0_record(executed: dict) -> None:
    rec = results.load_record("tiny", "MVP-1.0", runs_dir=executed["runs"])
    m, p = rec["metrics"], rec["params"]
    assert p["seed"] == 42 and p["boot_seed"] == 0 and p["n_train"] == 300
    assert p["min_bin_train"] == 20 and p["min_bin_val"] == 5 and p["noise_level"] == 0.2
    assert abs(m["delta_r2"] - (m["r2_moe_covered"] - m["r2_global_covered"])) < 1e-12
    assert m["delta_lo"] <= m["delta_hi"]
    assert 0 < m["coverage"] <= 1 and 1 <= m["n_experts"] <= 9
    assert len(m["alpha_experts"]) == m["n_experts"]
    assert all(a in p["alphas"] for a in [m["alpha_global"], *m["alpha_experts"]])
    per_bin = results.table(rec, "per_bin")
    assert per_bin["bin"].tolist() == list(range(9))
    assert per_bin["n_test"].sum() == m["n_covered"]
    assert np.allclose(per_bin["delta_r2"], per_bin["r2_expert"] - per_bin["r2_global"],
                       equal_nan=True)
    assert set(per_bin["alpha_from"]) <= {"bin", "global"}
    assert {"H1.2", "H1.2_ci", "H1.1", "Q3", "alpha_interior"} <= set(rec["verdicts"])
    assert rec["verdicts"]["H1.2"]["value"] == m["delta_r2"]
    assert rec["verdicts"]["H1.2"]["threshold"] == 0.03
    assert "generator" in rec["dataset"]


def test_mvp1_1_record(executed: dict) -> None:
    rec = results.load_record("tiny", "MVP-1.1", runs_dir=executed["runs"])
    m, p = rec["metrics"], rec["params"]
    assert p["seeds"] == [42, 123] and p["ablate_all"] is False and p["boot_seed"] == 0
    per_seed = results.table(rec, "per_seed")
    assert per_seed["seed"].tolist() == [42, 123]
    assert m["per_seed_delta_r2"] == per_seed["delta_r2"].tolist()
    assert m["delta_r2"] == m["per_seed_delta_r2"][0]
    assert math.isclose(m["seeds_mean"], float(np.mean(m["per_seed_delta_r2"])))
    assert math.isclose(m["seeds_sd"], float(np.std(m["per_seed_delta_r2"], ddof=1)))
    assert abs(m["delta_r2"] - (m["r2_moe"] - m["r2_global"])) < 1e-12
    first = per_seed.iloc[0]
    # mask-aligned vs misaligned: the same piecewise R², the global one on other stars
    assert math.isclose(m["delta_misaligned"], first["r2_moe"] - first["r2_global_all"])
    # ablation at the first seed only (ablate_all False): shares of the 9-bin gain
    assert math.isclose(m["share_mh_only"], first["delta_mh_only"] / first["delta_r2"])
    assert math.isclose(m["share_teff_only"], first["delta_teff_only"] / first["delta_r2"])
    assert np.isnan(per_seed["delta_mh_only"].iloc[1])
    assert math.isclose(m["delta_fallback"], first["delta_fallback"])
    assert first["n_covered"] < first["n_test"] == 100
    assert {"H1.2", "H1.2_ci", "H1.2_seeds", "seeds_positive", "fallback",
            "mh_dominates"} <= set(rec["verdicts"])
    assert rec["dataset"]["resplit_seeds"] == [42, 123] and "generator" in rec["dataset"]
