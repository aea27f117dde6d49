"""Physical windows, window importance and coefficient energy (moehelpers.data.windows)."""

from __future__ import annotations

import numpy as np
import pytest

from moehelpers.data.windows import (
    PHYSICAL_WINDOWS,
    Window,
    energy_curve,
    group_importance,
    pixel_std,
    standardise,
    topk_energy_share,
    window_importance,
    window_mask,
)
from moehelpers.errors import InvalidParameterError, ShapeMismatchError


def test_windows_cover_reference_lines() -> None:
    centres = {w.name: w.centre for w in PHYSICAL_WINDOWS}
    assert centres["Ca II 8498"] == 8498.0 and centres["Mg I 8806"] == 8806.8
    assert {w.species for w in PHYSICAL_WINDOWS} == {"Ca II", "Na I", "Mg I", "Paschen", "TiO"}
    assert all(7100 <= w.lo and w.hi <= 8850 for w in PHYSICAL_WINDOWS)
    with pytest.raises(InvalidParameterError):
        Window("bad", "x", 8000.0, 0.0)


def test_window_importance_known_answer() -> None:
    wave = np.arange(8000.0, 8600.0, 1.0)  # 600 pixels, 1 Å apart
    coef = np.ones(wave.size)
    win = Window("Ca II 8498", "Ca II", 8498.0, 4.0)  # pixels 8494…8502: 9 pixels
    coef[window_mask(wave, win)] = -3.0  # sign must not matter
    imp = window_importance(wave, coef, [win, Window("far", "none", 9000.0, 5.0)])
    mean_all = (591 * 1 + 9 * 3) / 600
    assert imp.loc[0, "n_pixels"] == 9
    assert imp.loc[0, "ratio"] == pytest.approx(3 / mean_all)
    assert imp.loc[1, "n_pixels"] == 0 and np.isnan(imp.loc[1, "ratio"])
    g = group_importance(wave, coef, [win])
    assert g["Ca II"] == pytest.approx(3 / mean_all)
    with pytest.raises(ShapeMismatchError):
        window_importance(wave[:-1], coef)


def test_topk_energy_share_and_curve() -> None:
    coef = np.array([3.0, -4.0, 0.0, 0.0, 0.0])  # energies 9, 16 → total 25
    assert topk_energy_share(coef, 1) == pytest.approx(16 / 25)
    assert topk_energy_share(coef, 2) == pytest.approx(1.0)
    assert np.allclose(energy_curve(coef), [16 / 25, 1, 1, 1, 1])
    flat = np.ones(100)
    assert topk_energy_share(flat, 10) == pytest.approx(0.1)
    with pytest.raises(InvalidParameterError):
        topk_energy_share(coef, 0)


def test_standardise() -> None:
    assert np.allclose(standardise([1.0, -2.0], [0.5, 2.0]), [0.5, -4.0])
    with pytest.raises(ShapeMismatchError):
        standardise([1.0], [1.0, 2.0])


def test_pixel_std_matches_numpy() -> None:
    rng = np.random.default_rng(3)
    x = (rng.normal(size=(50, 7)) * 0.01 + 100).astype(np.float32)
    rows = rng.random(50) < 0.6
    assert np.allclose(pixel_std(x, rows, chunk_size=8), x[rows].astype(float).std(axis=0),
                       rtol=1e-6)
    assert np.allclose(pixel_std(x), x.astype(float).std(axis=0), rtol=1e-6)
    with pytest.raises(InvalidParameterError):
        pixel_std(x, [0])
