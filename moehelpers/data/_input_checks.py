"""Checks of inputs that load but are wrong (private; used by :mod:`moehelpers.data.spectra`).

* wavelengths not increasing: every pixel array (flux, error, noisy, mask) and the pixel
  edges are put in increasing-wavelength order together, with an
  :class:`~moehelpers.errors.UnsortedWavelengthWarning` saying so. Duplicated wavelengths
  are refused (:class:`~moehelpers.errors.WavelengthGridError`): two pixels at one
  wavelength cannot be ordered, and which one is right is not ours to guess. Edges that do
  not stay contiguous after the sort are refused as well.
* labels outside physical ranges (:data:`LABEL_RANGES`, generous on purpose: they catch
  unit mistakes — T_eff in kK, log g in cgs g — not unusual stars):
  :class:`~moehelpers.errors.LabelRangeError`.
* a star-id column (:data:`STAR_ID_COLUMNS`) with repeated ids:
  :class:`~moehelpers.errors.DuplicateStarIdError`.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from moehelpers.errors import (
    DuplicateStarIdError,
    LabelRangeError,
    UnsortedWavelengthWarning,
    WavelengthGridError,
)

__all__ = ["LABEL_RANGES", "STAR_ID_COLUMNS", "check_label_ranges", "check_star_ids",
           "sort_pixels"]

#: Accepted physical range (inclusive) of each label, the one place these limits live.
LABEL_RANGES: dict[str, tuple[float, float]] = {
    "T_eff": (2000.0, 50000.0),  # K
    "log_g": (-1.0, 6.0),  # dex, cgs
    "M_H": (-5.0, 1.5),  # dex
}
#: Label columns that, when a file has one, identify a star and must be unique.
STAR_ID_COLUMNS: tuple[str, ...] = ("star_id", "id", "object_id", "obj_id", "source_id")
_PIXEL_ROLES = ("flux", "error", "noisy", "mask")


def _sorted_edges(edges: np.ndarray, order: np.ndarray, where: str) -> np.ndarray:
    """Edges of the pixels taken in ``order``; refused when they are not contiguous."""
    lo = np.minimum(edges[:-1], edges[1:])[order]
    hi = np.maximum(edges[:-1], edges[1:])[order]
    if not np.allclose(lo[1:], hi[:-1], rtol=1e-12, atol=0.0):
        k = int(np.flatnonzero(~np.isclose(lo[1:], hi[:-1], rtol=1e-12, atol=0.0))[0])
        raise WavelengthGridError(
            f"{where}: after sorting the wavelengths, the pixel edges are not contiguous "
            f"(pixel {k} ends at {hi[k]:g} Å, the next starts at {lo[k + 1]:g} Å), so "
            "wave_edges do not describe the same pixels as wave. Fix: rewrite the file with "
            "wave_edges recomputed from wave, or drop wave_edges."
        )
    return np.concatenate([lo[:1], hi])


def sort_pixels(raw: dict[str, Any], where: str, *, warn: bool = True) -> dict[str, Any]:
    """Put the pixels of ``raw`` (as read by ``_hdf5io.read_rows``) in increasing wavelength.

    Returns ``raw`` itself when the wavelengths already increase strictly (or are not all
    finite: :class:`~moehelpers.data.spectra.SpectraSet` reports that), else a copy with
    ``wave``, the pixel arrays and ``wave_edges`` reordered together.

    Raises
    ------
    WavelengthGridError
        Two pixels share one wavelength, or the edges are inconsistent with ``wave``.
    """
    wave = np.asarray(raw["wave"], dtype=np.float64)
    if wave.ndim != 1 or wave.size < 2 or not np.isfinite(wave).all():
        return raw
    steps = np.diff(wave)
    if (steps > 0).all():
        return raw
    order = np.argsort(wave, kind="stable")
    dup = np.flatnonzero(np.diff(wave[order]) == 0)
    if dup.size:
        value = wave[order][dup[0]]
        pixels = np.flatnonzero(wave == value).tolist()
        raise WavelengthGridError(
            f"{where}: the wavelength grid repeats {value:g} Å (pixels {pixels}; "
            f"{dup.size} duplicate(s) in all), so the pixels cannot be put in order. Fix: "
            "drop the repeated pixels from every array (wave, flux, error, mask, noisy, "
            "wave_edges) or rebuild the file on a strictly increasing grid."
        )
    out = dict(raw)
    out["wave"] = wave[order]
    for role in _PIXEL_ROLES:
        if out.get(role) is not None:
            out[role] = np.asarray(out[role])[:, order]
    if out.get("wave_edges") is not None:
        edges = np.asarray(out["wave_edges"], dtype=np.float64)
        if edges.shape == (wave.size + 1,):  # a wrong shape is reported by SpectraSet
            out["wave_edges"] = _sorted_edges(edges, order, where)
    if warn:
        kind = "decreasing" if (steps < 0).all() else "not monotonic"
        warnings.warn(
            f"{where}: wavelengths are {kind}; the loader sorted wave, flux, error, mask, "
            "noisy and wave_edges into increasing wavelength together. Fix (to silence "
            "this): rewrite the file sorted, e.g. save(load(path), path).",
            UnsortedWavelengthWarning, stacklevel=4,
        )
    return out


def check_label_ranges(labels: pd.DataFrame, where: str, row_offset: int = 0) -> None:
    """Refuse labels outside :data:`LABEL_RANGES` (columns that are present and numeric).

    Raises
    ------
    LabelRangeError
        Naming the column, the first offending value and its row, the count and the range.
    """
    for name, (lo, hi) in LABEL_RANGES.items():
        if name not in labels.columns or not pd.api.types.is_numeric_dtype(labels[name]):
            continue
        values = labels[name].to_numpy(dtype=np.float64)
        bad = np.isfinite(values) & ((values < lo) | (values > hi))
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise LabelRangeError(
                f"{where}: label {name!r} = {values[row]:g} in row {row + row_offset} is "
                f"outside the accepted range [{lo:g}, {hi:g}] ({int(bad.sum())} row(s) in "
                "all). Fix: check the units (T_eff in K, log g in dex cgs, [M/H] in dex) "
                "or drop those stars."
            )


def check_star_ids(labels: pd.DataFrame, where: str, row_offset: int = 0) -> None:
    """Refuse repeated ids in a star-id column (:data:`STAR_ID_COLUMNS`), when one exists.

    Raises
    ------
    DuplicateStarIdError
        Naming the column, the first repeated id and the rows that hold it.
    """
    for name in STAR_ID_COLUMNS:
        if name not in labels.columns:
            continue
        ids = labels[name].reset_index(drop=True)
        dup = ids.duplicated(keep=False)
        if dup.any():
            first = ids[dup].iloc[0]
            first = first.item() if isinstance(first, np.generic) else first
            rows = (np.flatnonzero((ids == first).to_numpy()) + row_offset).tolist()
            raise DuplicateStarIdError(
                f"{where}: star id column {name!r} repeats id {first!r} in rows {rows[:10]} "
                f"({int(ids[dup].nunique())} repeated id(s) in all); one row per star is "
                "expected, and a repeated star can sit in both train and test. Fix: drop the "
                f"duplicates (labels.drop_duplicates({name!r})) and the matching flux rows, "
                "or rename the column if it is not a star id."
            )
