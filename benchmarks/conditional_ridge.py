"""Benchmark: cost of the MVP-3.x building blocks, measured small and scaled by flop count.

Times one unweighted Gram pass, one weighted (``Σ mᵏ x xᵀ``) pass and one Cholesky solve per
α of the conditional systems of order 0, 1 and 2 (``(order+1)·P`` wide), then scales each
to a target size by its operation count (Gram: n·P², Cholesky: (w³)/3) and adds up what each
Phase-3 notebook does at that size.

Usage::

    python benchmarks/conditional_ridge.py --threads 1                # 4000 × 512, seconds
    python benchmarks/conditional_ridge.py --n 32000 --p 4096         # measure at full size

Timings on a loaded machine swing; ``--threads`` pins BLAS threads. Scaling from a small
size assumes the same BLAS efficiency at the target size: an overestimate, mostly for the
solves (at P = 1024 the O(P²) assembly still weighs; one 4096² Cholesky measured 0.7 s on
one loaded core where the scaled figure says 3.5 s). ``--n 2000 --p 4096`` measures the
solves at full width (~1 min on one core).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from moehelpers.engine.ridge import RidgeStats
from moehelpers.models.conditional import ConditionalRidge, moment_stats


def _time(fn, repeat: int = 2) -> float:
    best = np.inf
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=4000)
    ap.add_argument("--p", type=int, default=512)
    ap.add_argument("--target-n", type=int, default=32000)
    ap.add_argument("--target-p", type=int, default=4096)
    ap.add_argument("--n-alphas", type=int, default=6)
    ap.add_argument("--threads", type=int, default=None)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    X = (1 + 0.05 * rng.standard_normal((args.n, args.p))).astype(np.float32)
    y, m = rng.standard_normal(args.n), rng.standard_normal(args.n)
    alpha = [1.0]
    with threadpool_limits(args.threads):
        gram = _time(lambda: RidgeStats.from_data(X, y))
        weighted = _time(lambda: RidgeStats.from_data(X, y, m))
        moments = moment_stats(X, y, m, 4)
        solve = {o: _time(lambda o=o: ConditionalRidge(o, alpha).fit_moments(moments, 0.0, 1.0))
                 for o in (0, 1, 2)}
    scale_g = args.target_n * args.target_p**2 / (args.n * args.p**2)
    scale_s = (args.target_p / args.p) ** 3
    g, w = gram * scale_g, weighted * scale_g
    s = {o: t * scale_s for o, t in solve.items()}
    a = args.n_alphas
    print(f"measured at {args.n} × {args.p} (threads {args.threads or 'all'}): Gram pass "
          f"{gram:.3f} s, weighted pass {weighted:.3f} s, solve per α: "
          + ", ".join(f"order {o} {t:.3f} s" for o, t in solve.items()))
    print(f"scaled to {args.target_n} × {args.target_p}: Gram pass {g:.1f} s, weighted pass "
          f"{w:.1f} s, solve per α: " + ", ".join(f"order {o} {t:.1f} s" for o, t in s.items()))
    # what each notebook does (solves per model = n_alphas Cholesky factorisations)
    nb05 = g + (1 + 20 + 3) * a * s[0]  # one grouped pass; global + K=2..6 + physical experts
    nb06 = 2 * g + (2 + 2 + 3 + 3) * a * s[0]  # Gram + grouped pass; [M/H], global, experts
    # 07: [M/H] predictor + order 0 + orders 1, 2 (alpha_search="walk": ~4 of the α solved)
    # + the 9-bin model (one grouped pass, 10 models); the pred variant adds 4 weighted
    # passes and orders 1, 2 again
    c = min(a, 4)
    nb07_true = g + 4 * w + 2 * a * s[0] + c * (s[1] + s[2]) + g + 10 * a * s[0]
    nb07 = nb07_true + 4 * w + c * (s[1] + s[2])
    print(f"estimated compute at target size ({a} α): 05 ≈ {nb05 / 60:.1f} min, 06 ≈ "
          f"{nb06 / 60:.1f} min, 07 ≈ {nb07 / 60:.1f} min ({nb07_true / 60:.1f} min with "
          "fit_on_predicted=False); data loading and noise not included")


if __name__ == "__main__":
    main()
