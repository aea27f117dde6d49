"""Records of the Phase-6 notebooks (MVP-6.0 learned gate, MVP-6.1 NN-MoE), tiny run.

The ``executed`` fixture (tests/conftest.py) runs every notebook once per session with the
tiny parameters of ``TINY`` in tests/test_notebooks.py.
"""

from __future__ import annotations

import math

import numpy as np

from moehelpers.records import store as results

GATES = ["oracle", "pseudo", "logistic soft", "logistic hard", "mixture soft", "mixture hard"]


def test_mvp6_0_record(executed: dict) -> None:
    rec = results.load_record("tiny", "MVP-6.0", runs_dir=executed["runs"])
    m, p = rec["metrics"], rec["params"]
    assert p["gate_fraction"] == 0.3 and p["gate_split_seed"] == 0 and p["seed"] == 42
    # the gates trained on stars the experts never saw
    assert m["n_gate_train"] + m["n_expert_train"] == p["n_train"] == 300
    assert m["n_gate_train"] == 90
    gates = results.table(rec, "gates")
    assert gates["scheme"].unique().tolist() == ["physical 3×3", "[M/H]-only"]
    for scheme in ("physical 3×3", "[M/H]-only"):
        assert gates.loc[gates["scheme"] == scheme, "gate"].tolist() == GATES
    assert (gates["n"] == 100).all()  # every test star scored, uncovered ones included
    assert np.allclose(gates["delta_r2"], gates["r2"] - gates["r2_global"])
    assert (gates["delta_r2_lo"] <= gates["delta_r2"] + 1e-12).all()
    assert (gates["delta_r2"] <= gates["delta_r2_hi"] + 1e-12).all()
    for scheme in ("3x3", "mh"):
        r2 = m["r2"][scheme]
        gain = r2["oracle"] - m["r2_global"]
        if abs(gain) >= 1e-3:
            for g in GATES[1:]:
                assert math.isclose(m["retention"][scheme][g], (r2[g] - m["r2_global"]) / gain,
                                    rel_tol=1e-9)
        assert m["routing_accuracy"][scheme]["oracle"] == 1.0
        conf = np.asarray(m["confusion"][f"{scheme} logistic hard"])
        assert conf.sum() == 100
        assert math.isclose(np.trace(conf) / 100, m["routing_accuracy"][scheme]["logistic hard"])
        assert m["mixture_l2"][scheme] in p["mixture_l2"]
    gaps = results.table(rec, "gaps")
    row = gaps[(gaps["scheme"] == "physical 3×3") & (gaps["gate"] == "mixture soft")].iloc[0]
    assert math.isclose(row["delta_r2"], m["r2"]["3x3"]["mixture soft"] - m["r2"]["3x3"]["pseudo"])
    v = rec["verdicts"]
    assert v["learned_ge_pseudo_3x3"]["value"] == row["delta_r2"]
    assert v["learned_ge_pseudo_3x3"]["passed"] == (row["delta_r2"] >= 0)
    assert {"learned_ge_pseudo_mh", "learned_ge_pseudo_ci_3x3", "learned_ge_pseudo_ci_mh"} <= set(v)


def test_mvp6_1_record(executed: dict) -> None:
    rec = results.load_record("tiny", "MVP-6.1", runs_dir=executed["runs"])
    m, p = rec["metrics"], rec["params"]
    assert p["nn_seed"] == 0 and p["max_epochs"] == 2 and p["n_experts_list"] == [2]
    models = results.table(rec, "models")
    assert {"global Ridge", "global MLP", "piecewise Ridge 3×3 (oracle labels)",
            "piecewise Ridge 3×3 (pseudo labels)", "conditional Ridge (true [M/H])",
            "NN-MoE K=2, linear experts", "NN-MoE K=3, MLP experts",
            "NN-MoE K=3, linear, meta gate (Teff, [M/H], SNR)"} <= set(models["model"])
    assert (models["n"] == 100).all()
    ref = models.set_index("model").loc["piecewise Ridge 3×3 (oracle labels)"]
    assert ref["vs_piecewise"] == 0.0
    assert np.allclose(models["vs_piecewise"], models["r2"] - ref["r2"])
    fits = results.table(rec, "fits")
    assert (fits["epochs"] <= p["max_epochs"] + p["pretrain_epochs"]).all()
    assert (fits["best_epoch"] >= 1).all()
    assert m["best_spectral_k"] == 2 and m["on_cuda"] in (0, 1)
    assert "Ca II 8542 ew" in results.table(rec, "gate_features")["feature"].tolist()
    v = rec["verdicts"]
    meta = "NN-MoE K=3, linear, meta gate (Teff, [M/H], SNR)"
    assert math.isclose(v["nn_moe_meta_gt_piecewise"]["value"],
                        models.set_index("model").loc[meta, "vs_piecewise"])
    assert v["nn_moe_meta_gt_piecewise"]["op"] == ">"
    assert {"nn_moe_spectral_gt_piecewise", "nn_moe_gt_global_mlp"} <= set(v)


def test_mvp7_4_record(executed: dict) -> None:
    rec = results.load_record("tiny", "MVP-7.4", runs_dir=executed["runs"])
    m, p = rec["metrics"], rec["params"]
    assert p["equivalence_margin"] == 0.01 and p["gate_split_seed"] == 0
    models = results.table(rec, "models")
    assert (models["n"] == 100).all()
    assert np.allclose(models["delta_r2"], models["r2"] - models["r2_global"])
    r2 = m["r2"]
    gaps = results.table(rec, "gaps")
    assert math.isclose(gaps["delta_r2"].iloc[0], r2["window gate, soft multinomial"]
                        - r2["pseudo (predicted Teff, M/H)"])
    # the rules compare with Conditional Ridge++ (predicted labels), the document's model
    assert math.isclose(gaps["delta_r2"].iloc[1], r2["window gate, soft multinomial"]
                        - r2["Conditional Ridge++ (predicted Teff, M/H)"])
    assert p["pp_terms"] == ["m", "t", "m*t", "m^2", "t^2"] and m["pp_alpha"] in p["alphas"]
    conf = np.asarray(m["confusion"])
    # options: the experts (9 unless tiny bins were merged) + the global model
    assert conf.shape[0] == conf.shape[1] <= 10 and conf.sum() == 100
    v = rec["verdicts"]
    assert v["window_ge_pseudo"]["value"] == gaps["delta_r2"].iloc[0]
    assert v["window_clearly_above_conditional"]["value"] == gaps["delta_r2_lo"].iloc[1]
    assert v["stop_loss_window_equals_conditional"]["value"] == abs(gaps["delta_r2"].iloc[1])
    assert v["stop_loss_window_equals_conditional"]["threshold"] == 0.01
