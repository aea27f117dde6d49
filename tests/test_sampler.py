"""Tests of moehelpers.data.sampler and moehelpers.data.fibre_noise on a tiny fake grid."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import FakeGrid

from moehelpers.data import spectra as data
from moehelpers.data.fibre_noise import FibreNoiseModel, vacuum_to_air
from moehelpers.data.sampler import (
    LABEL_BOX,
    calibrate_exposure,
    default_dataset,
    draw_labels,
    make_dataset,
    split_seeds,
)
from moehelpers.errors import GridRangeError, InvalidParameterError
from moehelpers.paths import repo_root


@pytest.fixture(scope="module")
def grid() -> FakeGrid:
    return FakeGrid()


def test_labels_deterministic_prefix_stable_and_in_box() -> None:
    a, b = draw_labels(300, 7), draw_labels(300, 7)
    assert a.equals(b)
    assert a.iloc[:40].equals(draw_labels(40, 7))  # changing n keeps earlier draws
    assert not a.equals(draw_labels(300, 8))
    for key, (lo, hi) in LABEL_BOX.items():
        assert a[key].between(lo, hi).all()
    assert (a[["a_M", "C_M", "redshift"]] == 0).all().all()


def test_bin_coverage_matches_original() -> None:
    labels = draw_labels(20000, 0)
    covered = labels["T_eff"].between(3750, 6000) & labels["M_H"].between(-2.0, 0.5)
    # expected 2.5 / 3 = 0.833; binomial sd 0.0026 → 4.5 sd tolerance
    assert abs(covered.mean() - 2.5 / 3.0) < 0.012


def test_make_dataset_deterministic_and_chunk_independent(grid: FakeGrid) -> None:
    a = make_dataset(25, 3, grid=grid)
    b = make_dataset(25, 3, grid=grid, chunk_size=7)
    np.testing.assert_array_equal(a.flux, b.flux)
    np.testing.assert_array_equal(a.error, b.error)
    assert a.labels.equals(b.labels)
    assert a.meta["settings_sha256"] == b.meta["settings_sha256"]
    assert a.meta["seed"] == 3 and a.meta["n"] == 25
    assert a.meta["noise_model"]["version"] and len(a.meta["grid"]["sha256"]) == 64
    c = make_dataset(25, 4, grid=grid)
    assert not np.array_equal(a.flux, c.flux)


def test_flux_median_normalised_error_positive_and_snr_label(grid: FakeGrid) -> None:
    ds = make_dataset(40, 11, grid=grid)
    np.testing.assert_allclose(np.median(ds.flux, axis=1), 1.0, rtol=1e-6)
    assert np.isfinite(ds.error).all() and (ds.error > 0).all()
    assert ds.flux.dtype == np.float32 and ds.flux.shape == (40, grid.wave.size)
    l2 = np.linalg.norm(ds.flux.astype(float), axis=1) / np.linalg.norm(
        ds.error.astype(float), axis=1
    )
    np.testing.assert_allclose(ds.label("snr"), l2, rtol=1e-5)
    np.testing.assert_allclose(ds.snr_l2(0.2), ds.label("snr") / 0.2, rtol=1e-5)


def test_normalized_kind_is_continuum_normalised(grid: FakeGrid) -> None:
    ds = make_dataset(10, 2, grid=grid, kind="normalized")
    far = np.abs(grid.wave - 7500.0) < 100.0  # no lines there
    np.testing.assert_allclose(ds.flux[:, far], 1.0, atol=1e-5)
    assert ds.flux.max() <= 1.0 + 1e-6
    phys = make_dataset(10, 2, grid=grid)
    np.testing.assert_allclose(ds.label("snr"), phys.label("snr"), rtol=0.2)


def test_snr_scales_with_noise_level_and_magnitude(grid: FakeGrid) -> None:
    bright = make_dataset(20, 5, grid=grid, label_box={"mag": (20.5, 20.5)})
    faint = make_dataset(20, 5, grid=grid, label_box={"mag": (22.5, 22.5)})
    assert bright.labels[["T_eff", "log_g", "M_H"]].equals(faint.labels[["T_eff", "log_g", "M_H"]])
    assert (faint.error > bright.error).all()
    assert (faint.label("snr") < 0.6 * bright.label("snr")).all()
    for level in (0.1, 0.5, 2.0):
        np.testing.assert_allclose(faint.snr_l2(level), faint.snr_l2(1.0) / level, rtol=1e-6)


def test_oh_lines_give_error_peaks_at_their_air_wavelengths() -> None:
    grid = FakeGrid(n_pixels=4096)
    model = FibreNoiseModel()
    flux = grid.spectra([5000.0], [2.5], [-1.5])
    err = model.error(grid.wave, flux, np.array([21.5]))[0] / np.median(flux)
    for vac in (7915.88, 8346.89, 8829.51):  # strong OH lines of Rousselot et al. (2000)
        air = float(vacuum_to_air(np.array([vac]))[0])
        window = np.abs(grid.wave - air) < 12.0
        peak = grid.wave[window][np.argmax(err[window])]
        assert abs(peak - air) < 0.6  # the peak sits on the air wavelength (Δvac-air ≈ 2.3 Å)
        assert err[window].max() > 2.5 * np.median(err[window])
    sky = model.sky_photons(grid.wave)
    assert sky["oh"].max() > 50 * sky["continuum"].max()


def test_throughput_falls_toward_the_red() -> None:
    wave = np.linspace(7100.0, 8850.0, 200)
    through = FibreNoiseModel().throughput(wave)
    assert np.all(np.diff(through) < 0) and 0.2 < through[-1] < through[0] <= 0.35


def test_calibration_solves_for_target(grid: FakeGrid) -> None:
    t = calibrate_exposure(grid, n=300, seed=9)
    ds = make_dataset(300, 9, grid=grid, noise_model=FibreNoiseModel(exposure_s=t))
    assert np.median(ds.label("snr")) / 0.2 == pytest.approx(14.6, rel=1e-6)
    other = make_dataset(300, 10, grid=grid, noise_model=FibreNoiseModel(exposure_s=t))
    assert np.median(other.label("snr")) == pytest.approx(2.92, rel=0.15)


def test_invalid_parameters_are_rejected(grid: FakeGrid) -> None:
    with pytest.raises(InvalidParameterError, match="kind"):
        make_dataset(3, 0, grid=grid, kind="raw")
    with pytest.raises(InvalidParameterError, match="label_box"):
        make_dataset(3, 0, grid=grid, label_box={"logg": (1, 2)})
    with pytest.raises(InvalidParameterError, match="sky_band_mag"):
        make_dataset(3, 0, grid=grid, noise_model=FibreNoiseModel(sky_band_mag=23.0))
    with pytest.raises(InvalidParameterError, match="seed"):
        draw_labels(3, -1)
    with pytest.raises(GridRangeError):
        make_dataset(3, 0, grid=grid, label_box={"T_eff": (3000.0, 3500.0)})


def test_default_dataset_reuses_matching_files_and_rewrites_others(
    grid: FakeGrid, tmp_path: Path
) -> None:
    sizes = {"n_train": 12, "n_val": 4, "n_test": 6}
    paths = default_dataset(tmp_path, grid=grid, progress=False, **sizes)
    assert set(paths) == {"train", "val", "test"}
    stamps = {k: p.stat().st_mtime_ns for k, p in paths.items()}
    again = default_dataset(tmp_path, grid=grid, progress=False, **sizes)
    assert {k: p.stat().st_mtime_ns for k, p in again.items()} == stamps  # reused

    test = data.load(paths["test"])
    stored = test.meta["stored"]
    assert stored["seed"] == split_seeds(42)["test"] and stored["parent_seed"] == 42
    assert stored["split"] == "test" and len(test) == 6
    np.testing.assert_array_equal(test.noisy_stored, test.noisy(1.0, stored["noisy"]["seed"]))
    assert data.load(paths["train"]).noisy_stored is None

    changed = FibreNoiseModel(exposure_s=2.0 * FibreNoiseModel().exposure_s)
    default_dataset(tmp_path, grid=grid, noise_model=changed, progress=False, **sizes)
    assert all(p.stat().st_mtime_ns != stamps[k] for k, p in paths.items())  # rewritten
    stamps = {k: p.stat().st_mtime_ns for k, p in paths.items()}
    default_dataset(tmp_path, grid=grid, noise_model=changed, progress=False, force=True, **sizes)
    assert all(p.stat().st_mtime_ns != stamps[k] for k, p in paths.items())
    assert not list(tmp_path.rglob("*.tmp*"))


_GRID_FILE = repo_root() / "data" / "grid" / "sme_grid.h5"


@pytest.mark.grid
@pytest.mark.skipif(
    not _GRID_FILE.is_file(),
    reason=f"{_GRID_FILE} is absent (the SME grid is not built/committed yet)",
)
def test_shipped_exposure_reproduces_reference_snr_on_real_grid() -> None:
    from moehelpers.data.grid import SpectralGrid

    ds = make_dataset(1000, 20251203, grid=SpectralGrid.load())
    median = float(np.median(ds.label("snr")))
    assert median / 0.2 == pytest.approx(14.6, rel=0.15)  # REFERENCE.md §2
    assert median / 1.0 == pytest.approx(2.9, rel=0.15)
