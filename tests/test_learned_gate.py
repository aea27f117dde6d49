"""Learned gates over frozen experts (moehelpers.gates.learned)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from moehelpers.data.flux_features import GATE_WINDOWS, GateFeatures
from moehelpers.errors import InvalidParameterError, ShapeMismatchError
from moehelpers.gates.learned import (
    LogisticGate,
    MixtureGate,
    combine,
    confusion,
    expert_matrix,
    option_names,
    score_gate,
    true_options,
)
from moehelpers.models import bins as gating
from moehelpers.models.piecewise import PiecewiseRidge

WAVE = np.linspace(8100.0, 8850.0, 600)


def _spectra(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Spectra whose Ca II / Mg I line depth is set by a hidden group (0 or 1)."""
    rng = np.random.default_rng(seed)
    group = rng.integers(0, 2, n)
    prof = sum(np.exp(-0.5 * ((WAVE - w.centre) / 1.0) ** 2) for w in GATE_WINDOWS)
    depth = np.where(group == 1, 0.6, 0.15) + 0.05 * rng.normal(size=n)
    flux = 1.0 - depth[:, None] * prof[None, :] + 0.01 * rng.normal(size=(n, WAVE.size))
    return flux, group


def test_combine_soft_and_hard() -> None:
    p = np.array([[0.7, 0.3], [0.2, 0.8]])
    e = np.array([[1.0, 3.0], [1.0, 3.0]])
    assert np.allclose(combine(p, e), [1.6, 2.6])
    assert np.allclose(combine(p, e, "hard"), [1.0, 3.0])
    with pytest.raises(ShapeMismatchError):
        combine(p, e[:, :1])
    with pytest.raises(InvalidParameterError):
        combine(p, e, "medium")


def test_gates_learn_the_hidden_group_and_the_mixture_lowers_the_error() -> None:
    flux, group = _spectra(600, 0)
    flux_t, group_t = _spectra(300, 1)
    rng = np.random.default_rng(2)
    y, y_t = rng.normal(size=600), rng.normal(size=300)
    # two frozen "experts": each is right for its own group and wrong (noisy) for the other
    def experts(g: np.ndarray, t: np.ndarray, seed: int) -> np.ndarray:
        r = np.random.default_rng(seed)
        good = t + 0.05 * r.normal(size=t.size)
        bad = t + 1.0 * r.normal(size=t.size)
        return np.column_stack([np.where(g == 0, good, bad), np.where(g == 1, good, bad)])
    E, E_t = experts(group, y, 3), experts(group_t, y_t, 4)
    feats = GateFeatures(WAVE, 2).fit(flux)
    logistic = LogisticGate(feats, 2).fit(flux, group)
    p = logistic.predict_proba(flux_t)
    assert p.shape == (300, 2) and np.allclose(p.sum(axis=1), 1)
    assert np.mean(p.argmax(axis=1) == group_t) > 0.95
    mix = MixtureGate(feats, 1e-4, init=logistic).fit(flux, E, y)
    mse = {name: np.mean((combine(g.predict_proba(flux_t), E_t) - y_t) ** 2)
           for name, g in (("logistic", logistic), ("mixture", mix))}
    assert mse["mixture"] <= mse["logistic"] * 1.05
    assert mse["mixture"] < np.mean((E_t.mean(axis=1) - y_t) ** 2) / 3  # beats averaging
    # a zero-start mixture gate reaches a comparable error
    mix0 = MixtureGate(feats, 1e-4).fit(flux, E, y)
    assert np.mean((combine(mix0.predict_proba(flux_t), E_t) - y_t) ** 2) < 2 * mse["mixture"]


def test_gates_refuse_error_arrays_and_raw_feature_matrices() -> None:
    flux, group = _spectra(100, 0)
    feats = GateFeatures(WAVE, 2).fit(flux)
    error = np.full_like(flux, 0.05)
    with pytest.raises(InvalidParameterError, match="error array"):
        LogisticGate(feats, 2).fit(error, group)
    with pytest.raises(InvalidParameterError, match="GateFeatures"):
        LogisticGate(object(), 2).fit(flux, group)  # type: ignore[arg-type]
    with pytest.raises(InvalidParameterError, match="GateFeatures"):
        MixtureGate(GateFeatures(WAVE, 2), 1e-3).fit(flux, np.zeros((100, 2)), np.zeros(100))
    with pytest.raises(InvalidParameterError):
        LogisticGate(feats, 2).fit(flux, group + 5)


def test_expert_matrix_options_and_uncovered_stars() -> None:
    rng = np.random.default_rng(0)
    n = 900
    lab = pd.DataFrame({"T_eff": rng.uniform(3750, 6000, n), "M_H": rng.uniform(-2.5, 0.5, n)})
    X = rng.normal(size=(n, 6))
    y = X.sum(axis=1) * (1 + (lab["M_H"].to_numpy() > -1))
    m = PiecewiseRidge(gating.mh_only(), [1e-3], min_bin_train=50).fit(X, y, lab)
    E = expert_matrix(m, X)
    assert E.shape == (n, len(m.experts_) + 1)
    assert np.allclose(E[:, -1], m.global_.predict(X))
    o = true_options(m, lab)
    # the oracle prediction is the true option's column (the global model for uncovered stars)
    assert np.allclose(E[np.arange(n), o], m.predict(X, lab))
    assert (o[lab["M_H"].to_numpy() < -2] == len(m.experts_)).all()
    assert option_names(m)[-1] == "global"
    c = confusion(o, o, option_names(m))
    assert int(np.trace(c.to_numpy())) == n and c.shape == (4, 4)
    row = score_gate("oracle", y, m.predict(X, lab), E[:, -1], m.predict(X, lab), o, o,
                     n_boot=20, seed=0)
    assert row["retention"] == pytest.approx(1.0) and row["routing_accuracy"] == 1.0
    assert row["delta_r2_lo"] <= row["delta_r2"] <= row["delta_r2_hi"]


def test_split_experts_gate_is_a_seeded_disjoint_partition() -> None:
    from moehelpers.gates.learned import split_experts_gate

    X = np.arange(40.0).reshape(20, 2)
    y = np.arange(20.0)
    labels = pd.DataFrame({"log_g": y / 4}, index=np.arange(100, 120))
    ex, gp = split_experts_gate(X, y, labels, 0.25, seed=3)
    assert gp.rows.size == 5 and ex.rows.size == 15
    assert sorted(np.concatenate([ex.rows, gp.rows]).tolist()) == list(range(20))
    assert (np.diff(ex.rows) > 0).all() and (np.diff(gp.rows) > 0).all()
    np.testing.assert_array_equal(gp.X, X[gp.rows])
    np.testing.assert_array_equal(gp.y, y[gp.rows])
    assert gp.labels.index.tolist() == list(range(5))
    assert gp.labels["log_g"].tolist() == (y[gp.rows] / 4).tolist()
    again, _ = split_experts_gate(X, y, labels, 0.25, seed=3)
    np.testing.assert_array_equal(again.rows, ex.rows)
    for bad in (0.0, 1.0, 1.5):
        with pytest.raises(InvalidParameterError, match="gate_fraction"):
            split_experts_gate(X, y, labels, bad, seed=3)


def test_fit_mixture_keeps_the_best_l2_on_validation() -> None:
    from moehelpers.gates.learned import fit_mixture
    from moehelpers.metrics import r2

    flux, group = _spectra(300, 0)
    flux_v, group_v = _spectra(200, 1)
    rng = np.random.default_rng(5)
    y, y_v = rng.normal(size=300), rng.normal(size=200)
    E = np.column_stack([np.where(group == 0, y, -y), np.where(group == 1, y, -y)])
    E_v = np.column_stack([np.where(group_v == 0, y_v, -y_v), np.where(group_v == 1, y_v, -y_v)])
    feats = GateFeatures(WAVE, 2).fit(flux)
    logistic = LogisticGate(feats, 2).fit(flux, group)
    grid = [1e-4, 10.0]
    gate, l2 = fit_mixture(feats, grid, logistic, flux, E, y, flux_v, E_v, y_v)
    scores = {a: r2(y_v, combine(MixtureGate(feats, a, init=logistic).fit(flux, E, y)
                                 .predict_proba(flux_v), E_v)) for a in grid}
    assert l2 == max(scores, key=scores.get) and gate.l2 == l2


def test_score_gates_marks_models_that_do_not_route() -> None:
    from moehelpers.gates.learned import score_gates

    rng = np.random.default_rng(0)
    y = rng.normal(size=100)
    g, oracle = y + rng.normal(size=100), y + 0.1 * rng.normal(size=100)
    true = rng.integers(0, 3, 100)
    chosen = np.where(np.arange(100) < 80, true, (true + 1) % 3)
    rows = score_gates(y, {"gate": (oracle, chosen), "cond": (oracle, None)}, g, oracle, true,
                       n_boot=20, seed=1)
    assert rows[0] == score_gate("gate", y, oracle, g, oracle, chosen, true, n_boot=20, seed=1)
    assert rows[0]["routing_accuracy"] == pytest.approx(0.8)
    assert np.isnan(rows[1]["routing_accuracy"]) and rows[1]["gate"] == "cond"
    assert rows[1]["delta_r2"] == rows[0]["delta_r2"]


def test_gate_inputs_give_the_gates_of_the_flux_and_are_formed_once(monkeypatch) -> None:
    from moehelpers.gates.learned import GateInputs

    flux, group = _spectra(300, 0)
    flux_t, _ = _spectra(100, 1)
    rng = np.random.default_rng(6)
    y = rng.normal(size=300)
    E = np.column_stack([np.where(group == 0, y, -y), np.where(group == 1, y, -y)])
    feats = GateFeatures(WAVE, 2).fit(flux)
    calls = []
    real = GateFeatures.transform
    monkeypatch.setattr(GateFeatures, "transform",
                        lambda self, f: calls.append(len(f)) or real(self, f))
    Z, Zt = GateInputs.of(feats, flux), GateInputs.of(feats, flux_t)
    assert GateInputs.of(feats, Z) is Z and calls == [300, 100]
    log_z = LogisticGate(feats, 2).fit(Z, group)
    mix_z = MixtureGate(feats, 1e-3, init=log_z).fit(Z, E, y)
    p_log, p_mix = log_z.predict_proba(Zt), mix_z.predict_proba(Zt)
    assert calls == [300, 100]  # no gate transformed the spectra again
    log_f = LogisticGate(feats, 2).fit(flux, group)
    mix_f = MixtureGate(feats, 1e-3, init=log_f).fit(flux, E, y)
    np.testing.assert_array_equal(p_log, log_f.predict_proba(flux_t))
    np.testing.assert_array_equal(p_mix, mix_f.predict_proba(flux_t))
    other = GateFeatures(WAVE, 2).fit(flux)
    with pytest.raises(InvalidParameterError, match="other GateFeatures"):
        LogisticGate(other, 2).fit(Z, group)
    with pytest.raises(InvalidParameterError, match="other GateFeatures"):
        GateInputs.of(other, Z)
