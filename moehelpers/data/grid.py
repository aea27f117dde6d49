"""The embedded spectral grid: SME synthetic spectra on (Teff, log g, [M/H]) nodes.

The grid file ``data/grid/sme_grid.h5`` is built by ``tools/build_grid.py`` (SME LTE
synthesis with MARCS atmospheres, Gaia-ESO atomic lines + Paschen lines, TiO/CN for cool
metal-rich nodes, microturbulence ``vmic = 2.478 - 0.325 log g`` km/s, [α/M] = 0). Spectra
are convolved to R = 5000 and sampled at 4096 pixel centres over 7100–8850 Å (air
wavelengths). ``data/grid/manifest.json`` records every setting, input checksum and the
leave-one-node-out interpolation error.

File layout (HDF5)
------------------
``wave`` (P,)                     pixel centres, Å
``teff``, ``logg``, ``mh``        node axes, ascending
``flux_norm`` (nT, nG, nM, P)     continuum-normalised flux, float32
``log10_cont_delta`` (nT, nG, nM, P) int32
                                  log10 of the SME continuum flux (convolved like the
                                  spectra), quantised to ``log10_cont_quantum`` (1e-6 dex,
                                  2.3e-6 relative) and delta-encoded along wavelength:
                                  ``log10_cont = cumsum(delta, axis=-1) * quantum``.  The
                                  continuum is smooth apart from the Paschen edge (8205.8 Å,
                                  a step of up to ~0.6 %), so the deltas are small integers
                                  that compress well, and nothing is lost at the edge.
``filled`` (nT, nG, nM) bool      nodes SME could not compute, filled by interpolation

Interpolation
-------------
Separable local cubic Lagrange interpolation: along each axis the four nodes around the
label (one-sided at the axis edges, so the scheme stays cubic and never extrapolates) get
Lagrange weights, and the spectrum is the tensor contraction over the 4×4×4 neighbouring
nodes. Cubic polynomials in each label are reproduced exactly and node labels return the
node spectra. Stars sharing a stencil are contracted together with one matrix product.
The continuum is interpolated in log10; ``physical = normalized × continuum``.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from numpy.typing import ArrayLike

from moehelpers.errors import DataFileNotFoundError, GridRangeError, InvalidParameterError
from moehelpers.paths import repo_root

__all__ = ["DEFAULT_GRID_PATH", "SpectralGrid", "lagrange_stencil", "load_grid"]

#: Location of the committed grid.
DEFAULT_GRID_PATH: Path = repo_root() / "data" / "grid" / "sme_grid.h5"

_KINDS = ("physical", "normalized", "continuum")
_LABELS = ("teff", "logg", "mh")
_CHUNK = 1024  # stars per matrix product (bounds temporary memory to ~35 MB)


def lagrange_stencil(axis: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Stencil start indices and cubic Lagrange weights along one axis.

    Parameters
    ----------
    axis : ndarray of shape (n,)
        Ascending node values.
    x : ndarray of shape (N,)
        Query values inside ``[axis[0], axis[-1]]``.

    Returns
    -------
    start : ndarray of shape (N,), int
        First node of each stencil of ``m = min(4, n)`` consecutive nodes.
    weights : ndarray of shape (N, m)
        Lagrange weights; they sum to 1 and equal ``[.., 1, ..]`` exactly at a node.
    """
    axis = np.asarray(axis, dtype=np.float64)
    x = np.asarray(x, dtype=np.float64)
    n = axis.size
    m = min(4, n)
    if n == 1:
        return np.zeros(x.size, dtype=np.intp), np.ones((x.size, 1))
    i = np.clip(np.searchsorted(axis, x, side="right") - 1, 0, n - 2)
    start = np.clip(i - 1, 0, n - m)  # centred where possible, one-sided at the edges
    nodes = axis[start[:, None] + np.arange(m)]  # (N, m)
    weights = np.ones((x.size, m))
    for j in range(m):
        for k in range(m):
            if k != j:
                weights[:, j] *= (x - nodes[:, k]) / (nodes[:, j] - nodes[:, k])
    return start, weights


@dataclass
class SpectralGrid:
    """Synthetic spectra on a regular (Teff, log g, [M/H]) grid, with interpolation.

    Attributes
    ----------
    wave : ndarray of shape (P,)
        Pixel centres in Å (air).
    teff, logg, mh : ndarray
        Node axes, ascending.
    flux_norm : ndarray of shape (nT, nG, nM, P), float32
        Continuum-normalised node spectra.
    log10_cont : ndarray of shape (nT, nG, nM, P), float64
        log10 of the continuum flux at every pixel.
    filled : ndarray of shape (nT, nG, nM), bool
        Nodes that were filled by interpolation because SME failed there.
    attrs : dict
        File attributes (settings, provenance).
    path : Path or None
        File the grid was read from.
    """

    wave: np.ndarray
    teff: np.ndarray
    logg: np.ndarray
    mh: np.ndarray
    flux_norm: np.ndarray
    log10_cont: np.ndarray
    filled: np.ndarray | None = None
    attrs: dict = field(default_factory=dict)
    path: Path | None = None

    def __post_init__(self) -> None:
        shape = (self.teff.size, self.logg.size, self.mh.size, self.wave.size)
        for name in ("flux_norm", "log10_cont"):
            if getattr(self, name).shape != shape:
                raise InvalidParameterError(
                    f"SpectralGrid.{name} has shape {getattr(self, name).shape}, expected "
                    f"{shape} from the axes. Fix: rebuild the grid file."
                )
        for name in _LABELS:
            ax = getattr(self, name)
            if ax.ndim != 1 or (ax.size > 1 and np.any(np.diff(ax) <= 0)):
                raise InvalidParameterError(
                    f"Grid axis {name!r} must be 1-D and strictly ascending; got {ax}."
                )
        if self.filled is None:
            self.filled = np.zeros(shape[:3], dtype=bool)

    # ------------------------------------------------------------------ loading
    @classmethod
    def load(cls, path: str | Path | None = None) -> SpectralGrid:
        """Read a grid file (default: ``$MOE_GRID_PATH`` if set, else :data:`DEFAULT_GRID_PATH`).

        Raises
        ------
        DataFileNotFoundError
            If the file does not exist.
        """
        import h5py

        if path is None:
            path = os.environ.get("MOE_GRID_PATH") or DEFAULT_GRID_PATH
        path = Path(path)
        if not path.is_file():
            raise DataFileNotFoundError(
                f"Spectral grid file not found: {path}. The grid is committed to the "
                "repository as data/grid/sme_grid.h5; restore it with `git checkout -- "
                "data/grid/sme_grid.h5`, or rebuild it (hours) with `python "
                "tools/build_grid.py fetch prepare build assemble` (see that script)."
            )
        with h5py.File(path, "r") as f:
            wave = f["wave"][()].astype(np.float64)
            axes = [f[k][()].astype(np.float64) for k in _LABELS]
            flux = f["flux_norm"][()].astype(np.float32)
            delta = f["log10_cont_delta"][()]
            filled = f["filled"][()].astype(bool) if "filled" in f else None
            attrs = {k: (v.item() if hasattr(v, "item") and np.ndim(v) == 0 else v)
                     for k, v in f.attrs.items()}
        quantum = float(attrs.get("log10_cont_quantum", 1e-6))
        log10_cont = np.cumsum(delta, axis=-1, dtype=np.int64) * quantum
        return cls(wave, *axes, flux, log10_cont, filled, attrs, path)

    @property
    def sha256(self) -> str:
        """sha256 of the grid file (of the arrays when the grid was built in memory)."""
        h = hashlib.sha256()
        if self.path is not None and Path(self.path).is_file():
            with open(self.path, "rb") as f:
                for block in iter(lambda: f.read(1 << 20), b""):
                    h.update(block)
        else:
            for a in (self.wave, self.teff, self.logg, self.mh, self.flux_norm, self.log10_cont):
                h.update(np.ascontiguousarray(a).tobytes())
        return h.hexdigest()

    @property
    def bounds(self) -> dict[str, tuple[float, float]]:
        """Allowed label range per axis: ``{"teff": (lo, hi), "logg": ..., "mh": ...}``."""
        return {k: (float(getattr(self, k)[0]), float(getattr(self, k)[-1])) for k in _LABELS}

    # ------------------------------------------------------------------ spectra
    def node_spectra(self, kind: str = "physical") -> np.ndarray:
        """All node spectra, shape (nT, nG, nM, P), float32."""
        kind = _check_kind(kind)
        if kind == "normalized":
            return self.flux_norm
        cont = np.power(10.0, self.log10_cont, dtype=np.float64)
        if kind == "continuum":
            return cont.astype(np.float32)
        return (self.flux_norm * cont).astype(np.float32)

    def spectra(
        self, teff: ArrayLike, logg: ArrayLike, mh: ArrayLike, *, kind: str = "physical"
    ) -> np.ndarray:
        """Interpolated spectra at the given labels.

        Parameters
        ----------
        teff, logg, mh : array_like of shape (N,) or scalars
            Labels (K, dex, dex); broadcast against each other.
        kind : {"physical", "normalized", "continuum"}, default="physical"
            ``"normalized"``: continuum-normalised flux; ``"continuum"``: SME continuum
            flux; ``"physical"``: normalized × continuum (not median-normalised).

        Returns
        -------
        ndarray of shape (N, P), float32

        Raises
        ------
        GridRangeError
            If a label is non-finite or outside the grid.
        """
        kind = _check_kind(kind)
        labels = np.broadcast_arrays(*(np.atleast_1d(np.asarray(v, float)) for v in
                                       (teff, logg, mh)))
        labels = [v.ravel() for v in labels]
        self._check_range(labels)
        return self._interp(labels, kind)

    def _check_range(self, labels: list[np.ndarray]) -> None:
        for name, v in zip(_LABELS, labels, strict=True):
            lo, hi = self.bounds[name]
            bad = ~np.isfinite(v) | (v < lo) | (v > hi)
            if bad.any():
                i = int(np.flatnonzero(bad)[0])
                raise GridRangeError(
                    f"Label {name}={v[i]!r} (star {i}, {int(bad.sum())} star(s) in all) is "
                    f"outside the spectral grid, which covers {name} in [{lo}, {hi}]. Fix: "
                    f"draw or clip labels inside the grid bounds (SpectralGrid.bounds)."
                )

    def _interp(self, labels: list[np.ndarray], kind: str) -> np.ndarray:
        """Tensor-product Lagrange interpolation, one matrix product per stencil cell."""
        p = self.wave.size
        (s0, w0), (s1, w1), (s2, w2) = (lagrange_stencil(getattr(self, k), v)
                                        for k, v in zip(_LABELS, labels, strict=True))
        m0, m1, m2 = w0.shape[1], w1.shape[1], w2.shape[1]
        key = (s0 * self.logg.size + s1) * self.mh.size + s2
        order = np.argsort(key, kind="stable")
        bounds = np.flatnonzero(np.diff(key[order])) + 1
        out = np.empty((key.size, p), dtype=np.float32)
        for cell in np.split(order, bounds):
            i0, i1, i2 = s0[cell[0]], s1[cell[0]], s2[cell[0]]
            sub = (slice(i0, i0 + m0), slice(i1, i1 + m1), slice(i2, i2 + m2))
            fn = self.flux_norm[sub].reshape(-1, p) if kind != "continuum" else None
            lc = self.log10_cont[sub].reshape(-1, p) if kind != "normalized" else None
            for rows in np.array_split(cell, -(-cell.size // _CHUNK)):
                w = (w0[rows, :, None, None] * w1[rows, None, :, None]
                     * w2[rows, None, None, :]).reshape(rows.size, -1)
                if kind == "normalized":
                    out[rows] = w.astype(np.float32) @ fn
                    continue
                cont = np.power(10.0, w @ lc)
                if kind == "physical":
                    cont *= w.astype(np.float32) @ fn
                out[rows] = cont
        return out


def _check_kind(kind: str) -> str:
    if kind not in _KINDS:
        raise InvalidParameterError(
            f"kind must be one of {_KINDS}; got {kind!r}. Fix: pass kind='physical', "
            "'normalized' or 'continuum'."
        )
    return kind


def load_grid(path: str | Path | None = None) -> SpectralGrid:
    """Load the spectral grid (default: the committed ``data/grid/sme_grid.h5``)."""
    return SpectralGrid.load(path)
