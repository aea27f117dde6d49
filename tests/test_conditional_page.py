"""Conditional-Ridge page helpers (book.conditional_page): MVP-3.2 and MVP-7.2 captions,
verdicts, record metrics and headlines."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from moehelpers.book import conditional_page as page
from moehelpers.book.conditional_context import order_references
from moehelpers.metrics import paired_bootstrap
from moehelpers.records import references

REF = references.ORIGINAL
KW = {"n_boot": 50, "seed": 0}


def _boot(shift: float, n: int = 100, index=None):
    rng = np.random.default_rng(0)
    y = rng.normal(size=n)
    return paired_bootstrap(y, y + 0.1 * rng.normal(size=n), y + shift * rng.normal(size=n),
                            index=index, **KW)


def _order_table() -> pd.DataFrame:
    rows = [(v, o, 0.8 + 0.01 * o + (0.001 if v == "true" else 0.0)) for v in ("true", "true→pred")
            for o in (0, 1, 2)]
    t = pd.DataFrame(rows, columns=["m", "order", "r2"])
    t["delta_r2"] = t["r2"] - 0.8
    t["delta_r2_lo"], t["delta_r2_hi"] = t["delta_r2"] - 0.005, t["delta_r2"] + 0.005
    t["share_moe_gain"], t["alpha"] = t["delta_r2"] / 0.04, 1.0
    return t


def test_order_verdicts_names_thresholds_and_outcomes() -> None:
    t = pd.Series({"delta_r2": 0.05, "delta_r2_lo": 0.01, "share_moe_gain": 1.0})
    d = pd.Series({"delta_r2": 0.03})
    v = page.order_verdicts(t, d, 2, 1, "true→pred", 0.04)
    assert [x["name"] for x in v] == ["Q8", "Q8_ci", "H2.3", "Q8_predicted"]
    assert [x["threshold"] for x in v] == [0.04, 0.0, REF["mvp3.conditional_share_order1"],
                                           0.04]
    assert [x["passed"] for x in v] == [True, True, True, False]
    assert "order 2" in v[0]["rule"] and "m = true→pred" in v[3]["rule"]
    worse = t.copy()
    worse[["delta_r2_lo", "share_moe_gain"]] = [-0.01, 0.0]
    worse = page.order_verdicts(worse, d, 2, 1, "pred", 0.04)
    assert [x["passed"] for x in worse] == [True, False, False, False]


def test_order_metrics_and_headline_read_the_table() -> None:
    table = _order_table()
    moe_all, moe_cov = _boot(1.0), _boot(1.0, index=np.arange(100) < 80)
    m = page.order_metrics(table, ["true", "true→pred"], orders=[0, 1, 2], r2_global=0.8,
                           moe_all=moe_all, moe_covered=moe_cov, n_covered=80, mh_r2=0.9,
                           mh_alpha=0.1, best_true=2, best_deploy=1)
    assert m["r2_true"] == table["r2"].iloc[:3].tolist()
    assert m["r2_true_to_pred"] == table["r2"].iloc[3:].tolist()
    assert {f"{k}_{v}" for k in page.ORDER_COLUMNS for v in ("true", "true_to_pred")} <= set(m)
    assert m["delta_moe_all"] == moe_all.difference and m["n_covered"] == 80
    h = page.order_headline(m, 0.2)
    assert [r["model"] for r in h] == ["conditional Ridge, order 2, true [M/H]",
                                       "conditional Ridge, order 1, predicted [M/H]"]
    assert h[0]["r2"] == m["r2_true"][2] and h[1]["r2"] == m["r2_true_to_pred"][1]
    assert h[0]["labels_given"] == "Teff/[M/H]" and h[1]["labels_given"] == "none"
    assert h[0]["reference"] == order_references()[2]
    assert np.isnan(page.order_headline(m, 0.5)[0]["reference"])  # other noise: no reference


def test_order_caption_and_predictor_sentence() -> None:
    moe_all, moe_cov = _boot(1.0), _boot(1.0, index=np.arange(100) < 80)
    text = page.order_caption(moe_all, moe_cov, 80, 0.2)
    assert "All 100 test stars (noise 0.2)" in text and "the 20 uncovered" in text
    assert "on the 80 covered stars" in text
    s = page.predictor_sentence(0.9123, 0.1, ["a merged", "b kept"])
    assert s == "[M/H] predictor: test R² 0.912 (α 0.100); 9-bin plan: a merged; b kept"


def _steps() -> pd.DataFrame:
    return pd.DataFrame({
        "model": ["[x, m·x]", "[x, m·x, t·x]"], "alpha": [1.0, 10.0], "r2": [0.85, 0.9],
        "r2_val": [0.84, 0.89], "delta_r2": [0.05, 0.1], "share_moe_gain": [0.5, 0.95],
        "share_moe_gain_lo": [0.4, 0.85], "share_moe_gain_hi": [0.6, 1.0],
        "step_gain": [0.05, 0.05]})


def test_pp_verdicts_names_thresholds_and_outcomes() -> None:
    table, gain = _steps(), _boot(1.0)
    v = page.pp_verdicts(table.iloc[1], 1.0, gain, "m, t", "m", share_threshold=0.9,
                         teff_threshold=0.01)
    assert [x["name"] for x in v] == ["MVP-7.2_share", "MVP-7.2_share_ci", "MVP-7.2_coverage",
                                      "stop_loss_teff", "teff_gain_ci"]
    assert [x["passed"] for x in v] == [True, False, True, gain.difference < 0.01,
                                        gain.ci_low > 0]
    assert gain.difference > 0.01 and v[3]["passed"] is False
    assert "(m, t − m) < 0.01" in v[3]["rule"] and "≥ 90%" in v[0]["rule"]
    partial = page.pp_verdicts(table.iloc[0], 0.99, gain, "m, t", "m", share_threshold=0.9,
                               teff_threshold=0.01)
    assert [x["passed"] for x in partial[:3]] == [False, False, False]


def test_pp_metrics_headline_and_texts() -> None:
    table, moe_d, gain = _steps(), _boot(1.0), _boot(0.5)
    deploy = pd.DataFrame({"r2": [0.8, 0.82, 0.83]})
    m = page.pp_metrics(table, deploy, n_features=2048, n_passes=5, moe_d=moe_d, best=1,
                        r2_full_global=None, teff_gain=gain, label_r2={"m": 0.9, "t": 0.8})
    assert np.isnan(m["r2_global_full_resolution"])
    assert m["r2_moe"] == moe_d.score_a and m["delta_moe_lo"] == moe_d.ci_low
    assert m["teff_gain"] == gain.difference and m["deploy_r2"] == [0.8, 0.82, 0.83]
    assert all(m[k] == table[k].tolist() for k in page.PP_COLUMNS)
    full = page.pp_metrics(table, deploy, n_features=2048, n_passes=5, moe_d=moe_d, best=1,
                           r2_full_global=0.81, teff_gain=gain, label_r2={"m": 0.9, "t": 0.8})
    assert full["r2_global_full_resolution"] == 0.81
    h = page.pp_headline(table, 0.95, 0.2)
    assert [r["model"] for r in h] == ["Conditional Ridge++ [x, m·x]",
                                       "Conditional Ridge++ [x, m·x, t·x]", "9-bin MoE"]
    assert [r["r2"] for r in h] == [0.85, 0.9, 0.95]
    assert {r["labels_given"] for r in h} == {"Teff/[M/H]"}
    assert page.pp_fit_sentence(2048, 2, 5, 1.23, [0.5, 2.0], ["kept"]) == (
        "2048 features (pixel bin 2); 5 weighted Gram passes (distinct monomials) in 1.2 s; "
        "solves per step 0.5 s, 2.0 s. 9-bin plan: kept")
    cap = page.pp_step_caption(moe_d, 0.2, 50)
    assert cap.startswith("All 100 test stars (noise 0.2)") and "(50 resamples)" in cap
    assert page.pp_deploy_caption({"m": 0.9, "t": 0.8}).startswith(
        "Test R² of the label predictors: [M/H] 0.900, Teff 0.800.")


@pytest.mark.parametrize("r2_full", [None, 0.81])
def test_pp_metrics_keys_are_stable(r2_full) -> None:
    m = page.pp_metrics(_steps(), pd.DataFrame({"r2": [0.8]}), n_features=1, n_passes=1,
                        moe_d=_boot(1.0), best=0, r2_full_global=r2_full,
                        teff_gain=_boot(0.5), label_r2={"m": 0.9, "t": 0.8})
    assert list(m)[:4] == ["n_features", "n_gram_passes", "r2_global", "r2_moe"]
    assert list(m)[-1] == "deploy_r2"
