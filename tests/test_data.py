"""Tests of moehelpers.data.spectra: layouts, validation, noise, SNR, atomic save, safe reading."""

from __future__ import annotations

import errno
import hashlib
import json
import os
import warnings
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest

from moehelpers.data import spectra as data
from moehelpers.data.spectra import SpectraSet, _hdf5io
from moehelpers.errors import (
    DataFileNotFoundError,
    InvalidErrorArrayError,
    InvalidParameterError,
    MissingLabelError,
    NonFiniteDataError,
    ResultsWriteError,
    ShapeMismatchError,
    UnknownLayoutError,
    UnsafeFileError,
)


def assert_same(a: SpectraSet, b: SpectraSet) -> None:
    """Same arrays, labels and optional arrays (meta aside)."""
    np.testing.assert_array_equal(a.wave, b.wave)
    np.testing.assert_array_equal(a.flux, b.flux)
    np.testing.assert_array_equal(a.error, b.error)
    pd.testing.assert_frame_equal(a.labels, b.labels)
    for name in ("mask", "noisy_stored", "wave_edges"):
        x, y = getattr(a, name), getattr(b, name)
        assert (x is None) == (y is None), name
        if x is not None:
            np.testing.assert_array_equal(x, y)


def write_flat(path: Path, ss: SpectraSet, labels_format: str) -> None:
    """An old-style flat file: wave, flux, error, labels at the root."""
    with h5py.File(path, "w") as f:
        f["wave"], f["flux"], f["error"] = ss.wave, ss.flux, ss.error
        if labels_format == "compound":
            f["labels"] = ss.labels.to_records(index=False)
        elif labels_format == "array":
            f["labels"] = ss.labels.to_numpy(dtype=np.float64)
            f["labels"].attrs["columns"] = list(ss.labels.columns)
    if labels_format in ("table", "fixed"):
        ss.labels.to_hdf(path, key="labels", mode="a", format=labels_format)


def write_shards(root: Path, parts: list[SpectraSet], names: list[str]) -> None:
    for part, name in zip(parts, names, strict=True):
        (root / name).mkdir(parents=True)
        data.save(part, root / name / "dataset.h5")


# ----------------------------------------------------------------------------- round trips
def test_nested_round_trip_keeps_everything(make_spectraset, tmp_h5) -> None:
    ss = make_spectraset(9, 20, with_mask=True, with_noisy=True, with_wave_edges=True,
                         meta={"generator": {"seed": 3, "grid": "v1"}})
    path = data.save(ss, tmp_h5())
    back = data.load(path)
    assert_same(ss, back)
    assert back.flux.dtype == back.error.dtype == np.float32
    assert back.meta["stored"]["generator"] == {"seed": 3, "grid": "v1"}
    assert back.meta["layout"] == "nested" and back.meta["row_range"] == (0, 9)


def test_saved_file_reads_with_plain_h5py_and_pandas(make_spectraset, tmp_h5) -> None:
    ss = make_spectraset(6, 16, meta={"generator": {"seed": 1}})
    path = data.save(ss.subset([5, 0, 2]), tmp_h5())
    params = pd.read_hdf(path, "dataset/params")  # our own, trusted file
    pd.testing.assert_frame_equal(params.reset_index(drop=True), ss.labels.iloc[[5, 0, 2]]
                                  .reset_index(drop=True))
    with h5py.File(path, "r") as f:
        flux = f["dataset/arrays/flux/value"]
        assert flux.dtype == np.float32 and flux.compression is None  # raw: fast to read
        np.testing.assert_array_equal(flux[()], ss.flux[[5, 0, 2]])
        np.testing.assert_array_equal(f["dataset/arrays/error/value"][()], ss.error[[5, 0, 2]])
        np.testing.assert_array_equal(f["spectrumdataset/wave"][()], ss.wave)
        np.testing.assert_array_equal(f["dataset/arrays/source_index/value"][()], [5, 0, 2])
        assert json.loads(f.attrs["moehelpers_meta"])["generator"] == {"seed": 1}
    assert list(data.load(path).meta["stored"]["indices"]) == [5, 0, 2]


def test_gzip_save_reads_back_identically(make_spectraset, tmp_h5) -> None:
    ss = make_spectraset(7, 32)
    raw, packed = data.save(ss, tmp_h5()), data.save(ss, tmp_h5(), compression="gzip")
    with h5py.File(packed, "r") as f:
        flux = f["dataset/arrays/flux/value"]
        assert flux.compression == "gzip" and flux.shuffle
    assert_same(data.load(raw), data.load(packed))


def test_unknown_compression_is_refused_before_writing(make_spectraset, tmp_path) -> None:
    target = tmp_path / "out.h5"
    with pytest.raises(InvalidParameterError, match="compression must be one of"):
        data.save(make_spectraset(3, 8), target, compression="zstd")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("labels_format", ["compound", "table", "fixed", "array"])
def test_flat_layout(make_spectraset, tmp_h5, labels_format) -> None:
    ss = make_spectraset(5, 8)
    write_flat(tmp_h5(), ss, labels_format)
    back = data.load(tmp_h5(), n=4)
    assert back.meta["layout"] == "flat"
    assert_same(ss.subset(range(4)), back)


@pytest.fixture
def shards(make_spectraset, tmp_path) -> tuple[Path, SpectraSet]:
    """Three shards of 4, 3, 5 rows whose natural order differs from plain sorting."""
    full = make_spectraset(12, 10)
    parts = [full.subset(range(0, 4)), full.subset(range(4, 7)), full.subset(range(7, 12))]
    write_shards(tmp_path / "train", parts, ["train_2", "train_10", "train_100"])
    return tmp_path / "train", full


def test_shard_directory_concatenates_in_natural_order(shards) -> None:
    root, full = shards
    back = data.load(root)
    assert_same(full, back)
    assert [Path(p).parent.name for p in back.meta["files"]] == ["train_2", "train_10",
                                                                 "train_100"]


def test_partial_read_across_shard_boundary(shards) -> None:
    root, full = shards
    assert_same(full.subset(range(6)), data.load(root, n=6))  # 4 rows of shard 0 + 2 of 1
    assert len(data.load(root, n=0)) == 0
    with pytest.raises(InvalidParameterError, match="holds only 12"):
        data.load(root, n=13)


def test_iter_chunks_equals_full_load(shards) -> None:
    root, full = shards
    chunks = list(data.iter_chunks(root, 5))
    assert [len(c) for c in chunks] == [5, 5, 2]
    assert [c.meta["row_range"] for c in chunks] == [(0, 5), (5, 10), (10, 12)]
    np.testing.assert_array_equal(np.concatenate([c.flux for c in chunks]), full.flux)
    pd.testing.assert_frame_equal(pd.concat([c.labels for c in chunks], ignore_index=True),
                                  full.labels)
    assert [len(c) for c in data.iter_chunks(root, 4, n=6)] == [4, 2]
    assert list(chunks[1].subset([0, 4]).meta["indices"]) == [5, 9]  # global rows
    with pytest.raises(InvalidParameterError, match="chunk_size"):
        data.iter_chunks(root, 0)  # raised at the call, not at the first chunk


def test_loose_files_and_split_folder(make_spectraset, tmp_path) -> None:
    full = make_spectraset(6, 8)
    (tmp_path / "loose").mkdir()
    data.save(full.subset(range(0, 2)), tmp_path / "loose" / "part_9.h5")
    data.save(full.subset(range(2, 6)), tmp_path / "loose" / "part_10.h5")
    assert_same(full, data.load(tmp_path / "loose"))
    (tmp_path / "split").mkdir()
    data.save(full, tmp_path / "split" / "dataset.h5")
    assert_same(full, data.load(tmp_path / "split"))


def test_pandas_table_variants_read_without_pandas(make_spectraset, tmp_h5) -> None:
    ss = make_spectraset(4, 6)
    labels = ss.labels.assign(n_obs=np.arange(4), survey=["a", "bb", "a", "c"])
    labels.to_hdf(tmp_h5(), key="dataset/params", format="table", data_columns=["log_g"])
    with h5py.File(tmp_h5(), "a") as f:
        f["spectrumdataset/wave"], f["dataset/arrays/flux/value"] = ss.wave, ss.flux
        f["dataset/arrays/error/value"] = ss.error
    back = data.load(tmp_h5())
    assert list(back.labels.columns) == list(labels.columns)  # pandas' column order
    np.testing.assert_array_equal(back.labels["n_obs"], labels["n_obs"])
    assert list(back.labels["survey"]) == ["a", "bb", "a", "c"]
    np.testing.assert_array_equal(back.y, ss.y)


# ----------------------------------------------------------------------------- bad files
def test_missing_path_names_it_and_make_data(tmp_path) -> None:
    with pytest.raises(DataFileNotFoundError, match=r"nope\.h5.*make data"):
        data.load(tmp_path / "nope.h5")
    with pytest.raises(DataFileNotFoundError, match=r"no dataset\.h5"):
        data.load(tmp_path)


def test_unknown_layout_lists_keys_and_both_layouts(tmp_h5) -> None:
    with h5py.File(tmp_h5(), "w") as f:
        f["spectra"] = np.zeros((2, 3))
        f["meta/teff"] = np.zeros(2)
    with pytest.raises(UnknownLayoutError) as info:
        data.load(tmp_h5())
    text = str(info.value)
    assert "spectra (2, 3)" in text and "meta/teff (2,)" in text
    assert "nested BOSZ layout" in text and "flat layout" in text


def test_incomplete_nested_layout_names_missing_key(make_spectraset, tmp_h5) -> None:
    data.save(make_spectraset(3, 4), tmp_h5())
    with h5py.File(tmp_h5(), "r+") as f:
        del f["dataset/arrays/error/value"]
    with pytest.raises(UnknownLayoutError, match=r"lacks.*dataset/arrays/error/value"):
        data.load(tmp_h5())


def test_file_with_mismatched_rows(make_spectraset, tmp_h5) -> None:
    ss = make_spectraset(4, 6)
    write_flat(tmp_h5(), ss, "compound")
    with h5py.File(tmp_h5(), "r+") as f:
        del f["error"]
        f["error"] = ss.error[:3]
    with pytest.raises(ShapeMismatchError, match=r"\(3, 6\).*\(4, 6\)"):
        data.load(tmp_h5())


def test_missing_label_in_file_lists_found_columns(make_spectraset, tmp_h5) -> None:
    ss = make_spectraset(3, 4, extra_labels=False)
    write_flat(tmp_h5(), SpectraSet(ss.wave, ss.flux, ss.error,
                                    ss.labels.rename(columns={"log_g": "logg"}),
                                    required_labels=()), "table")
    with pytest.raises(MissingLabelError, match=r"\['log_g'\].*'logg'"):
        data.load(tmp_h5())
    assert len(data.load(tmp_h5(), labels_required=("T_eff",))) == 3


def test_pickled_object_column_is_refused(make_spectraset, tmp_h5) -> None:
    labels = make_spectraset(3, 4).labels.assign(note=[1, "x", None])  # mixed object column
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pandas' PerformanceWarning about pickling
        labels.to_hdf(tmp_h5("params.h5"), key="dataset/params", format="fixed")
    ss = make_spectraset(3, 4)
    with h5py.File(tmp_h5("params.h5"), "a") as f:
        f["spectrumdataset/wave"], f["dataset/arrays/flux/value"] = ss.wave, ss.flux
        f["dataset/arrays/error/value"] = ss.error
    with pytest.raises(UnsafeFileError, match=r"\['note'\].*numeric columns only"):
        data.load(tmp_h5("params.h5"))


@pytest.mark.parametrize("attr", ["non_index_axes", "values_block_0_kind"])
def test_code_in_pandas_attributes_is_never_run(make_spectraset, tmp_h5, tmp_path, attr):
    marker = tmp_path / "executed"
    payload = f"cbuiltins\nexec\n(Vopen({str(marker)!r}, 'w').close()\ntR.".encode()
    data.save(make_spectraset(3, 4), tmp_h5())
    with h5py.File(tmp_h5(), "r+") as f:
        node = f["dataset/params"] if attr == "non_index_axes" else f["dataset/params/table"]
        node.attrs[attr] = np.bytes_(payload)
    with pytest.raises(UnsafeFileError, match=r"builtins\.exec"):
        data.load(tmp_h5())
    assert not marker.exists()


def test_not_hdf5(tmp_h5) -> None:
    tmp_h5("x.h5").write_text("not hdf5")
    with pytest.raises(UnknownLayoutError, match="not a readable HDF5"):
        data.load(tmp_h5("x.h5"))


# ----------------------------------------------------------------------------- validation
def test_shape_mismatch_names_both_shapes(make_spectraset) -> None:
    ss = make_spectraset(4, 6)
    with pytest.raises(ShapeMismatchError, match=r"error has shape \(4, 5\).*\(4, 6\)"):
        SpectraSet(ss.wave, ss.flux, ss.error[:, :5], ss.labels)
    with pytest.raises(ShapeMismatchError, match="labels has 3 rows"):
        SpectraSet(ss.wave, ss.flux, ss.error, ss.labels.iloc[:3])
    with pytest.raises(ShapeMismatchError, match="wave has shape"):
        SpectraSet(ss.wave[:5], ss.flux, ss.error, ss.labels)


@pytest.mark.parametrize("name, bad", [("flux", np.nan), ("flux", np.inf), ("error", np.nan),
                                       ("error", -np.inf)])
def test_non_finite_names_array_count_and_row(make_spectraset, name, bad) -> None:
    ss = make_spectraset(5, 6)
    arrays = {"flux": ss.flux.copy(), "error": ss.error.copy()}
    arrays[name][[2, 4], 1] = bad
    with pytest.raises(NonFiniteDataError, match=rf"{name} has 2 non-finite.*row 2.*Fix"):
        SpectraSet(ss.wave, arrays["flux"], arrays["error"], ss.labels)


@pytest.mark.parametrize("bad", [0.0, -0.1])
def test_non_positive_error(make_spectraset, bad) -> None:
    ss = make_spectraset(5, 6)
    error = ss.error.copy()
    error[3, 0] = bad
    with pytest.raises(InvalidErrorArrayError, match=r"1 value.*row 3"):
        SpectraSet(ss.wave, ss.flux, error, ss.labels)


def test_missing_or_non_finite_label(make_spectraset) -> None:
    ss = make_spectraset(3, 4)
    with pytest.raises(MissingLabelError, match=r"\['M_H'\].*columns found"):
        SpectraSet(ss.wave, ss.flux, ss.error, ss.labels.drop(columns="M_H"))
    with pytest.raises(NonFiniteDataError, match="'log_g'"):
        SpectraSet(ss.wave, ss.flux, ss.error, ss.labels.assign(log_g=[1.0, np.nan, 2.0]))
    with pytest.raises(MissingLabelError, match="'logg' not found"):
        ss.label("logg")


def test_arrays_are_read_only_and_caller_arrays_untouched(make_spectraset) -> None:
    flux = make_spectraset(2, 3).flux.copy()
    ss = make_spectraset(2, 3)
    ss2 = SpectraSet(ss.wave, flux, ss.error, ss.labels)
    with pytest.raises(ValueError, match="read-only"):
        ss2.flux[0, 0] = 1.0
    flux[0, 0] = 2.0  # the caller's array is still writable


def test_subset_by_indices_and_mask_records_indices(make_spectraset) -> None:
    ss = make_spectraset(6, 4, with_noisy=True)
    by_mask = ss.subset(np.array([True, False, True, True, False, False]))
    np.testing.assert_array_equal(by_mask.flux, ss.flux[[0, 2, 3]])
    np.testing.assert_array_equal(by_mask.noisy_stored, ss.noisy_stored[[0, 2, 3]])
    assert list(by_mask.meta["indices"]) == [0, 2, 3]
    assert list(by_mask.subset([-1, 0]).meta["indices"]) == [3, 0]
    np.testing.assert_array_equal(by_mask.subset([-1, 0]).y, ss.y[[3, 0]])
    with pytest.raises(InvalidParameterError, match="Indices must lie"):
        ss.subset([6])
    with pytest.raises(ShapeMismatchError):
        ss.subset(np.ones(5, dtype=bool))


# ----------------------------------------------------------------------------- noise and SNR
def test_noisy_is_deterministic_and_has_the_right_statistics(make_spectraset) -> None:
    ss = make_spectraset(40, 50)
    a, b = ss.noisy(0.5, seed=44), ss.noisy(0.5, seed=44)
    assert a.dtype == np.float32 and a.shape == ss.flux.shape
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, ss.noisy(0.5, seed=45))
    z = (a.astype(np.float64) - ss.flux) / (0.5 * ss.error)
    assert abs(z.mean()) < 0.05 and abs(z.std() - 1) < 0.05  # 2000 draws: se ≈ 0.022, 0.016
    np.testing.assert_array_equal(ss.noisy(0.0, seed=1), ss.flux)
    assert ss.noisy(0.0, seed=1) is not ss.flux
    assert (ss.noisy(20.0, seed=2, clip=True) >= 0).all()
    # the documented draw, exactly: flux + level · error · N(0, 1) from default_rng(seed)
    draw = np.random.default_rng(44).standard_normal(ss.flux.shape, dtype=np.float32)
    np.testing.assert_array_equal(a, draw * np.float32(0.5) * ss.error + ss.flux)


def test_noise_of_first_rows_does_not_depend_on_n(shards) -> None:
    root, full = shards
    np.testing.assert_array_equal(data.load(root, n=5).noisy(0.2, 44), full.noisy(0.2, 44)[:5])


@pytest.mark.parametrize("level", [-0.1, np.nan, "0.2", True])
def test_bad_noise_level_or_seed(make_spectraset, level) -> None:
    ss = make_spectraset(2, 3)
    for call in (lambda: ss.noisy(level, 1), lambda: ss.snr_l2(level), lambda: ss.snr_pixel(level)):
        with pytest.raises(InvalidParameterError, match="noise_level"):
            call()
    with pytest.raises(InvalidParameterError, match="seed"):
        ss.noisy(0.1, seed=None)


def test_snr_definitions_by_hand() -> None:
    labels = pd.DataFrame({"T_eff": [5000.0, 4000.0], "log_g": [2.0, 4.0], "M_H": [0.0, -1.0]})
    flux = np.array([[1.0, 2.0], [3.0, 4.0]])
    error = np.array([[0.5, 0.25], [1.0, 2.0]])
    ss = SpectraSet(np.array([1.0, 2.0]), flux, error, labels)
    # L2: ‖(1,2)‖/‖(.5,.25)‖ = √5/√0.3125 = 4; ‖(3,4)‖/‖(1,2)‖ = 5/√5 = √5
    np.testing.assert_allclose(ss.snr_l2(0.5), [8.0, 2 * np.sqrt(5)])
    # per pixel: mean(2, 8) = 5; mean(3, 2) = 2.5
    np.testing.assert_allclose(ss.snr_pixel(0.5), [10.0, 5.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert np.isinf(ss.snr_l2(0)).all() and np.isinf(ss.snr_pixel(0)).all()


# ----------------------------------------------------------------------------- saving
def test_failed_save_leaves_no_file_and_keeps_the_old_one(make_spectraset, tmp_h5, monkeypatch):
    old = make_spectraset(3, 4, seed=1)
    data.save(old, tmp_h5())

    def disk_full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(_hdf5io, "_write_arrays", disk_full)
    with pytest.raises(ResultsWriteError, match=r"dataset\.h5.*No space left.*free space"):
        data.save(make_spectraset(3, 4, seed=2), tmp_h5())
    assert os.listdir(tmp_h5().parent) == ["dataset.h5"]  # no temp file left
    assert_same(old, data.load(tmp_h5()))


def test_save_into_unwritable_place(make_spectraset, tmp_path) -> None:
    (tmp_path / "file").write_text("")
    with pytest.raises(ResultsWriteError, match=r"file/out\.h5.*writable directory"):
        data.save(make_spectraset(2, 3), tmp_path / "file" / "out.h5")
    # a missing folder is created
    assert data.save(make_spectraset(2, 3), tmp_path / "new" / "sub" / "out.h5").is_file()


def test_save_refuses_non_numeric_labels(make_spectraset, tmp_h5) -> None:
    ss = make_spectraset(2, 3)
    with_text = SpectraSet(ss.wave, ss.flux, ss.error, ss.labels.assign(name=["a", "b"]))
    with pytest.raises(InvalidParameterError, match=r"\['name'\]"):
        data.save(with_text, tmp_h5())
    assert not tmp_h5().exists()


def test_checksum_streams_sha256(make_spectraset, tmp_h5) -> None:
    path = data.save(make_spectraset(2, 3), tmp_h5())
    expected = hashlib.sha256(path.read_bytes()).hexdigest()
    assert data.checksum(path) == expected
    assert data.load(path, compute_checksum=True).meta["checksum"] == expected
