"""Benchmark: global + per-bin Ridge over an α grid, our engine vs a scikit-learn loop.

The MoE workload of the 32k series: one global model and 9 bin experts, each for 6 α
(60 fits), on float32 spectrum-like data. Our engine reads every row once
(:func:`moehelpers.engine.ridge.grouped_ridge_paths`: per-bin statistics whose sum is the global
statistics, one decomposition per problem); the reference calls
``sklearn.linear_model.Ridge(alpha).fit`` 60 times, in the same process, on the same data.

Usage::

    python benchmarks/ridge_path.py --quick            # 4000 × 1024, a few seconds
    python benchmarks/ridge_path.py                    # 32000 × 4096 (minutes, ~3 GB RAM)
    python benchmarks/ridge_path.py --n 32000 --p 4096 --out benchmarks/results/full.json

On a machine where other work is running, OpenBLAS threads contend and timings of both sides
swing by 10×; ``--threads 1`` gives stable numbers. ``--n-alphas 20`` shows how the ratio
grows with the grid (sklearn refits per α; our cost is almost flat in the number of α).
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from scipy.linalg import LinAlgWarning
from sklearn.linear_model import Ridge
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from moehelpers.engine.ridge import grouped_ridge_paths

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import gemm_gflops, goal, machine_info, write_record

ALPHAS = (1e-3, 1e-2, 1e-1, 1.0, 10.0, 100.0)  # the 32k-series grid (REFERENCE.md §3)


def make_spectra(n: int, p: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """float32 flux (n, p): continuum 1, 60 Gaussian lines whose depths follow 3 labels,
    white noise σ = 0.02 (noise level ~0.2); y is a log g–like label in [1, 5]."""
    rng = np.random.default_rng(seed)
    labels = rng.uniform(-1.0, 1.0, size=(n, 3))
    wave = np.linspace(0.0, 1.0, p)
    centres, widths = rng.random(60), rng.uniform(0.002, 0.01, 60)
    lines = np.exp(-(((wave[None, :] - centres[:, None]) / widths[:, None]) ** 2))
    depth = (
        0.25
        + 0.08 * labels @ rng.normal(size=(3, 60))
        + 0.02 * (labels**2) @ rng.normal(size=(3, 60))
    )
    flux = np.empty((n, p), dtype=np.float32)
    for start in range(0, n, 4096):  # chunks keep the float64 temporaries small
        stop = min(start + 4096, n)
        block = 1.0 - depth[start:stop] @ lines
        block += 0.02 * rng.standard_normal(block.shape)
        flux[start:stop] = block
    y = 3.0 + 2.0 * np.tanh(labels[:, 1] + 0.3 * labels[:, 0] * labels[:, 2])
    return flux, y


def make_groups(n: int, n_groups: int, seed: int) -> np.ndarray:
    """Random partition into groups of unequal size (Dirichlet(4) shares, as physical bins)."""
    rng = np.random.default_rng(seed + 1)
    shares = rng.dirichlet(np.full(n_groups, 4.0))
    sizes = np.floor(shares * n).astype(int)
    sizes[: n - sizes.sum()] += 1
    return rng.permutation(np.repeat(np.arange(n_groups), sizes))


def engine_flops(n: int, p: int, sizes: np.ndarray, solvers: list[str], n_alphas: int
                 ) -> dict[str, float]:
    """Useful flops of our path: the Gram of the primal rows (n·p², one triangle), each dual
    bin's kernel (m²·p) and one Cholesky per α of each system (q³/3), with the solvers the
    engine chose (global first)."""
    primal_rows = n if solvers[0] == "primal" else 0
    primal_rows += sum(int(m) for m, s in zip(sizes, solvers[1:], strict=True)
                       if s == "primal" and solvers[0] != "primal")
    gram = primal_rows * p * p
    kernels = sum(float(m) ** 2 * p for m, s in zip(sizes, solvers[1:], strict=True)
                  if s == "dual") + (float(n) ** 2 * p if solvers[0] == "dual" else 0.0)
    dims = [n if solvers[0] == "dual" else p] + [int(m) if s == "dual" else p
                                                 for m, s in zip(sizes, solvers[1:], strict=True)]
    factor = n_alphas * sum(float(q) ** 3 / 3.0 for q in dims)
    return {"gram": float(gram), "kernels": float(kernels), "factorisations": float(factor)}


def run_ours(X, y, groups, n_groups, alphas, precision="float64"):
    t0 = time.perf_counter()
    glob, per_group = grouped_ridge_paths(X, y, groups, n_groups, alphas, precision=precision)
    return time.perf_counter() - t0, [glob, *per_group]


def run_sklearn(X, y, groups, n_groups, alphas):
    subsets = [(X, y)] + [(X[groups == g], y[groups == g]) for g in range(n_groups)]
    t0 = time.perf_counter()  # bin subsets are cut before timing (in sklearn's favour)
    models = [[Ridge(alpha=a).fit(xs, ys) for a in alphas] for xs, ys in subsets]
    return time.perf_counter() - t0, models


def float64_reference(X, y, groups, X_test, paths, models, alpha) -> dict[str, float]:
    """Both engines against float64 sklearn fits of all problems at the smallest α."""
    worst = {"ours": 0.0, "sklearn": 0.0}
    masks = [slice(None)] + [groups == g for g in range(len(paths) - 1)]
    xt64 = X_test.astype(np.float64)
    for mask, path, fitted in zip(masks, paths, models, strict=True):
        ref = Ridge(alpha=alpha).fit(X[mask].astype(np.float64), y[mask]).predict(xt64)
        scale = np.max(np.abs(ref))
        ours = np.max(np.abs(path.predict(X_test)[:, 0] - ref)) / scale
        model = fitted[0]
        theirs = np.max(np.abs(model.predict(X_test.astype(model.coef_.dtype)) - ref)) / scale
        worst = {"ours": max(worst["ours"], ours), "sklearn": max(worst["sklearn"], theirs)}
    return {k: float(v) for k, v in worst.items()}


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=32000, help="training spectra")
    ap.add_argument("--p", type=int, default=4096, help="pixels")
    ap.add_argument("--quick", action="store_true", help="4000 × 1024 quick check")
    ap.add_argument("--n-groups", type=int, default=9)
    ap.add_argument("--n-test", type=int, default=1000)
    ap.add_argument(
        "--n-alphas",
        type=int,
        default=None,
        help="log-spaced α in [1e-3, 1e2] (default: 6 decades)",
    )
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--precision",
        choices=["float64", "mixed", "float32"],
        default="float64",
        help="engine precision (mixed: float32 Cholesky refined to float64, float64 products; "
        "float32: float32 centred products too). Measured at 32k × 4096 on the 2-core machine "
        "under load, mixed was no faster than float64 (refinement eats the float32 gain)",
    )
    ap.add_argument("--also-float64", action="store_true",
                    help="also time the engine at precision='float64' in this process")
    ap.add_argument(
        "--sklearn-dtype",
        choices=["float32", "float64", "both"],
        default="both",
        help="dtype handed to sklearn (float32 = the data as stored; sklearn then solves in "
        "float32, 5 orders less accurate at small α; float64 = the same accuracy as ours); "
        "'both' times both loops",
    )
    ap.add_argument(
        "--threads", type=int, default=None, help="BLAS threads for both (default: as set)"
    )
    ap.add_argument("--out", type=Path,
                    default=Path(__file__).resolve().parent / "results" / "ridge_path.json")
    args = ap.parse_args(argv)
    n, p = (4000, 1024) if args.quick else (args.n, args.p)
    alphas = ALPHAS if args.n_alphas is None else tuple(np.logspace(-3, 2, args.n_alphas))
    if args.threads is not None:
        threadpool_limits(args.threads)
    info = machine_info()

    X_all, y_all = make_spectra(n + args.n_test, p, args.seed)
    X, y, X_test = X_all[:n], y_all[:n], X_all[n:]
    groups = make_groups(n, args.n_groups, args.seed)
    sizes = np.bincount(groups, minlength=args.n_groups)
    print(f"data {n} × {p} float32, {args.n_groups} groups of {sizes.tolist()}, {len(alphas)} α")

    t_ours, paths = run_ours(X, y, groups, args.n_groups, alphas, args.precision)
    print(f"ours    {t_ours:8.2f} s  ({[pa.solver[0] for pa in paths]} p=primal d=dual, "
          f"precision={args.precision})")
    t_ours64 = None
    if args.also_float64 and args.precision != "float64":
        t_ours64, _ = run_ours(X, y, groups, args.n_groups, alphas, "float64")
        print(f"ours    {t_ours64:8.2f} s  (precision=float64): mixed is "
              f"{t_ours64 / t_ours:.2f}× faster")
    t_sk64 = None
    if args.sklearn_dtype in ("float64", "both"):
        t_sk64, _ = run_sklearn(X.astype(np.float64), y, groups, args.n_groups, alphas)
        print(f"sklearn {t_sk64:8.2f} s  (Ridge.fit × {(args.n_groups + 1) * len(alphas)}, "
              f"float64: the same accuracy as ours)")
    dtype = "float64" if args.sklearn_dtype == "float64" else "float32"
    X_sk = X if dtype == "float32" else X.astype(np.float64)
    with warnings.catch_warnings(record=True) as caught:  # float32 solves warn when ill-posed
        warnings.simplefilter("always", LinAlgWarning)
        t_sk, models = run_sklearn(X_sk, y, groups, args.n_groups, alphas)
    n_warn = sum(issubclass(w.category, LinAlgWarning) for w in caught)
    print(f"sklearn {t_sk:8.2f} s  (Ridge.fit × {len(models) * len(alphas)}, {dtype})")

    rel = np.empty((len(paths), len(alphas)))
    for i, (path, fitted) in enumerate(zip(paths, models, strict=True)):
        ours = path.predict(X_test)
        for j, model in enumerate(fitted):
            ref = model.predict(X_test.astype(X_sk.dtype)).astype(np.float64)
            rel[i, j] = np.max(np.abs(ours[:, j] - ref)) / np.max(np.abs(ref))
    ratio = t_sk / t_ours
    print(f"speed-up {ratio:.2f}× vs sklearn {dtype}; max relative prediction difference "
          f"{rel.max():.2e}")
    ratio64 = None if t_sk64 is None else t_sk64 / t_ours
    if ratio64 is not None:
        print(f"speed-up {ratio64:.2f}× vs sklearn float64 (same accuracy)")
    per_alpha = dict(zip(map(str, alphas), rel.max(0).tolist(), strict=True))
    print("  per α: " + ", ".join(f"{float(a):.3g}: {r:.1e}" for a, r in per_alpha.items()))
    accuracy = float64_reference(X, y, groups, X_test, paths, models, alphas[0])
    print(
        f"{len(paths)} problems at α={alphas[0]:g} vs float64 sklearn (max rel. difference): "
        f"ours {accuracy['ours']:.1e}, sklearn({dtype}) {accuracy['sklearn']:.1e}; "
        f"sklearn raised {n_warn} ill-conditioning warnings"
    )

    # the floor: every useful flop of our path at the float64 GEMM peak of this process
    rate = gemm_gflops(p)
    flops = engine_flops(n, p, sizes, [pa.solver for pa in paths], len(alphas))
    floor = sum(flops.values()) / (rate * 1e9)
    print(f"floor: {sum(flops.values()):.3g} useful flops (Gram {flops['gram']:.2g}, dual "
          f"kernels {flops['kernels']:.2g}, factorisations {flops['factorisations']:.2g}) at "
          f"the float64 GEMM rate {rate:.0f} GFLOP/s = {floor:.1f} s: at most "
          f"{t_sk / floor:.1f}× the sklearn {dtype} loop at float64 accuracy "
          f"(measured {ratio:.2f}×, {floor / t_ours:.0%} of the floor's speed)")

    record = {
        "benchmark": "ridge_path",
        "timestamp": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "params": {**vars(args), "out": str(args.out), "n": n, "p": p, "alphas": list(alphas)},
        "group_sizes": sizes.tolist(),
        "solvers": [pa.solver for pa in paths],
        "methods": [pa.method for pa in paths],
        "seconds_ours": t_ours,
        "precision": args.precision,
        "seconds_ours_float64": t_ours64,
        "seconds_sklearn": t_sk,
        "sklearn_dtype": dtype,
        "speedup": ratio,
        "seconds_sklearn_float64": t_sk64,
        "speedup_vs_float64": ratio64,
        "goals": [goal(f"speed-up vs sklearn loop ({dtype})", ratio, 5.0, ">=", "×"),
                  goal("max rel. prediction difference vs float64 at smallest α",
                       accuracy["ours"], 1e-4, "<=", "")],
        "floor": {"flops": flops, "gemm_gflops_float64": rate, "seconds": floor,
                  "max_speedup_vs_sklearn": t_sk / floor, "share_of_floor_speed": floor / t_ours},
        "max_rel_pred_diff": float(rel.max()),
        "max_rel_pred_diff_per_alpha": per_alpha,
        "max_rel_diff_vs_float64_sklearn_at_smallest_alpha": accuracy,
        "sklearn_linalg_warnings": n_warn,
        "machine": info,
    }
    print(f"wrote {write_record('ridge_path', record, args.out)}")
    return record


if __name__ == "__main__":
    main()
