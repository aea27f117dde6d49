"""Noise level and SNR from the noisy flux alone (moehelpers.data.snr)."""

from __future__ import annotations

import numpy as np
import pytest

from moehelpers.data.snr import NoiseLevelEstimator, der_noise, der_snr, noise_features
from moehelpers.errors import InvalidParameterError, ShapeMismatchError


def _smooth(n: int, p: int = 2000, seed: int = 0) -> np.ndarray:
    """Smooth continua with broad, well-sampled absorption lines (flux ≈ 1)."""
    rng = np.random.default_rng(seed)
    w = np.linspace(0, 1, p)
    cont = 1 + 0.1 * np.sin(2 * np.pi * (w[None, :] + rng.random((n, 1))))
    lines = sum(0.3 * np.exp(-0.5 * ((w - c) / 0.01) ** 2) for c in (0.2, 0.5, 0.8))
    return cont * (1 - lines)[None, :]


@pytest.mark.parametrize("sigma", [0.01, 0.05, 0.2])
def test_der_snr_recovers_white_noise(sigma: float) -> None:
    flux = _smooth(200)
    rng = np.random.default_rng(1)
    noisy = flux + sigma * rng.standard_normal(flux.shape)
    est = der_noise(noisy)
    assert abs(np.median(est) / sigma - 1) < 0.03  # within a few per cent
    snr = der_snr(noisy)
    assert abs(np.median(snr) / (np.median(flux, axis=1).mean() / sigma) - 1) < 0.05


def test_der_snr_noiseless_and_vectorised() -> None:
    flat = np.ones((3, 100))
    assert np.isinf(der_snr(flat)).all() and (der_noise(flat) == 0).all()
    rng = np.random.default_rng(2)
    x = _smooth(5) + 0.05 * rng.standard_normal((5, 2000))
    one_by_one = np.array([der_snr(x[i:i + 1])[0] for i in range(5)])
    assert np.allclose(der_snr(x), one_by_one)
    assert np.allclose(der_snr(x.astype(np.float32)), one_by_one, rtol=1e-4)


def test_api_takes_flux_only(make_spectraset) -> None:
    ds = make_spectraset()
    for fn in (der_snr, der_noise, noise_features):
        with pytest.raises(InvalidParameterError, match="error array"):
            fn(ds)
        with pytest.raises(TypeError):  # no keyword through which an error array enters
            fn(ds.flux, error=ds.error)
    est = NoiseLevelEstimator("der_snr")
    with pytest.raises(InvalidParameterError, match="error array"):
        est.fit(ds, 0.1)
    with pytest.raises(TypeError):
        est.fit(ds.flux, 0.1, error=ds.error)
    with pytest.raises(ShapeMismatchError):
        der_snr(np.ones(50))
    with pytest.raises(InvalidParameterError):
        noise_features(np.ones((2, 100)), n_segments=0)


def _levels_data(levels, n, seed):
    rng = np.random.default_rng(seed)
    flux = _smooth(n, seed=seed)
    scale = rng.uniform(0.03, 0.06, (n, 1))  # star-to-star error scale, as in real data
    xs = [flux + lv * scale * rng.standard_normal(flux.shape) for lv in levels]
    return np.vstack(xs), np.repeat(levels, n)


@pytest.mark.parametrize("method", ["learned", "der_snr"])
def test_estimator_orders_the_levels(method: str) -> None:
    levels = [0.0, 0.2, 0.5, 1.0]
    x, y = _levels_data(levels, 150, 0)
    xv, yv = _levels_data(levels, 80, 1)
    xt, yt = _levels_data(levels, 80, 2)
    est = NoiseLevelEstimator(method, alphas=[1e-2, 1.0, 100.0]).fit(x, y, xv, yv)
    pred = est.predict(xt)
    assert (pred >= 0).all() and est.val_r2_ > 0.6
    med = [np.median(pred[yt == lv]) for lv in levels]
    assert np.all(np.diff(med) > 0)  # higher level → higher estimate
    assert abs(med[0]) < 0.05 and abs(med[-1] - 1.0) < 0.25
    feats = est.features(xt)
    assert np.allclose(est.predict_features(feats), pred)


def test_estimator_needs_validation_for_alpha_choice() -> None:
    x, y = _levels_data([0.0, 1.0], 50, 0)
    with pytest.raises(InvalidParameterError, match="validation"):
        NoiseLevelEstimator("learned", alphas=[1.0, 10.0]).fit(x, y)
    est = NoiseLevelEstimator("learned", alphas=[1.0]).fit(x, y)
    assert np.isnan(est.val_r2_) and (est.predict(x) >= 0).all()
    with pytest.raises(InvalidParameterError):
        NoiseLevelEstimator("learned", alphas=[1.0]).fit(x, -y - 1)


def test_fit_levels_labels_each_block_with_its_level() -> None:
    levels = [0.0, 0.5, 1.0]
    est = NoiseLevelEstimator("der_snr")
    blocks = [est.features(_levels_data([lv], n, k)[0]) for k, (lv, n) in
              enumerate(zip(levels, (40, 30, 20), strict=True))]
    val = [est.features(_levels_data([lv], 25, 10 + k)[0]) for k, lv in enumerate(levels)]
    fitted = NoiseLevelEstimator("der_snr").fit_levels(blocks, val, levels)
    stacked = NoiseLevelEstimator("der_snr").fit_features(
        np.vstack(blocks), np.repeat(levels, [40, 30, 20]), np.vstack(val), np.repeat(levels, 25))
    assert np.array_equal(fitted.calibration_, stacked.calibration_)
    assert fitted.val_r2_ == stacked.val_r2_ > 0.6
    with pytest.raises(ShapeMismatchError, match="one block per level"):
        NoiseLevelEstimator("der_snr").fit_levels(blocks, val[:2], levels)
