"""Gate-noise sensitivity curves (MVP-7.1)."""

from __future__ import annotations

import numpy as np
import pytest

from moehelpers.errors import InvalidParameterError, ShapeMismatchError
from moehelpers.evaluation.gate_noise import gate_noise_curve, noisy_gate
from moehelpers.metrics import r2


def _toy(n: int = 400, seed: int = 0):
    """y depends on x with a slope that steps at m = 0 (hard) or varies linearly (smooth)."""
    rng = np.random.default_rng(seed)
    m, x = rng.uniform(-1, 1, n), rng.normal(size=n)
    y = x * (1 + m) + 0.1 * rng.normal(size=n)
    models = {
        "hard": lambda v: x * np.where(v > 0, 1.5, 0.5),  # two bins, slope at bin centre
        "smooth": lambda v: x * (1 + v),
        "blind": lambda v: x * np.ones_like(v),  # ignores the gate: the global model
    }
    return y, m, x, models


def test_noise_draws_are_seeded_shared_across_sigma_and_clipped() -> None:
    m = np.linspace(-2, 0.5, 50)
    a, b = noisy_gate(m, 0.1, 7), noisy_gate(m, 0.3, 7)
    np.testing.assert_allclose(b - m, 3 * (a - m))  # the same ε scaled by σ
    np.testing.assert_array_equal(a, noisy_gate(m, 0.1, 7))
    assert not np.allclose(a, noisy_gate(m, 0.1, 8))
    c = noisy_gate(m, 5.0, 7, clip=(-2.0, 0.5))
    assert c.min() >= -2.0 and c.max() <= 0.5
    np.testing.assert_array_equal(noisy_gate(m, 0.0, 3), m)
    with pytest.raises(InvalidParameterError, match="σ"):
        noisy_gate(m, -0.1, 0)


def test_curve_numbers_are_what_they_claim() -> None:
    y, m, _, models = _toy()
    curve = gate_noise_curve(y, models, m, [0.0, 0.2, 1.0], pred_global=models["blind"](m),
                             n_repeats=5, seed=11, compare=[("smooth", "hard")], n_boot=200)
    assert curve.seeds == [11, 12, 13, 14, 15] and curve.n == y.size
    assert len(curve.runs) == 3 * 3 * 5 and len(curve.summary) == 9
    # σ = 0: every repeat equals the clean score; retention 1 (blind: undefined, NaN)
    for name in ("hard", "smooth"):
        row = curve.at(name, 0.0)
        assert row["r2"] == pytest.approx(curve.r2_clean[name]) and row["r2_sd"] == 0
        assert row["retention"] == pytest.approx(1.0)
        assert row["r2_lo"] <= row["r2"] <= row["r2_hi"]
    assert np.isnan(curve.at("blind", 0.2)["retention"])
    assert curve.r2_global == pytest.approx(r2(y, models["blind"](m)))
    # the repeat mean and the per-repeat values agree with a direct computation
    rep = curve.runs[(curve.runs["model"] == "hard") & (curve.runs["sigma"] == 1.0)]
    direct = [r2(y, models["hard"](noisy_gate(m, 1.0, s))) for s in curve.seeds]
    np.testing.assert_allclose(rep["r2"], direct)
    row = curve.at("hard", 1.0)
    assert row["r2"] == pytest.approx(np.mean(direct))
    assert row["r2_min"] == pytest.approx(min(direct)) and row["r2_max"] == pytest.approx(
        max(direct))
    gain = curve.r2_clean["hard"] - curve.r2_global
    assert row["retention"] == pytest.approx((np.mean(direct) - curve.r2_global) / gain)
    assert row["retention_lo"] <= row["retention"] <= row["retention_hi"]
    # noisier gates cost both gate-using models; the blind one does not care
    for name in ("hard", "smooth"):
        assert 1.0 > curve.at(name, 0.2)["retention"] > curve.at(name, 1.0)["retention"]
    assert curve.at("blind", 1.0)["r2"] == pytest.approx(curve.r2_global)
    d = curve.difference("smooth", "hard", 0.2)
    assert d["delta_r2"] == pytest.approx(curve.at("smooth", 0.2)["r2"]
                                          - curve.at("hard", 0.2)["r2"])
    assert d["delta_r2_lo"] <= d["delta_r2"] <= d["delta_r2_hi"]
    with pytest.raises(InvalidParameterError, match="not compared"):
        curve.difference("hard", "smooth", 0.2)


def test_bad_inputs_are_refused() -> None:
    y, m, _, models = _toy(50)
    g = models["blind"](m)
    with pytest.raises(ShapeMismatchError):
        gate_noise_curve(y, models, m[:10], [0.1], pred_global=g, n_boot=10)
    with pytest.raises(InvalidParameterError, match="compare"):
        gate_noise_curve(y, models, m, [0.1], pred_global=g, compare=[("a", "hard")])
    with pytest.raises(InvalidParameterError, match="NaN"):
        gate_noise_curve(y, {"bad": lambda v: np.full(v.size, np.nan)}, m, [0.1],
                         pred_global=g, n_boot=10)
    with pytest.raises(ShapeMismatchError, match="shape"):
        gate_noise_curve(y, {"bad": lambda v: v[:3]}, m, [0.1], pred_global=g, n_boot=10)
    with pytest.raises(InvalidParameterError, match="n_repeats"):
        gate_noise_curve(y, models, m, [0.1], pred_global=g, n_repeats=0)


def test_band_figure_has_a_band_and_a_line_per_model() -> None:
    import pandas as pd

    from moehelpers.book.plots import curves_with_bands

    df = pd.DataFrame({"model": ["a", "a", "b", "b"], "sigma": [0.5, 0.0, 0.0, 0.5],
                       "r2": [0.5, 0.9, 0.8, 0.7], "lo": [0.4, 0.9, 0.8, 0.6],
                       "hi": [0.6, 0.9, 0.8, 0.8]})
    fig = curves_with_bands(df, "sigma", "r2", "lo", "hi", by="model")
    assert len(fig.data) == 4
    band, line = fig.data[0], fig.data[1]
    assert band.fill == "toself" and list(band.y) == [0.9, 0.6, 0.4, 0.9]  # hi out, lo back
    assert list(line.x) == [0.0, 0.5] and list(line.y) == [0.9, 0.5]  # sorted by x
