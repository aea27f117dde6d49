"""Benchmark: ``make book`` end to end — wall time per notebook and in total (goal ≤ 10 min).

Modes::

    python benchmarks/book_time.py                      # python -m moehelpers book (run "default")
    python benchmarks/book_time.py --from-run default   # read runs/default/run.json, run nothing
    python benchmarks/book_time.py --run-only quick --notebooks 01 -p n_train=2000
                                                        # execute into runs/quick (no HTML)

    python benchmarks/book_time.py --run-only warm --warm
                                                        # every notebook again, store filled

The default mode is ``make book`` without the virtual-environment install: the default
dataset (written first if missing, timed), every notebook executed by papermill, the HTML
build. Per-notebook times come from ``runs/<run>/run.json`` (written by the runner), the
total from the wall clock around the command. ``--from-run`` only reads a run's
``run.json``: the total is then the sum of the notebook times (no HTML build, no data).

A full default run is also judged notebook by notebook: each ≤ 90 s from cold. ``--warm``
says the run's shared statistics exist (a run before it filled the statistics store, which
must not be empty): the record is ``book_time_warm`` and each notebook is judged ≤ 30 s.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import goal, machine_info, write_record

GOAL_SECONDS = 600.0  # the goal: make book ≤ 10 minutes on the 2-core machine
NOTEBOOK_GOAL_SECONDS = {"cold": 90.0, "warm": 30.0}  # every notebook at defaults


def read_run(run: str, runs_dir: Path | None = None) -> dict[str, Any]:
    """Notebook times and statuses of ``runs/<run>/run.json``."""
    from moehelpers.paths import runs_dir as default_runs_dir

    path = (runs_dir or default_runs_dir()) / run / "run.json"
    if not path.is_file():
        raise SystemExit(f"{path} not found: execute the run first (python -m moehelpers run "
                         f"--name {run}) or drop --from-run.")
    summary = json.loads(path.read_text())
    notebooks = [{"notebook": nb["notebook"], "status": nb["status"],
                  "seconds": float(nb["seconds"])} for nb in summary["notebooks"]]
    return {"run": run, "run_params": summary.get("params", {}), "notebooks": notebooks,
            "notebook_seconds": sum(nb["seconds"] for nb in notebooks)}


def is_full(record: dict[str, Any]) -> bool:
    """A default-parameter run of every notebook in notebooks/ (what `make book` executes;
    with the store filled, ``--warm``, also a run-only one)."""
    from moehelpers.book.runner import list_notebooks

    names = {nb["notebook"] for nb in record["notebooks"]}
    params = {k: v for k, v in record.get("run_params", {}).items() if v is not None}
    return ((record["mode"] != "run-only" or record.get("warm", False)) and not params
            and names == {p.stem for p in list_notebooks()})


def notebook_goals(notebooks: list[dict[str, Any]], state: str) -> list[dict[str, Any]]:
    """Per-notebook goals (``state`` "cold" or "warm"): the slowest notebook and how many
    exceed the limit; the notebooks over it are printed."""
    limit = NOTEBOOK_GOAL_SECONDS[state]
    over = [nb for nb in notebooks if nb["seconds"] > limit]
    slowest = max(notebooks, key=lambda nb: nb["seconds"])
    for nb in sorted(over, key=lambda nb: -nb["seconds"]):
        print(f"  over {limit:.0f} s ({state}): {nb['notebook']} {nb['seconds']:.1f} s")
    label = "from cold" if state == "cold" else "with the store filled"
    return [goal(f"slowest notebook {label} ({slowest['notebook']})", slowest["seconds"],
                 limit, "<=", "s"),
            goal(f"notebooks over {limit:.0f} s {label}", len(over), 0, "<=", "")]


def _timed(cmd: list[str]) -> tuple[float, int]:
    t0 = time.perf_counter()
    rc = subprocess.run(cmd, check=False).returncode
    return time.perf_counter() - t0, rc


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    mode = ap.add_mutually_exclusive_group()
    mode.add_argument("--from-run", default=None, help="read this run's run.json only")
    mode.add_argument("--run-only", default=None, help="execute notebooks into this run")
    ap.add_argument("--notebooks", nargs="+", default=None)
    ap.add_argument("-p", "--param", action="append", default=[], metavar="KEY=VALUE")
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--warm", action="store_true",
                    help="the statistics store is filled (judge each notebook ≤ 30 s)")
    args = ap.parse_args(argv)
    if args.warm:
        from moehelpers.paths import stats_dir

        if not any(stats_dir().glob("*.npz")):
            raise SystemExit(f"--warm: the statistics store {stats_dir()} is empty; run the "
                             "book (or the same run) once first.")
    info = machine_info()
    py = [sys.executable, "-m", "moehelpers"]
    record: dict[str, Any] = {"mode": "book", "machine": info}
    if args.from_run is not None:
        record.update(mode="from-run", **read_run(args.from_run))
        record["total_seconds"] = record["notebook_seconds"]
    elif args.run_only is not None:
        cmd = [*py, "run", "--name", args.run_only, "--force"]  # time execution, not the cache
        cmd += ["--notebooks", *args.notebooks] if args.notebooks else []
        for p in args.param:
            cmd += ["-p", p]
        wall, rc = _timed(cmd)
        record.update(mode="run-only", returncode=rc, total_seconds=wall,
                      **read_run(args.run_only))
    else:
        data_s, rc_data = _timed([*py, "data"])
        cmd = [*py, "book", "--run", "default", "--force"]  # time execution, not the cache
        cmd += ["--notebooks", *args.notebooks] if args.notebooks else []
        wall, rc = _timed(cmd)
        record.update(returncode=max(rc, rc_data), data_seconds=data_s,
                      total_seconds=data_s + wall, **read_run("default"))
        record["html_and_overhead_seconds"] = wall - record["notebook_seconds"]
    record["params"] = {"notebooks": args.notebooks, "param": args.param,
                        "omp_num_threads": os.environ.get("OMP_NUM_THREADS")}
    for nb in record["notebooks"]:
        print(f"  {nb['status']:7s} {nb['notebook']:40s} {nb['seconds']:7.1f} s")
    record["warm"] = bool(args.warm)
    full = is_full(record)
    record["full_book"] = full
    record["goal_seconds"] = GOAL_SECONDS
    record["goals"] = []
    state = "warm" if args.warm else "cold"
    if full:  # the goals are about a whole default book; a partial run is not judged
        if not args.warm:
            name = ("make book wall time" if record["mode"] == "book"
                    else "notebook time of a full default run (no data, no HTML build)")
            record["goals"] = [goal(name, record["total_seconds"], GOAL_SECONDS, "<=", "s")]
            met = record["goals"][0]["met"]
            print(f"total {record['total_seconds']:.0f} s: goal ≤ {GOAL_SECONDS:.0f} s "
                  f"{'met' if met else 'NOT met'}")
        record["goals"] += notebook_goals(record["notebooks"], state)
    else:
        print(f"total {record['total_seconds']:.0f} s (a partial run or non-default "
              "parameters: not judged against the book's goals)")
    path = write_record("book_time_warm" if args.warm else "book_time", record, args.out)
    print(f"wrote {path}")
    return record


if __name__ == "__main__":
    main()
