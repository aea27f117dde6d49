"""Benchmark: Ridge fitted from shards streamed chunk by chunk vs the in-memory fit.

Writes ``--n`` float32 spectra of ``--p`` pixels (flux and error, uncompressed BOSZ layout)
as ``--shards`` shards in a scratch folder, then in two fresh child processes (so that each
peak RSS is its own):

* **stream**: :func:`moehelpers.models.stream_fit.fit_stream` of the global Ridge at noise 0.2
  over all shards (α on a 1k validation file); peak RSS (goal ≤ 2 GB) and throughput in GB
  of float32 flux per second; the time the Gram alone would take at the float64 ``dsyrk``
  rate measured in the same process (``n·p²`` flops);
* **memory**: load the first ``--n-mem`` rows, noise them, ``RidgeRegressor.fit``; same
  measures.

The scratch shards are deleted afterwards unless ``--keep``.

Usage::

    python benchmarks/stream_fit.py --quick     # 20k × 512, seconds
    python benchmarks/stream_fit.py             # 200k × 4096: 6.6 GB of scratch, minutes
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import h5py
import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import goal, machine_info, peak_rss_mib, syrk_gflops, write_record

ALPHAS = (1e-3, 1e-2, 1e-1, 1.0, 10.0, 100.0)
RSS_GOAL_MIB = 2048.0
GRAM_SHARE_GOAL = 0.5  # G4: the streamed fit runs at ≥ 50 % of its Gram-limited rate


def _block(rng: np.random.Generator, rows: int, lines: np.ndarray, coef: np.ndarray
           ) -> tuple[np.ndarray, pd.DataFrame]:
    labels = rng.uniform(-1.0, 1.0, size=(rows, 3))
    flux = (1.0 - (0.25 + 0.08 * labels @ coef) @ lines).astype(np.float32)
    flux += (0.02 * rng.standard_normal(flux.shape)).astype(np.float32)
    frame = pd.DataFrame({"T_eff": 4875 + 1125 * labels[:, 0],
                          "log_g": 3.0 + 2.0 * np.tanh(labels[:, 1] + 0.3 * labels[:, 0]),
                          "M_H": -0.75 + 1.25 * labels[:, 2]})
    return flux, frame


def write_file(path: Path, n: int, p: int, seed: int, block: int = 4096) -> None:
    """A BOSZ-layout file of spectrum-like float32 rows, written block by block."""
    rng = np.random.default_rng(seed)
    geo = np.random.default_rng(12345)  # lines and label response shared by all files
    wave = np.linspace(7100.0, 8850.0, p)
    centres, widths = geo.uniform(7100, 8850, 60), geo.uniform(2.0, 15.0, 60)
    lines = np.exp(-(((wave[None, :] - centres[:, None]) / widths[:, None]) ** 2))
    coef = geo.normal(size=(3, 60))
    error_row = (0.02 * (1.0 + 0.3 * np.sin(wave / 50.0))).astype(np.float32)
    frames = []
    path.parent.mkdir(parents=True, exist_ok=True)
    with h5py.File(path, "w") as f:
        f["spectrumdataset/wave"] = wave
        fl = f.create_dataset("dataset/arrays/flux/value", (n, p), "f4", chunks=(64, p))
        er = f.create_dataset("dataset/arrays/error/value", (n, p), "f4", chunks=(64, p))
        for lo in range(0, n, block):
            hi = min(lo + block, n)
            flux, frame = _block(rng, hi - lo, lines, coef)
            fl[lo:hi] = flux
            er[lo:hi] = np.broadcast_to(error_row, flux.shape)
            frames.append(frame)
    pd.concat(frames, ignore_index=True).to_hdf(path, key="dataset/params", mode="a",
                                                format="table")


def child_stream(args: argparse.Namespace) -> dict:
    from moehelpers.engine.ridge import RidgeRegressor
    from moehelpers.models.stream_fit import fit_stream

    rate = syrk_gflops(p=min(args.p, 2048))
    t0 = time.perf_counter()
    model = fit_stream(RidgeRegressor(alphas=ALPHAS), args.train, args.val, noise_level=0.2,
                       seed=42, chunk_size=args.chunk_size)
    seconds = time.perf_counter() - t0
    return {"seconds": seconds, "rows": model.stream_n_rows_, "alpha": model.alpha_,
            "peak_rss_mib": peak_rss_mib(), "syrk_gflops": rate}


def child_memory(args: argparse.Namespace) -> dict:
    from moehelpers.data import spectra as data
    from moehelpers.engine.ridge import RidgeRegressor
    from moehelpers.engine.stream import stream_noisy

    rate = syrk_gflops(p=min(args.p, 2048))
    t0 = time.perf_counter()
    train, val = data.load(args.train, n=args.n_mem), data.load(args.val)
    x = stream_noisy(train.flux, train.error, 0.2, 42, "train")
    xv = stream_noisy(val.flux, val.error, 0.2, 42, "val")
    model = RidgeRegressor(alphas=ALPHAS).fit(x, train.y, xv, val.y)
    seconds = time.perf_counter() - t0
    return {"seconds": seconds, "rows": len(train), "alpha": model.alpha_,
            "peak_rss_mib": peak_rss_mib(), "syrk_gflops": rate}


def _child(phase: str, args: argparse.Namespace, train: Path, val: Path) -> dict:
    cmd = [sys.executable, __file__, "--phase", phase, "--train", str(train), "--val",
           str(val), "--p", str(args.p), "--n-mem", str(args.n_mem), "--chunk-size",
           str(args.chunk_size)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=200_000, help="streamed training spectra")
    ap.add_argument("--p", type=int, default=4096, help="pixels")
    ap.add_argument("--shards", type=int, default=5)
    ap.add_argument("--n-mem", type=int, default=32_000, help="rows of the in-memory fit")
    ap.add_argument("--chunk-size", type=int, default=4096, help="rows per streamed chunk")
    ap.add_argument("--quick", action="store_true", help="20k × 512, 4 shards, 8k in memory")
    ap.add_argument("--scratch", type=Path, default=None, help="folder for the shards")
    ap.add_argument("--keep", action="store_true", help="keep the shards")
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--phase", choices=["stream", "memory"], default=None,
                    help=argparse.SUPPRESS)
    ap.add_argument("--train", type=Path, default=None, help=argparse.SUPPRESS)
    ap.add_argument("--val", type=Path, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.phase is not None:
        res = (child_stream if args.phase == "stream" else child_memory)(args)
        print(json.dumps(res))
        return res
    if args.quick:
        args.n, args.p, args.shards, args.n_mem = 20_000, 512, 4, 8_000
    info = machine_info()
    scratch = Path(tempfile.mkdtemp(prefix="moe_stream_", dir=args.scratch))
    try:
        t0 = time.perf_counter()
        cuts = np.linspace(0, args.n, args.shards + 1).astype(int)
        for i in range(args.shards):
            write_file(scratch / "train" / f"train_{i}" / "dataset.h5",
                       int(cuts[i + 1] - cuts[i]), args.p, seed=i)
        write_file(scratch / "val" / "dataset.h5", 1000, args.p, seed=10_000)
        write_s = time.perf_counter() - t0
        gb = args.n * args.p * 4 / 1e9
        print(f"wrote {args.shards} shards, {args.n} × {args.p} float32 "
              f"({2 * gb:.1f} GB flux + error) in {write_s:.0f} s to {scratch}")
        stream = _child("stream", args, scratch / "train", scratch / "val")
        memory = _child("memory", args, scratch / "train", scratch / "val")
    finally:
        if not args.keep:
            shutil.rmtree(scratch, ignore_errors=True)
    rows = {"stream": stream, "memory": memory}
    for name, res in rows.items():
        res["flux_gb"] = res["rows"] * args.p * 4 / 1e9
        res["gb_per_s"] = res["flux_gb"] / res["seconds"]
        res["gram_seconds_at_syrk_rate"] = res["rows"] * args.p**2 / (res["syrk_gflops"] * 1e9)
        res["gram_share_of_time"] = res["gram_seconds_at_syrk_rate"] / res["seconds"]
        print(f"{name:6s} {res['rows']:7d} rows {res['seconds']:7.1f} s  "
              f"{res['gb_per_s']:.3f} GB/s  peak RSS {res['peak_rss_mib']:.0f} MiB  "
              f"Gram at {res['syrk_gflops']:.1f} GFLOP/s = {res['gram_seconds_at_syrk_rate']:.1f}"
              f" s ({100 * res['gram_share_of_time']:.0f}% of the time)")
    ratio = stream["gb_per_s"] / memory["gb_per_s"]
    print(f"throughput streamed / in-memory: {ratio:.2f}×")
    goals = [goal("peak RSS of the streamed fit", stream["peak_rss_mib"], RSS_GOAL_MIB, "<=",
                  "MiB"),
             goal("streamed fit rate / Gram-limited rate (dsyrk rate, same process)",
                  stream["gram_share_of_time"], GRAM_SHARE_GOAL, ">=", "")]
    for g in goals:
        print(f"goal {g['name']}: {g['measured']:.3g} {g['op']} {g['target']:.3g} {g['unit']}"
              f" → {'met' if g['met'] else 'NOT met'}")
    record = {"params": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()
                         if k not in ("phase", "train", "val")},
              "write_seconds": write_s, "stream": stream, "memory": memory,
              "throughput_ratio_stream_vs_memory": ratio, "goals": goals, "machine": info}
    path = write_record("stream_fit", record, args.out)
    print(f"wrote {path}")
    return record


if __name__ == "__main__":
    main()
