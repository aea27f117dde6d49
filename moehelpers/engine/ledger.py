"""Kernel ledger: flops and seconds of the engine's BLAS-3 and LAPACK kernels, when asked.

Every dense kernel of the engine whose cost grows with P³ or n·P² — Gram updates
(``dsyrk``/``ssyrk``), dual kernels, Cholesky factorisations with their solves, symmetric
eigendecompositions — reports to the ledgers that are open around it. No ledger is open
by default, and then a kernel pays one list test. ``benchmarks/book_floor.py`` opens one
around each notebook of the book to state how far a page is from the time its kernels would
take at the machine's peak rate (issue 16's floors).

Flop counts are the leading-order counts of the textbook algorithms, counting a multiply and
an add as two flops:

========== ======================================= =========================
kind       kernel                                  flops
========== ======================================= =========================
gram64     float64 rank-n update ``dsyrk``         n·P² (half of a GEMM's 2nP²)
gram32     float32 rank-n update ``ssyrk``         n·P²
cholesky64 ``dpotrf`` + ``dpotrs``, one α          P³/3 + 2P²·k (k right-hand sides)
cholesky32 ``spotrf``, one α                       P³/3
eigh       ``syevd`` with eigenvectors             10P³/3 (reduction 4P³/3 + back-transform 2P³)
========== ======================================= =========================

The eigendecomposition's count omits the divide-and-conquer step (at most another 4P³/3), so
a floor from it is a lower bound.

Examples
--------
>>> import numpy as np
>>> from moehelpers.engine import ledger, stats
>>> X = np.random.default_rng(0).standard_normal((500, 40))
>>> with ledger.kernel_ledger() as book:
...     _ = stats.RidgeStats.from_data(X, X[:, 0])
>>> book.tallies["gram64"].flops == 500 * 40 * 40
True
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

__all__ = ["KINDS", "KernelLedger", "Tally", "cholesky_flops", "eigh_flops", "kernel",
           "kernel_ledger", "syrk_flops"]

#: Kernel kinds and what they count.
KINDS: dict[str, str] = {
    "gram64": "float64 Gram updates (dsyrk)",
    "gram32": "float32 Gram updates (ssyrk)",
    "cholesky64": "float64 Cholesky factorisations and solves (dpotrf + dpotrs)",
    "cholesky32": "float32 Cholesky factorisations (spotrf)",
    "eigh": "symmetric eigendecompositions with eigenvectors (syevd)",
}


def syrk_flops(n_rows: int, n_features: int) -> float:
    """Flops of a rank-``n_rows`` update of an ``n_features``² Gram's triangle: n·P²."""
    return float(n_rows) * n_features * n_features


def cholesky_flops(n: int, n_rhs: int = 1) -> float:
    """Flops of one Cholesky factorisation of an n×n matrix and ``n_rhs`` solves."""
    return n**3 / 3.0 + 2.0 * n * n * n_rhs


def eigh_flops(n: int) -> float:
    """Flops of a symmetric eigendecomposition with eigenvectors (a lower count: 10n³/3)."""
    return 10.0 * n**3 / 3.0


@dataclass
class Tally:
    """Calls, flops and wall seconds of one kind of kernel."""

    calls: int = 0
    flops: float = 0.0
    seconds: float = 0.0

    @property
    def gflops_per_second(self) -> float:
        """Achieved rate (GFLOP/s); NaN when no time was spent."""
        return self.flops / self.seconds / 1e9 if self.seconds > 0 else float("nan")


class KernelLedger:
    """What the engine's kernels did while this ledger was open (see :func:`kernel_ledger`).

    Attributes
    ----------
    tallies : dict of str to Tally
        One entry per kind of :data:`KINDS` that ran.
    """

    def __init__(self) -> None:
        self.tallies: dict[str, Tally] = {}

    def add(self, kind: str, flops: float, seconds: float) -> None:
        """Count one call of ``kind`` (one of :data:`KINDS`)."""
        if kind not in KINDS:
            raise ValueError(f"unknown kernel kind {kind!r}; one of {sorted(KINDS)}")
        tally = self.tallies.setdefault(kind, Tally())
        tally.calls += 1
        tally.flops += flops
        tally.seconds += seconds

    @property
    def seconds(self) -> float:
        """Wall seconds spent in every counted kernel."""
        return sum(t.seconds for t in self.tallies.values())

    def to_dict(self) -> dict[str, dict[str, Any]]:
        """``{kind: {"calls", "flops", "seconds", "gflops_per_second"}}`` (JSON-ready)."""
        return {k: {"calls": t.calls, "flops": t.flops, "seconds": t.seconds,
                    "gflops_per_second": t.gflops_per_second}
                for k, t in sorted(self.tallies.items())}


_OPEN: list[KernelLedger] = []


@contextmanager
def kernel_ledger() -> Iterator[KernelLedger]:
    """Open a ledger: every engine kernel that runs inside the block is counted in it.

    Ledgers nest (an inner one counts what the outer one counts too). Not thread-safe by
    design: the engine runs its kernels from one Python thread (BLAS threads below it).
    """
    book = KernelLedger()
    _OPEN.append(book)
    try:
        yield book
    finally:
        _OPEN.remove(book)


@contextmanager
def kernel(kind: str, flops: float) -> Iterator[None]:
    """Time the block as one call of ``kind`` doing ``flops`` in every open ledger."""
    if not _OPEN:
        yield
        return
    t0 = time.perf_counter()
    try:
        yield
    finally:
        seconds = time.perf_counter() - t0
        for book in _OPEN:
            book.add(kind, flops, seconds)
