"""Notebook 19 (scaling): benchmark records read back, their goals as a table and verdicts."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from moehelpers.book import report
from moehelpers.paths import repo_root
from moehelpers.records import store as results

__all__ = ["BENCHMARKS", "REQUIRED", "floor_table", "goal_table", "goal_verdicts",
           "load_benchmarks", "missing_note"]

#: Benchmark records the page shows, in order.
BENCHMARKS = ("ridge_path", "gram_rate", "stream_fit", "book_time", "book_time_warm",
              "book_floor", "test_time", "conditional_ridge")
#: Those whose absence the page points out.
REQUIRED = ("ridge_path", "stream_fit", "book_time")


def load_benchmarks(bench_dir: str = "") -> dict[str, dict[str, Any]]:
    """Read the benchmark records that exist.

    Parameters
    ----------
    bench_dir : str
        Folder of the records; empty: ``benchmarks/results`` of this repository.

    Returns
    -------
    dict
        Benchmark name → its record (only those with a file).
    """
    bench = Path(bench_dir) if bench_dir else repo_root() / "benchmarks" / "results"
    return {name: json.loads((bench / f"{name}.json").read_text()) for name in BENCHMARKS
            if (bench / f"{name}.json").is_file()}


def missing_note(records: Mapping[str, Any]) -> str | None:
    """Markdown naming the required benchmarks without a record and how to run them, or None."""
    missing = [n for n in REQUIRED if n not in records]
    if not missing:
        return None
    return ("No record yet for " + ", ".join(f"`{n}`" for n in missing) + ": run "
            + ", ".join(f"`python benchmarks/{n}.py`" for n in missing)
            + " (or `make benchmark`) and rebuild the book.")


def goal_table(records: Mapping[str, Mapping[str, Any]]) -> pd.DataFrame:
    """Every benchmark goal against its measured value.

    Parameters
    ----------
    records : mapping
        Benchmark name → record (with ``goals``, ``machine``, ``timestamp``).

    Returns
    -------
    DataFrame
        ``benchmark``, ``goal``, ``measured``, ``target`` (text), ``met``, ``load_1min`` (load
        average when the benchmark started), ``when``; empty without goals.
    """
    rows = []
    for name, rec in records.items():
        load = (rec.get("machine") or {}).get("loadavg_before") or [float("nan")]
        for g in rec.get("goals", []):
            rows.append({"benchmark": name, "goal": g["name"], "measured": g["measured"],
                         "target": f"{g['op']} {report.fmt(g['target'])} {g['unit']}",
                         "met": "yes" if g["met"] else "NOT met", "load_1min": load[0],
                         "when": rec.get("timestamp", "")})
    return pd.DataFrame(rows)


def floor_table(record: Mapping[str, Any]) -> pd.DataFrame:
    """The counted kernels of a ``book_floor`` record, one row per kind.

    Parameters
    ----------
    record : mapping
        The record of ``benchmarks/book_floor.py``.

    Returns
    -------
    DataFrame
        ``kernel`` (what it counts), ``calls``, ``tflop``, ``seconds`` (as measured),
        ``gflops_per_second`` (achieved), ``peak_gflops_per_second`` (the GEMM rate of its
        precision, measured in the same process), ``share_of_peak`` and ``floor_seconds``
        (the flops at that rate), slowest first.
    """
    from moehelpers.engine.ledger import KINDS

    rows = [{"kernel": KINDS.get(kind, kind), "calls": int(k["calls"]),
             "tflop": k["flops"] / 1e12, "seconds": k["seconds"],
             "gflops_per_second": k["gflops_per_second"],
             "peak_gflops_per_second": k["peak_gflops_per_second"],
             "share_of_peak": k["gflops_per_second"] / k["peak_gflops_per_second"],
             "floor_seconds": k["flops"] / (k["peak_gflops_per_second"] * 1e9)}
            for kind, k in record["kernels_by_kind"].items()]
    return pd.DataFrame(rows).sort_values("seconds", ascending=False, ignore_index=True)


def goal_verdicts(max_rel: float, goals: pd.DataFrame,
                  records: Mapping[str, Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Verdicts: streamed equals in-memory (1e-6 relative), then one per benchmark goal.

    Parameters
    ----------
    max_rel : float
        Largest relative prediction difference of the live check (NaN when skipped).
    goals : DataFrame
        :func:`goal_table` output.
    records : mapping
        The benchmark records.

    Returns
    -------
    list of dict
        Verdicts of :func:`moehelpers.records.store.verdict`.
    """
    verdicts = [results.verdict("streamed_equals_in_memory", max_rel, 1e-6, "<=",
                                "streamed and in-memory predictions agree to 1e-6 relative")]
    for _, g in goals.iterrows():
        rec_goal = next(x for x in records[g["benchmark"]]["goals"] if x["name"] == g["goal"])
        verdicts.append(results.verdict(f"{g['benchmark']}: {g['goal']}", rec_goal["measured"],
                                        rec_goal["target"], rec_goal["op"]))
    return verdicts
