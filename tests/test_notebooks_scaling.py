"""The scaling page (notebooks/19_scaling): live streamed check on a LocalCluster, and the
benchmark records it plots (fake records with one goal met and one not)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from moehelpers.book.runner import execute_run
from moehelpers.paths import repo_root
from moehelpers.records import store as results

sys.path.insert(0, str(repo_root() / "benchmarks"))
import book_floor


def floor_record() -> dict:
    """A ``book_floor`` record made by the benchmark's own arithmetic from two fake pages."""
    rates = {"gemm_float64": 100.0, "gemm_float32": 200.0}
    pages = [book_floor.page_floor({"notebook": nb, "seconds": s, "kernels": {
        "gram64": {"calls": 3, "flops": f, "seconds": 0.5 * s},
        "cholesky64": {"calls": 9, "flops": f / 2, "seconds": 0.25 * s}}}, rates)
        for nb, s, f in (("01_x", 60.0, 2e12), ("02_y", 120.0, 6e12))]
    return {"benchmark": "book_floor", "rates_gflops": rates, "pages": pages,
            **book_floor.summarise(pages, rates, {"data_seconds": 1.0,
                                                  "html_and_overhead_seconds": 9.0}, full=True)}


def _records(folder: Path) -> None:
    goal = {"name": "speed-up", "measured": 1.6, "target": 5.0, "op": ">=", "unit": "×",
            "met": False}
    folder.mkdir(parents=True)
    (folder / "ridge_path.json").write_text(json.dumps({
        "benchmark": "ridge_path", "seconds_ours": 10.0, "seconds_sklearn": 16.0,
        "sklearn_dtype": "float32", "seconds_sklearn_float64": 30.0, "group_sizes": [1] * 9,
        "params": {"n": 32000, "p": 4096, "alphas": [1, 2]}, "goals": [goal],
        "machine": {"loadavg_before": [3.0, 2.0, 1.0]}}))
    side = {"rows": 1000, "seconds": 2.0, "peak_rss_mib": 500.0, "gb_per_s": 0.5,
            "flux_gb": 1.0, "gram_seconds_at_syrk_rate": 1.0}
    (folder / "stream_fit.json").write_text(json.dumps({
        "benchmark": "stream_fit", "stream": side, "memory": {**side, "peak_rss_mib": 900.0},
        "goals": [{"name": "peak RSS of the streamed fit", "measured": 500.0,
                   "target": 2048.0, "op": "<=", "unit": "MiB", "met": True}]}))
    (folder / "book_time.json").write_text(json.dumps({
        "benchmark": "book_time", "mode": "from-run", "run": "default", "total_seconds": 90.0,
        "goal_seconds": 600.0, "full_book": True,
        "notebooks": [{"notebook": "01_x", "status": "ok", "seconds": 60.0},
                      {"notebook": "02_y", "status": "failed", "seconds": 30.0}],
        "goals": [{"name": "make book wall time", "measured": 90.0, "target": 600.0,
                   "op": "<=", "unit": "s", "met": True}]}))
    (folder / "book_floor.json").write_text(json.dumps(floor_record()))


def test_scaling_page_checks_streaming_live_and_plots_records(tiny_data, tmp_path,
                                                              monkeypatch) -> None:
    pytest.importorskip("dask.distributed")
    monkeypatch.setenv("MOE_RUNS_DIR", str(tmp_path / "runs"))
    _records(tmp_path / "bench")
    summary = execute_run("scal", notebooks=["19"], progress=False, params={
        "data_path": str(tiny_data), "n_stream": 300, "n_val": 100, "chunk_size": 70,
        "rows_per_task": 120, "scheduler": "local", "bench_dir": str(tmp_path / "bench")})
    assert summary.ok, [s.error for s in summary.failed]
    rec = results.load_record("scal", "SCALING", runs_dir=tmp_path / "runs")
    assert rec["metrics"]["live"] == 1
    assert rec["metrics"]["stream_max_rel_diff"] <= 1e-6
    v = rec["verdicts"]
    assert v["streamed_equals_in_memory"]["passed"] is True
    assert v["ridge_path: speed-up"]["passed"] is False  # a goal not met stays not met
    assert v["stream_fit: peak RSS of the streamed fit"]["passed"] is True
    html = (tmp_path / "runs" / "scal" / "notebooks" / "19_scaling.ipynb").read_text()
    assert html.count("application/vnd.plotly.v1+json") >= 4  # the four benchmark figures
    assert "book floor 175 s" in html  # rest 45 s + kernel floor 120 s + 10 s data and HTML
    assert v["book_floor: book floor (kernels at the GEMM peak, the rest as measured) within "
             "the goal"]["passed"] is True
    assert "on the Dask cluster at" in html
