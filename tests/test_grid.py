"""Tests of :mod:`moehelpers.data.grid`: the interpolation scheme and the committed SME grid.

The scheme is tested on small in-memory grids (no file needed). Tests marked ``grid`` read
``data/grid/sme_grid.h5`` (committed; skipped with a reason when it is absent) and check
physics that a fake generator would not reproduce.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from moehelpers.data.grid import DEFAULT_GRID_PATH, SpectralGrid, lagrange_stencil, load_grid
from moehelpers.errors import (
    DataFileNotFoundError,
    GridRangeError,
    InvalidParameterError,
    MoEHelpersError,
)

# ----------------------------------------------------------------------------- helpers


def _cubic(t, g, m, coef):
    """A separable-degree cubic polynomial in (t, g, m) with pixel-dependent coefficients."""
    t, g, m = (np.asarray(v, float)[..., None] for v in (t, g, m))
    x, y, z = (t - 4800.0) / 1000.0, (g - 3.0) / 2.0, (m + 1.0) / 1.5
    return (coef[0] + coef[1] * x + coef[2] * x**3 + coef[3] * y**2 + coef[4] * y**3
            + coef[5] * z**3 + coef[6] * x * y * z + coef[7] * x**2 * z**3)


def _poly_grid(n_pixels: int = 16) -> tuple[SpectralGrid, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(1)
    teff = np.array([3750.0, 4000.0, 4500.0, 4750.0, 5250.0, 6000.0])  # non-uniform
    logg = np.array([1.0, 1.5, 2.5, 3.0, 4.0, 5.0])
    mh = np.array([-2.5, -2.0, -1.0, -0.5, -0.25, 0.0, 0.5])
    cf = rng.normal(0.0, 0.05, (8, n_pixels))
    cf[0] += 0.9
    cl = rng.normal(0.0, 0.05, (8, n_pixels))
    cl[0] += 6.5
    tt, gg, mm = np.meshgrid(teff, logg, mh, indexing="ij")
    grid = SpectralGrid(
        wave=np.linspace(7100.0, 8850.0, n_pixels), teff=teff, logg=logg, mh=mh,
        flux_norm=_cubic(tt, gg, mm, cf).astype(np.float32),
        log10_cont=_cubic(tt, gg, mm, cl),
    )
    return grid, cf, cl


@pytest.fixture(scope="module")
def poly_grid():
    return _poly_grid()


# ----------------------------------------------------------------------------- the scheme


def test_lagrange_weights_partition_unity_and_select_nodes():
    axis = np.array([0.0, 1.0, 2.5, 3.0, 5.0])
    x = np.array([0.0, 0.3, 1.0, 2.7, 4.9, 5.0])
    start, w = lagrange_stencil(axis, x)
    assert w.shape == (6, 4)
    np.testing.assert_allclose(w.sum(axis=1), 1.0, rtol=0, atol=1e-14)
    assert list(start) == [0, 0, 0, 1, 1, 1]  # centred inside, one-sided at the edges
    assert w[2].tolist() == [0.0, 1.0, 0.0, 0.0]  # exactly at node 1
    assert w[-1].tolist() == [0.0, 0.0, 0.0, 1.0]


def test_short_axes_fall_back_to_lower_order():
    _, w = lagrange_stencil(np.array([1.0, 2.0]), np.array([1.25]))
    np.testing.assert_allclose(w, [[0.75, 0.25]])
    _, w = lagrange_stencil(np.array([7.0]), np.array([7.0]))
    assert w.tolist() == [[1.0]]


def test_cubic_polynomial_reproduced_to_machine_precision(poly_grid):
    grid, cf, cl = poly_grid
    rng = np.random.default_rng(2)
    n = 500
    t = rng.uniform(3750, 6000, n)
    g = rng.uniform(1, 5, n)
    m = rng.uniform(-2.5, 0.5, n)
    norm = grid.spectra(t, g, m, kind="normalized")
    np.testing.assert_allclose(norm, _cubic(t, g, m, cf), rtol=0, atol=2e-6)  # float32 data
    cont = grid.spectra(t, g, m, kind="continuum").astype(np.float64)
    np.testing.assert_allclose(np.log10(cont), _cubic(t, g, m, cl), rtol=0, atol=1e-7)
    phys = grid.spectra(t, g, m)
    np.testing.assert_allclose(phys, norm.astype(np.float64) * cont, rtol=2e-6)


@pytest.mark.parametrize("kind", ["physical", "normalized", "continuum"])
def test_node_labels_return_node_spectra_exactly(poly_grid, kind):
    grid = poly_grid[0]
    tt, gg, mm = np.meshgrid(grid.teff, grid.logg, grid.mh, indexing="ij")
    got = grid.spectra(tt.ravel(), gg.ravel(), mm.ravel(), kind=kind)
    want = grid.node_spectra(kind).reshape(got.shape)
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, want)


def test_scalars_broadcast_and_chunking_agree(poly_grid):
    grid = poly_grid[0]
    one = grid.spectra(4321.0, 2.2, -0.7)
    assert one.shape == (1, grid.wave.size)
    many = grid.spectra(np.full(3000, 4321.0), 2.2, -0.7)  # several matrix-product blocks
    np.testing.assert_allclose(many, np.repeat(one, 3000, axis=0), rtol=1e-6)  # BLAS rounding


@pytest.mark.parametrize(
    ("labels", "name"),
    [((3700.0, 3.0, 0.0), "teff"), ((5000.0, 5.5, 0.0), "logg"),
     ((5000.0, 3.0, 0.75), "mh"), ((5000.0, np.nan, 0.0), "logg")],
)
def test_out_of_range_labels_raise(poly_grid, labels, name):
    with pytest.raises(GridRangeError, match=rf"{name}=.*outside.*\[.*\].*Fix") as err:
        poly_grid[0].spectra(*labels)
    assert isinstance(err.value, MoEHelpersError)


def test_bad_kind_and_missing_file(tmp_path, poly_grid):
    with pytest.raises(InvalidParameterError, match="kind"):
        poly_grid[0].spectra(5000.0, 3.0, 0.0, kind="flux")
    with pytest.raises(DataFileNotFoundError, match="build_grid"):
        SpectralGrid.load(tmp_path / "nope.h5")


def test_bounds(poly_grid):
    assert poly_grid[0].bounds == {"teff": (3750.0, 6000.0), "logg": (1.0, 5.0),
                                   "mh": (-2.5, 0.5)}


# ----------------------------------------------------------------------------- the real grid

_GRID_PATH = Path(os.environ.get("MOE_GRID_PATH") or DEFAULT_GRID_PATH)
needs_grid = pytest.mark.skipif(
    not _GRID_PATH.is_file(),
    reason=f"spectral grid file {_GRID_PATH} is absent (it is committed to git; rebuild "
    "with tools/build_grid.py)",
)


@pytest.fixture(scope="module")
def sme_grid():
    return load_grid()


def _ew(grid: SpectralGrid, flux: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """Equivalent width (Å) of the continuum-normalised flux in the window [lo, hi]."""
    sel = (grid.wave >= lo) & (grid.wave <= hi)
    return (1.0 - flux[..., sel]).sum(axis=-1) * np.diff(grid.wave).mean()


@pytest.mark.grid
@needs_grid
def test_grid_file_layout(sme_grid):
    g = sme_grid
    assert g.wave.shape == (4096,) and g.wave[0] == 7100.0 and g.wave[-1] == 8850.0
    assert g.bounds["teff"] == (3750.0, 6000.0) and g.bounds["logg"] == (1.0, 5.0)
    assert g.bounds["mh"][0] <= -2.0 and g.bounds["mh"][1] >= 0.5
    norm = g.node_spectra("normalized")
    assert norm.shape == (g.teff.size, g.logg.size, g.mh.size, 4096)
    assert np.isfinite(norm).all() and 0.0 < norm.min() and norm.max() < 1.05
    assert (g.node_spectra("continuum") > 0).all()


@pytest.mark.grid
@needs_grid
def test_grid_nodes_reproduced(sme_grid):
    g = sme_grid
    i, j, k = g.teff.size // 2, g.logg.size // 2, g.mh.size // 2
    got = g.spectra(g.teff[i], g.logg[j], g.mh[k])[0]
    np.testing.assert_array_equal(got, g.node_spectra()[i, j, k])


@pytest.mark.grid
@needs_grid
def test_calcium_triplet_grows_with_metallicity(sme_grid):
    """Ca II 8542 EW (8532–8552 Å window) rises monotonically with [M/H] at fixed Teff, log g."""
    g = sme_grid
    mh = np.linspace(g.mh[0], g.mh[-1], 9)
    for teff, logg in [(4000.0, 1.5), (5000.0, 2.5), (5000.0, 4.5), (6000.0, 4.0)]:
        flux = g.spectra(np.full(mh.size, teff), logg, mh, kind="normalized")
        ew = _ew(g, flux, 8532.0, 8552.0)
        assert np.all(np.diff(ew) > 0), (teff, logg, ew)


@pytest.mark.grid
@needs_grid
def test_tio_band_in_cool_metal_rich_dwarfs_only(sme_grid):
    """TiO γ band (7100–7150 Å, redward of the 7126 Å head) is deep at 3750 K, [M/H] = 0
    (mean normalised flux ≈ 0.6) and absent at 6000 K (mean > 0.97); it weakens with lower
    [M/H] at 3750 K."""
    g = sme_grid
    flux = g.spectra([3750.0, 6000.0, 3750.0], 4.5, [0.0, 0.0, -1.5], kind="normalized")
    band = flux[:, g.wave <= 7150.0].mean(axis=1)
    assert band[0] < 0.8
    assert band[1] > 0.97
    assert band[2] > band[0] + 0.2


@pytest.mark.grid
@needs_grid
def test_sodium_doublet_stronger_in_cool_dwarfs_than_giants(sme_grid):
    """Na I 8183/8195 (8178–8200 Å window) is gravity sensitive: at 3750 K and 4000 K with
    [M/H] = 0 the dwarf (log g 4.5) has a larger EW than the giant (log g 1.5). (At
    intermediate log g the trend is not monotonic in the synthesis, so only the ends are
    compared.)"""
    g = sme_grid
    for teff in (3750.0, 4000.0):
        flux = g.spectra([teff, teff], [4.5, 1.5], 0.0, kind="normalized")
        dwarf, giant = _ew(g, flux, 8178.0, 8200.0)
        assert dwarf > giant, (teff, dwarf, giant)
