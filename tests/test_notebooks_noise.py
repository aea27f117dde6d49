"""Records of the noise-conditioning pages (MVP-7.3 and the SNR estimation page).

The ``executed`` fixture (tests/conftest.py) runs every notebook once per session with the
tiny parameters of ``TINY`` in tests/test_notebooks.py.
"""

from __future__ import annotations

import math

import numpy as np

from moehelpers.records import store as results


def test_mvp7_3_record(executed: dict) -> None:
    rec = results.load_record("tiny", "MVP-7.3", runs_dir=executed["runs"])
    m, p = rec["metrics"], rec["params"]
    assert p["expert_noise_levels"] == [0.0, 0.5, 1.0] and p["orders"] == [1]
    assert p["pooled_train_rows"] == 3 * p["n_train"] and p["seed"] == 42
    tab = results.table(rec, "by_level")
    assert set(tab["model"]) == {"expert", "mixed", "cond1 (true n)", "cond1 (n̂)"}
    assert (tab["n"] == p["n_test"]).all()  # every model on the same test stars
    assert ((tab["r2_lo"] <= tab["r2"]) & (tab["r2"] <= tab["r2_hi"])).all()
    exp = tab[tab["model"] == "expert"].set_index("noise_level")["r2"]
    mix = tab[tab["model"] == "mixed"].set_index("noise_level")["r2"]
    assert np.allclose(tab["d_expert"], tab["r2"] - exp[tab["noise_level"]].to_numpy())
    assert np.allclose(tab["d_mixed"], tab["r2"] - mix[tab["noise_level"]].to_numpy())
    assert m["r2_expert"] == exp.tolist()
    assert math.isclose(m["mean_r2_cond1_true"], float(np.mean(m["r2_cond1_true"])))
    v = rec["verdicts"]
    assert {"H-C", "H-C_anomaly_vs_mixed", "H-C_anomaly_vs_expert", "stop_loss",
            "H-C_deployable", "deployable_beats_mixed"} <= set(v)
    assert v["H-C"]["threshold"] == -0.01
    assert math.isclose(v["H-C"]["value"], m["dR2_vs_expert_cond1_true"])
    row = tab[(tab["model"] == "cond1 (true n)") & np.isclose(tab["noise_level"], 0.5)]
    assert math.isclose(v["H-C_anomaly_vs_mixed"]["value"], float(row["d_mixed"].iloc[0]))
    n_hat = results.table(rec, "n_hat")
    assert n_hat["noise_level"].tolist() == [0.0, 0.5, 1.0] and (n_hat["n_hat_mean"] >= 0).all()


def test_snr_estimation_record(executed: dict) -> None:
    rec = results.load_record("tiny", "BEYOND-SNR", runs_dir=executed["runs"])
    m, p = rec["metrics"], rec["params"]
    acc = results.table(rec, "accuracy")
    levels = sorted({*p["expert_noise_levels"], *p["unseen_levels"]})
    assert m["test_levels"] == levels
    assert set(acc["estimator"]) == {"der_snr", "learned"} and len(acc) == 2 * len(levels)
    assert np.allclose(acc["bias"], acc["mean"] - acc["noise_level"])
    seen = acc[acc["seen_in_training"]]
    assert seen["nearest_accuracy"].between(0, 1).all()
    assert acc.loc[~acc["seen_in_training"], "nearest_accuracy"].isna().all()
    snr = results.table(rec, "der_snr_vs_true")
    assert 0.0 not in snr["noise_level"].tolist()  # SNR is infinite at level 0
    # DER_SNR of the noisy flux follows the true per-star SNR (it is a noise measurement)
    assert (snr["corr_log"] > 0.5).all()
    assert {"der_snr_tracks_true_snr", "level_routing", "learned_beats_der"} <= set(rec["verdicts"])


def test_combined_gate_record(executed: dict) -> None:
    rec = results.load_record("tiny", "BEYOND-GATE", runs_dir=executed["runs"])
    m, p = rec["metrics"], rec["params"]
    tab = results.table(rec, "by_level")
    names = {"global", "MoE-1", "MoE-2 (true n)", "MoE-2 (n̂)", "combined (true n)",
             "combined (n̂)"}
    if p["with_conditional"]:
        names |= {"conditional m,n (true n)", "conditional m,n (n̂)"}
    assert set(tab["model"]) == names
    assert (tab["n"] == p["n_test"]).all() and sorted(set(tab["noise_level"])) == [0.0, 0.5, 1.0]
    g = tab[tab["model"] == "global"].set_index("noise_level")["r2"]
    assert np.allclose(tab["d_global"], tab["r2"] - g[tab["noise_level"]].to_numpy())
    for _, sel in tab.groupby("noise_level"):
        best = sel["best_single"].iloc[0]
        assert best in {"MoE-1", "MoE-2 (n̂)"}
        r = sel.set_index("model")["r2"]
        assert r[best] == max(r["MoE-1"], r["MoE-2 (n̂)"])
        assert np.allclose(sel["d_best_single"], sel["r2"] - r[best])
    v = rec["verdicts"]
    comb = tab[tab["model"] == "combined (n̂)"]
    assert math.isclose(v["combined_every_level"]["value"], float(comb["d_best_single"].min()))
    assert v["combined_every_level"]["threshold"] == 0.03
    assert m["n_experts_combined"] >= 1 and m["r2_global"] == g.tolist()
