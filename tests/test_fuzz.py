"""Property-based fuzzing (hypothesis) of the HDF5 loader and the runner's parameter checker.

The loader is given files built from a valid flat or nested file by one to three random
mutations (missing keys, wrong shapes and dtypes, groups in place of datasets, non-finite or
unphysical values, unsorted or repeated wavelengths, broken label tables, garbage bytes).
Whatever it is given, :func:`moehelpers.data.spectra.load` either returns a set that meets
every invariant or raises a :class:`~moehelpers.errors.MoEHelpersError` — never a bare
numpy/h5py/KeyError, never slowly (hypothesis deadline), never leaving a file behind.
"""

from __future__ import annotations

import tempfile
import warnings
from pathlib import Path
from typing import Any

import h5py
import nbformat
import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from moehelpers.book.runner import check_parameters
from moehelpers.data._input_checks import LABEL_RANGES
from moehelpers.data.spectra import SpectraSet, load, save
from moehelpers.errors import InvalidParameterError, MoEHelpersError

FUZZ = settings(max_examples=300, deadline=2000, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

ROLES = ("wave", "flux", "error", "labels", "mask", "noisy", "wave_edges")
NESTED = {"wave": "spectrumdataset/wave", "wave_edges": "spectrumdataset/wave_edges",
          "flux": "dataset/arrays/flux/value", "error": "dataset/arrays/error/value",
          "noisy": "dataset/arrays/noisy/value", "mask": "dataset/arrays/mask/value",
          "labels": "labels"}  # nested labels are a pandas table: see _write
GROUP = object()  # marks a role written as an HDF5 group instead of a dataset
MUTATIONS = ("drop", "shape", "dtype", "group", "scalar", "nan", "inf", "negative", "zero",
             "unsorted", "repeat", "range", "label_kind", "columns_attr", "extra_field",
             "bytes_label", "empty_rows")


def _valid(n: int, p: int, rng: np.random.Generator) -> dict[str, Any]:
    wave = np.sort(rng.uniform(7000, 9000, p)) + np.arange(p) * 1e-3
    labels = np.zeros(n, dtype=[("T_eff", "f8"), ("log_g", "f8"), ("M_H", "f8")])
    labels["T_eff"], labels["log_g"] = rng.uniform(3000, 7000, n), rng.uniform(0, 5, n)
    labels["M_H"] = rng.uniform(-2, 0.5, n)
    return {"wave": wave, "flux": rng.uniform(0.5, 1.5, (n, p)),
            "error": rng.uniform(0.01, 0.1, (n, p)), "labels": labels,
            "mask": rng.random((n, p)) < 0.1, "noisy": rng.uniform(0.5, 1.5, (n, p)),
            "wave_edges": np.concatenate([[wave[0] - 0.5], (wave[1:] + wave[:-1]) / 2,
                                          [wave[-1] + 0.5]])}


BAD_VALUES = {"nan": np.nan, "inf": -np.inf, "negative": -1e30, "zero": 0.0, "range": 1e6}
LABEL_KINDS = ("label_kind", "columns_attr", "extra_field", "bytes_label")


def _mutate_labels(arrays: dict[str, Any], kind: str, rng: np.random.Generator) -> None:
    labels = arrays.get("labels")
    if not isinstance(labels, np.ndarray) or labels.dtype.names is None or labels.ndim != 1:
        return
    n = len(labels)
    if kind == "label_kind":
        arrays["labels"] = rng.uniform(size=n)  # 1-D float: not a table
    elif kind == "columns_attr":
        arrays["labels"] = ("2d", np.column_stack([labels[f] for f in labels.dtype.names]),
                            ["T_eff", "log_g"])  # one name short
    elif kind == "extra_field" and "vec" not in labels.dtype.names:
        out = np.zeros(n, dtype=[*labels.dtype.descr, ("vec", "f8", (2,))])
        for f in labels.dtype.names:
            out[f] = labels[f]
        arrays["labels"] = out
    elif kind == "bytes_label":
        out = np.zeros(n, dtype=[("T_eff", "S8"), ("log_g", "f8"), ("M_H", "f8")])
        out["T_eff"] = b"hot"
        arrays["labels"] = out


def _mutate(arrays: dict[str, Any], kind: str, role: str, rng: np.random.Generator) -> None:
    """Apply one mutation; one that does not fit the current value is a no-op."""
    value = arrays.get(role)
    if kind in LABEL_KINDS:
        _mutate_labels(arrays, kind, rng)
    elif kind == "drop":
        arrays.pop(role, None)
    elif not isinstance(value, np.ndarray):  # absent, or already a group / a 2-D table
        return
    elif kind == "group":
        arrays[role] = GROUP
    elif kind == "scalar":
        arrays[role] = np.array(1.0)
    elif kind == "shape":
        arrays[role] = np.resize(value, tuple(rng.integers(0, 4, rng.integers(0, 4))))
    elif kind == "empty_rows" and value.ndim >= 1:
        arrays[role] = value[:0]
    elif value.dtype.names is not None:  # a label table: bad values in one column
        if kind in BAD_VALUES and value.ndim == 1 and len(value):
            value[str(rng.choice(list(value.dtype.names)))][0] = BAD_VALUES[kind]
    elif kind == "dtype":
        if value.dtype.kind not in "fiub":
            return
        dtype = str(rng.choice(["i4", "u1", "?", "S4", "c8", "f2"]))
        with np.errstate(all="ignore"):
            arrays[role] = value.astype(str).astype("S4") if dtype == "S4" else \
                value.astype(dtype)
    elif value.dtype.kind != "f" or value.size == 0:
        return
    elif kind == "unsorted" and value.ndim == 1:
        arrays[role] = value[rng.permutation(value.size)]
    elif kind == "repeat" and value.ndim == 1 and value.size > 1:
        value[1] = value[0]
    elif kind in BAD_VALUES:
        value.reshape(-1)[rng.integers(value.size)] = BAD_VALUES[kind]


def _write(path: Path, arrays: dict[str, Any], layout: str, garbage: bytes | None) -> None:
    if garbage is not None:
        path.write_bytes(garbage)
        return
    with h5py.File(path, "w") as f:
        for role, value in arrays.items():
            key = NESTED[role] if layout == "nested" else role
            if layout == "nested" and role == "labels":
                key = "dataset/params"
            if value is GROUP:
                f.create_group(key)
            elif isinstance(value, tuple):
                ds = f.create_dataset(key, data=value[1])
                ds.attrs["columns"] = np.array(value[2], dtype="S")
            else:
                f.create_dataset(key, data=value)


def _check_invariants(ss: SpectraSet) -> None:
    n, p = ss.flux.shape
    assert ss.wave.shape == (p,) and ss.error.shape == (n, p) and len(ss.labels) == n
    assert np.isfinite(ss.flux).all() and np.isfinite(ss.error).all() and (ss.error > 0).all()
    assert p < 2 or (np.diff(ss.wave) > 0).all()
    for name, (lo, hi) in LABEL_RANGES.items():
        values = ss.label(name)
        assert np.isfinite(values).all() and ((values >= lo) & (values <= hi)).all()
    if ss.wave_edges is not None:
        assert ss.wave_edges.shape == (p + 1,)


@FUZZ
@given(n=st.integers(1, 4), p=st.integers(1, 5), seed=st.integers(0, 2**16),
       layout=st.sampled_from(["flat", "nested"]),
       mutations=st.lists(st.tuples(st.sampled_from(MUTATIONS), st.sampled_from(ROLES)),
                          max_size=3),
       garbage=st.one_of(st.none(), st.binary(max_size=64)) | st.none())
def test_loader_never_raises_outside_the_family(n: int, p: int, seed: int, layout: str,
                                                mutations: list[tuple[str, str]],
                                                garbage: bytes | None) -> None:
    rng = np.random.default_rng(seed)
    arrays = _valid(n, p, rng)
    for kind, role in mutations:
        _mutate(arrays, kind, role, rng)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "dataset.h5"
        if layout == "nested" and isinstance(arrays.get("labels"), np.ndarray) \
                and arrays["labels"].dtype.names and garbage is None:
            layout = "flat"  # a compound table at dataset/params is not a pandas table
        _write(path, arrays, layout, garbage)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                ss = load(path)
            except MoEHelpersError as exc:
                event(f"refused: {type(exc).__name__}")
                ss = None
            else:
                event("loaded")
        if ss is not None:
            _check_invariants(ss)
        elif not mutations and garbage is None:
            pytest.fail("a valid file was refused")
        assert sorted(q.name for q in Path(tmp).iterdir()) == ["dataset.h5"]  # nothing left


@settings(FUZZ, max_examples=40)
@given(n=st.integers(1, 5), p=st.integers(1, 6), seed=st.integers(0, 2**16),
       meta=st.dictionaries(st.text(max_size=5), st.one_of(
           st.integers(), st.floats(allow_nan=False), st.text(max_size=5),
           st.lists(st.integers(), max_size=3), st.complex_numbers()), max_size=3))
def test_save_then_load_round_trips_or_refuses_without_a_file(n: int, p: int, seed: int,
                                                              meta: dict[str, Any]) -> None:
    rng = np.random.default_rng(seed)
    arrays = _valid(n, p, rng)
    labels = {f: arrays["labels"][f] for f in arrays["labels"].dtype.names}
    ss = SpectraSet(arrays["wave"], arrays["flux"], arrays["error"], labels,
                    mask=arrays["mask"], wave_edges=arrays["wave_edges"], meta=meta)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "out.h5"
        if any(isinstance(v, complex) for v in meta.values()):  # not JSON: refused, no file
            with pytest.raises(InvalidParameterError, match="cannot be saved as JSON"):
                save(ss, path)
            assert list(Path(tmp).iterdir()) == []
            return
        save(ss, path)
        back = load(path)
        np.testing.assert_array_equal(back.flux, ss.flux)
        assert back.meta["stored"] == meta
        assert sorted(q.name for q in Path(tmp).iterdir()) == ["out.h5"]


# ------------------------------------------------------------------ the parameter checker
DECLARED = {"f": "float", "i": "int", "s": "str", "b": "bool", "li": "list[int]",
            "lf": "list[float]", "oi": "Optional[int]", "ls": "list"}
_JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
                     lambda inner: st.lists(inner, max_size=3)
                     | st.dictionaries(st.text(max_size=3), inner, max_size=3), max_leaves=8)


@pytest.fixture(scope="module")
def declared_notebook(tmp_path_factory: pytest.TempPathFactory) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    src = "\n".join(f"{name}: {kind} = None  # {kind}" for name, kind in DECLARED.items())
    cell = nbformat.v4.new_code_cell(src)
    cell.metadata["tags"] = ["parameters"]
    nb.cells = [cell]
    path = tmp_path_factory.mktemp("fuzz_nb") / "01_p.ipynb"
    nbformat.write(nb, path)
    return path


def _conforms(value: Any, kind: str) -> bool:
    if kind.startswith("Optional["):
        return value is None or _conforms(value, kind[9:-1])
    if kind.startswith("list["):
        return isinstance(value, list) and all(_conforms(v, kind[5:-1]) for v in value)
    return {"float": lambda v: isinstance(v, float), "int": lambda v: type(v) is int,
            "str": lambda v: isinstance(v, str), "bool": lambda v: isinstance(v, bool),
            "list": lambda v: isinstance(v, list)}[kind](value)


@settings(max_examples=200, deadline=2000, derandomize=True)
@given(params=st.dictionaries(st.sampled_from([*DECLARED, "unknown", ""]) | st.text(max_size=4),
                              _JSON | st.tuples(st.integers()), max_size=4))
def test_parameter_checker_accepts_only_declared_types(declared_notebook: Path,
                                                       params: dict[str, Any]) -> None:
    try:
        checked = check_parameters(declared_notebook, params)
    except InvalidParameterError as exc:
        assert "Parameter" in str(exc) or "parameter" in str(exc)
        return
    assert set(checked) == set(params) <= set(DECLARED)
    for name, value in checked.items():
        assert _conforms(value, DECLARED[name]), (name, value)
