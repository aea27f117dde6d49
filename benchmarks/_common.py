"""Helpers shared by the benchmark scripts: machine facts, BLAS rate, records, peak RSS.

Records are JSON files under ``benchmarks/results/`` (git-ignored; one per benchmark, the
last run wins); the book's scaling page (notebooks/19_scaling.ipynb) reads them.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import resource
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import scipy
import sklearn
from scipy.linalg import blas
from threadpoolctl import threadpool_info

T = TypeVar("T")
RESULTS_DIR = Path(__file__).resolve().parent / "results"


def machine_info() -> dict[str, Any]:
    """CPU, library versions, BLAS threads and the load average when the benchmark started."""
    affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    return {
        "cpu_count": os.cpu_count(),
        "cpus_usable": affinity,
        "platform": platform.platform(),
        "processor": platform.processor(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "sklearn": sklearn.__version__,
        "blas": [{k: v for k, v in d.items() if k in ("internal_api", "num_threads", "version")}
                 for d in threadpool_info()],
        "loadavg_before": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
    }


def peak_rss_mib() -> float:
    """Peak resident memory of this process so far, MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def syrk_gflops(p: int = 2048, rows: int = 2048, repeats: int = 3) -> float:
    """Measured float64 ``dsyrk`` rate (GFLOP/s, counting n·p² flops per rank-n update):
    the kernel that forms a Gram matrix, on this machine, now."""
    rng = np.random.default_rng(0)
    u = rng.standard_normal((rows, p))
    c = np.zeros((p, p), order="F")
    blas.dsyrk(1.0, u.T, beta=1.0, c=c, trans=0, lower=0, overwrite_c=1)  # warm-up
    best = np.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        blas.dsyrk(1.0, u.T, beta=1.0, c=c, trans=0, lower=0, overwrite_c=1)
        best = min(best, time.perf_counter() - t0)
    return rows * p * p / best / 1e9


def gemm_gflops(p: int, rows: int = 2048, repeats: int = 3, dtype: Any = np.float64) -> float:
    """General matrix-product rate (GFLOP/s, 2·rows·p² flops for ``uᵀv``, u and v two
    different rows × p arrays) in ``dtype`` on this machine, now: the fastest this BLAS does
    any flop, hence the rate of a floor.

    The operands must be different buffers: numpy routes ``u.T @ u`` to ``syrk`` (one
    triangle, n·p² flops, mirrored), so timing it against 2·n·p² flops overstates the GEMM
    rate by up to 2× (measured 167 vs 126 GFLOP/s at 2048 × 4096 on the 2-core machine).
    """
    rng = np.random.default_rng(0)
    u = rng.standard_normal((rows, p)).astype(dtype)
    v = u.copy()  # same values, another buffer: a true GEMM
    _ = u.T @ v  # warm-up
    best = np.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        _ = u.T @ v
        best = min(best, time.perf_counter() - t0)
    return 2.0 * rows * p * p / best / 1e9


def write_record(name: str, record: dict[str, Any], out: Path | None = None) -> Path:
    """Write ``record`` (plus name and timestamp) atomically as JSON; return the path."""
    out = out or RESULTS_DIR / f"{name}.json"
    body = {"benchmark": name,
            "timestamp": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), **record}
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(body, indent=2, default=str))
    tmp.replace(out)
    return out


def goal(name: str, measured: float, target: float, op: str, unit: str) -> dict[str, Any]:
    """One goal row: ``measured op target`` (op ``">="`` or ``"<="``) and whether it is met."""
    met = measured >= target if op == ">=" else measured <= target
    return {"name": name, "measured": float(measured), "target": float(target), "op": op,
            "unit": unit, "met": bool(met)}


def store_benchmark_args(description: str, argv: list[str] | None) -> argparse.Namespace:
    """Arguments of the statistics-store benchmarks (a fit direct, on a miss, on hits)."""
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--n-train", type=int, default=32000)
    ap.add_argument("--level", type=float, default=0.2)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--repeats", type=int, default=3, help="hits timed (the median is kept)")
    ap.add_argument("--data-path", default="", help="dataset (default: the embedded data)")
    ap.add_argument("--out", type=Path, default=None)
    return ap.parse_args(argv)


def timed(fn: Callable[[], T]) -> tuple[T, float]:
    """``(fn(), seconds)``."""
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def miss_then_hits(fit: Callable[[], T], repeats: int) -> tuple[T, float, T, float]:
    """``fit`` once into an empty store (the miss), then ``repeats`` times (hits): the miss's
    result and seconds, the last hit's result and the median hit seconds."""
    miss, t_miss = timed(fit)
    hits = [timed(fit) for _ in range(repeats)]
    return miss, t_miss, hits[-1][0], float(np.median([t for _, t in hits]))
