"""Benchmark: how far each page of the book is from its floor at the machine's peak rate.

Every notebook is executed from cold, in order, each in its own Python process (its code
cells in-process, as a kernel would run them, with the figures built but not rendered) and
with a kernel ledger open (:mod:`moehelpers.engine.ledger`): the flops and seconds of every
Gram update, Cholesky and eigendecomposition the engine runs. The notebooks share one
statistics store that starts empty (a temporary folder, or ``--store``), so the cross-page
sharing is that of a cold ``make book``.

Per page it reports the wall time, the time in the counted kernels and their achieved rate,
and two floors at the rates this benchmark measures first, in the same process:

* **kernel floor** — the counted flops at the float64 (float32) GEMM rate, the fastest this
  BLAS does any flop (a true ``uᵀv``: numpy's ``u.T @ u`` is a SYRK and would overstate it):
  no implementation of the same factorisations and products is faster;
* **page floor** — the page's time with its kernels at that floor and everything else as
  measured (noise draws, predictions, bootstrap, torch, peers' fits, imports, plots).

The sum of the page floors plus the data and HTML steps of ``book_time`` (read from its
record when there is one) is the **book floor** of the experiments as the notebooks specify
them; when it exceeds the 10-minute goal, faster kernels alone cannot meet it. LAPACK's
``dpotrf`` rate at the sizes the book factorises is measured too (how far below GEMM the
Cholesky runs).

Usage::

    python benchmarks/book_floor.py                        # every notebook, cold (~18 min)
    python benchmarks/book_floor.py --notebooks 03 17      # some pages (still cold)
    python benchmarks/book_floor.py --notebooks 17 -p n_train=32000 --out /tmp/nb17.json
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import scipy.linalg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import RESULTS_DIR, gemm_gflops, goal, machine_info, write_record

REPO = Path(__file__).resolve().parents[1]
GOAL_SECONDS = 600.0  # book_time.GOAL_SECONDS: the ten minutes
#: The reference rate of each ledger kind: float32 kinds at the float32 GEMM rate.
PEAK_OF_KIND = {"gram64": "gemm_float64", "cholesky64": "gemm_float64", "eigh": "gemm_float64",
                "gram32": "gemm_float32", "cholesky32": "gemm_float32"}


def parse_params(pairs: list[str]) -> dict[str, Any]:
    """``["n_train=2000", "data_path=x.h5"]`` → values (Python literals, else strings)."""
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise SystemExit(f"-p {pair!r}: expected KEY=VALUE, e.g. -p n_train=2000")
        try:
            out[key] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            out[key] = value
    return out


def potrf_gflops(n: int, repeats: int | None = None) -> float:
    """LAPACK ``dpotrf`` rate (GFLOP/s, n³/3 flops) on an n×n SPD matrix, now (best of two
    up to n = 8192, one above; two n×n float64 arrays are held)."""
    repeats = repeats or (2 if n <= 8192 else 1)
    rng = np.random.default_rng(0)
    g = rng.standard_normal((n, n // 8))
    a = np.asfortranarray(g @ g.T)
    del g
    a[np.diag_indices(n)] += n  # SPD, well conditioned
    best = np.inf
    for _ in range(repeats):
        work = a.copy(order="F")
        t0 = time.perf_counter()
        scipy.linalg.cho_factor(work, overwrite_a=True, check_finite=False)
        best = min(best, time.perf_counter() - t0)
    return n**3 / 3.0 / best / 1e9


def machine_rates(potrf_sizes: tuple[int, ...] = (4096, 12288)) -> dict[str, float]:
    """The reference rates (GFLOP/s) of the floors, measured in this process."""
    rates = {"gemm_float64": gemm_gflops(4096), "gemm_float32": gemm_gflops(4096,
                                                                          dtype=np.float32)}
    for n in potrf_sizes:
        rates[f"dpotrf_{n}"] = potrf_gflops(n)
    return rates


def run_cells(path: Path, params: dict[str, Any]) -> float:
    """Execute the code cells of notebook ``path`` here, the parameters cell overridden by
    ``params`` (as papermill would inject them); return the wall seconds."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    unknown = set(params)
    seen = False
    namespace: dict[str, Any] = {"__name__": "__main__"}
    t0 = time.perf_counter()
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        src = "\n".join(line for line in cell.source.splitlines()
                        if not line.lstrip().startswith(("%", "!")))
        exec(compile(src, f"{path.name}[{i}]", "exec"), namespace)
        if "parameters" in cell.metadata.get("tags", []):
            seen = True
            unknown -= set(namespace)
            if unknown:
                raise SystemExit(f"{path.name} has no parameter {sorted(unknown)}")
            namespace.update(params)
    if params and not seen:
        raise SystemExit(f"{path.name} has no cell tagged 'parameters' to override")
    return time.perf_counter() - t0


def child(path: Path, params: dict[str, Any], out: Path) -> None:
    """One notebook under a ledger; its wall time and tallies to ``out`` (JSON)."""
    import matplotlib
    import plotly.graph_objects as go

    from moehelpers.engine import ledger

    matplotlib.use("Agg")
    go.Figure.show = lambda self, *a, **k: None  # built, not rendered (a kernel renders them)
    os.chdir(REPO)
    with ledger.kernel_ledger() as book:
        wall = run_cells(path, params)
    out.write_text(json.dumps({"notebook": path.stem, "seconds": wall,
                               "kernels": book.to_dict()}))


def page_floor(page: dict[str, Any], rates: dict[str, float]) -> dict[str, Any]:
    """Add ``kernel_seconds``, ``kernel_floor_seconds``, ``rest_seconds`` and
    ``floor_seconds`` to one page's measurement (see the module docstring)."""
    kernels = page["kernels"]
    kernel_s = sum(k["seconds"] for k in kernels.values())
    floor_k = sum(k["flops"] / (rates[PEAK_OF_KIND[kind]] * 1e9) for kind, k in kernels.items())
    rest = max(page["seconds"] - kernel_s, 0.0)
    return {**page, "kernel_seconds": kernel_s, "kernel_floor_seconds": floor_k,
            "rest_seconds": rest, "floor_seconds": rest + floor_k}


def book_overhead(path: Path = RESULTS_DIR / "book_time.json") -> dict[str, float]:
    """Data and HTML seconds of the last cold ``book_time`` record (0 when there is none)."""
    if not path.is_file():
        return {"data_seconds": 0.0, "html_and_overhead_seconds": 0.0}
    rec = json.loads(path.read_text())
    return {"data_seconds": float(rec.get("data_seconds", 0.0)),
            "html_and_overhead_seconds": float(rec.get("html_and_overhead_seconds", 0.0))}


def summarise(pages: list[dict[str, Any]], rates: dict[str, float], overhead: dict[str, float],
              full: bool) -> dict[str, Any]:
    """Totals of the pages and, for a full book, the floor against the 10-minute goal."""
    total = {key: sum(p[key] for p in pages) for key in
             ("seconds", "kernel_seconds", "kernel_floor_seconds", "rest_seconds",
              "floor_seconds")}
    by_kind: dict[str, dict[str, float]] = {}
    for p in pages:
        for kind, k in p["kernels"].items():
            agg = by_kind.setdefault(kind, {"calls": 0, "flops": 0.0, "seconds": 0.0})
            for field in agg:
                agg[field] += k[field]
    for kind, agg in by_kind.items():
        agg["gflops_per_second"] = agg["flops"] / agg["seconds"] / 1e9 if agg["seconds"] else 0.0
        agg["peak_gflops_per_second"] = rates[PEAK_OF_KIND[kind]]
    book_floor = total["floor_seconds"] + sum(overhead.values()) if full else None
    goals = []
    if full:
        goals = [goal("book floor (kernels at the GEMM peak, the rest as measured) within the goal",
                      book_floor, GOAL_SECONDS, "<=", "s"),
                 goal("kernel floor (the counted flops at the GEMM peak) within the goal",
                      total["kernel_floor_seconds"], GOAL_SECONDS, "<=", "s")]
    return {"totals": total, "kernels_by_kind": by_kind, "book_overhead": overhead,
            "book_floor_seconds": book_floor, "goals": goals}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--notebooks", nargs="+", default=None, help="number prefixes (default: all)")
    ap.add_argument("-p", "--param", action="append", default=[], metavar="KEY=VALUE")
    ap.add_argument("--store", type=Path, default=None,
                    help="statistics store (default: a new empty temporary folder)")
    ap.add_argument("--potrf-sizes", type=int, nargs="*", default=[4096, 12288])
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--child", type=Path, default=None, help=argparse.SUPPRESS)
    ap.add_argument("--child-out", type=Path, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    params = parse_params(args.param)
    if args.child is not None:
        child(args.child, params, args.child_out)
        return {}

    from moehelpers.book.runner import list_notebooks

    every = list_notebooks()
    chosen = [p for p in every if args.notebooks is None
              or any(p.stem.startswith(n) for n in args.notebooks)]
    if not chosen:
        raise SystemExit(f"no notebook matches {args.notebooks}; the notebooks are "
                         + ", ".join(p.stem for p in every))
    info = machine_info()
    rates = machine_rates(tuple(args.potrf_sizes))
    print("rates (GFLOP/s): " + ", ".join(f"{k} {v:.0f}" for k, v in rates.items()))
    pages: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="book_floor_") as tmp:
        env = {**os.environ, "MOE_STATS_DIR": str(args.store or Path(tmp) / "stats"),
               "MOE_RUNS_DIR": str(Path(tmp) / "runs")}
        for path in chosen:
            out = Path(tmp) / f"{path.stem}.json"
            cmd = [sys.executable, __file__, "--child", str(path), "--child-out", str(out)]
            cmd += [x for pair in args.param for x in ("-p", pair)]
            with open(Path(tmp) / f"{path.stem}.log", "w") as log:
                rc = subprocess.run(cmd, env=env, stdout=log, stderr=subprocess.STDOUT,
                                    check=False).returncode
            if rc != 0:
                tail = (Path(tmp) / f"{path.stem}.log").read_text()[-3000:]
                raise SystemExit(f"{path.stem} failed (exit {rc}):\n{tail}")
            page = page_floor(json.loads(out.read_text()), rates)
            pages.append(page)
            print(f"  {page['notebook']:40s} {page['seconds']:7.1f} s  kernels "
                  f"{page['kernel_seconds']:6.1f} s (floor {page['kernel_floor_seconds']:5.1f})"
                  f"  rest {page['rest_seconds']:6.1f}  page floor {page['floor_seconds']:6.1f}",
                  flush=True)
    full = len(chosen) == len(every) and not params and args.store is None
    summary = summarise(pages, rates, book_overhead(), full)
    t = summary["totals"]
    verdict = (f"book floor {summary['book_floor_seconds']:.0f} s (goal {GOAL_SECONDS:.0f} s)"
               if full else "a partial or non-default run: no book floor")
    print(f"pages {t['seconds']:.0f} s: kernels {t['kernel_seconds']:.0f} s (floor "
          f"{t['kernel_floor_seconds']:.0f} s), rest {t['rest_seconds']:.0f} s; {verdict}")
    for kind, k in summary["kernels_by_kind"].items():
        print(f"  {kind:10s} {k['calls']:6d} calls {k['flops'] / 1e12:7.2f} Tflop "
              f"{k['seconds']:7.1f} s at {k['gflops_per_second']:5.0f} GFLOP/s "
              f"(peak {k['peak_gflops_per_second']:.0f})")
    record = {"machine": info, "rates_gflops": rates, "pages": pages, "full_book": full,
              "params": {"notebooks": args.notebooks, "param": args.param,
                         "store": str(args.store) if args.store else None},
              "goal_seconds": GOAL_SECONDS, **summary}
    path = write_record("book_floor", record, args.out)
    print(f"wrote {path}")
    return record


if __name__ == "__main__":
    main()
