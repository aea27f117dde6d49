"""Outputs of fitted models (predictions, stated σ) through the statistics store.

Some pages spend most of a rerun refitting models whose inputs have not changed: the peers
of notebook 20 (The Cannon, the emulator's Gauss–Newton fits, the CNN) and the maximum-
likelihood fit with the true grid. Their outputs are not statistics of the data alone; they
also depend on the code that fits them. :func:`cached_outputs` keys an entry by

* the *content* of every input array (dtype, shape, bytes),
* the parameters of the fit (canonical JSON: settings, seeds, noise level),
* :func:`code_fingerprint`: the sha256 of every computational module of ``moehelpers``
  (all of the package but its presentation layer ``moehelpers.book``), so any change of a
  model's code, or of code it calls, misses,
* :func:`~moehelpers.engine.store.numerics_signature` (NumPy, BLAS and its threads) and,
  for torch models, torch's version and thread count,

and stores what ``compute`` returned, so a hit returns those arrays byte for byte. A cache
never changes a result as long as ``compute`` is deterministic given its key — the models
here seed every random draw and use deterministic torch algorithms; the tests refit twice
and compare bit for bit. With no active store (``MOE_STATS_CACHE=off``) everything is
computed and nothing is written.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import sys
import weakref
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from moehelpers.engine.store import (
    StatsKey,
    StatsStore,
    active_store,
    array_fingerprint,
    numerics_signature,
)
from moehelpers.errors import InvalidParameterError

__all__ = ["cached_outputs", "code_fingerprint", "inputs_fingerprint"]

_PACKAGE = Path(__file__).resolve().parents[1]
#: (weak reference, fingerprint) of read-only arrays already hashed, by ``id``
_MEMO: dict[int, tuple[weakref.ref, str]] = {}


def code_fingerprint() -> str:
    """sha256 of the source of every module of ``moehelpers`` except ``moehelpers.book``.

    Read on every call (a few milliseconds), so a module edited in a running session (a
    JupyterLab user with autoreload) changes the fingerprint at once.
    """
    h = hashlib.sha256()
    for file in sorted(_PACKAGE.rglob("*.py")):
        rel = file.relative_to(_PACKAGE).as_posix()
        if rel.startswith("book/"):
            continue
        h.update(rel.encode() + b"\0" + file.read_bytes() + b"\0")
    return h.hexdigest()


def _fingerprint(a: Any) -> str:
    """:func:`array_fingerprint` of one array; read-only arrays are hashed once per process.

    A read-only array (the frozen splits and noisy copies of a notebook) cannot change
    through itself; it is remembered by identity while it is alive (a weak reference), so
    the same 512 MB split fitted at four noise levels is hashed once. (A read-only *view*
    whose base someone writes to would defeat this: pass arrays nobody modifies, as the
    splits and their frozen noisy copies are.)
    """
    if isinstance(a, np.ndarray) and not a.flags.writeable:
        found = _MEMO.get(id(a))
        if found is not None and found[0]() is a:
            return found[1]
        digest = array_fingerprint(a)
        key = id(a)
        _MEMO[key] = (weakref.ref(a, lambda _, k=key: _MEMO.pop(k, None)), digest)
        return digest
    return array_fingerprint(np.asarray(a))


def inputs_fingerprint(inputs: Mapping[str, Any]) -> str:
    """Content hash of named input arrays (names included, order of the mapping ignored)."""
    h = hashlib.sha256()
    for name in sorted(inputs):
        h.update(f"{name}={_fingerprint(inputs[name])};".encode())
    return h.hexdigest()


def _torch_signature() -> str:
    """torch's version and intra-op threads, without importing torch (1.6 s) for a hit.

    Not imported yet, torch will start with its default threads, which the environment
    sets (``OMP_NUM_THREADS``, the CPU count): those are the key then. A model that sets
    its own thread count has it among its parameters.
    """
    torch = sys.modules.get("torch")
    if torch is not None:
        return f"torch-{torch.__version__}-threads{torch.get_num_threads()}"
    try:
        version = importlib.metadata.version("torch")
    except importlib.metadata.PackageNotFoundError:
        version = "absent"  # the fit itself raises the clear MissingDependencyError
    return (f"torch-{version}-default-threads-omp{os.environ.get('OMP_NUM_THREADS', '')}"
            f"-cpus{os.cpu_count()}")


def cached_outputs(
    kind: str,
    inputs: Mapping[str, Any],
    params: Mapping[str, Any],
    compute: Callable[[], Mapping[str, np.ndarray]],
    *,
    torch: bool = False,
    store: StatsStore | None = None,
) -> dict[str, np.ndarray]:
    """What ``compute()`` returns (named numeric arrays), through the statistics store.

    Parameters
    ----------
    kind : str
        The model, e.g. ``"peer:cannon"``; part of the key.
    inputs : mapping of str to array
        Every array the fit reads (training and test flux, weights, labels, starts).
    params : mapping
        Everything else that changes the outputs (settings, seeds, noise level), as
        JSON-serialisable values.
    compute : callable
        Fits and returns the outputs on a miss.
    torch : bool, default=False
        The fit uses torch: its version and thread count join the key.
    store : StatsStore, optional
        Default: the :func:`~moehelpers.engine.store.active_store` (none: computed).

    Returns
    -------
    dict of str to ndarray
        Byte-identical on a hit and on a miss.

    Raises
    ------
    InvalidParameterError
        If ``params`` is not JSON-serialisable.
    """
    store = store if store is not None else active_store()
    if store is None:
        return {k: np.asarray(v) for k, v in compute().items()}
    try:
        blob = json.dumps(dict(params), sort_keys=True, separators=(",", ":"))
    except TypeError as exc:
        raise InvalidParameterError(
            f"cached_outputs params must be JSON-serialisable (numbers, strings, lists, "
            f"dicts); {exc}. Convert arrays to fingerprints or lists first.") from exc
    extra = [("params", blob), ("code", code_fingerprint()), ("numerics", numerics_signature())]
    if torch:
        extra.append(("torch", _torch_signature()))
    key = StatsKey(dataset=inputs_fingerprint(inputs), split="given", kind=f"outputs:{kind}",
                   extra=tuple(extra))
    return store.get_or_compute(key, compute)
