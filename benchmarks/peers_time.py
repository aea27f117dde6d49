"""Wall time of ``evaluate_peers`` on the embedded data (32k / 1k / 1k stars, 4096 pixels).

Prints per-model fit / predict seconds, R² of log g, and the total per noise level, with the
global Ridge baseline (fitted in the same process) as reference. Usage::

    PYTHONPATH=$PWD python benchmarks/peers_time.py --levels 0.2 [--full] [--models cannon,cnn]
"""

from __future__ import annotations

import argparse
import os
import time
from dataclasses import replace

import numpy as np

from moehelpers.data.splits import load_splits
from moehelpers.engine.ridge import DEFAULT_ALPHAS, RidgeRegressor
from moehelpers.evaluation.peers import FAST, FULL, evaluate_peers, peer_inputs


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--levels", default="0.1,0.2,0.5,1.0")
    ap.add_argument("--n-train", type=int, default=32000)
    ap.add_argument("--models", default="cannon,emulator,cnn")
    ap.add_argument("--full", action="store_true")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    ap.add_argument("--set", default="", help="overrides, e.g. bin_factor=4,cnn_epochs=5")
    args = ap.parse_args()
    t = time.perf_counter()
    splits = load_splits("", n_train=args.n_train, n_val=1000, n_test=1000)
    print(f"load {time.perf_counter() - t:.1f} s  sizes {splits.sizes()}  "
          f"pixels {splits.train.n_pixels}")
    settings = FULL if args.full else FAST
    changes = {"n_threads": args.threads}
    for item in filter(None, args.set.split(",")):
        key, value = item.split("=")
        changes[key] = type(getattr(settings, key))(float(value)) if "." in value or \
            isinstance(getattr(settings, key), int | float) else value
    settings = replace(settings, **changes)
    print(settings)
    grand = grand_cpu = 0.0
    for level in [float(v) for v in args.levels.split(",")]:
        t0 = time.perf_counter()
        kw = peer_inputs(splits, level, args.seed)
        ridge = RidgeRegressor(alphas=DEFAULT_ALPHAS).fit(
            kw["noisy"]["train"], splits.train.y, X_val=kw["noisy"]["val"], y_val=splits.val.y)
        base = ridge.predict(kw["noisy"]["test"])
        t1, c1 = time.perf_counter(), time.process_time()
        res = evaluate_peers(**kw, baseline=base, baseline_name="ridge",
                             models=tuple(args.models.split(",")), settings=settings,
                             n_boot=200, seed=args.seed)
        t2, c2 = time.perf_counter(), time.process_time()
        grand += t2 - t1
        grand_cpu += c2 - c1
        print(f"\nnoise {level}: noisy copies + global Ridge {t1 - t0:.1f} s, "
              f"evaluate_peers {t2 - t1:.1f} s wall, {c2 - c1:.1f} s CPU; load average "
              f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
        print(res.timings.round(2).to_string(index=False))
        print(res.scores.round(4).to_string(index=False))
        if len(res.pulls):
            print(res.pulls.round(3).to_string(index=False))
        cnn_r2 = res.scores.set_index("model")["r2"]
        print("ratio evaluate_peers / global Ridge time:",
              f"{(t2 - t1) / max(t1 - t0, 1e-9):.1f}", "  R²:", np.round(cnn_r2.to_numpy(), 4))
    print(f"\ntotal evaluate_peers over levels {args.levels}: {grand:.1f} s wall, "
          f"{grand_cpu:.1f} s CPU")


if __name__ == "__main__":
    main()
