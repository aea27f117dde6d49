"""Records of the Phase-4 and Phase-5 notebooks (MVP-4.0, MVP-5.0), from the tiny papermill run.

The ``executed`` fixture (tests/conftest.py) runs every notebook once per session with the
tiny parameters of ``TINY`` in tests/test_notebooks.py.
"""

from __future__ import annotations

import math

import numpy as np

from moehelpers.records import store as results
from moehelpers.records.references import ORIGINAL


def test_mvp4_0_record(executed: dict) -> None:
    rec = results.load_record("tiny", "MVP-4.0", runs_dir=executed["runs"])
    m, p = rec["metrics"], rec["params"]
    assert p["logg_edges"] == [1.0, 2.0, 3.0, 4.0, 5.0] and p["gate_components"] == 5
    assert p["seed"] == 42 and p["boot_seed"] == 0 and p["gate_seed"] == 0
    gates = results.table(rec, "gates")
    assert gates["gate"].tolist() == ["oracle (true log g)", "pseudo (ŷ global)",
                                      "learned (flux classifier)"]
    assert (gates["n"] == 100).all()  # every test star is scored by every gate
    assert np.allclose(gates["delta_r2"], gates["r2"] - gates["r2_global"])
    assert (gates["delta_r2_lo"] <= gates["delta_r2"]).all()
    assert (gates["delta_r2"] <= gates["delta_r2_hi"]).all()
    assert set(m["r2"]) == {"oracle", "pseudo", "learned"}  # keys are stored sorted
    gain_o = m["r2"]["oracle"] - m["r2_global"]
    for tag in ("pseudo", "learned"):
        gain = m["r2"][tag] - m["r2_global"]
        if abs(gain_o) >= 1e-3:
            assert math.isclose(m["retention"][tag], gain / gain_o, rel_tol=1e-9)
        assert 0 <= m["routing_accuracy"][tag] <= 1
        assert np.asarray(m["confusion"][tag]).sum() == 100
        conf = np.asarray(m["confusion"][tag])
        assert math.isclose(np.trace(conf) / 100, m["routing_accuracy"][tag])
    gaps = results.table(rec, "gaps")
    assert np.allclose(gaps["delta_r2"], [m["r2"]["oracle"] - m["r2"]["pseudo"],
                                          m["r2"]["oracle"] - m["r2"]["learned"],
                                          m["r2"]["pseudo"] - m["r2"]["learned"]])
    v = rec["verdicts"]
    assert {"oracle_gain", "gate_close_pseudo", "gate_bottleneck_pseudo", "gate_close_learned",
            "gate_bottleneck_learned"} <= set(v)
    assert v["gate_close_pseudo"]["threshold"] == 0.7
    assert v["gate_bottleneck_learned"]["threshold"] == 0.5
    assert v["oracle_gain"]["value"] == m["delta_r2"]["oracle"]


def test_mvp5_0_record(executed: dict) -> None:
    rec = results.load_record("tiny", "MVP-5.0", runs_dir=executed["runs"])
    m, p = rec["metrics"], rec["params"]
    assert p["top_k"] == 10 and p["seed"] == 42 and p["boot_seed"] == 0
    experts = results.table(rec, "experts")
    assert len(experts) == m["n_experts"] + 1 and experts["expert"].iloc[-1] == "global"
    share = experts["top-10 share"]
    assert ((share > 0) & (share <= 1)).all() and m["topk_share"] == share.tolist()
    assert set(experts["[M/H] group"]) <= {"metal-poor", "solar", "metal-rich", "mixed", "all"}
    imp = results.table(rec, "window_importance")
    assert set(imp["window"]) >= {"Ca II 8498", "Ca II 8542", "Ca II 8662", "Na I 8183",
                                  "Na I 8195", "Mg I 8806"}
    assert set(imp["species"]) == {"Ca II", "Na I", "Mg I", "Paschen", "TiO"}
    glob = imp[imp["expert"] == "global"].set_index("window")["ratio"]
    assert math.isclose(glob["Ca II 8498"], m["ca8498_ratio_global"])
    assert (imp["ratio"].dropna() >= 0).all()
    v = rec["verdicts"]
    assert {"poor_more_concentrated", "metal_lines_high_mh", "hydrogen_low_mh",
            "ca8498_above_mean"} <= set(v)
    assert v["ca8498_above_mean"]["value"] == m["ca8498_ratio_global"]
    if np.isfinite(m["topk_share_poor_mean"]) and np.isfinite(m["topk_share_rich_mean"]):
        assert math.isclose(m["concentration_difference"],
                            m["topk_share_poor_mean"] - m["topk_share_rich_mean"])
    assert ORIGINAL["mvp5.ca8498_ratio"] == 1.65
