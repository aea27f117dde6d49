"""The noise-level pages' helpers (book.noise_pages): references, headlines, verdicts, metrics."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from moehelpers.book import noise_pages as page
from moehelpers.records import references

LABEL = references.LABEL


def _passed(verdicts):
    return {v["name"]: v["passed"] for v in verdicts}


def test_mvp2_reference_columns_prefix_and_missing_levels() -> None:
    cols = page.mvp2_reference_columns([0.5, 0.35], prefix="r2_")
    assert list(cols) == [f"r2_expert {LABEL}", f"r2_mixed {LABEL}"]
    assert cols[f"r2_expert {LABEL}"][0] == references.mvp2_by_noise("expert")[0.5]
    assert np.isnan(cols[f"r2_mixed {LABEL}"][1])
    assert list(page.mvp2_reference_columns([0.0])) == [f"expert {LABEL}", f"mixed {LABEL}"]


def test_level_headline_skips_unfitted_models_and_says_what_they_are_given() -> None:
    metrics = {"noise_levels": [0.0, 1.0], "r2_MoE1": [0.9, 0.5], "r2_MoE2_hat": [0.8, 0.4]}
    rows = page.level_headline(metrics, page.GATE_HEADLINE, page.gate_given)
    assert [(r["model"], r["noise_level"], r["r2"]) for r in rows] == [
        ("MoE-1 (Teff, [M/H])", 0.0, 0.9), ("MoE-1 (Teff, [M/H])", 1.0, 0.5),
        ("MoE-2 (n̂)", 0.0, 0.8), ("MoE-2 (n̂)", 1.0, 0.4)]
    assert [r["labels_given"] for r in rows] == ["Teff/[M/H]"] * 2 + ["none"] * 2
    plain = page.level_headline({"noise_levels": [0.2], "r2_expert": [0.7]},
                                page.CONDITIONING_HEADLINE)
    assert len(plain) == 1 and plain[0]["labels_given"] == "none"


def _matched(deltas=(0.05, 0.01), lo=(0.02, -0.01)):
    table = pd.DataFrame({"noise_level": [0.0, 1.0], "r2_expert": [0.9, 0.5],
                          "r2_mixed": [0.85, 0.49], "delta_r2": list(deltas),
                          "delta_lo": list(lo), "delta_hi": [0.08, 0.03], "n": [100, 100]})
    return SimpleNamespace(table=table, mean_delta=float(np.mean(deltas)), mean_ci_low=0.01,
                           mean_ci_high=0.05)


def test_experts_by_level_inserts_snr_alpha_and_the_original_numbers() -> None:
    model = SimpleNamespace(expert=lambda lv: SimpleNamespace(alpha_=10.0 + lv))
    tab = page.experts_by_level(_matched(), model, [1.0, 0.0], [3.0, 30.0])
    assert list(tab.columns[:3]) == ["noise_level", "snr_l2_median", "alpha_expert"]
    assert tab["snr_l2_median"].tolist() == [30.0, 3.0] and tab["alpha_expert"].tolist() == [
        10.0, 11.0]
    ref = references.mvp2_by_noise
    assert np.isclose(tab[f"delta_r2 {LABEL}"].iloc[1], ref("expert")[1.0] - ref("mixed")[1.0])
    caption = page.experts_caption(_matched(), 100.0)
    assert caption.startswith("Noise-matched expert vs mixed model on 100 test stars")
    assert LABEL in caption


def test_generalisation_metrics_and_table() -> None:
    r2 = {(0.0, 1.0): -5.0, (1.0, 1.0): 0.4, (1.0, 0.0): 0.6}
    gen = page.generalisation_metrics(SimpleNamespace(r2_of=lambda a, b: r2[(a, b)]), 1.0)
    assert gen == {"noise0_expert_at_max": -5.0, "max_expert_at_max": 0.4,
                   "max_expert_at_noise0": 0.6, "gap_at_max": 5.4}
    tab = page.generalisation_table(gen, 1.0)
    assert tab["this book"].tolist() == [-5.0, 0.4, 0.6]
    assert tab[LABEL].iloc[0] == references.ORIGINAL["mvp2.noise0_expert_at_noise1"]
    assert tab["quantity"].iloc[1] == "R² of the noise-1 expert at noise 1"


def test_experts_verdicts_thresholds() -> None:
    gen = {"gap_at_max": 5.4, "noise0_expert_at_max": -5.0}
    v = _passed(page.experts_verdicts(_matched(), gen, 1.0, 0.03))
    assert v == {"H1.3": True, "H1.3_ci": False, "H1.3_every_level": False,
                 "noise0_cannot_generalise": True, "noise0_fails_completely": True}
    v = _passed(page.experts_verdicts(_matched((0.01, 0.01), (0.005, 0.001)),
                                      {"gap_at_max": 0.01, "noise0_expert_at_max": 0.2},
                                      1.0, 0.03))
    assert v == {"H1.3": False, "H1.3_ci": False, "H1.3_every_level": True,
                 "noise0_cannot_generalise": False, "noise0_fails_completely": False}


def test_experts_metrics_and_headline() -> None:
    cross = SimpleNamespace(r2=np.eye(2), r2_mixed=np.array([0.8, 0.4]),
                            r2_matched=np.array([0.9, 0.5]))
    model = SimpleNamespace(expert_alphas_=np.array([1.0, 10.0]),
                            mixed_=SimpleNamespace(alpha_=5.0))
    m = page.experts_metrics([0.0, 1.0], [30.0, 3.0], cross, model, _matched(),
                             {"gap_at_max": 1.0})
    assert m["delta_r2"] == [0.05, 0.01] and m["mean_delta_r2"] == pytest.approx(0.03)
    assert m["mixed_alpha"] == 5.0 and m["gap_at_max"] == 1.0
    rows = page.experts_headline(m)
    assert [(r["model"], r["noise_level"], r["r2"]) for r in rows] == [
        ("expert per noise level", 0.0, 0.9), ("expert per noise level", 1.0, 0.5),
        ("mixed-noise Ridge", 0.0, 0.8), ("mixed-noise Ridge", 1.0, 0.4)]
    assert rows[0]["reference"] == references.mvp2_by_noise("expert")[0.0]


def _conditioning(with_hat: bool = True):
    names = ["expert", "mixed", "cond1 (true n)"] + (["cond1 (n̂)"] if with_hat else [])
    tab = pd.DataFrame([{"noise_level": lv, "model": n, "r2": 0.5, "n": 50,
                         "d_expert": -0.02 if lv == 0.5 else 0.0,
                         "d_mixed": 0.01 if lv == 0.5 else 0.0}
                        for lv in (0.0, 0.5) for n in names])
    means = pd.DataFrame({"model": names, "mean_r2": [0.6, 0.55, 0.58, 0.57][:len(names)],
                          "dR2_vs_expert": [0.0, -0.05, -0.005, -0.02][:len(names)],
                          "dR2_vs_mixed": [0.05, 0.0, 0.03, 0.02][:len(names)],
                          "dR2_vs_mixed_lo": [0.04, 0.0, 0.01, -0.01][:len(names)]})
    return tab, means


def test_conditioning_verdicts_anomaly_stop_loss_and_deployable() -> None:
    tab, means = _conditioning()
    v = _passed(page.conditioning_verdicts(tab, means, 1, 0.5, 0.01, "learned"))
    assert v == {"H-C": True, "H-C_anomaly_vs_mixed": True, "H-C_anomaly_vs_expert": False,
                 "stop_loss": False, "H-C_deployable": False, "deployable_beats_mixed": False}
    tab, means = _conditioning(with_hat=False)
    v = _passed(page.conditioning_verdicts(tab, means, 1, 0.35, 0.01, "learned"))
    assert list(v) == ["H-C", "H-C_anomaly_vs_mixed", "H-C_anomaly_vs_expert", "stop_loss"]
    assert v["H-C_anomaly_vs_mixed"] is None  # level never tested


def test_conditioning_summary_caption_and_metrics() -> None:
    tab, means = _conditioning()
    text = page.conditioning_summary(means, {1: 0.81, 2: 0.8}, 1)
    assert text.startswith("Order chosen on validation: 1 (pooled validation R² order 1: ")
    assert "conditional (n̂) 0.57" in text
    model = SimpleNamespace(expert_alphas_=np.array([1.0, 10.0]),
                            mixed_=SimpleNamespace(alpha_=5.0),
                            conditional_={1: SimpleNamespace(alpha_=2.0)},
                            estimator_=SimpleNamespace(val_r2_=0.9))
    caption = page.conditioning_caption(tab, model, 0.5)
    assert caption.startswith("Test R² on 50 stars per level. α: experts 1.000, 10.000; mixed "
                              "5.000; order 1 2.000. The original study never ran MVP-7.3")
    assert "expert − mixed at noise 0.5 = -0.031, the anomaly)." in caption
    scores = SimpleNamespace(model_metrics=lambda: {"r2_expert": [0.5, 0.5]})
    m = page.conditioning_metrics(model, [0.0, 0.5], 1, {1: 0.81}, scores)
    assert m["val_r2_by_order"] == {"1": 0.81} and m["conditional_alpha"] == {"1": 2.0}
    assert m["estimator_val_r2"] == 0.9 and m["r2_expert"] == [0.5, 0.5]


def test_gate_verdicts_and_metrics() -> None:
    tab = pd.DataFrame({"noise_level": [0.0, 1.0] * 2,
                        "model": ["combined (n̂)"] * 2 + ["conditional m,n (n̂)"] * 2,
                        "r2": [0.8, 0.5, 0.82, 0.49], "d_best_single": [0.05, 0.02, 0.0, 0.0]})
    means = pd.DataFrame({"model": ["combined (n̂)"], "d_best_single": [0.035]})
    v = _passed(page.gate_verdicts(tab, means, 0.03, with_conditional=True))
    assert v == {"combined_every_level": False, "combined_mean": True,
                 "conditional_vs_combined": True}
    assert list(_passed(page.gate_verdicts(tab, means, 0.01, False))) == [
        "combined_every_level", "combined_mean"]
    m = page.gate_metrics([0.0, 1.0], SimpleNamespace(val_r2_=0.9),
                          SimpleNamespace(experts_=[1, 2, 3]), None, tab,
                          ["combined (n̂)", "conditional m,n (n̂)"])
    assert m["n_experts_combined"] == 3 and np.isnan(m["conditional_alpha"])
    assert m["r2_conditional_mn_hat"] == [0.82, 0.49] and m["r2_combined_hat"] == [0.8, 0.5]


def test_estimation_reference_verdicts_and_metrics() -> None:
    snr_tab = pd.DataFrame({"noise_level": [0.1, 0.35], "median_ratio": [1.1, 0.85]})
    ref = page.with_snr_reference(snr_tab)
    assert ref[f"snr_pixel_mean {LABEL}"].iloc[0] == references.ORIGINAL["snr.pixel_mean"][0]
    assert np.isnan(ref[f"snr_pixel_mean {LABEL}"].iloc[1]) and len(snr_tab.columns) == 2
    overall = {"der_snr": {"r2": 0.7, "val_r2": 0.75, "nearest_accuracy": 0.6},
               "learned": {"r2": 0.9, "val_r2": 0.95, "nearest_accuracy": 0.85}}
    assert page.best_estimator(overall) == "learned"
    v = page.estimation_verdicts(snr_tab, overall, 0.2, 0.8)
    assert _passed(v) == {"der_snr_tracks_true_snr": True, "level_routing": True,
                          "learned_beats_der": True}
    assert v[0]["value"] == pytest.approx(0.15) and v[1]["value"] == 0.85
    assert _passed(page.estimation_verdicts(snr_tab, overall, 0.1, 0.9))[
        "der_snr_tracks_true_snr"] is False
    acc = pd.DataFrame({"estimator": ["der_snr", "der_snr", "learned", "learned"],
                        "bias": [0.1, 0.2, 0.0, 0.01], "sd": [1.0, 2.0, 3.0, 4.0]})
    estimators = {"der_snr": SimpleNamespace(alpha_=np.nan),
                  "learned": SimpleNamespace(alpha_=10.0)}
    m = page.estimation_metrics([0.1, 0.35], estimators, acc, overall, snr_tab)
    assert m["best_is_learned"] == 1 and m["learned_alpha"] == 10.0
    assert m["der_snr_bias"] == [0.1, 0.2] and m["learned_sd"] == [3.0, 4.0]
    assert m["learned_nearest_accuracy"] == 0.85 and m["der_snr_median_ratio"] == [1.1, 0.85]
