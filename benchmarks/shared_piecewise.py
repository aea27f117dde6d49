"""Benchmark: a piecewise (9-bin) Ridge fitted once per run through the statistics store.

MVP-1.0, the log g gate page, the coefficient page, Conditional Ridge and Conditional
Ridge++ each fit the 3×3 piecewise Ridge on the same noisy training flux with the same α
grid. ``fit_together`` keys every expert's and the global model's path by the content of
the flux, the refinement groups and the solver settings (``engine.store.cached_path``), so a
later notebook reads ~10 small entries instead of a grouped Gram pass over the 32k × 4096
flux, the dual kernels of the small bins and ~60 Cholesky factorisations.

In one process, on the embedded data (32k / 1k / 1k, noise 0.2, seed 42), this prints the
direct fit (no store), the store's miss (the fit plus hashing and writing) and its hit, the
ratios, and whether the three give identical experts, α and predictions (they must: a cache
never changes a result). A second part times the split loading the same process does in
every notebook, raw vs a gzip copy of the training split::

    python benchmarks/shared_piecewise.py [--n-train 32000] [--level 0.2] [--repeats 3]
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine_info, miss_then_hits, store_benchmark_args, timed, write_record

from moehelpers.data import spectra
from moehelpers.data.splits import load_splits, noisy_splits
from moehelpers.engine.store import StatsStore, using_store
from moehelpers.models.bins import physical_3x3
from moehelpers.models.piecewise import PiecewiseRidge

ALPHAS = [1e-3, 1e-2, 1e-1, 1.0, 10.0, 100.0]  # the 32k-series grid (REFERENCE.md §3)


def _state(m: PiecewiseRidge, X_test: np.ndarray, lab_test: Any) -> list[np.ndarray]:
    return [m.predict(X_test, lab_test), m.alpha_per_expert_, m.global_.coef_,
            *[e.coef_path_ for e in m.experts_]]


def _load_seconds(path: Path) -> float:
    return timed(lambda: spectra.load(path))[1]


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = store_benchmark_args(__doc__.splitlines()[0], argv)
    machine = machine_info()
    splits = load_splits(args.data_path, n_train=args.n_train)
    X = noisy_splits(splits, args.level, args.seed)
    lab = {s: splits[s].labels for s in ("train", "val", "test")}
    fit_args = (X["train"], splits.train.y, lab["train"], X["val"], splits.val.y, lab["val"])

    def fit() -> PiecewiseRidge:
        return PiecewiseRidge(physical_3x3(), ALPHAS).fit(*fit_args)

    direct, t_direct = timed(fit)
    with tempfile.TemporaryDirectory() as root, using_store(StatsStore(root)) as store:
        miss, t_miss, hit, t_hit = miss_then_hits(fit, args.repeats)
        n_entries, n_bytes = store.misses, sum(f.stat().st_size for f in Path(root).glob("*.npz"))
    ref = _state(direct, X["test"], lab["test"])
    identical = all(all(np.array_equal(a, b) for a, b in zip(ref, _state(m, X["test"],
                                                                          lab["test"]),
                                                             strict=True))
                    for m in (miss, hit))
    solvers = [e.solver_ for e in direct.experts_]
    print(f"{splits.train.flux.shape[0]} × {splits.train.n_pixels} at noise {args.level:g}; "
          f"{len(solvers)} experts ({solvers.count('dual')} dual) + the global model")
    print(f"direct fit {t_direct:.2f} s · store miss {t_miss:.2f} s "
          f"({t_miss / t_direct:.2f}× the direct fit) · hit {t_hit:.2f} s "
          f"(direct / hit = {t_direct / t_hit:.1f}×); {n_entries} entries, "
          f"{n_bytes / 1024:.0f} KiB")
    print(f"experts, α and predictions identical on miss and hit: {identical}")

    with tempfile.TemporaryDirectory() as root:  # the split reading every notebook does
        train = splits.train
        raw = spectra.save(train, Path(root) / "raw.h5")
        packed = spectra.save(train, Path(root) / "gzip.h5", compression="gzip")
        t_raw = min(_load_seconds(raw) for _ in range(2))  # the second read: page cache
        t_gzip = min(_load_seconds(packed) for _ in range(2))
        sizes = {"raw": raw.stat().st_size, "gzip": packed.stat().st_size}
    print(f"load the training split: gzip {t_gzip:.2f} s · raw {t_raw:.2f} s "
          f"(gzip / raw = {t_gzip / t_raw:.1f}×); files {sizes['gzip'] / 2**20:.0f} MiB vs "
          f"{sizes['raw'] / 2**20:.0f} MiB")
    record = {
        "machine": machine, "n_train": int(splits.train.flux.shape[0]),
        "n_pixels": int(splits.train.n_pixels), "noise_level": args.level,
        "n_experts": len(solvers), "n_dual": solvers.count("dual"),
        "seconds": {"direct": t_direct, "miss": t_miss, "hit": t_hit},
        "ratio_direct_over_hit": t_direct / t_hit, "identical": bool(identical),
        "entries": n_entries, "entry_bytes": n_bytes,
        "load_seconds": {"raw": t_raw, "gzip": t_gzip}, "file_bytes": sizes,
        "ratio_gzip_over_raw": t_gzip / t_raw}
    write_record("shared_piecewise", record, args.out)
    if not identical:
        raise SystemExit("the stored paths changed a result")
    return record


if __name__ == "__main__":
    main()
