"""On-disk cache of sufficient statistics (Grams, grouped and moment Grams), shared by runs.

Most notebooks of a run recompute the same statistics (e.g. the noise-0.2 Gram of the same
training stars). :class:`StatsStore` keeps them on disk, keyed by everything that determines
them (:class:`StatsKey`: dataset identity, split, row selection, noise level and seed, pixel
binning, grouping, monomial, kind), so every notebook of a run and every rerun shares them.

Guarantees (a cache never changes a result):

* an entry is written to a unique temporary name, flushed and ``fsync``-ed, then renamed
  over its final name (atomic on POSIX) and the folder ``fsync``-ed; a writer killed at any
  point leaves either no entry or the previous complete one, never a partial one;
* an entry carries its full key and the sha256 of its arrays (names, dtypes, shapes, bytes);
  on read both are checked, and a corrupt, truncated or stale entry is deleted and
  recomputed;
* concurrent writers of one key each rename a complete file; the last rename wins and the
  entry is valid whichever it is.

The folder is :func:`moehelpers.paths.stats_dir` (``$MOE_STATS_DIR``, default
``<repo>/data/cache/stats``, git-ignored).
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from moehelpers import paths
from moehelpers._validation import check_xy
from moehelpers.engine.ridge import (
    DEFAULT_ALPHAS,
    RidgePath,
    RidgeRegressor,
    _resolve_solver,
    ridge_path,
    ridge_path_from_stats,
)
from moehelpers.engine.stats import RidgeStats, grouped_stats
from moehelpers.errors import InvalidParameterError

__all__ = [
    "FORMAT_VERSION",
    "SharedRows",
    "StatsKey",
    "StatsStore",
    "active_store",
    "array_fingerprint",
    "arrays_sha256",
    "cached_path",
    "cached_ridge_fit",
    "cached_ridge_path",
    "cached_ridge_stats",
    "cached_solutions",
    "cached_stats_path",
    "file_fingerprint",
    "fit_from_stats",
    "numerics_signature",
    "set_active_store",
    "shared_ridge_fit",
    "shared_stats",
    "stats_fingerprint",
    "using_store",
]

FORMAT_VERSION = 1
_META = "__meta__"
_STALE_TMP_SECONDS = 3600.0


def array_fingerprint(*arrays: Any) -> str:
    """sha256 of arrays' dtypes, shapes and bytes (e.g. a row selection or a pixel mask)."""
    h = hashlib.sha256()
    for a in arrays:
        a = np.ascontiguousarray(a)
        h.update(f"{a.dtype.str}{a.shape}".encode())
        h.update(_raw_bytes(a))
    return h.hexdigest()


def _raw_bytes(a: np.ndarray) -> memoryview | bytes:
    """The bytes of a C-contiguous array without a copy (a 512 MB split hashes in ~0.5 s)."""
    return memoryview(a).cast("B") if a.size and a.dtype.kind in "biuf" else a.tobytes()


def file_fingerprint(path: str | os.PathLike[str], sample_bytes: int = 1 << 20) -> str:
    """Identity of a (large) dataset file: sha256 of its size, mtime and first/last MiB."""
    path = Path(path)
    st = path.stat()
    h = hashlib.sha256(f"{st.st_size}:{st.st_mtime_ns}".encode())
    with path.open("rb") as f:
        h.update(f.read(sample_bytes))
        if st.st_size > sample_bytes:
            f.seek(max(sample_bytes, st.st_size - sample_bytes))
            h.update(f.read(sample_bytes))
    return h.hexdigest()


def arrays_sha256(arrays: Mapping[str, np.ndarray]) -> str:
    """Content hash of named arrays, independent of their order in the mapping."""
    h = hashlib.sha256()
    for name in sorted(arrays):
        a = np.asarray(arrays[name])
        if not a.flags.c_contiguous and a.flags.f_contiguous:  # its bytes as they lie
            h.update(f"{name}|{a.dtype.str}|{a.shape}|F|".encode())
            h.update(_raw_bytes(a.T))
            continue
        a = np.ascontiguousarray(a)
        h.update(f"{name}|{a.dtype.str}|{a.shape}|".encode())
        h.update(_raw_bytes(a))
    return h.hexdigest()


@dataclasses.dataclass(frozen=True)
class StatsKey:
    """Everything that determines a set of statistics; two keys are equal iff all fields are.

    Attributes
    ----------
    dataset : str
        Identity hash of the data (:func:`file_fingerprint` or :func:`array_fingerprint`).
    split : str
        ``"train"``, ``"val"``, ``"test"``, ...
    kind : str
        What is stored, e.g. ``"ridge_stats"`` or ``"grouped_ridge_stats"``.
    rows : str
        Row selection (``"all"`` or :func:`array_fingerprint` of the indices).
    noise_level, noise_seed : float or None, int or None
        Noise added before accumulating (``None``: noiseless).
    binning : str
        Pixel binning / window (``"none"`` or a description or hash).
    grouping : str
        Row grouping (``"none"``, a bin-scheme description, or a hash of the labels).
    monomial : str
        Conditioning weight (``"1"`` or e.g. ``"M_H^2"``).
    extra : tuple of (str, str)
        Anything else that matters (sorted pairs).
    """

    dataset: str
    split: str
    kind: str = "ridge_stats"
    rows: str = "all"
    noise_level: float | None = None
    noise_seed: int | None = None
    binning: str = "none"
    grouping: str = "none"
    monomial: str = "1"
    extra: tuple[tuple[str, str], ...] = ()

    def as_dict(self) -> dict[str, Any]:
        """The key as a JSON-serialisable dict (with the format version)."""
        d = dataclasses.asdict(self)
        d["extra"] = [list(kv) for kv in sorted(self.extra)]
        d["noise_level"] = None if self.noise_level is None else float(self.noise_level)
        d["noise_seed"] = None if self.noise_seed is None else int(self.noise_seed)
        d["format"] = FORMAT_VERSION
        return d

    def digest(self) -> str:
        """sha256 of the canonical JSON of the key: the entry's file name."""
        blob = json.dumps(self.as_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()


class StatsStore:
    """A folder of statistics entries (one ``<digest>.npz`` per :class:`StatsKey`).

    Parameters
    ----------
    root : path, default=None
        Folder of the entries; :func:`moehelpers.paths.stats_dir` when ``None``.

    Attributes
    ----------
    hits, misses, discarded : int
        Counters of this instance (a discarded entry was corrupt or stale, then recomputed).
    """

    def __init__(self, root: str | os.PathLike[str] | None = None) -> None:
        self.root = Path(root) if root is not None else paths.stats_dir()
        self.hits = self.misses = self.discarded = 0

    def path(self, key: StatsKey) -> Path:
        """File of the entry of ``key`` (it may not exist)."""
        return self.root / f"{key.digest()}.npz"

    def get(self, key: StatsKey) -> dict[str, np.ndarray] | None:
        """The arrays stored under ``key``, or ``None`` (absent, corrupt or stale: deleted)."""
        target = self.path(key)
        try:
            with np.load(target, allow_pickle=False) as z:
                data = {name: z[name] for name in z.files}
            meta = json.loads(bytes(data.pop(_META)).decode())
            ok = meta["key"] == key.as_dict() and meta["sha256"] == arrays_sha256(data)
        except FileNotFoundError:
            return None
        except Exception:  # truncated zip, flipped byte in a header, bad JSON, ...
            ok = False
        if not ok:
            self.discarded += 1
            with contextlib.suppress(FileNotFoundError):
                target.unlink()
            return None
        return data

    def put(self, key: StatsKey, arrays: Mapping[str, np.ndarray]) -> Path:
        """Write ``arrays`` under ``key`` atomically (temp file, fsync, rename); return the path."""
        return self._write(key, _entry_arrays(arrays))

    def _write(self, key: StatsKey, data: dict[str, np.ndarray]) -> Path:
        meta = {"key": key.as_dict(), "sha256": arrays_sha256(data), "created": time.time()}
        self.root.mkdir(parents=True, exist_ok=True)
        self._clean_stale_tmp()
        target = self.path(key)
        tmp = self.root / f".{target.stem}.{os.getpid()}.{uuid.uuid4().hex}.tmp"
        try:
            with tmp.open("wb") as f:
                np.savez(f, **data, **{_META: np.frombuffer(json.dumps(meta).encode(), "u1")})
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, target)
        finally:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
        _fsync_dir(self.root)
        return target

    def get_or_compute(
        self, key: StatsKey, compute: Callable[[], Mapping[str, np.ndarray]]
    ) -> dict[str, np.ndarray]:
        """Stored arrays of ``key``; on a miss ``compute()`` them, store and return them.

        What is returned on a miss are the contiguous arrays the entry was written from
        (an entry holds their raw bytes, dtypes and shapes), so a hit and a miss give
        byte-identical arrays without reading the entry back.
        """
        found = self.get(key)
        if found is not None:
            self.hits += 1
            return found
        self.misses += 1
        data = _entry_arrays(compute())
        self._write(key, data)
        return dict(data)

    def _clean_stale_tmp(self) -> None:
        now = time.time()
        for tmp in self.root.glob(".*.tmp"):
            with contextlib.suppress(OSError):
                if now - tmp.stat().st_mtime > _STALE_TMP_SECONDS:
                    tmp.unlink()


def _entry_arrays(arrays: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The arrays of an entry, checked and contiguous (what is written and handed back): a
    Fortran-ordered array (a Gram's upper triangle) is kept so, .npy stores its order."""
    if _META in arrays or not arrays:
        raise InvalidParameterError(
            f"Statistics entries need at least one array and no array named {_META!r}; "
            f"got names {sorted(arrays)}. Rename the arrays."
        )
    data = {}
    for name, value in arrays.items():
        a = np.asarray(value)
        data[name] = a if a.flags.f_contiguous else np.ascontiguousarray(a)
    if any(a.dtype == object for a in data.values()):
        raise InvalidParameterError("Statistics arrays must be numeric (no object arrays).")
    return data


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):  # not every filesystem lets a folder be fsync-ed
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


# --------------------------------------------------------------------------- RidgeStats
def _upper(stats: RidgeStats) -> np.ndarray:
    """``triu`` of the Gram accumulator in Fortran order (the accumulator's own): one copy,
    which an entry stores and :func:`_arrays_stats` takes back without another."""
    return np.tril(stats._upper.T).T


def _stats_arrays(stats: list[RidgeStats]) -> dict[str, np.ndarray]:
    uppers = [_upper(s) for s in stats]
    return {
        "shift": np.stack([s._shift0() for s in stats]),
        "n": np.array([s.n for s in stats]),
        "sum_u": np.stack([s.sum_u for s in stats]),
        "sum_y": np.array([s.sum_y for s in stats]),
        "upper": uppers[0][None] if len(uppers) == 1 else np.stack(uppers),
        "xty": np.stack([s.xty for s in stats]),
        "sum_yy": np.array([s.sum_yy for s in stats]),
    }


def _arrays_stats(arrays: Mapping[str, np.ndarray]) -> list[RidgeStats]:
    out = []
    for g in range(arrays["n"].shape[0]):
        parts = (float(arrays["n"][g]), arrays["sum_u"][g].copy(), float(arrays["sum_y"][g]),
                 np.asfortranarray(arrays["upper"][g]), arrays["xty"][g].copy(),
                 float(arrays["sum_yy"][g]))
        out.append(RidgeStats._from_parts(arrays["shift"][g].copy(), parts))
    return out


def cached_ridge_stats(
    key: StatsKey,
    X: Any,
    y: Any,
    groups: Any = None,
    n_groups: int | None = None,
    *,
    weights: Any = None,
    store: StatsStore | None = None,
    chunk_size: int | None = None,
    shift: np.ndarray | None = None,
) -> RidgeStats | list[RidgeStats]:
    """:class:`RidgeStats` of ``(X, y)`` (or one per group) through the statistics store.

    ``key`` must describe ``X``, ``y``, ``groups`` and ``weights`` (dataset, split, rows,
    noise, grouping, monomial); the number of features, the number of groups, whether
    weights were given, the chunk size and the reference row ``shift`` (both set the
    rounding; a given shift by its content) and the kind (``"ridge_stats"`` or
    ``"grouped_ridge_stats"``) are added to it here.
    """
    if (groups is None) != (n_groups is None):
        raise InvalidParameterError("Pass both groups and n_groups, or neither.")
    store = store if store is not None else StatsStore()
    kind = "ridge_stats" if groups is None else "grouped_ridge_stats"
    extra = (*key.extra, ("n_features", str(np.shape(X)[1])), ("n_groups", str(n_groups)),
             ("weighted", str(weights is not None)), ("chunk_size", str(chunk_size)))
    if shift is not None:  # absent from the key otherwise: the keys of earlier entries hold
        shift = np.asarray(shift, dtype=np.float64)
        extra = (*extra, ("shift", array_fingerprint(shift)))
    full = dataclasses.replace(key, kind=kind, extra=tuple(sorted(set(extra))))

    def compute() -> dict[str, np.ndarray]:
        if groups is None:
            return _stats_arrays([RidgeStats.from_data(X, y, weights, chunk_size=chunk_size,
                                                       shift=shift)])
        per = grouped_stats(X, y, groups, int(n_groups), weights=weights, chunk_size=chunk_size,
                            shift=shift)
        return _stats_arrays(per)

    stats = _arrays_stats(store.get_or_compute(full, compute))
    return stats[0] if groups is None else stats


# --------------------------------------------------------------------------- active store
_ACTIVE: list[StatsStore | None] = [None]


def active_store() -> StatsStore | None:
    """The store that model fits route their Ridge paths through, or ``None`` (the default).

    :func:`moehelpers.models.piecewise.fit_together` (hence :meth:`PiecewiseRidge.fit`)
    looks its paths up here; the book's notebooks switch it on in
    :func:`moehelpers.book.notebook.start`, so every notebook of a run and every rerun shares
    them. Library code that never sets one computes everything, as before.
    """
    return _ACTIVE[0]


def set_active_store(store: StatsStore | None) -> StatsStore | None:
    """Make ``store`` the :func:`active_store` (``None`` switches caching off); return the
    previous one."""
    if store is not None and not isinstance(store, StatsStore):
        raise InvalidParameterError(
            f"set_active_store takes a StatsStore or None; got {type(store).__name__}.")
    previous, _ACTIVE[0] = _ACTIVE[0], store
    return previous


@contextlib.contextmanager
def using_store(store: StatsStore | None) -> Iterator[StatsStore | None]:
    """``with using_store(StatsStore(folder)):`` — :func:`set_active_store` for a block."""
    previous = set_active_store(store)
    try:
        yield store
    finally:
        set_active_store(previous)


def numerics_signature() -> str:
    """NumPy and BLAS (library, version, threads): what sets the rounding of a solve.

    Part of every path key, so an entry computed under another BLAS or thread count (whose
    blocked products may round differently) is never served: a hit is byte-identical to what
    this process would compute.
    """
    from threadpoolctl import threadpool_info

    blas = sorted(f"{i.get('internal_api')}-{i.get('version')}-{i.get('num_threads')}"
                  for i in threadpool_info() if i.get("user_api") == "blas")
    return f"numpy-{np.__version__}|" + ",".join(blas)


class SharedRows:
    """Training rows ``(X, y)`` whose statistics go through the :func:`active_store`, keyed
    by their content (hashed once, on first use: about 0.5 s for 32k × 4096 float32).

    Every statistic of the same rows — unweighted, or weighted by a moment of a label — is
    an entry of its own; a notebook that forms the same statistic of the same noisy flux as
    another (the moment Grams of [M/H] that the conditional Ridge, the NN-MoE meta-gate, the
    gate-noise and window-gate pages all need) reads it. Without an active store every
    statistic is computed. Values are those of
    :meth:`RidgeStats.from_data <moehelpers.engine.stats.RidgeStats.from_data>`, on a hit and
    on a miss.

    Statistics of fewer than :attr:`min_rows` rows are computed, never stored.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    y : array-like of shape (n_samples,)
        Not copied: do not modify them while this object is in use.
    store : StatsStore, optional
        Default: the :func:`active_store` (``None`` when none is active).
    """

    #: Below this many rows a statistic is cheaper to form than to keep: reading a 4096-pixel
    #: entry back takes ~0.4 s (and a miss also writes it, ~0.5 s), about what a pass over
    #: 2000 rows costs at this machine's dsyrk rate (n·p² at ~70 GFLOP/s), for any p.
    min_rows: int = 2048

    def __init__(self, X: Any, y: Any, *, store: StatsStore | None = None) -> None:
        self.X, self.y = np.asarray(X), np.asarray(y)
        self.store = store if store is not None else active_store()
        self._fingerprint: str | None = None

    @property
    def fingerprint(self) -> str:
        """:func:`array_fingerprint` of ``(X, y)``."""
        if self._fingerprint is None:
            self._fingerprint = array_fingerprint(self.X, self.y)
        return self._fingerprint

    def stats(self, weights: Any = None, *, shift: np.ndarray | None = None,
              chunk_size: int | None = None) -> RidgeStats:
        """``RidgeStats.from_data(X, y, weights, shift=shift, chunk_size=chunk_size)``,
        through the store (the weights and the shift keyed by their content)."""
        if self.store is None or len(self.X) < self.min_rows:
            return RidgeStats.from_data(self.X, self.y, weights, chunk_size=chunk_size,
                                        shift=shift)
        extra = [("numerics", numerics_signature())]
        if weights is not None:
            weights = np.asarray(weights, dtype=np.float64)
            extra.append(("weights", array_fingerprint(weights)))
        key = StatsKey(dataset=self.fingerprint, split="given", extra=tuple(extra))
        return cached_ridge_stats(key, self.X, self.y, weights=weights, store=self.store,
                                  chunk_size=chunk_size, shift=shift)


def shared_stats(X: Any, y: Any, *, chunk_size: int | None = None) -> RidgeStats:
    """:meth:`RidgeStats.from_data(X, y) <moehelpers.engine.stats.RidgeStats.from_data>`
    through the :func:`active_store`, keyed by the content of ``(X, y)``
    (:class:`SharedRows`).

    Several notebooks form the Gram of the same noisy training flux (one statistics pass
    serving the pseudo-label predictor, the conditional orders and the piecewise global
    model); with the store active the later ones read the ~130 MB entry (4096 pixels)
    instead of a pass over ``X``. Without an active store this is ``from_data``. The result
    equals ``from_data``'s value for value on a hit and on a miss.
    """
    return SharedRows(X, y).stats(chunk_size=chunk_size)


def shared_ridge_fit(
    X: Any,
    y: Any,
    X_val: Any,
    y_val: Any,
    alphas: Any = DEFAULT_ALPHAS,
    *,
    fit_intercept: bool = True,
    method: str = "auto",
    chunk_size: int | None = None,
) -> tuple[RidgeRegressor, RidgeStats]:
    """A Ridge fit on ``(X, y)`` and the statistics of its training rows, both through the
    :func:`active_store`.

    For a model that needs the Gram of rows another model is fitted on (the noise experts'
    pooled model sums every level's Gram): the fit equals :func:`cached_ridge_fit`'s (its
    path has the same key, so the global Ridge of MVP-0 at a level and the noise expert at
    that level are solved once per run) and the statistics equal :func:`shared_stats`'s
    (same key). ``(X, y)`` are hashed once. Without an active store: ``from_data`` and
    :meth:`~moehelpers.engine.ridge.RidgeRegressor.fit_stats` (the dual system when there
    are fewer rows than features), the same numbers.

    Returns
    -------
    model : RidgeRegressor
        α chosen on ``(X_val, y_val)``.
    stats : RidgeStats
        ``RidgeStats.from_data(X, y, chunk_size=chunk_size)``, value for value.
    """
    model = RidgeRegressor(alphas, fit_intercept=fit_intercept, method=method,
                           chunk_size=chunk_size)
    store = active_store()
    if store is None:
        stats = RidgeStats.from_data(X, y, chunk_size=chunk_size)
        return model.fit_stats(stats, X_val, y_val, train=(X, y)), stats
    rows = SharedRows(X, y)
    stats = rows.stats(chunk_size=chunk_size)
    grid = model._checked_alphas(X_val, y_val)
    path = _content_path(rows, grid, fit_intercept, method, chunk_size, stats=stats)
    return model.fit_path(path, X_val, y_val), stats


def stats_fingerprint(stats: RidgeStats) -> str:
    """Content hash of one :class:`RidgeStats` (every sum, the Gram's upper triangle)."""
    return arrays_sha256(_stats_arrays([stats]))


# --------------------------------------------------------------------------- Ridge paths
def _alphas_text(alphas: np.ndarray) -> str:
    return ",".join(float(a).hex() for a in alphas)  # exact: 0.1 and 0.1 + 1 ulp differ


def _path_arrays(path: RidgePath) -> dict[str, np.ndarray]:
    return {"alphas": path.alphas, "coefs": path.coefs, "intercepts": path.intercepts,
            "solver": np.frombuffer(path.solver.encode(), "u1"),
            "method": np.frombuffer(path.method.encode(), "u1")}


def _arrays_path(got: Mapping[str, np.ndarray]) -> RidgePath:
    return RidgePath(got["alphas"], np.ascontiguousarray(got["coefs"]), got["intercepts"],
                     bytes(got["solver"]).decode(), bytes(got["method"]).decode())


def cached_path(
    store: StatsStore | None,
    dataset: str,
    rows: str,
    alphas: np.ndarray,
    settings: Mapping[str, Any],
    compute: Callable[[], RidgePath],
    *,
    grouping: str = "none",
) -> RidgePath:
    """A :class:`~moehelpers.engine.ridge.RidgePath` through ``store`` (``None``: computed).

    Parameters
    ----------
    store : StatsStore or None
        Where to look; ``None`` returns ``compute()``.
    dataset : str
        Fingerprint of the training data the path is fitted on (:func:`array_fingerprint`
        of ``X`` and ``y``).
    rows : str
        Which rows and how their statistics are combined (e.g. a fingerprint of a row index,
        or the refinement groups whose statistics are summed).
    alphas : ndarray
        The exact α grid.
    settings : mapping
        Everything else that changes the numbers (intercept, solver, method, chunk size, ...).
    compute : callable
        Returns the path on a miss.
    grouping : str, default="none"
        Fingerprint of the row grouping the statistics were accumulated over.

    Returns
    -------
    RidgePath
        Byte-identical on a hit and on a miss (a miss returns the arrays the entry holds).
        The key also holds :func:`numerics_signature`.
    """
    if store is None:
        return compute()
    extra = {**{k: str(v) for k, v in settings.items()}, "alphas": _alphas_text(alphas),
             "numerics": numerics_signature()}
    key = StatsKey(dataset=dataset, split="given", kind="ridge_path", rows=rows,
                   grouping=grouping, extra=tuple(sorted(extra.items())))
    return _arrays_path(store.get_or_compute(key, lambda: _path_arrays(compute())))


def cached_solutions(
    store: StatsStore | None,
    system: str,
    alphas: np.ndarray,
    method: str,
    compute: Callable[[], np.ndarray],
) -> np.ndarray:
    """Coefficients (one row per α) of a primal system ``(A + αI) β = b`` through ``store``.

    For the block systems of the conditional models (:mod:`moehelpers.engine.block_path`),
    whose (K+1)·P unknowns make each solve cost seconds: their α walk visits the same α on
    a rerun, and each visited α is then read (~0.1 MB an entry).

    Parameters
    ----------
    store : StatsStore or None
        ``None`` returns ``compute()``.
    system : str
        A content hash of the system: of ``(A, b)`` themselves, or of everything they are
        assembled from together with the code that assembles them (the conditional models'
        key, so a rerun need not assemble the system at all).
    alphas : ndarray
        The α solved (exact, as in every path key).
    method : str
        ``"cholesky"`` or ``"eigen"``.
    compute : callable
        Returns the coefficients, shape ``(len(alphas), n_unknowns)``, on a miss.

    Returns
    -------
    ndarray
        Byte-identical on a hit and on a miss; the key also holds :func:`numerics_signature`.
    """
    if store is None:
        return compute()
    extra = (("alphas", _alphas_text(np.atleast_1d(alphas))), ("method", method),
             ("numerics", numerics_signature()))
    key = StatsKey(dataset=system, split="given", kind="block_solution", extra=extra)
    return store.get_or_compute(key, lambda: {"coefs": np.asarray(compute())})["coefs"]


def cached_stats_path(
    stats: RidgeStats,
    alphas: Any,
    *,
    fit_intercept: bool = True,
    method: str = "auto",
    store: StatsStore | None = None,
) -> RidgePath:
    """:func:`~moehelpers.engine.ridge.ridge_path_from_stats` through the statistics store,
    keyed by the *content* of ``stats`` (:func:`stats_fingerprint`: ~0.2 s for a 4096-pixel
    Gram, against ~0.3 s per α for its Cholesky solve), the exact α grid and the settings.

    For models fitted from statistics a caller formed (a sum of level Grams, a retargeted
    Gram): a rerun reads the path instead of factorising ``A + αI`` once per α (whatever
    the number of rows: the cost is the solve's). The entry is small (α × pixels). Its key
    is :class:`~moehelpers.models.piecewise.PiecewiseRidge`'s for given statistics, so the
    two share entries. ``store=None`` uses the :func:`active_store` (none active: computed,
    nothing written).

    Returns
    -------
    RidgePath
        Byte-identical on a hit and on a miss, equal to ``ridge_path_from_stats(stats, ...)``.
    """
    grid = np.atleast_1d(np.asarray(alphas, dtype=float))
    store = store if store is not None else active_store()

    def compute() -> RidgePath:
        return ridge_path_from_stats(stats, grid, fit_intercept=fit_intercept, method=method)

    if store is None:
        return compute()
    settings = {"solver": "primal", "fit_intercept": bool(fit_intercept), "method": method}
    return cached_path(store, stats_fingerprint(stats), "given statistics", grid, settings,
                       compute)


def fit_from_stats(model: RidgeRegressor, stats: RidgeStats, X_val: Any = None,
                   y_val: Any = None, *, train: tuple[Any, Any] | None = None,
                   store: StatsStore | None = None) -> RidgeRegressor:
    """``model.fit_stats(stats, X_val, y_val, train=train)`` with the primal path through
    :func:`cached_stats_path` (the dual route of ``train`` is solved as ``fit_stats`` would).

    The fitted ``model`` equals what ``fit_stats`` returns, on a hit and on a miss.
    """
    if train is not None and (
            np.shape(train[0]) != (stats.n, stats.n_features)  # fit_stats' message
            or _resolve_solver(model.solver, stats.n, stats.n_features, True) == "dual"):
        return model.fit_stats(stats, X_val, y_val, train=train)
    grid = model._checked_alphas(X_val, y_val)
    _resolve_solver(model.solver, stats.n, stats.n_features, False)  # fit_stats' refusal
    path = cached_stats_path(stats, grid, fit_intercept=model.fit_intercept,
                             method=model.method, store=store)
    return model.fit_path(path, X_val, y_val)


def cached_ridge_path(
    X: Any,
    y: Any,
    alphas: Any = DEFAULT_ALPHAS,
    *,
    fit_intercept: bool = True,
    method: str = "auto",
    chunk_size: int | None = None,
    store: StatsStore | None = None,
) -> RidgePath:
    """:func:`~moehelpers.engine.ridge.ridge_path` of ``(X, y)`` through the statistics store.

    The key is the *content* of ``X`` and ``y`` (:func:`array_fingerprint`, about 0.5 s for a
    32k × 4096 float32 split) plus the exact α grid and the solver settings, so no caller
    can label an entry wrongly: the same noisy training flux fitted by several notebooks of a
    run (the global Ridge of MVP-0, the noise expert of MVP-2 and the peers page at each
    level) is solved once. The entry holds the path (α × pixels coefficients, ~0.3 MB at
    9 α × 4096); a primal miss also keeps the Gram it was solved from under
    :func:`shared_stats`'s key (~130 MB at 4096 pixels), for the models that need it (the
    noise experts' pooled model, :func:`shared_ridge_fit`).

    ``store=None`` uses the :func:`active_store`; with none active (a notebook switches it
    on in ``notebook.start`` unless ``MOE_STATS_CACHE=off``) the path is computed and
    nothing is written.

    Returns
    -------
    RidgePath
        Byte-identical on a hit and on a miss (a miss returns the arrays the entry holds), and
        equal to ``ridge_path(X, y, alphas, ...)``.
    """
    X = np.asarray(X)
    y = np.asarray(y)
    grid = np.atleast_1d(np.asarray(alphas, dtype=float))
    store = store if store is not None else active_store()
    if store is None:  # no store asked for and none active (MOE_STATS_CACHE=off): computed
        return ridge_path(X, y, grid, fit_intercept=fit_intercept, method=method,
                          chunk_size=chunk_size)
    return _content_path(SharedRows(X, y, store=store), grid, fit_intercept, method, chunk_size)


def _content_path(rows: SharedRows, grid: np.ndarray, fit_intercept: bool, method: str,
                  chunk_size: int | None, stats: RidgeStats | None = None) -> RidgePath:
    """:func:`cached_ridge_path`'s entry. On a miss a primal path is solved from the
    statistics :func:`shared_stats` keeps for ``(X, y)`` (``stats`` when the caller holds
    them), so a later model that needs that Gram reads it; ``ridge_path`` does the same
    ``from_data`` pass, so the numbers do not depend on the route."""
    settings = {"fit_intercept": bool(fit_intercept), "method": method,
                "chunk_size": chunk_size}

    def compute() -> RidgePath:
        checked, _, _ = check_xy(rows.X, rows.y, None)  # ridge_path's checks and messages
        if _resolve_solver("auto", checked.shape[0], checked.shape[1], True) == "dual":
            return ridge_path(rows.X, rows.y, grid, fit_intercept=fit_intercept,
                              method=method, chunk_size=chunk_size)
        given = stats if stats is not None else rows.stats(chunk_size=chunk_size)
        return ridge_path_from_stats(given, grid, fit_intercept=fit_intercept, method=method)

    return cached_path(rows.store, rows.fingerprint, "all", grid, settings, compute)


def cached_ridge_fit(
    X: Any,
    y: Any,
    X_val: Any,
    y_val: Any,
    alphas: Any = DEFAULT_ALPHAS,
    *,
    store: StatsStore | None = None,
    **ridge_params: Any,
) -> RidgeRegressor:
    """A :class:`~moehelpers.engine.ridge.RidgeRegressor` fitted on ``(X, y)``, α chosen on
    ``(X_val, y_val)``, its path from :func:`cached_ridge_path`.

    ``ridge_params`` are ``fit_intercept``, ``method`` and ``chunk_size`` of the estimator.
    The result equals ``RidgeRegressor(alphas, **ridge_params).fit(X, y, X_val, y_val)``
    (tests check it), whether the path was stored before or not. ``store=None``: the
    :func:`active_store`, or no store at all when none is active.
    """
    unknown = sorted(set(ridge_params) - {"fit_intercept", "method", "chunk_size"})
    if unknown:
        raise InvalidParameterError(
            f"cached_ridge_fit takes fit_intercept, method and chunk_size; got {unknown}. "
            "Fit a RidgeRegressor directly for other settings (e.g. sample weights).")
    model = RidgeRegressor(alphas, **ridge_params)
    path = cached_ridge_path(X, y, model._checked_alphas(X_val, y_val),
                             fit_intercept=model.fit_intercept, method=model.method,
                             chunk_size=model.chunk_size, store=store)
    return model.fit_path(path, X_val, y_val)
