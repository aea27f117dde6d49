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
