"""Physical wavelength windows of the PFS red arm and what a coefficient vector puts on them.

A :class:`Window` is a named interval ``[centre − half_width, centre + half_width]`` (Å, the
wavelength scale of the data). :data:`PHYSICAL_WINDOWS` holds the lines of REFERENCE.md §6:
the Ca II triplet, the Na I doublet, Mg I 8806, the Paschen lines of the range that are not
blended with Ca II, and three TiO band regions (cool metal-rich stars). Later gate features
(window depths, equivalent widths) use the same objects.

Coefficient summaries (MVP-5.0): :func:`window_importance` (mean |w| inside a window over the
mean |w| of all pixels), :func:`topk_energy_share` (share of Σw² carried by the k largest
|w|) and :func:`standardise` (coefficients on a standardised-pixel basis).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from moehelpers.errors import InvalidParameterError, ShapeMismatchError

__all__ = ["PHYSICAL_WINDOWS", "Window", "energy_curve", "group_importance", "pixel_std",
           "standardise",
           "topk_energy_share", "window_importance", "window_mask"]


@dataclass(frozen=True)
class Window:
    """A wavelength window: ``name``, ``species`` (group), ``centre`` and ``half_width`` (Å)."""

    name: str
    species: str
    centre: float
    half_width: float

    def __post_init__(self) -> None:
        if not self.half_width > 0:
            raise InvalidParameterError(f"window {self.name!r}: half_width must be > 0; got "
                                        f"{self.half_width!r}.")

    @property
    def lo(self) -> float:
        return self.centre - self.half_width

    @property
    def hi(self) -> float:
        return self.centre + self.half_width


#: Windows of REFERENCE.md §6 (air wavelengths, Å). Paschen lines blended with the Ca II
#: triplet (Pa 13, 15, 16) are left out so that the two groups do not share pixels.
PHYSICAL_WINDOWS: tuple[Window, ...] = (
    Window("Ca II 8498", "Ca II", 8498.0, 4.0),
    Window("Ca II 8542", "Ca II", 8542.1, 4.0),
    Window("Ca II 8662", "Ca II", 8662.1, 4.0),
    Window("Na I 8183", "Na I", 8183.3, 3.0),
    Window("Na I 8195", "Na I", 8194.8, 3.0),
    Window("Mg I 8806", "Mg I", 8806.8, 3.0),
    Window("Pa 18 8438", "Paschen", 8437.9, 3.0),
    Window("Pa 17 8467", "Paschen", 8467.3, 3.0),
    Window("Pa 14 8598", "Paschen", 8598.4, 3.0),
    Window("Pa 12 8750", "Paschen", 8750.5, 3.0),
    Window("TiO 7126", "TiO", 7151.0, 25.0),
    Window("TiO 7589", "TiO", 7614.0, 25.0),
    Window("TiO 8432", "TiO", 8447.0, 15.0),
)


def window_mask(wave: Any, window: Window) -> np.ndarray:
    """Boolean mask of the pixels whose wavelength lies inside ``window`` (inclusive)."""
    w = np.asarray(wave, dtype=float)
    return (w >= window.lo) & (w <= window.hi)


def _vector(coef: Any, wave: Any) -> tuple[np.ndarray, np.ndarray]:
    c, w = np.asarray(coef, dtype=float), np.asarray(wave, dtype=float)
    if c.ndim != 1 or c.shape != w.shape:
        raise ShapeMismatchError(f"coef and wave must be 1-D of the same length; got "
                                 f"{c.shape} and {w.shape}.")
    return c, w


def standardise(coef: Any, pixel_std: Any) -> np.ndarray:
    """Coefficients on a standardised-pixel basis: ``w · σ_pixel`` (σ of the training flux).

    ``w_j σ_j`` is the change of the prediction for a one-σ change of pixel j, so pixels
    (and experts trained on stars of different flux scatter) become comparable.
    """
    c, s = np.asarray(coef, dtype=float), np.asarray(pixel_std, dtype=float)
    if c.shape != s.shape:
        raise ShapeMismatchError(f"coef {c.shape} and pixel_std {s.shape} differ in shape.")
    return c * s


def pixel_std(X: Any, rows: Any = None, *, chunk_size: int = 4096) -> np.ndarray:
    """Per-pixel standard deviation of ``X[rows]`` (all rows when None), in float64 chunks.

    Reads the rows chunk by chunk, so no full-size copy of the spectra is made.
    """
    idx = np.arange(np.shape(X)[0]) if rows is None else np.asarray(rows)
    if idx.dtype == bool:
        idx = np.flatnonzero(idx)
    if idx.size < 2:
        raise InvalidParameterError(f"pixel_std needs ≥ 2 rows; got {idx.size}.")
    p = np.shape(X)[1]
    shift = np.asarray(X[idx[:1]], dtype=np.float64)[0]  # shifted sums: no cancellation
    s1, s2 = np.zeros(p), np.zeros(p)
    for start in range(0, idx.size, chunk_size):
        u = np.asarray(X[idx[start:start + chunk_size]], dtype=np.float64) - shift
        s1 += u.sum(axis=0)
        s2 += np.einsum("ij,ij->j", u, u)
    n = idx.size
    return np.sqrt(np.maximum(s2 / n - (s1 / n) ** 2, 0.0))


def window_importance(wave: Any, coef: Any, windows: Sequence[Window] = PHYSICAL_WINDOWS
                      ) -> pd.DataFrame:
    """Mean |w| inside each window relative to the mean |w| over all pixels.

    Returns a DataFrame with ``window``, ``species``, ``centre``, ``half_width``,
    ``n_pixels``, ``mean_abs_w`` and ``ratio`` (NaN for a window without pixels).
    """
    c, w = _vector(coef, wave)
    a = np.abs(c)
    mean_all = float(a.mean())
    rows = []
    for win in windows:
        m = window_mask(w, win)
        mean_in = float(a[m].mean()) if m.any() else np.nan
        rows.append({"window": win.name, "species": win.species, "centre": win.centre,
                     "half_width": win.half_width, "n_pixels": int(m.sum()),
                     "mean_abs_w": mean_in,
                     "ratio": mean_in / mean_all if mean_all > 0 else np.nan})
    return pd.DataFrame(rows)


def group_importance(wave: Any, coef: Any, windows: Sequence[Window] = PHYSICAL_WINDOWS
                     ) -> pd.Series:
    """Mean |w| over the union of each species' windows, relative to the mean |w|."""
    c, w = _vector(coef, wave)
    a = np.abs(c)
    out = {}
    for sp in dict.fromkeys(win.species for win in windows):
        m = np.zeros(w.shape, dtype=bool)
        for win in windows:
            if win.species == sp:
                m |= window_mask(w, win)
        out[sp] = float(a[m].mean() / a.mean()) if m.any() and a.mean() > 0 else np.nan
    return pd.Series(out, name="ratio")


def topk_energy_share(coef: Any, k: int) -> float:
    """Share of the energy Σw² carried by the ``k`` pixels of largest |w|."""
    if not isinstance(k, int | np.integer) or isinstance(k, bool) or k < 1:
        raise InvalidParameterError(f"k must be an integer ≥ 1; got {k!r}.")
    e = np.sort(np.asarray(coef, dtype=float).ravel() ** 2)[::-1]
    total = e.sum()
    return float(e[:k].sum() / total) if total > 0 else np.nan


def energy_curve(coef: Any) -> np.ndarray:
    """Cumulative share of Σw² against the number of pixels, largest |w| first."""
    e = np.sort(np.asarray(coef, dtype=float).ravel() ** 2)[::-1]
    return np.cumsum(e) / e.sum() if e.sum() > 0 else np.full(e.shape, np.nan)
