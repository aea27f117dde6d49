"""Gate features from the noisy flux (data.flux_features): values and the error-leak guard."""

from __future__ import annotations

import inspect

import numpy as np
import pytest

from moehelpers.data.flux_features import (
    GATE_WINDOWS,
    GateFeatures,
    check_gate_flux,
    window_features,
)
from moehelpers.data.snr import der_noise
from moehelpers.errors import InvalidParameterError, NonFiniteDataError, ShapeMismatchError

WAVE = np.linspace(8100.0, 8850.0, 1756)  # ~0.43 Å pixels, as the PFS red arm


def _line_spectra(depths: np.ndarray, noise: float = 0.0, seed: int = 0) -> np.ndarray:
    """Flat continuum 1 with a Gaussian line (σ = 1 Å) of the given depth at every window."""
    rng = np.random.default_rng(seed)
    prof = np.zeros_like(WAVE)
    for w in GATE_WINDOWS:
        prof += np.exp(-0.5 * ((WAVE - w.centre) / 1.0) ** 2)
    flux = 1.0 - depths[:, None] * prof[None, :]
    return flux + noise * rng.normal(size=flux.shape)


def test_window_features_measure_depth_and_equivalent_width() -> None:
    depths = np.array([0.0, 0.3, 0.6])
    f, names = window_features(_line_spectra(depths), WAVE)
    assert f.shape == (3, 3 * len(GATE_WINDOWS)) and len(names) == f.shape[1]
    ca = names.index("Ca II 8542 ew")
    # EW of a Gaussian line: depth · σ · √(2π) (the ±4 Å window holds ~100% of it)
    assert np.allclose(f[:, ca], depths * np.sqrt(2 * np.pi), rtol=0.02, atol=1e-9)
    depth = f[:, names.index("Ca II 8542 depth")]
    assert depth[0] == pytest.approx(0.0, abs=1e-12)
    assert depth[2] > depth[1] > 0.2  # core mean over ±1 Å is a little below the peak depth
    mean = f[:, names.index("Mg I 8806 mean")]
    assert mean[0] == pytest.approx(1.0) and mean[2] < mean[1] < 1.0


def test_local_continuum_removes_a_scale_factor() -> None:
    f1, _ = window_features(_line_spectra(np.array([0.4])), WAVE)
    f2, _ = window_features(1.5 * _line_spectra(np.array([0.4])), WAVE)
    assert np.allclose(f1, f2)


def test_der_snr_recovers_white_noise_sigma() -> None:
    flux = _line_spectra(np.full(20, 0.3), noise=0.05, seed=1)
    sigma = der_noise(flux)
    assert np.allclose(np.median(sigma), 0.05, rtol=0.1)
    assert der_noise(_line_spectra(np.full(2, 0.3)))[0] < 1e-3  # lines are not noise


def test_gate_features_shapes_names_and_reuse_of_the_training_pca() -> None:
    rng = np.random.default_rng(0)
    train = _line_spectra(rng.uniform(0, 0.6, 200), noise=0.02, seed=2)
    test = _line_spectra(rng.uniform(0, 0.6, 50), noise=0.02, seed=3)
    gf = GateFeatures(WAVE, n_components=4, seed=0).fit(train)
    z = gf.transform(test)
    assert z.shape == (50, 3 * len(GATE_WINDOWS) + 4 + 2) == (50, gf.n_features_out_)
    assert gf.feature_names_[-2:] == ["log noise (DER_SNR)", "log median flux"]
    assert np.allclose(z[:, -2], np.log(der_noise(test)))
    # PCA fitted on train only: the test projection uses the training mean
    pcs = z[:, 3 * len(GATE_WINDOWS):-2]
    assert np.allclose(pcs, gf.pca_.transform(test))
    assert GateFeatures(WAVE, 0, noise_stats=False).fit(train).transform(test).shape == (50, 18)


class _FakeSet:
    def __init__(self, flux: np.ndarray, error: np.ndarray) -> None:
        self.flux, self.error = flux, error


def test_the_error_array_cannot_reach_a_gate() -> None:
    flux = _line_spectra(np.full(30, 0.3), noise=0.02)
    error = np.full_like(flux, 0.05) * (1 + 0.5 * np.sin(WAVE / 50))[None, :]
    gf = GateFeatures(WAVE, 2).fit(flux)
    for call in (gf.fit, gf.transform, check_gate_flux,
                 lambda a: window_features(a, WAVE)):
        with pytest.raises(InvalidParameterError, match="error array"):
            call(_FakeSet(flux, error))  # a spectra set carries the error array
        with pytest.raises(InvalidParameterError, match="looks like an error array"):
            call(error)  # the raw error array itself is refused
    # and there is no keyword through which an error array could be handed over
    for fn in (GateFeatures.fit, GateFeatures.transform):
        params = list(inspect.signature(fn).parameters.values())
        assert [p.name for p in params] == ["self", "flux"]
        assert params[1].kind is inspect.Parameter.POSITIONAL_ONLY


def test_bad_inputs_are_refused_with_named_problems() -> None:
    flux = _line_spectra(np.full(5, 0.3))
    with pytest.raises(ShapeMismatchError):
        check_gate_flux(flux[0])
    bad = flux.copy()
    bad[0, 3] = np.nan
    with pytest.raises(NonFiniteDataError):
        check_gate_flux(bad)
    with pytest.raises(InvalidParameterError, match="median"):
        check_gate_flux(flux * 1e-17)  # un-normalised flux units
    with pytest.raises(ShapeMismatchError):
        GateFeatures(WAVE[:-1], 2).fit(flux)
    with pytest.raises(InvalidParameterError):
        GateFeatures(WAVE, -1).fit(flux)
    with pytest.raises(InvalidParameterError, match="not fitted"):
        GateFeatures(WAVE).transform(flux)
    with pytest.raises(InvalidParameterError, match="continuum"):
        window_features(flux[:, :100], WAVE[:100])  # the grid misses the windows
