"""MVP-7.4 (notebook 15): evaluation.window_gate (models, routings) and book.window_gate_page
(verdicts, metrics, headline)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from moehelpers.book import window_gate_page as page
from moehelpers.data import splits as experiment
from moehelpers.engine.ridge import RidgeStats
from moehelpers.evaluation import window_gate as wg
from moehelpers.gates import learned
from moehelpers.gates.learned import TrainPart
from moehelpers.metrics import r2
from moehelpers.models import bins as gating
from moehelpers.models.piecewise import PiecewiseRidge

ALPHAS = [1e-3, 1e-1, 10.0]


def _stars(n: int, seed: int, p: int = 12) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
    """log g = x·w·(1 + [M/H]) + a small Teff term: a model that knows [M/H] fits it."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p))
    lab = pd.DataFrame({"T_eff": rng.uniform(4000, 6000, n), "M_H": rng.uniform(-2.0, 0.5, n)})
    w = np.linspace(1.0, -1.0, p)
    y = (X @ w) * (1.0 + lab["M_H"].to_numpy()) + 1e-4 * (lab["T_eff"].to_numpy() - 5000)
    return X, y + 0.01 * rng.normal(size=n), lab


def test_conditional_models_use_the_labels_they_are_given() -> None:
    (Xe, ye, le), (Xv, yv, lv), (Xt, yt, lt) = _stars(600, 0), _stars(200, 1), _stars(300, 2)
    ex = TrainPart(Xe, ye, le, np.arange(len(ye)))
    cond, pp = wg.fit_conditional_models(ex, RidgeStats.from_data(Xe, ye), Xv, yv, lv,
                                         alphas=ALPHAS, pp_terms=["m", "t", "m*t"],
                                         pp_pixel_bin=2)
    assert cond.alpha_ in ALPHAS and pp.alpha_ in ALPHAS
    wrong = lt.assign(M_H=lt["M_H"].sample(frac=1.0, random_state=0).to_numpy())
    preds = wg.conditional_predictions(cond, pp, Xt, experiment.bin_pixels(Xt, 2), lt, wrong)
    assert list(preds) == [wg.COND_PRED, wg.COND_TRUE, wg.PP_PRED, wg.PP_TRUE]
    assert r2(yt, preds[wg.COND_TRUE]) > 0.99  # [x, m·x] is the true model
    assert r2(yt, preds[wg.COND_PRED]) < r2(yt, preds[wg.COND_TRUE]) - 0.1
    assert r2(yt, preds[wg.PP_PRED]) < r2(yt, preds[wg.PP_TRUE])
    np.testing.assert_allclose(preds[wg.COND_TRUE], cond.predict(Xt, lt["M_H"].to_numpy()))


def test_route_candidates_pseudo_falls_back_to_the_global_option() -> None:
    (Xe, ye, le), (Xv, yv, lv), (Xt, _, lt) = _stars(600, 0), _stars(200, 1), _stars(50, 2)
    moe = PiecewiseRidge(gating.mh_only(), ALPHAS, min_bin_train=20, min_bin_val=5)
    moe.fit(Xe, ye, le, Xv, yv, lv)
    E_t, o_t = learned.expert_matrix(moe, Xt), learned.true_options(moe, lt)
    rng = np.random.default_rng(0)
    P_log = rng.dirichlet(np.ones(E_t.shape[1]), size=len(lt))
    P_mix = rng.dirichlet(np.ones(E_t.shape[1]), size=len(lt))
    routed = lt.copy()
    routed.loc[0, "M_H"] = 9.0  # outside every bin
    cand = wg.route_candidates(moe, Xt, lt, routed, E_t, o_t, P_log, P_mix)
    assert list(cand) == [wg.ORACLE, wg.PSEUDO, wg.SOFT, wg.HARD, wg.MIXTURE]
    oracle, chosen = cand[wg.ORACLE]
    np.testing.assert_array_equal(chosen, o_t)
    np.testing.assert_allclose(cand[wg.PSEUDO][0][1:], oracle[1:])  # same labels elsewhere
    assert cand[wg.PSEUDO][1][0] == len(moe.experts_)  # the global model's option
    assert cand[wg.PSEUDO][0][0] == pytest.approx(E_t[0, -1])
    np.testing.assert_array_equal(cand[wg.PSEUDO][1][1:], o_t[1:])
    np.testing.assert_allclose(cand[wg.SOFT][0], (P_log * E_t).sum(axis=1))
    np.testing.assert_array_equal(cand[wg.HARD][0], E_t[np.arange(len(lt)),
                                                        P_log.argmax(axis=1)])
    np.testing.assert_array_equal(cand[wg.MIXTURE][1], P_mix.argmax(axis=1))
    assert wg.DOCUMENT_PAIRS[:2] == [(wg.SOFT, wg.PSEUDO), (wg.SOFT, wg.PP_PRED)]


def _gaps(d_ps: float, d_cond: float, lo_cond: float) -> pd.DataFrame:
    return pd.DataFrame({"comparison": ["a", "b"], "delta_r2": [d_ps, d_cond],
                         "delta_r2_lo": [d_ps - 0.01, lo_cond], "delta_r2_hi": [0.1, 0.1]})


def test_window_verdicts_acceptance_and_stop_loss() -> None:
    v = page.window_verdicts(_gaps(0.01, 0.03, 0.005), 0.01)
    assert [d["name"] for d in v] == ["window_ge_pseudo", "window_clearly_above_conditional",
                                      "stop_loss_window_equals_conditional"]
    assert [d["passed"] for d in v] == [True, True, False]
    assert v[1]["value"] == 0.005 and v[2]["value"] == 0.03 and v[2]["threshold"] == 0.01
    assert v[0]["tests"] == "H-B" and v[1]["tests"] == "H-D"
    equal = page.window_verdicts(_gaps(-0.02, -0.004, -0.02), 0.01)
    assert [d["passed"] for d in equal] == [False, False, True]  # |−0.004| < 0.01


def test_window_metrics_and_headline() -> None:
    table = pd.DataFrame({"model": [wg.ORACLE, wg.COND_TRUE, wg.PP_TRUE, wg.SOFT],
                          "n": [5] * 4, "r2_global": [0.5] * 4, "r2": [0.9, 0.8, 0.85, 0.7],
                          "delta_r2": [0.4, 0.3, 0.35, 0.2], "delta_r2_lo": [0.3] * 4,
                          "delta_r2_hi": [0.5] * 4, "retention": [1.0, 0.75, 0.9, 0.5]})
    gaps = _gaps(0.01, 0.03, 0.005)
    conf = pd.DataFrame([[2, 1], [0, 2]])
    m = page.window_metrics(table, gaps, mixture_l2=1e-3, pp_alpha=10.0, confusion=conf)
    assert m["r2_global"] == 0.5
    assert m["r2"] == {"oracle (true labels)": 0.9, "conditional Ridge (true M/H)": 0.8,
                       "Conditional Ridge++ (true Teff, M/H)": 0.85,
                       "window gate, soft multinomial": 0.7}
    assert m["retention"]["window gate, soft multinomial"] == 0.5
    assert m["gaps"] == [0.01, 0.03] and m["gaps_lo"] == [0.0, 0.005]
    assert (m["mixture_l2"], m["pp_alpha"], m["confusion"]) == (1e-3, 10.0, [[2, 1], [0, 2]])
    rows = {r["model"]: r for r in page.window_headline(m, 0.2)}
    assert {n for n, r in rows.items() if r["labels_given"] == "Teff/[M/H]"} == set(
        page.TRUE_LABEL_MODELS)
    assert rows["window gate, soft multinomial"]["labels_given"] == "none"
    assert rows["oracle (true labels)"]["r2"] == 0.9
    cap = page.models_caption(table, 0.2, 100)
    assert cap.startswith("All 5 test stars, noise 0.2:") and "100 resamples" in cap

