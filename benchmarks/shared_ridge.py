"""Benchmark: the global Ridge of a noise level fitted once per run (statistics store).

MVP-0 and the peers page fit the same global Ridge (same noisy training flux, same α grid) at
every level. ``engine.store.cached_ridge_fit`` keys the path by the content of the flux, so
the second fit reads ~0.3 MB instead of forming a 4096² Gram and 9 Cholesky factorisations.
In one process, on the embedded data (32k / 1k / 1k, noise 0.2, seed 42), this prints the
direct ``RidgeRegressor.fit``, the store's miss (the fit plus hashing and writing) and its
hit, their ratios, and whether the three give identical predictions (they must: a cache
never changes a result)::

    python benchmarks/shared_ridge.py [--n-train 32000] [--level 0.2] [--repeats 3]
                                      [--data-path DIR]
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

from moehelpers.data.splits import load_splits, noisy_splits
from moehelpers.engine.ridge import RidgeRegressor
from moehelpers.engine.store import StatsStore, cached_ridge_fit


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = store_benchmark_args(__doc__.splitlines()[0], argv)
    machine = machine_info()
    splits = load_splits(args.data_path, n_train=args.n_train)
    X = noisy_splits(splits, args.level, args.seed)
    fit_args = (X["train"], splits.train.y, X["val"], splits.val.y)
    direct, t_direct = timed(lambda: RidgeRegressor().fit(*fit_args))
    with tempfile.TemporaryDirectory() as root:
        store = StatsStore(root)
        miss, t_miss, hit, t_hit = miss_then_hits(
            lambda: cached_ridge_fit(*fit_args, store=store), args.repeats)
    ref = direct.predict(X["test"])
    identical = all(np.array_equal(m.predict(X["test"]), ref) and m.alpha_ == direct.alpha_
                    for m in (miss, hit))
    print(f"{splits.train.flux.shape[0]} × {splits.train.n_pixels} at noise {args.level:g}")
    print(f"direct fit {t_direct:.2f} s · store miss {t_miss:.2f} s "
          f"({t_miss / t_direct:.2f}× the direct fit) · hit {t_hit:.2f} s "
          f"(direct / hit = {t_direct / t_hit:.1f}×)")
    print(f"predictions and α identical on miss and hit: {identical}")
    record = {
        "machine": machine, "n_train": int(splits.train.flux.shape[0]),
        "n_pixels": int(splits.train.n_pixels), "noise_level": args.level,
        "seconds": {"direct": t_direct, "miss": t_miss, "hit": t_hit},
        "ratio_direct_over_hit": t_direct / t_hit, "identical": bool(identical)}
    write_record("shared_ridge", record, args.out)
    if not identical:
        raise SystemExit("the stored path changed a result")
    return record


if __name__ == "__main__":
    main()
