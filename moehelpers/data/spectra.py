"""Spectra in memory (:class:`SpectraSet`) and on disk (the BOSZ HDF5 layout).

A :class:`SpectraSet` holds noiseless flux, the per-pixel 1σ error at noise_level 1 and the
labels of ``n_samples`` stars on one wavelength grid of ``n_pixels`` pixels. Noise is added on
demand with :meth:`SpectraSet.noisy`, always from an explicit seed.

Files are read with h5py only, never with ``pd.read_hdf``: PyTables unpickles string
attributes, so opening an untrusted file with pandas can run code. Layouts read:

* nested BOSZ layout (one split = one ``dataset.h5``)::

    spectrumdataset/wave            (n_pixels,)              wavelength, Å
    spectrumdataset/wave_edges      (n_pixels + 1,)          optional
    dataset/arrays/flux/value       (n_samples, n_pixels)    noiseless flux
    dataset/arrays/error/value      (n_samples, n_pixels)    1σ at noise_level 1
    dataset/arrays/noisy/value      (n_samples, n_pixels)    optional stored realisation
    dataset/arrays/mask/value       (n_samples, n_pixels)    optional
    dataset/params                  pandas table             labels

* flat layout: ``wave``, ``flux``, ``error``, ``labels`` (plus optional ``noisy``, ``mask``,
  ``wave_edges``) at the root. ``labels`` is one of: an HDF5 compound dataset with one
  scalar field per label (the format to write new flat files in), a 2-D numeric dataset with
  a ``columns`` attribute naming its columns, or a pandas DataFrame stored with ``to_hdf``.

* a directory: ``<dir>/dataset.h5`` (a split folder), else the shards ``<dir>/*/dataset.h5``
  or ``<dir>/*.h5`` in natural order (``train_2`` before ``train_10``), concatenated.

:func:`save` writes the nested layout, with ``dataset/params`` as a pandas table so that
``pd.read_hdf(path, "dataset/params")`` works for users who trust the file.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import KW_ONLY, InitVar, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from moehelpers.data import _hdf5io, _input_checks
from moehelpers.errors import (
    InvalidErrorArrayError,
    InvalidParameterError,
    MissingLabelError,
    NonFiniteDataError,
    ShapeMismatchError,
)

__all__ = ["REQUIRED_LABELS", "SpectraSet", "checksum", "iter_chunks", "load", "save"]

#: Label columns every set must carry unless told otherwise.
REQUIRED_LABELS: tuple[str, ...] = ("T_eff", "log_g", "M_H")
_CHUNK_ELEMENTS = 2**22  # values per row chunk (16 MiB of float32): bounds temporaries


def _row_chunks(n_rows: int, n_pixels: int) -> Iterator[slice]:
    step = max(1, _CHUNK_ELEMENTS // max(n_pixels, 1))
    for start in range(0, n_rows, step):
        yield slice(start, min(start + step, n_rows))


def _check_level(noise_level: float) -> float:
    ok = isinstance(noise_level, (int, float, np.integer, np.floating))
    if not ok or isinstance(noise_level, bool) or not np.isfinite(noise_level) or noise_level < 0:
        raise InvalidParameterError(
            f"noise_level must be a finite number >= 0 (0 = noiseless); got {noise_level!r}. "
            "Fix: pass e.g. noise_level=0.2."
        )
    return float(noise_level)


def _check_count(value: Any, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise InvalidParameterError(f"{name} must be an integer >= {minimum}; got {value!r}.")
    return int(value)


def _count_bad(values: np.ndarray, is_bad: Any) -> tuple[int, int | None]:
    """Number of entries flagged by ``is_bad`` and the first row holding one, chunk by chunk."""
    count, first = 0, None
    for rows in _row_chunks(*values.shape):
        bad = is_bad(values[rows])
        count += int(bad.sum())
        if first is None and count:
            first = rows.start + int(np.flatnonzero(bad.any(axis=1))[0])
    return count, first


def _readonly(values: np.ndarray) -> np.ndarray:
    view = values.view()
    view.flags.writeable = False
    return view


@dataclass(frozen=True, eq=False, repr=False)
class SpectraSet:
    """Noiseless spectra, their error arrays and labels, validated on construction.

    Parameters
    ----------
    wave : ndarray of shape (n_pixels,)
        Wavelength grid in Å (stored as float64).
    flux : ndarray of shape (n_samples, n_pixels)
        Noiseless, median-normalised flux (stored as float32).
    error : ndarray of shape (n_samples, n_pixels)
        Per-pixel 1σ error at noise_level 1, all > 0 (stored as float32).
    labels : DataFrame with n_samples rows
        At least the columns in ``required_labels``; also ``a_M, C_M, mag, redshift, snr``
        when present. The index is reset to ``0 … n_samples - 1``.
    mask : ndarray of shape (n_samples, n_pixels), optional
        Pixel mask as stored in the file.
    noisy_stored : ndarray of shape (n_samples, n_pixels), optional
        A noisy realisation stored in the file (test files), at noise_level 1.
    wave_edges : ndarray of shape (n_pixels + 1,), optional
        Pixel edges in Å.
    meta : dict, optional
        Provenance: ``source``, ``layout``, ``files``, ``row_range``, ``checksum``, ``stored``
        (the meta saved in the file, e.g. generator settings), ``indices`` after
        :meth:`subset`.
    required_labels : tuple of str, default=("T_eff", "log_g", "M_H")
        Label columns that must be present and finite.

    Arrays are exposed read-only; :meth:`subset` and :meth:`noisy` return new arrays.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> labels = pd.DataFrame({"T_eff": [5000.0], "log_g": [2.5], "M_H": [-1.0]})
    >>> ss = SpectraSet(np.array([8500.0, 8501.0]), np.ones((1, 2)), np.full((1, 2), 0.25), labels)
    >>> ss.snr_l2(0.5), ss.snr_pixel(0.5)
    (array([8.]), array([8.]))
    >>> ss.noisy(0.5, seed=42).shape
    (1, 2)
    """

    wave: np.ndarray
    flux: np.ndarray
    error: np.ndarray
    labels: pd.DataFrame
    _: KW_ONLY
    mask: np.ndarray | None = None
    noisy_stored: np.ndarray | None = None
    wave_edges: np.ndarray | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    required_labels: tuple[str, ...] = REQUIRED_LABELS
    _validate: InitVar[bool] = True

    def __post_init__(self, _validate: bool) -> None:
        def put(name: str, value: Any) -> None:
            object.__setattr__(self, name, value)

        put("wave", _readonly(np.asarray(self.wave, dtype=np.float64)))
        put("flux", _readonly(np.asarray(self.flux, dtype=np.float32)))
        put("error", _readonly(np.asarray(self.error, dtype=np.float32)))
        for name, dtype in (("mask", None), ("noisy_stored", np.float32), ("wave_edges", float)):
            if getattr(self, name) is not None:
                put(name, _readonly(np.asarray(getattr(self, name), dtype=dtype)))
        if not isinstance(self.labels, pd.DataFrame):
            if not isinstance(self.labels, Mapping):
                raise InvalidParameterError(
                    f"labels must be a pandas DataFrame; got {type(self.labels).__name__}."
                )
            put("labels", pd.DataFrame(self.labels))
        put("labels", self.labels.reset_index(drop=True))
        put("meta", dict(self.meta))
        required = self.required_labels
        put("required_labels", (required,) if isinstance(required, str) else tuple(required))
        self._check_shapes()
        if _validate:
            self._check_values()

    # ------------------------------------------------------------------ validation
    def _check_shapes(self) -> None:
        if self.wave.ndim != 1 or self.flux.ndim != 2:
            raise ShapeMismatchError(
                f"wave must be (n_pixels,) and flux (n_samples, n_pixels); got wave "
                f"{self.wave.shape} and flux {self.flux.shape}."
            )
        pairs = [("error", self.error, self.flux.shape), ("wave", self.wave, self.flux.shape[1:])]
        pairs += [(n, getattr(self, n), self.flux.shape) for n in ("mask", "noisy_stored")]
        if self.wave_edges is not None:
            pairs.append(("wave_edges", self.wave_edges, (self.flux.shape[1] + 1,)))
        for name, values, want in pairs:
            if values is not None and values.shape != want:
                raise ShapeMismatchError(
                    f"{name} has shape {values.shape} but flux has shape {self.flux.shape}; "
                    f"{name} must have shape {want}."
                )
        if len(self.labels) != self.flux.shape[0]:
            raise ShapeMismatchError(
                f"labels has {len(self.labels)} rows but flux has shape {self.flux.shape}; "
                "one label row per spectrum is needed."
            )
        missing = [c for c in self.required_labels if c not in self.labels.columns]
        if missing:
            raise MissingLabelError(
                f"Label column(s) {missing} are missing; columns found: "
                f"{list(self.labels.columns)}. Fix: rename them (e.g. labels.rename(columns="
                "{'logg': 'log_g'})) or pass labels_required=... to load()."
            )

    def _check_values(self) -> None:
        if not np.isfinite(self.wave).all():
            raise NonFiniteDataError("wave contains NaN or inf. Fix: repair the wavelength grid.")
        for name in ("flux", "error"):
            count, first = _count_bad(getattr(self, name), lambda v: ~np.isfinite(v))
            if count:
                raise NonFiniteDataError(
                    f"{name} has {count} non-finite value(s) (NaN or inf); first in row {first}."
                    f" Fix: drop those spectra before building the set (keep rows where "
                    f"np.isfinite({name}).all(axis=1)) or repair the file; for bad pixels use "
                    "a large finite error and flag them in `mask`."
                )
        count, first = _count_bad(self.error, lambda v: v <= 0)
        if count:
            raise InvalidErrorArrayError(
                f"error has {count} value(s) <= 0; first in row {first}. The error is the 1σ "
                "per pixel and must be > 0. Fix: give unusable pixels a large error (e.g. "
                "1e10) and flag them in `mask`, or drop those spectra."
            )
        for name in self.required_labels:
            column = self.labels[name]
            if not pd.api.types.is_numeric_dtype(column):
                raise InvalidParameterError(f"Label {name!r} must be numeric; got {column.dtype}.")
            bad = ~np.isfinite(column.to_numpy(dtype=np.float64))
            if bad.any():
                raise NonFiniteDataError(
                    f"label {name!r} has {int(bad.sum())} non-finite value(s); first in row "
                    f"{int(np.flatnonzero(bad)[0])}. Fix: drop those stars before use."
                )

    # ------------------------------------------------------------------ basics
    def __len__(self) -> int:
        return int(self.flux.shape[0])

    def __repr__(self) -> str:
        extras = [n for n in ("mask", "noisy_stored", "wave_edges") if getattr(self, n) is not None]
        return (
            f"SpectraSet(n_samples={len(self)}, n_pixels={self.n_pixels}, "
            f"labels={list(self.labels.columns)}, extras={extras}, "
            f"source={self.meta.get('source')!r})"
        )

    @property
    def n_pixels(self) -> int:
        """Number of pixels per spectrum."""
        return int(self.flux.shape[1])

    @property
    def y(self) -> np.ndarray:
        """The regression target, ``log_g``, as float64 of shape (n_samples,)."""
        return self.label("log_g")

    def label(self, name: str) -> np.ndarray:
        """One label column as float64 of shape (n_samples,).

        Raises
        ------
        MissingLabelError
            If ``name`` is not a column of :attr:`labels`.
        """
        if name not in self.labels.columns:
            raise MissingLabelError(
                f"Label {name!r} not found; columns found: {list(self.labels.columns)}."
            )
        return self.labels[name].to_numpy(dtype=np.float64)

    def subset(self, idx: Sequence[int] | np.ndarray | slice) -> SpectraSet:
        """A new set with the rows ``idx`` (integer indices, boolean mask or slice).

        ``meta["indices"]`` records, as int64, the rows of the original source (``meta
        ["source"]``) that the new set holds, composed through repeated subsetting.
        """
        n = len(self)
        if isinstance(idx, slice):
            rows = np.arange(n)[idx]
        else:
            arr = np.asarray(idx)
            if arr.dtype == bool:
                if arr.shape != (n,):
                    raise ShapeMismatchError(
                        f"Boolean index has shape {arr.shape} but the set has {n} rows; it "
                        f"must have shape ({n},)."
                    )
                rows = np.flatnonzero(arr)
            elif arr.size == 0 or np.issubdtype(arr.dtype, np.integer):
                rows = arr.astype(np.int64).ravel()
                if rows.size and (rows.min() < -n or rows.max() >= n):
                    raise InvalidParameterError(
                        f"Indices must lie in [-{n}, {n}); got range [{rows.min()}, {rows.max()}]."
                    )
                rows = np.where(rows < 0, rows + n, rows)
            else:
                raise InvalidParameterError(f"idx must be integers or booleans; got {arr.dtype}.")
        start = int(self.meta.get("row_range", (0, n))[0])
        base = np.asarray(self.meta.get("indices", np.arange(start, start + n)), dtype=np.int64)
        meta = {k: v for k, v in self.meta.items() if k != "row_range"}
        meta["indices"] = base[rows]
        opt = {k: None if getattr(self, k) is None else getattr(self, k)[rows]
               for k in ("mask", "noisy_stored")}
        return SpectraSet(self.wave, self.flux[rows], self.error[rows],
                          self.labels.iloc[rows], wave_edges=self.wave_edges, meta=meta,
                          required_labels=self.required_labels, _validate=False, **opt)

    # ------------------------------------------------------------------ noise and SNR
    def noisy(self, noise_level: float, seed: int, clip: bool = False) -> np.ndarray:
        """``flux + noise_level · error · N(0, 1)``, independent per pixel, as float32.

        Parameters
        ----------
        noise_level : float
            Multiplier of :attr:`error`; 0 returns a copy of the clean flux.
        seed : int
            Seed of ``np.random.default_rng``. The draw is row-major, so the first ``k``
            rows equal ``self.subset(range(k)).noisy(noise_level, seed)`` — a set read with
            ``load(path, n=k)`` gets the same noise as the first ``k`` rows of the full set.
        clip : bool, default=False
            Clip the result at 0 (as some pipelines do).

        Returns
        -------
        ndarray of shape (n_samples, n_pixels), float32
        """
        level = _check_level(noise_level)
        seed = _check_count(seed, "seed", 0)
        if level == 0:
            out = self.flux.copy()
        else:
            rng = np.random.default_rng(seed)
            out = np.empty(self.flux.shape, dtype=np.float32)
            for rows in _row_chunks(*self.flux.shape):
                draw = out[rows]  # drawn in place: the same stream as a fresh array
                rng.standard_normal(dtype=np.float32, out=draw)
                draw *= np.float32(level)
                draw *= self.error[rows]
                draw += self.flux[rows]
        if clip:
            np.maximum(out, 0, out=out)
        return out

    def _row_stat(self, fn: Any) -> np.ndarray:
        out = np.empty(len(self), dtype=np.float64)
        for rows in _row_chunks(*self.flux.shape):
            out[rows] = fn(self.flux[rows].astype(np.float64), self.error[rows].astype(np.float64))
        return out

    def snr_l2(self, noise_level: float) -> np.ndarray:
        """L2 SNR per spectrum: ``‖flux‖ / (‖error‖ · noise_level)``, shape (n_samples,).

        ``noise_level = 0`` gives ``inf`` for every spectrum.
        """
        level = _check_level(noise_level)
        if level == 0:
            return np.full(len(self), np.inf)
        ratio = self._row_stat(lambda f, e: np.linalg.norm(f, axis=1) / np.linalg.norm(e, axis=1))
        return ratio / level

    def snr_pixel(self, noise_level: float) -> np.ndarray:
        """Per-pixel SNR per spectrum: ``mean(|flux / error|) / noise_level``, shape (n_samples,).

        ``noise_level = 0`` gives ``inf`` for every spectrum.
        """
        level = _check_level(noise_level)
        if level == 0:
            return np.full(len(self), np.inf)
        return self._row_stat(lambda f, e: np.abs(f / e).mean(axis=1)) / level


# ---------------------------------------------------------------------- reading
def _build(infos: list[_hdf5io.FileInfo], start: int, stop: int, path: Any,
           labels_required: Sequence[str], digest: str | None, *, warn: bool = True
           ) -> SpectraSet:
    where = str(path)
    raw = _input_checks.sort_pixels(_hdf5io.read_rows(infos, start, stop), where, warn=warn)
    meta: dict[str, Any] = {
        "source": str(path),
        "layout": infos[0].layout if len(infos) == 1 else "shards",
        "files": [str(i.path) for i in infos],
        "n_rows_source": sum(i.n_rows for i in infos),
        "row_range": (start, stop),
        "stored": dict(infos[0].stored_meta),
    }
    if digest is not None:
        meta["checksum"] = digest
    if "source_index" in raw:  # rows of the source named in meta["stored"]["source"]
        meta["stored"]["indices"] = raw["source_index"]
    spectra = SpectraSet(raw["wave"], raw["flux"], raw["error"], raw["labels"],
                         mask=raw.get("mask"), noisy_stored=raw.get("noisy"),
                         wave_edges=raw.get("wave_edges"), meta=meta,
                         required_labels=tuple(labels_required))
    _input_checks.check_label_ranges(spectra.labels, where, start)
    _input_checks.check_star_ids(spectra.labels, where, start)
    return spectra


def _stop_row(n: int | None, infos: list[_hdf5io.FileInfo], path: Any) -> int:
    total = sum(i.n_rows for i in infos)
    if n is None:
        return total
    if _check_count(n, "n", 0) > total:
        raise InvalidParameterError(
            f"n={n} but {str(path)!r} holds only {total} spectra. Fix: pass n <= {total} "
            "or n=None for all of them."
        )
    return int(n)


def load(
    path: str | os.PathLike[str],
    *,
    n: int | None = None,
    labels_required: Sequence[str] = REQUIRED_LABELS,
    compute_checksum: bool = False,
) -> SpectraSet:
    """Read a dataset file, split folder or directory of shards into a :class:`SpectraSet`.

    Parameters
    ----------
    path : str or path-like
        HDF5 file (nested or flat layout), ``<dir>`` with ``dataset.h5``, or a directory of
        shards (``<dir>/*/dataset.h5`` or ``<dir>/*.h5``, natural order).
    n : int, optional
        Read only the first ``n`` rows (across shards); only those rows are read from disk.
    labels_required : sequence of str, default=("T_eff", "log_g", "M_H")
        Label columns that must be present.
    compute_checksum : bool, default=False
        Also store the sha256 of the file(s) in ``meta["checksum"]`` (reads every byte).

    Inputs that load but are wrong are caught here (see ``_input_checks``): wavelengths
    that do not increase are sorted, all pixel arrays together, with an
    :class:`~moehelpers.errors.UnsortedWavelengthWarning`; repeated wavelengths, labels
    outside :data:`~moehelpers.data._input_checks.LABEL_RANGES` and repeated ids in a
    star-id column are refused.

    Raises
    ------
    DataFileNotFoundError, UnknownLayoutError, UnsafeFileError, ShapeMismatchError,
    NonFiniteDataError, InvalidErrorArrayError, MissingLabelError, InvalidParameterError,
    WavelengthGridError, LabelRangeError, DuplicateStarIdError
    """
    infos = _hdf5io.open_sources(path)
    stop = _stop_row(n, infos, path)
    digest = checksum(path) if compute_checksum else None
    return _build(infos, 0, stop, path, labels_required, digest)


def iter_chunks(
    path: str | os.PathLike[str],
    chunk_size: int,
    *,
    n: int | None = None,
    labels_required: Sequence[str] = REQUIRED_LABELS,
) -> Iterator[SpectraSet]:
    """Stream consecutive chunks of ``chunk_size`` rows (the last may be shorter).

    Chunks run across shard boundaries; only one chunk is in memory at a time. Each chunk's
    ``meta["row_range"]`` gives its global rows. Parameters as in :func:`load`.
    """
    chunk_size = _check_count(chunk_size, "chunk_size", 1)
    infos = _hdf5io.open_sources(path)  # errors surface here, not at the first chunk
    stop = _stop_row(n, infos, path)

    def chunks() -> Iterator[SpectraSet]:
        for start in range(0, stop, chunk_size):
            yield _build(infos, start, min(start + chunk_size, stop), path, labels_required, None,
                         warn=start == 0)  # one warning per stream, not per chunk

    return chunks()


def checksum(path: str | os.PathLike[str], block_size: int = 2**20) -> str:
    """sha256 (hex) of a file, streamed; for a directory, of its data files in load order."""
    files = _hdf5io.resolve_sources(path)
    digests = []
    for file in files:
        h = hashlib.sha256()
        with open(file, "rb") as fh:
            while block := fh.read(block_size):
                h.update(block)
        digests.append(h.hexdigest())
    if Path(path).is_file():
        return digests[0]
    root = Path(path)
    joined = "\n".join(f"{f.relative_to(root)} {d}" for f, d in zip(files, digests, strict=True))
    return hashlib.sha256(joined.encode()).hexdigest()


# ---------------------------------------------------------------------- writing
def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (Path, os.PathLike)):
        return os.fspath(value)
    raise InvalidParameterError(
        f"meta value of type {type(value).__name__} cannot be saved as JSON. Fix: store "
        "numbers, strings, lists or dicts in meta."
    )


def save(spectra: SpectraSet, path: str | os.PathLike[str], *,
         compression: str | None = None) -> Path:
    """Write ``spectra`` in the nested BOSZ layout, atomically.

    Arrays are float32 (wave float64), chunked by rows (~1 MiB chunks); ``dataset/params``
    is a pandas ``format="table"`` of the numeric label columns; ``meta`` is the JSON root
    attribute ``moehelpers_meta``; ``meta["indices"]`` (after :meth:`SpectraSet.subset`)
    goes to ``dataset/arrays/source_index/value``. The file is written under a temporary
    name in the same folder and renamed, so ``path`` is either complete or untouched.
    Missing parent folders are created.

    Parameters
    ----------
    spectra : SpectraSet
        What to write.
    path : str or path-like
        Target file.
    compression : {None, "gzip"}, default=None
        Filter of the per-star arrays. ``None`` stores them raw: every notebook of a run
        reads each split, and a 32k × 4096 split then loads in well under a second from the
        page cache, against ~7 s through gzip on the 2-core machine (files ~1.6× larger).
        ``"gzip"`` (level 4 with byte shuffle) for files to archive or share. Readers accept
        both.

    Returns
    -------
    Path
        The written path.

    Raises
    ------
    InvalidParameterError
        Non-numeric or non-string-named label columns, or meta that is not JSON-able.
    ResultsWriteError
        The file could not be written (missing or read-only folder, disk full, ...).
    """
    if not isinstance(spectra, SpectraSet):
        raise InvalidParameterError(f"save needs a SpectraSet; got {type(spectra).__name__}.")
    if len(spectra) == 0:
        raise InvalidParameterError("Cannot save an empty SpectraSet (0 spectra).")
    labels = spectra.labels
    bad = [c for c in labels.columns
           if not isinstance(c, str) or not pd.api.types.is_numeric_dtype(labels[c])]
    if bad:
        raise InvalidParameterError(
            f"Label columns {bad} are not numeric columns with string names; dataset/params "
            "holds numbers only (no pickles). Fix: drop or encode them, e.g. "
            "labels.select_dtypes('number')."
        )
    meta = {k: v for k, v in spectra.meta.items() if k != "indices"}
    if isinstance(meta.get("stored"), dict):  # provenance chain, without its row indices
        meta["stored"] = {k: v for k, v in meta["stored"].items() if k != "indices"}
    meta_json = json.dumps(meta, default=_json_default)
    indices = spectra.meta.get("indices")
    arrays = {
        "wave": np.asarray(spectra.wave, dtype=np.float64),
        "wave_edges": spectra.wave_edges,
        "flux": spectra.flux,
        "error": spectra.error,
        "noisy": None if spectra.noisy_stored is None else spectra.noisy_stored.astype(np.float32),
        "mask": spectra.mask,
        "source_index": None if indices is None else np.asarray(indices, dtype=np.int64),
    }
    target = Path(path).expanduser()
    try:  # create missing folders; an impossible path is reported by write_nested below
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError:
        pass
    _hdf5io.write_nested(target, arrays, labels, meta_json, compression)
    return target
