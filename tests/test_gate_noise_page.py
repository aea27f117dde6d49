"""The MVP-7.1 page's helpers (book.gate_noise_page): references, captions, verdicts, metrics."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd

from moehelpers.book import gate_noise_page as page
from moehelpers.evaluation.gate_noise import GateNoiseCurve
from moehelpers.records import references

COND = "conditional Ridge, order 1"
LABEL = references.LABEL


def _curve(rho_cond: float = 0.9, rho_hard: float = 0.3, rho_mh: float = 0.4,
           delta_lo: float = 0.01) -> GateNoiseCurve:
    """A curve at σ = 0 and 0.5 whose retentions at 0.5 are the given ones."""
    rows = []
    for name, rho in ((page.PRIMARY, rho_hard), (page.MH_ONLY, rho_mh), (COND, rho_cond)):
        for s, r in ((0.0, 1.0), (0.5, rho)):
            rows.append({"model": name, "sigma": s, "r2": 0.5 + 0.1 * r, "r2_sd": 0.0,
                         "r2_min": 0.5, "r2_max": 0.6, "r2_lo": 0.4, "r2_hi": 0.7,
                         "retention": r, "retention_lo": r - 0.1, "retention_hi": r + 0.1})
    diffs = pd.DataFrame([{"model_a": COND, "model_b": page.PRIMARY, "sigma": s,
                           "delta_r2": d, "delta_r2_lo": lo, "delta_r2_hi": d + 0.02}
                          for s, d, lo in ((0.0, 0.0, -0.01), (0.5, 0.03, delta_lo))])
    return GateNoiseCurve(runs=pd.DataFrame(), summary=pd.DataFrame(rows), differences=diffs,
                          r2_global=0.5, r2_clean={page.PRIMARY: 0.6, page.MH_ONLY: 0.6,
                                                   COND: 0.6},
                          seeds=[3, 4, 5], n=200, n_boot=10, boot_seed=0, predictions={})


def _real_diff(lo: float = 0.002) -> SimpleNamespace:
    """The fields of a PairedBootstrapResult the page reads."""
    return SimpleNamespace(difference=0.03, ci_low=lo, ci_high=0.05)


KW = {"sigma_decision": 0.5, "keep_low": 0.6, "keep_high": 0.8, "collapse_below": 0.5}


def test_reference_columns_sit_beside_the_primary_and_conditional_models_only() -> None:
    refs = page.reference_curves()
    assert list(refs) == [f"hard MoE, {LABEL}", f"conditional, {LABEL}"]
    ref = references.ORIGINAL
    s0, hard0, cond0 = ref["mvp7.sigma"][0], ref["mvp7.hard_r2"][0], ref["mvp7.conditional_r2"][0]
    summary = pd.DataFrame({"model": [page.PRIMARY, COND, page.MH_ONLY, COND],
                            "sigma": [s0, s0, s0, 12.345]})
    col = page.with_reference_r2(summary, COND)[f"r2 {LABEL}"].tolist()
    assert col[:2] == [hard0, cond0]
    assert np.isnan(col[2]) and np.isnan(col[3])  # not a reference model / no such σ


def test_verdicts_judge_retentions_and_differences_at_the_decision_sigma() -> None:
    v = {d["name"]: d for d in page.gate_noise_verdicts(_curve(), COND, _real_diff(), 0.12,
                                                        **KW)}
    assert list(v) == ["H-A1_conditional_keeps", "H-A1_conditional_keeps_high",
                       "H-A1_hard_collapses", "H-A1_hard_mh_collapses",
                       "H-A1_conditional_more_tolerant", "real_gate_conditional_better",
                       "stop_loss_both_collapse"]
    assert v["H-A1_conditional_keeps"]["value"] == 0.9
    assert v["H-A1_conditional_keeps"]["threshold"] == 0.6
    assert v["H-A1_conditional_keeps_high"]["threshold"] == 0.8
    assert v["H-A1_hard_collapses"]["passed"] and v["H-A1_hard_mh_collapses"]["passed"]
    assert v["H-A1_conditional_more_tolerant"]["value"] == 0.01  # σ = 0.5, not 0
    assert v["real_gate_conditional_better"]["value"] == 0.002
    assert "0.120 dex" in v["real_gate_conditional_better"]["rule"]
    assert v["stop_loss_both_collapse"]["value"] == 0.9
    assert not v["stop_loss_both_collapse"]["passed"]
    worse = {d["name"]: d["passed"] for d in page.gate_noise_verdicts(
        _curve(rho_cond=0.4, rho_hard=0.45, rho_mh=0.7, delta_lo=-0.01), COND,
        _real_diff(-0.01), 0.12, **KW)}
    assert worse == {"H-A1_conditional_keeps": False, "H-A1_conditional_keeps_high": False,
                     "H-A1_hard_collapses": True, "H-A1_hard_mh_collapses": False,
                     "H-A1_conditional_more_tolerant": False,
                     "real_gate_conditional_better": False, "stop_loss_both_collapse": True}


def test_decision_markdown_states_the_numbers_it_rests_on() -> None:
    real = pd.DataFrame({"model": [page.PRIMARY, COND], "retention": [0.111, 0.777]})
    text = page.decision_markdown("switch", _curve(), COND, 0.5, real, _real_diff(), 0.12)
    assert text.startswith("**Decision at σ = 0.5 dex:** switch.")
    assert "conditional 0.900 [0.800, 1.000], 9-bin hard MoE 0.300 [0.200, 0.400]" in text
    assert "[M/H]-only hard MoE 0.400;" in text
    assert "R² difference (conditional − 9-bin) 0.030 [0.010, 0.050]" in text
    assert "(RMS 0.120 dex) the conditional model keeps 0.777 and the 9-bin MoE 0.111" in text
    assert text.endswith("R² difference 0.030 [0.002, 0.050].")


def test_metrics_and_headline_carry_the_curve_and_the_decision_point() -> None:
    curve, real = _curve(), pd.DataFrame({"model": [page.PRIMARY, page.MH_ONLY, COND],
                                          "retention": [0.1, 0.2, 0.8]})
    fitted = SimpleNamespace(conditional_name=COND, clip=(-1.0, 0.5),
                             conditional=SimpleNamespace(alpha_=10.0))
    m = page.gate_noise_metrics(curve, fitted, real, _real_diff(), sigmas=[0.0, 0.5],
                                sigma_decision=0.5, sigma_real=0.12, mh_r2=0.9)
    assert m["r2_clean_hard9"] == m["r2_clean_hard3"] == m["r2_clean_cond"] == 0.6
    assert m["retention_cond"] == [1.0, 0.9] and m["retention_hard3"] == [1.0, 0.4]
    assert m["real_retention_cond"] == 0.8 and m["real_retention_hard9"] == 0.1
    assert m["clip"] == [-1.0, 0.5] and m["cond_alpha"] == 10.0 and m["sigmas"] == [0.0, 0.5]
    assert m["decision_retention_cond"] == 0.9 and m["decision_retention_hard9"] == 0.3
    assert m["decision_delta_r2"] == 0.03
    assert (m["real_delta_r2"], m["real_delta_r2_lo"], m["real_delta_r2_hi"]) == (
        0.03, 0.002, 0.05)
    rows = page.gate_noise_headline(m, 0.2)
    assert [(r["model"], r["r2"], r["labels_given"], r["noise_level"]) for r in rows] == [
        ("hard MoE, 9 bins (clean gate)", 0.6, "Teff/[M/H]", 0.2),
        ("conditional Ridge (clean gate)", 0.6, "Teff/[M/H]", 0.2)]


def test_tables_and_captions() -> None:
    curve = _curve()
    diffs = page.differences_table(curve)
    assert list(diffs.columns) == ["pair", "sigma", "delta_r2", "delta_r2_lo", "delta_r2_hi"]
    assert diffs["pair"].iloc[0] == f"{COND} − {page.PRIMARY}"
    cap = page.curve_caption(curve, 0.2, 3)
    assert cap.startswith("All 200 test stars (flux noise 0.2)") and "seeds 3–5" in cap
    assert "3 repeats per σ" in cap and "(R² 0.500)" in cap
    assert "RMS error 0.120 dex" in page.predicted_gate_caption(0.9, 0.12)
    assert page.retention_lines(0.6, 0.8, 0.5) == {"keep ≥ 60%": 0.6, "keep ≥ 80%": 0.8,
                                                   "collapsed below": 0.5}
    assert page.record_keys(COND) == {page.PRIMARY: "hard9", page.MH_ONLY: "hard3",
                                      COND: "cond"}
