"""Inputs that load but are wrong: unsorted wavelengths, unphysical labels, repeated star ids."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from moehelpers.data._input_checks import LABEL_RANGES
from moehelpers.data.spectra import SpectraSet, iter_chunks, load, save
from moehelpers.errors import (
    DuplicateStarIdError,
    LabelRangeError,
    MoEHelpersError,
    UnsortedWavelengthWarning,
    WavelengthGridError,
)


def _permuted(ss: SpectraSet, order: np.ndarray, edges: np.ndarray | None) -> SpectraSet:
    return SpectraSet(ss.wave[order], ss.flux[:, order], ss.error[:, order], ss.labels,
                      mask=None if ss.mask is None else ss.mask[:, order],
                      noisy_stored=None if ss.noisy_stored is None else ss.noisy_stored[:, order],
                      wave_edges=edges)


@pytest.mark.parametrize("kind", ["reversed", "shuffled"])
def test_unsorted_wavelengths_are_sorted_together_with_a_warning(
    make_spectraset: Callable[..., SpectraSet], tmp_h5: Callable[[str], Path], kind: str
) -> None:
    ss = make_spectraset(8, 16, with_mask=True, with_noisy=True, with_wave_edges=True)
    order = np.arange(16)[::-1] if kind == "reversed" else np.random.default_rng(1).permutation(16)
    edges = ss.wave_edges[::-1] if kind == "reversed" else None  # reversed edges stay contiguous
    path = save(_permuted(ss, order, edges), tmp_h5())
    with pytest.warns(UnsortedWavelengthWarning, match="sorted wave, flux, error"):
        back = load(path)
    np.testing.assert_array_equal(back.wave, ss.wave)
    np.testing.assert_array_equal(back.flux, ss.flux)  # each pixel moved with its wavelength
    np.testing.assert_array_equal(back.error, ss.error)
    np.testing.assert_array_equal(back.mask, ss.mask)
    np.testing.assert_array_equal(back.noisy_stored, ss.noisy_stored)
    if kind == "reversed":
        np.testing.assert_allclose(back.wave_edges, ss.wave_edges)
    # streaming warns once and yields the same sorted pixels
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        chunks = list(iter_chunks(path, 3))
    assert sum(issubclass(w.category, UnsortedWavelengthWarning) for w in caught) == 1
    np.testing.assert_array_equal(np.concatenate([c.flux for c in chunks]), ss.flux)


def test_sorted_file_loads_without_warning(make_spectraset: Callable[..., SpectraSet],
                                           tmp_h5: Callable[[str], Path]) -> None:
    path = save(make_spectraset(4, 8, with_wave_edges=True), tmp_h5())
    with warnings.catch_warnings():
        warnings.simplefilter("error", UnsortedWavelengthWarning)
        load(path)


def test_duplicate_wavelengths_are_refused(make_spectraset: Callable[..., SpectraSet],
                                           tmp_h5: Callable[[str], Path]) -> None:
    ss = make_spectraset(4, 8)
    wave = ss.wave.copy()
    wave[5] = wave[2]
    bad = SpectraSet(wave, ss.flux, ss.error, ss.labels)
    with pytest.raises(WavelengthGridError, match=r"repeats .* Å \(pixels \[2, 5\]") as info:
        load(save(bad, tmp_h5()))
    assert "Fix:" in str(info.value) and isinstance(info.value, MoEHelpersError)


def test_edges_that_disagree_with_a_shuffled_grid_are_refused(
    make_spectraset: Callable[..., SpectraSet], tmp_h5: Callable[[str], Path]
) -> None:
    ss = make_spectraset(4, 8, with_wave_edges=True)
    order = np.array([1, 0, 2, 3, 4, 5, 6, 7])
    bad = _permuted(ss, order, ss.wave_edges)  # edges left in the old order
    with pytest.raises(WavelengthGridError, match="edges are not contiguous"):
        load(save(bad, tmp_h5()))


@pytest.mark.parametrize(("column", "value"), [("T_eff", 5.5), ("T_eff", 60000.0),
                                               ("log_g", 250.0), ("log_g", -3.0),
                                               ("M_H", -9.0), ("M_H", 2.0)])
def test_labels_outside_physical_ranges_are_refused(
    make_spectraset: Callable[..., SpectraSet], tmp_h5: Callable[[str], Path],
    column: str, value: float,
) -> None:
    ss = make_spectraset(6, 8)
    labels = ss.labels.copy()
    labels.loc[4, column] = value
    path = save(SpectraSet(ss.wave, ss.flux, ss.error, labels), tmp_h5())
    lo, hi = LABEL_RANGES[column]
    with pytest.raises(LabelRangeError) as info:
        load(path)
    msg = str(info.value)
    assert f"'{column}' = {value:g} in row 4" in msg and f"[{lo:g}, {hi:g}]" in msg
    # the row is the global one when streaming
    with pytest.raises(LabelRangeError, match="in row 4 "):
        list(iter_chunks(path, 3))


def test_range_limits_themselves_are_accepted(make_spectraset: Callable[..., SpectraSet],
                                              tmp_h5: Callable[[str], Path]) -> None:
    ss = make_spectraset(2, 8)
    labels = ss.labels.copy()
    for column, (lo, hi) in LABEL_RANGES.items():
        labels[column] = [lo, hi]
    back = load(save(SpectraSet(ss.wave, ss.flux, ss.error, labels), tmp_h5()))
    np.testing.assert_array_equal(back.label("T_eff"), [2000.0, 50000.0])


def test_repeated_star_ids_are_refused(make_spectraset: Callable[..., SpectraSet],
                                       tmp_h5: Callable[[str], Path]) -> None:
    ss = make_spectraset(6, 8)
    labels = ss.labels.copy()
    labels["star_id"] = [10, 11, 12, 11, 14, 15]
    path = save(SpectraSet(ss.wave, ss.flux, ss.error, labels), tmp_h5())
    with pytest.raises(DuplicateStarIdError, match=r"'star_id' repeats id 11 in rows \[1, 3\]"):
        load(path)
    labels["star_id"] = np.arange(6)
    unique = save(SpectraSet(ss.wave, ss.flux, ss.error, labels), tmp_h5("u.h5"))
    assert load(unique).labels["star_id"].tolist() == list(range(6))
