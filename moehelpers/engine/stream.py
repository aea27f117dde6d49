"""Sufficient statistics streamed from HDF5 shards, chunk by chunk, locally or on Dask.

Training sets of 100k–1M spectra (shards of ~19 GB) do not fit in memory, but every
Ridge-family model of this package needs only sums over rows (:class:`RidgeStats`). This
module reads the shards in row chunks with :mod:`h5py`, draws the noise of each chunk,
and adds each chunk's statistics into a :class:`StreamStats`; :mod:`moehelpers.models.stream_fit`
turns the sums into fitted models.

What is accumulated (a :class:`StreamSpec`): for every noise level, for every group (the
bins of a :class:`~moehelpers.models.bins.BinScheme` plus one group of uncovered stars, or one
group of all stars), for every power ``k = 0 … max_power`` of a conditioning label ``m``,
the statistics ``Σ mᵏ (x, y, x xᵀ, x y)``. Statistics add (``+``), so shards or chunks can
be reduced in any order and on any worker: :func:`stream_stats` sums them in one process,
or maps one task per shard (or per ``rows_per_task`` rows) over a ``dask.distributed``
cluster and tree-reduces the results with a :mod:`dask.bag` fold.

Noise
-----
The noise of a row must not depend on how the rows are chunked or which worker reads them.
Rows are cut into fixed *noise blocks* of :data:`NOISE_BLOCK` global rows; block ``b`` at
``(seed, split, level)`` draws ``N(0, 1)`` row-major from
``default_rng([noise_seed(seed, split, level), b])``. A chunk that starts inside a block
draws that block's rows up to its end and keeps its own (the draw is row-major, so a prefix
is the same whatever its length). :func:`stream_noisy` applied to a whole in-memory set gives
exactly the rows that streaming gives, which is how streamed and in-memory fits are compared.
This stream differs from :meth:`SpectraSet.noisy` (one generator over the whole set), which
cannot be split across workers.
"""

from __future__ import annotations

import operator
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

import h5py
import numpy as np
import pandas as pd

from moehelpers.data import _hdf5io
from moehelpers.data.splits import noise_seed
from moehelpers.engine import linalg as _linalg
from moehelpers.engine.stats import RidgeStats
from moehelpers.errors import InvalidParameterError, MissingLabelError, ShapeMismatchError

__all__ = [
    "NOISE_BLOCK",
    "StreamSpec",
    "StreamStats",
    "accumulate_chunk",
    "iter_chunks",
    "plan_tasks",
    "read_labels",
    "stream_noisy",
    "stream_stats",
]

#: Rows per noise block (the unit of reproducible noise; independent of chunk sizes).
NOISE_BLOCK = 1024


class BinScheme(Protocol):
    """What streaming needs of a bin scheme (:class:`moehelpers.models.bins.BinScheme` is one).

    The engine groups rows by it without importing the models layer.
    """

    @property
    def n_bins(self) -> int: ...

    @property
    def columns(self) -> list[str]: ...

    def assign(self, labels: Any) -> np.ndarray: ...



def stream_noisy(flux: np.ndarray, error: np.ndarray, noise_level: float, seed: int,
                 split: str, row0: int = 0, *, clip: bool = False) -> np.ndarray:
    """``flux + level · error · N(0, 1)`` for global rows ``row0 … row0 + len(flux)``, float32.

    The draw of a row depends only on ``(seed, split, noise_level)`` and its global row
    index (see the module Notes), never on the chunking.
    """
    flux = np.asarray(flux)
    if noise_level < 0 or not np.isfinite(noise_level):
        raise InvalidParameterError(f"noise_level must be finite and ≥ 0; got {noise_level!r}.")
    out = np.array(flux, dtype=np.float32, copy=True)
    n, p = out.shape
    if noise_level > 0 and n:
        base = noise_seed(seed, split, noise_level)
        level = np.float32(noise_level)
        for b in range(row0 // NOISE_BLOCK, (row0 + n - 1) // NOISE_BLOCK + 1):
            lo, hi = max(b * NOISE_BLOCK, row0), min((b + 1) * NOISE_BLOCK, row0 + n)
            rng = np.random.default_rng([base, b])
            draw = rng.standard_normal((hi - b * NOISE_BLOCK, p), dtype=np.float32)
            draw = draw[lo - b * NOISE_BLOCK:]
            draw *= level
            draw *= error[lo - row0:hi - row0]
            out[lo - row0:hi - row0] += draw
    if clip:
        np.maximum(out, 0, out=out)
    return out


@dataclass(frozen=True)
class StreamSpec:
    """What to accumulate from each chunk.

    Parameters
    ----------
    target : str
        Label column to predict.
    noise_levels : tuple of float
        One set of statistics per level (the noise is drawn per chunk, see the module Notes).
    seed : int
        Noise seed; with ``split`` and the level it gives the same noise as
        :func:`stream_noisy` on the whole set.
    split : {"train", "val", "test"}
    clip : bool
        Clip noisy flux at 0.
    scheme : BinScheme, optional
        Group rows by bin (``n_bins`` groups plus the uncovered stars last); ``None``: one group.
    condition : str, optional
        Label column ``m`` of conditional models; powers ``k ≤ max_power`` of
        ``(m − m_mean) / m_scale`` weight the statistics.
    max_power : int
    m_mean, m_scale : float
        Standardisation of ``m`` (from the training labels, see :func:`read_labels`).
    chunk_size : int
        Rows read and accumulated at a time (memory ≈ chunk × pixels × 20 bytes).
    shift : ndarray, optional
        Reference row shared by every chunk (default: mean clean flux of the first rows), so
        that statistics add without re-centring.
    """

    target: str = "log_g"
    noise_levels: tuple[float, ...] = (0.2,)
    seed: int = 42
    split: str = "train"
    clip: bool = False
    scheme: BinScheme | None = None
    condition: str | None = None
    max_power: int = 0
    m_mean: float = 0.0
    m_scale: float = 1.0
    chunk_size: int = 4096
    shift: np.ndarray | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        levels = tuple(float(v) for v in np.atleast_1d(self.noise_levels))
        if not levels or any(not np.isfinite(v) or v < 0 for v in levels):
            raise InvalidParameterError(f"noise_levels must be finite and ≥ 0; got {levels}.")
        object.__setattr__(self, "noise_levels", levels)
        if not isinstance(self.chunk_size, int | np.integer) or self.chunk_size < 1:
            raise InvalidParameterError(f"chunk_size must be an integer ≥ 1; got "
                                        f"{self.chunk_size!r}.")
        if self.max_power and self.condition is None:
            raise InvalidParameterError("max_power > 0 needs a conditioning label (condition).")
        if not self.m_scale > 0:
            raise InvalidParameterError(f"m_scale must be > 0; got {self.m_scale!r}.")

    @property
    def n_groups(self) -> int:
        """Groups per level: the scheme's bins plus the uncovered stars, or 1."""
        return 1 if self.scheme is None else self.scheme.n_bins + 1

    @property
    def columns(self) -> list[str]:
        """Label columns each chunk needs."""
        cols = [self.target]
        if self.scheme is not None:
            cols += self.scheme.columns
        if self.condition is not None:
            cols.append(self.condition)
        return list(dict.fromkeys(cols))


class StreamStats:
    """``stats[level][group][power]``: :class:`RidgeStats` that add elementwise.

    Attributes
    ----------
    stats : list of list of list of RidgeStats
    n_rows : int
        Rows accumulated (each row once, whatever the number of levels).
    """

    def __init__(self, stats: list[list[list[RidgeStats]]], n_rows: int) -> None:
        self.stats = stats
        self.n_rows = int(n_rows)

    def __iadd__(self, other: StreamStats) -> StreamStats:
        if not isinstance(other, StreamStats):
            return NotImplemented
        shape = (len(self.stats), len(self.stats[0]), len(self.stats[0][0]))
        if (len(other.stats), len(other.stats[0]), len(other.stats[0][0])) != shape:
            raise ShapeMismatchError("StreamStats of different specs cannot be added.")
        for mine, theirs in zip(self._flat(), other._flat(), strict=True):
            mine += theirs
        self.n_rows += other.n_rows
        return self

    def __add__(self, other: StreamStats) -> StreamStats:
        if not isinstance(other, StreamStats):
            return NotImplemented
        out = StreamStats([[[s.copy() for s in g] for g in lv] for lv in self.stats], self.n_rows)
        out += other
        return out

    def __radd__(self, other: Any) -> StreamStats:
        if isinstance(other, int) and other == 0:
            return self + StreamStats._zeros_like(self)
        return NotImplemented

    @staticmethod
    def _zeros_like(s: StreamStats) -> StreamStats:
        return StreamStats([[[RidgeStats(x.n_features, shift=x.shift) for x in g] for g in lv]
                            for lv in s.stats], 0)

    def _flat(self) -> Iterator[RidgeStats]:
        for lv in self.stats:
            for g in lv:
                yield from g

    def groups(self, level: int = 0, power: int = 0) -> list[RidgeStats]:
        """Per-group statistics at one level and power."""
        return [g[power] for g in self.stats[level]]

    def moments(self, level: int = 0) -> list[RidgeStats]:
        """Statistics summed over groups, one per power ``k``."""
        n_pow = len(self.stats[level][0])
        return [sum(g[k] for g in self.stats[level]) for k in range(n_pow)]

    def total(self, level: int = 0) -> RidgeStats:
        """Unweighted statistics of all rows at one level."""
        return self.moments(level)[0]

    def __repr__(self) -> str:
        return (f"StreamStats(levels={len(self.stats)}, groups={len(self.stats[0])}, "
                f"powers={len(self.stats[0][0])}, n_rows={self.n_rows})")


def _empty(spec: StreamSpec, shift: np.ndarray) -> StreamStats:
    p = shift.shape[0]
    return StreamStats([[[RidgeStats(p, shift=shift) for _ in range(spec.max_power + 1)]
                         for _ in range(spec.n_groups)] for _ in spec.noise_levels], 0)


def accumulate_chunk(spec: StreamSpec, flux: np.ndarray, error: np.ndarray,
                     labels: pd.DataFrame, row0: int, into: StreamStats | None = None
                     ) -> StreamStats:
    """Add the statistics of one chunk (global rows ``row0 …``) to ``into`` (default: new).

    ``into`` must have been made with the same ``spec`` (its ``shift``); adding in place
    keeps one set of P×P sums per task in memory, whatever the number of chunks.
    """
    if spec.shift is None:
        raise InvalidParameterError("spec.shift must be set before accumulating "
                                    "(stream_stats sets it).")
    shift = np.asarray(spec.shift, dtype=np.float64)
    out = _empty(spec, shift) if into is None else into
    missing = [c for c in spec.columns if c not in labels.columns]
    if missing:
        raise MissingLabelError(f"label column(s) {missing} not found; the file has "
                                f"{list(labels.columns)}.")
    y = labels[spec.target].to_numpy(dtype=np.float64)
    if spec.scheme is None:
        groups = np.zeros(y.size, dtype=np.intp)
    else:
        groups = spec.scheme.assign(labels)
        groups = np.where(groups < 0, spec.n_groups - 1, groups)
    m = None
    if spec.condition is not None:
        m = (labels[spec.condition].to_numpy(dtype=np.float64) - spec.m_mean) / spec.m_scale
    members = [np.flatnonzero(groups == g) for g in range(spec.n_groups)]
    for li, level in enumerate(spec.noise_levels):
        x = stream_noisy(flux, error, level, spec.seed, spec.split, row0, clip=spec.clip)
        for g, rows in enumerate(members):
            if rows.size == 0:
                continue
            sel = None if rows.size == y.size else rows  # all rows: no gather copy
            for k in range(spec.max_power + 1):
                w = None if k == 0 else m ** k
                parts = _linalg.accumulate_rows(x, y, w, shift, rows.size, sel)
                out.stats[li][g][k] += RidgeStats._from_parts(shift, parts)
    out.n_rows += y.size
    return out


# --------------------------------------------------------------------------- reading
def _read(f: h5py.File, info: _hdf5io.FileInfo, lo: int, hi: int,
          columns: Sequence[str]) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
    flux = np.asarray(f[info.keys["flux"]][lo:hi], dtype=np.float32)
    error = np.asarray(f[info.keys["error"]][lo:hi], dtype=np.float32)
    where = f"{info.path}:{info.keys['labels']}"
    labels = _hdf5io.read_labels(f[info.keys["labels"]], lo, hi, where)
    missing = [c for c in columns if c not in labels.columns]
    if missing:
        raise MissingLabelError(f"{where} lacks label column(s) {missing}; it has "
                                f"{list(labels.columns)}.")
    return flux, error, labels[list(columns)]


def iter_chunks(info: _hdf5io.FileInfo, lo: int, hi: int, chunk_size: int,
                columns: Sequence[str]) -> Iterator[tuple[np.ndarray, np.ndarray,
                                                          pd.DataFrame, int]]:
    """``(flux, error, labels, start)`` for rows ``lo:hi`` of one file, ``chunk_size`` at a
    time (``start`` is the row within the file)."""
    with h5py.File(info.path, "r") as f:
        for start in range(lo, hi, chunk_size):
            stop = min(start + chunk_size, hi)
            yield (*_read(f, info, start, stop, columns), start)


def read_labels(path: Any, columns: Sequence[str] | None = None) -> pd.DataFrame:
    """All label rows of a file or shard folder (flux is not read)."""
    frames = []
    for info in _hdf5io.open_sources(path):
        with h5py.File(info.path, "r") as f:
            where = f"{info.path}:{info.keys['labels']}"
            frame = _hdf5io.read_labels(f[info.keys["labels"]], 0, info.n_rows, where)
        frames.append(frame if columns is None else frame[list(columns)])
    return pd.concat(frames, ignore_index=True)


@dataclass(frozen=True)
class _Task:
    info: _hdf5io.FileInfo
    lo: int
    hi: int
    row0: int  # global row of ``lo``


def plan_tasks(infos: Sequence[_hdf5io.FileInfo], rows_per_task: int | None = None,
               n_rows: int | None = None) -> list[_Task]:
    """One task per file, or per ``rows_per_task`` rows of a file; only the first ``n_rows``
    rows across files when given."""
    total = sum(i.n_rows for i in infos)
    if n_rows is not None and not 1 <= int(n_rows) <= total:
        raise InvalidParameterError(f"n_rows must be in [1, {total}] (rows available); got "
                                    f"{n_rows!r}.")
    end = total if n_rows is None else int(n_rows)
    tasks, offset = [], 0
    for info in infos:
        step = info.n_rows if rows_per_task is None else int(rows_per_task)
        if step < 1:
            raise InvalidParameterError(f"rows_per_task must be ≥ 1; got {rows_per_task!r}.")
        stop = min(info.n_rows, end - offset)
        for lo in range(0, max(stop, 0), step):
            tasks.append(_Task(info, lo, min(lo + step, stop), offset + lo))
        offset += info.n_rows
    return tasks


def _run_task(spec: StreamSpec, task: _Task) -> StreamStats:
    out = _empty(spec, np.asarray(spec.shift, dtype=np.float64))
    for flux, error, labels, start in iter_chunks(task.info, task.lo, task.hi,
                                                  spec.chunk_size, spec.columns):
        accumulate_chunk(spec, flux, error, labels, task.row0 + start - task.lo, into=out)
    return out


def default_shift(infos: Sequence[_hdf5io.FileInfo], rows: int = 1024) -> np.ndarray:
    """Mean clean flux of the first ``rows`` rows: the shared reference row."""
    with h5py.File(infos[0].path, "r") as f:
        flux = f[infos[0].keys["flux"]][: min(rows, infos[0].n_rows)]
    return np.asarray(flux, dtype=np.float64).mean(axis=0)


def stream_stats(path: Any, spec: StreamSpec, *, client: Any = None,
                 scheduler: str | None = None, rows_per_task: int | None = None,
                 n_rows: int | None = None, split_every: int = 4
                 ) -> tuple[StreamStats, StreamSpec]:
    """Accumulate ``spec``'s statistics over every row behind ``path``.

    Parameters
    ----------
    path : str or path-like
        A dataset file, split folder or folder of shards (as :func:`moehelpers.data.spectra.load`).
    spec : StreamSpec
    client : dask.distributed.Client, optional
        Run one task per shard (or per ``rows_per_task`` rows) on this cluster.
    scheduler : str, optional
        Address of a Dask scheduler (``tcp://host:8786``); a client is opened and closed.
        Without ``client`` and ``scheduler`` the tasks run one after another in this process.
    rows_per_task : int, optional
        Split shards into tasks of this many rows (default: one task per shard).
    n_rows : int, optional
        Use only the first ``n_rows`` rows (across shards).
    split_every : int, default=4
        Fan-in of the tree reduction on Dask.

    Returns
    -------
    stats : StreamStats
    spec : StreamSpec
        ``spec`` with its ``shift`` filled in (pass it on to stream the validation data).
    """
    infos = _hdf5io.open_sources(path)
    if spec.shift is None:
        spec = _replace_shift(spec, default_shift(infos))
    tasks = plan_tasks(infos, rows_per_task, n_rows)
    if client is None and scheduler is None:
        total = _empty(spec, np.asarray(spec.shift, dtype=np.float64))
        for task in tasks:
            for flux, error, labels, start in iter_chunks(task.info, task.lo, task.hi,
                                                          spec.chunk_size, spec.columns):
                accumulate_chunk(spec, flux, error, labels, task.row0 + start - task.lo,
                                 into=total)
        return total, spec
    import dask.bag as db
    from dask.distributed import Client

    def reduce(c: Any) -> StreamStats:
        bag = db.from_sequence(tasks, npartitions=len(tasks)).map(_run_task_for(spec))
        return c.compute(bag.fold(operator.add, split_every=split_every)).result()

    if client is not None:
        return reduce(client), spec
    with Client(scheduler) as c:
        return reduce(c), spec


class _run_task_for:  # a picklable partial with a readable task name
    def __init__(self, spec: StreamSpec) -> None:
        self.spec = spec

    def __call__(self, task: _Task) -> StreamStats:
        return _run_task(self.spec, task)


def _replace_shift(spec: StreamSpec, shift: np.ndarray) -> StreamSpec:
    return replace(spec, shift=np.asarray(shift, dtype=np.float64))
