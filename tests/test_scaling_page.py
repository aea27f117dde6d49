"""Scaling page helpers: benchmark records (book.scaling_page), their figures (book.plots) and
the live streamed-vs-in-memory check (evaluation.scaling)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from test_notebooks_scaling import _records, floor_record

from moehelpers import data
from moehelpers.book import plots
from moehelpers.book import scaling_page as page
from moehelpers.data.spectra import SpectraSet
from moehelpers.evaluation import scaling


def test_records_goal_table_verdicts_and_figures(tmp_path) -> None:
    _records(tmp_path / "bench")
    (tmp_path / "bench" / "unrelated.json").write_text("{}")
    records = page.load_benchmarks(str(tmp_path / "bench"))
    assert list(records) == ["ridge_path", "stream_fit", "book_time", "book_floor"]
    assert page.missing_note(records) is None
    assert "`python benchmarks/book_time.py`" in page.missing_note(
        {"ridge_path": {}, "stream_fit": {}})
    goals = page.goal_table(records)
    assert goals["met"].tolist() == ["NOT met", "yes", "yes", "yes", "yes"]
    assert goals.loc[0, "load_1min"] == 3.0 and np.isnan(goals.loc[1, "load_1min"])
    v = page.goal_verdicts(1e-9, goals, records)
    assert [x["passed"] for x in v] == [True, False, True, True, True, True]
    assert page.goal_table({}).empty
    assert len(plots.ridge_path_bars(records["ridge_path"]).data[0].x) == 3
    assert len(plots.stream_fit_bars(records["stream_fit"]).data) == 3
    fig = plots.book_time_bars(records["book_time"])
    assert list(fig.data[0].marker.color) == ["#4c78a8", "#e45756"]


def test_floor_table_and_figure_read_the_benchmarks_arithmetic() -> None:
    rec = floor_record()
    table = page.floor_table(rec)
    assert table["kernel"].tolist() == [
        "float64 Gram updates (dsyrk)",
        "float64 Cholesky factorisations and solves (dpotrf + dpotrs)"]
    gram = table.iloc[0]
    assert (gram["calls"], gram["tflop"], gram["seconds"]) == (6, 8.0, 90.0)
    assert gram["floor_seconds"] == pytest.approx(80.0)  # 8e12 flops at 100 GFLOP/s
    assert gram["share_of_peak"] == pytest.approx(8e12 / 90.0 / 1e9 / 100.0)
    fig = plots.book_floor_bars(rec)
    rest, kernels, floor = fig.data
    assert list(rest.x) == [15.0, 30.0] and list(kernels.x) == [45.0, 90.0]
    assert list(floor.x) == pytest.approx([15.0 + 30.0, 30.0 + 90.0])
    assert "book floor 175 s" in fig.layout.title.text
    partial = {**rec, "book_floor_seconds": None}
    assert "(a partial run)" in plots.book_floor_bars(partial).layout.title.text


class _Splits:
    def __init__(self, train: SpectraSet, val: SpectraSet) -> None:
        self.train, self.val = train, val


def _set(n: int, seed: int) -> SpectraSet:
    rng = np.random.default_rng(seed)
    flux = (1.1 - 0.5 * rng.random((n, 12))).astype(np.float32)
    error = (0.01 + 0.05 * rng.random((n, 12))).astype(np.float32)
    labels = pd.DataFrame({"T_eff": rng.uniform(3750.0, 6000.0, n),
                           "log_g": 3.0 + np.tanh(flux @ rng.normal(size=12)),
                           "M_H": rng.uniform(-2, 0, n)})
    return SpectraSet(np.linspace(8100.0, 8850.0, 12), flux, error, labels)


def test_stream_check_agrees_with_the_in_memory_fit(tmp_path) -> None:
    train, val = _set(500, 0), _set(100, 1)
    data.save(train, tmp_path / "train.h5")
    with scaling.dask_client("") as client:
        assert client is None
        max_rel, table = scaling.stream_check(
            _Splits(train.subset(slice(0, 400)), val), tmp_path / "train.h5", [1e-2, 1.0],
            n_stream=400, noise_level=0.2, seed=3, chunk_size=70, rows_per_task=150)
    assert max_rel <= 1e-6
    assert table["rows"].tolist() == [400, 400]
    assert table.loc[0, "alpha"] == table.loc[1, "alpha"]
    assert table.loc[0, "val_r2"] == pytest.approx(table.loc[1, "val_r2"], abs=1e-6)
