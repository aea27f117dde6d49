"""Flux kinds: the continuum-robust variants of the data (moehelpers.data.flux_kind)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import FakeGrid

from moehelpers.book import parameters
from moehelpers.data import flux_kind
from moehelpers.data.sampler import make_dataset
from moehelpers.data.spectra import save
from moehelpers.data.splits import load_splits, noisy_splits
from moehelpers.errors import InvalidParameterError
from moehelpers.evaluation import ceiling


def _write(root: Path, kind: str = "physical", n: int = 40) -> Path:
    grid = FakeGrid(n_pixels=256)
    for k, split in enumerate(("train", "val", "test")):
        save(make_dataset(n, 10 + k, grid=grid, kind=kind, store_noisy=split == "test"),
             root / split / "dataset.h5")
    return root


@pytest.fixture(scope="module")
def data_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _write(tmp_path_factory.mktemp("fk"))


def test_distortion_keeps_pixel_snr_and_median(data_root: Path) -> None:
    plain = load_splits(data_root)
    bent = load_splits(data_root, flux_kind="distorted", distortion_amplitude=0.1,
                       distortion_seed=3)
    for s in ("train", "val", "test"):
        a, b = plain[s], bent[s]
        np.testing.assert_allclose(np.median(b.flux, axis=1), 1.0, atol=1e-3)
        np.testing.assert_allclose(b.flux / b.error, a.flux / a.error, rtol=1e-5)
        assert not np.allclose(b.flux, a.flux, atol=1e-3)  # the continuum really changed
        ratio = np.log(b.flux / a.flux)  # a smooth function of wavelength: orders ≤ 3 fit it
        basis = np.column_stack([np.ones(a.n_pixels),
                                 flux_kind.continuum_basis(a.wave, flux_kind.DISTORTION_ORDER)])
        coef, *_ = np.linalg.lstsq(basis, ratio.T, rcond=None)
        assert np.max(np.abs(basis @ coef - ratio.T)) < 1e-5
    ratio_noisy = bent.test.noisy_stored / plain.test.noisy_stored
    np.testing.assert_allclose(ratio_noisy, bent.test.flux / plain.test.flux, rtol=1e-5)


def test_distortion_frozen_per_star_and_seeded(data_root: Path) -> None:
    a = load_splits(data_root, flux_kind="distorted", distortion_seed=1)
    b = load_splits(data_root, n_train=10, n_val=5, n_test=5, flux_kind="distorted",
                    distortion_seed=1)
    c = load_splits(data_root, flux_kind="distorted", distortion_seed=2)
    np.testing.assert_array_equal(a.train.flux[:10], b.train.flux)  # first k rows agree
    assert not np.allclose(a.train.flux, c.train.flux)
    assert not np.allclose(a.train.flux[0], a.val.flux[0])  # splits get their own draws
    assert a.identity["flux_kind"] == {"kind": "distorted", "amplitude": 0.05,
                                       "order": flux_kind.DISTORTION_ORDER, "seed": 1}
    assert a.identity != c.identity  # records of different distortions never collide
    # the noise realisation stays that of the stored flux's seed: frozen test stars
    assert noisy_splits(a, 0.2, 42)["test"].shape == a.test.flux.shape


def test_rms_of_default_distortion_is_stated_value() -> None:
    wave = np.linspace(7100.0, 8850.0, 4096)
    factors, coefs = flux_kind.distortion_factors(wave, 4000, amplitude=0.05, seed=0)
    assert coefs.shape == (4000, 3)
    rms = np.sqrt(np.mean(np.log(factors) ** 2))
    expected = 0.05 * np.sqrt(1 / 3 + 1 / 5 + 1 / 7)  # the module docstring's 4.1 %
    assert rms == pytest.approx(expected, rel=0.05)
    assert np.array_equal(flux_kind.distortion_factors(wave, 5, amplitude=0.0, seed=0)[0],
                          np.ones((5, 4096)))


def test_normalized_needs_known_continuum(data_root: Path, tmp_path: Path) -> None:
    with pytest.raises(InvalidParameterError, match="continuum of these stars is unknown"):
        load_splits(data_root, flux_kind="normalized")
    norm = load_splits(_write(tmp_path / "norm", kind="normalized"), flux_kind="normalized")
    assert norm.identity["flux_kind"] == {"kind": "normalized"}
    grid = FakeGrid(n_pixels=256)
    lab = norm.test.labels
    truth = grid.spectra(lab["T_eff"], lab["log_g"], lab["M_H"], kind="normalized")
    np.testing.assert_allclose(norm.test.flux, truth, rtol=1e-5)


@pytest.mark.parametrize("bad", [{"flux_kind": "raw"}, {"flux_kind": "distorted",
                                                        "distortion_amplitude": 0.9}])
def test_bad_values_name_the_problem(data_root: Path, bad: dict) -> None:
    with pytest.raises(InvalidParameterError, match=r"flux_kind|distortion_amplitude"):
        load_splits(data_root, **bad)


def test_notebook_parameter_checker_knows_the_choices() -> None:
    assert parameters.check_value("flux_kind", "distorted", "str") == "distorted"
    with pytest.raises(InvalidParameterError, match="'physical', 'normalized', 'distorted'"):
        parameters.check_value("flux_kind", "normalised", "str")
    with pytest.raises(InvalidParameterError, match=r"≤ 0\.5"):
        parameters.check_value("distortion_amplitude", 2.0, "float")


def test_free_continuum_ceiling_is_weaker() -> None:
    """Marginalising a low-order continuum can only lose log g information."""
    rng = np.random.default_rng(0)
    jac = rng.normal(size=(6, 80, 3))
    flux = 1.0 + 0.1 * rng.normal(size=(6, 80))
    basis = flux_kind.continuum_basis(np.linspace(7100.0, 8850.0, 80), 3)
    full = np.concatenate([jac, flux[..., None], flux[..., None] * basis[None]], axis=-1)
    F, _ = ceiling.fisher(full, np.full(80, 0.05))
    known = ceiling.marginal_bound(F[:, :3, :3])[0]
    scale = ceiling.marginal_bound(F[:, :4, :4])[0]
    free = ceiling.marginal_bound(F)[0]
    assert np.all(known <= scale * (1 + 1e-12)) and np.all(scale <= free * (1 + 1e-12))
    eff = ceiling.marginal_fisher(F, 3)
    np.testing.assert_allclose(ceiling.marginal_bound(eff)[0], free, rtol=1e-9)
    np.testing.assert_allclose(eff, np.linalg.inv(np.linalg.inv(F)[:, :3, :3]), rtol=1e-8)
