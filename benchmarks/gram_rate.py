"""Benchmark: Gram accumulation rate vs the raw BLAS GEMM rate, measured in one process.

G4: forming the statistics of float32 spectra (:meth:`RidgeStats.from_data`, and
:func:`grouped_stats` with 9 groups from one pass) should run at ≥ 70 % of the rate of a plain
``XᵀX`` GEMM on one chunk of the same data, in the same precision. Rates are GEMM-equivalent
GFLOP/s (``2·n·p²`` flops per ``n × p`` block, whether the kernel is GEMM or SYRK), so a
ratio above 1 means the half-flop SYRK pays off. The GEMM is a true one (``uᵀv`` with v a
copy of u): numpy routes ``u.T @ u`` to SYRK itself, which the record keeps as
``numpy_xtx_*`` (the rate a user gets from writing ``X.T @ X``).

Usage::

    python benchmarks/gram_rate.py --quick        # 8192 × 1024, seconds
    python benchmarks/gram_rate.py                # 32000 × 4096 (~1 GB of float32)
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from moehelpers.engine import linalg
from moehelpers.engine.ridge import RidgeStats, grouped_stats

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import goal, machine_info, write_record
from ridge_path import make_groups, make_spectra

GOAL = 0.70


def best_of(fn, repeats: int) -> float:
    best = np.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=32000)
    ap.add_argument("--p", type=int, default=4096)
    ap.add_argument("--quick", action="store_true", help="8192 × 1024")
    ap.add_argument("--chunk-size", type=int, default=None, help="rows per chunk (default)")
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args(argv)
    n, p = (8192, 1024) if args.quick else (args.n, args.p)
    if args.threads is not None:
        threadpool_limits(args.threads)
    info = machine_info()
    X, y = make_spectra(n, p, 0)
    groups = make_groups(n, 9, 0)
    chunk = linalg.check_chunk_size(args.chunk_size, p)
    k = min(chunk, n)
    flops = 2.0 * n * p * p
    rates: dict[str, float] = {}
    for dtype in (np.float64, np.float32):
        block = np.ascontiguousarray(X[:k], dtype=dtype)
        other = block.copy()  # another buffer: numpy sends block.T @ block to SYRK
        block.T @ other  # warm-up
        rates[f"gemm_{dtype.__name__}"] = 2.0 * k * p * p / best_of(
            lambda b=block, o=other: b.T @ o, args.repeats) / 1e9
        rates[f"numpy_xtx_{dtype.__name__}"] = 2.0 * k * p * p / best_of(
            lambda b=block: b.T @ b, args.repeats) / 1e9
    rates["stats_float64"] = flops / best_of(lambda: RidgeStats.from_data(X, y), args.repeats) / 1e9
    rates["grouped_float64"] = flops / best_of(
        lambda: grouped_stats(X, y, groups, 9), args.repeats) / 1e9
    shift = linalg.float32_shift(np.asarray(X[:k], dtype=np.float64).mean(axis=0))
    rates["stats_float32"] = flops / best_of(
        lambda: linalg.accumulate_rows(X, y, None, shift, chunk, None, "float32"),
        args.repeats) / 1e9
    ratios = {
        "stats_float64_vs_dgemm": rates["stats_float64"] / rates["gemm_float64"],
        "grouped_float64_vs_dgemm": rates["grouped_float64"] / rates["gemm_float64"],
        "stats_float32_vs_sgemm": rates["stats_float32"] / rates["gemm_float32"],
    }
    print(f"data {n} × {p} float32, chunks of {chunk} rows")
    for name, r in rates.items():
        print(f"  {name:16s} {r:7.1f} GFLOP/s (GEMM-equivalent)")
    for name, r in ratios.items():
        print(f"  {name:26s} {r:5.2f}×")
    goals = [goal(f"{name} rate ratio", r, GOAL, ">=", "×") for name, r in ratios.items()]
    record = {"params": {**vars(args), "out": str(args.out), "n": n, "p": p, "chunk": chunk},
              "gflops": rates, "ratios": ratios, "goals": goals, "machine": info}
    print(f"wrote {write_record('gram_rate', record, args.out)}")
    return record


if __name__ == "__main__":
    main()
