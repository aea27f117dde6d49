"""Benchmark: Conditional Ridge++ from weighted Grams vs the explicit wide design (MVP-7.2).

The model of MVP-7.2 step 3 is one Ridge on ``[x, m·x, t·x, (mt)·x, m²·x, t²·x]``: six
blocks of P columns. Two ways to fit it on the same data, in one process, one after the
other:

* **Grams** (:class:`moehelpers.models.modulated.ModulatedRidge`): one weighted statistics pass per
  distinct monomial ``mⁱtʲ`` (15), chunked float64, then the ``6P`` normal equations;
* **wide**: build the float64 design ``Φ`` (n × 6P) in memory, then the same Ridge on it
  (:class:`moehelpers.engine.ridge.RidgeRegressor`, primal, i.e. ``ΦᵀΦ`` and one Cholesky per α).

Both use the same α and give the same coefficients (checked). Peak memory is measured with
``tracemalloc`` (numpy reports its buffers to it), time with ``perf_counter``; the ratios
wide / Grams are printed and written with the machine description to a JSON file.

Usage::

    python benchmarks/conditional_pp.py --quick          # 4000 × 256, seconds
    python benchmarks/conditional_pp.py                  # 16000 × 512 (about 1 min, ~1 GB)
    python benchmarks/conditional_pp.py --n 32000 --p 1024 --threads 1

The wide design needs ``8·n·6P`` bytes (32000 × 4096 × 6 doubles = 6.3 GB at the full size
of the book); the Grams need ``15 · 8P²`` bytes whatever n is.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from moehelpers.engine.ridge import RidgeRegressor
from moehelpers.models.modulated import ModulatedRidge

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine_info, write_record

TERMS = ["m", "t", "m*t", "m^2", "t^2"]


def make_data(n: int, p: int, seed: int) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
    """Spectrum-like float32 flux (offset ≫ spread) with a label-modulated target."""
    rng = np.random.default_rng(seed)
    X = (1.0 + 0.05 * rng.standard_normal((n, p))).astype(np.float32)
    Z = pd.DataFrame({"m": rng.uniform(-2.5, 0.5, n), "t": rng.uniform(3750, 6000, n)})
    w = rng.standard_normal((3, p)) / np.sqrt(p)
    m, t = (Z["m"] + 1) / 0.87, (Z["t"] - 4875) / 650
    y = X @ w[0] + m * (X @ w[1]) + m * t * (X @ w[2]) + 0.1 * rng.standard_normal(n)
    return X, y.to_numpy(), Z


def measure(fn):
    """``(result, seconds, peak bytes above the start)`` of ``fn()``."""
    gc.collect()
    tracemalloc.start()
    tracemalloc.reset_peak()
    t0 = time.perf_counter()
    out = fn()
    seconds = time.perf_counter() - t0
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return out, seconds, peak


def fit_grams(X, y, Z, alpha: float) -> ModulatedRidge:
    return ModulatedRidge(TERMS, alpha).fit(X, y, Z)


def fit_wide(X, y, Z, alpha: float, model: ModulatedRidge) -> RidgeRegressor:
    zv = model._zvals(Z, X.shape[0])  # the same standardised monomials as the Gram fit
    phi = np.empty((X.shape[0], zv.shape[1] * X.shape[1]))
    for k in range(zv.shape[1]):
        phi[:, k * X.shape[1]:(k + 1) * X.shape[1]] = X * zv[:, [k]]
    return RidgeRegressor(alpha, solver="primal").fit(phi, y)


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=16000)
    ap.add_argument("--p", type=int, default=512)
    ap.add_argument("--quick", action="store_true", help="4000 × 256")
    ap.add_argument("--alpha", type=float, default=1.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=None, help="BLAS threads (default: as set)")
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/conditional_pp.json"))
    args = ap.parse_args(argv)
    n, p = (4000, 256) if args.quick else (args.n, args.p)
    X, y, Z = make_data(n, p, args.seed)
    with threadpool_limits(args.threads):
        grams, t_g, mem_g = measure(lambda: fit_grams(X, y, Z, args.alpha))
        wide, t_w, mem_w = measure(lambda: fit_wide(X, y, Z, args.alpha, grams))
    diff = float(np.max(np.abs(grams.coef_ - wide.coef_)) / np.max(np.abs(wide.coef_)))
    width = (len(TERMS) + 1) * p
    print(f"data {n} × {p} float32 ({X.nbytes / 2**20:.0f} MiB), model width {width} "
          f"({len(TERMS)} modulators), α = {args.alpha:g}, threads {args.threads or 'all'}")
    print(f"Grams  {t_g:8.2f} s  peak {mem_g / 2**20:8.0f} MiB")
    print(f"wide   {t_w:8.2f} s  peak {mem_w / 2**20:8.0f} MiB")
    print(f"ratios wide / Grams: time {t_w / t_g:.2f}×, peak memory {mem_w / mem_g:.2f}×; "
          f"max relative coefficient difference {diff:.1e}")
    record = {
        "benchmark": "conditional_pp",
        "timestamp": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "params": {**vars(args), "out": str(args.out), "n": n, "p": p, "terms": TERMS,
                   "width": width},
        "seconds_grams": t_g, "seconds_wide": t_w, "peak_bytes_grams": mem_g,
        "peak_bytes_wide": mem_w, "time_ratio_wide_over_grams": t_w / t_g,
        "memory_ratio_wide_over_grams": mem_w / mem_g, "max_rel_coef_diff": diff,
        "machine": machine_info(),
    }
    print(f"wrote {write_record('conditional_pp', record, args.out)}")
    return record


if __name__ == "__main__":
    main()
