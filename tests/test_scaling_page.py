"""Scaling page helpers: benchmark records (book.scaling_page), their figures (book.plots) and
the live streamed-vs-in-memory check (evaluation.scaling)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from test_notebooks_scaling import _records

from moehelpers import data
from moehelpers.book import plots
from moehelpers.book import scaling_page as page
from moehelpers.data.spectra import SpectraSet
from moehelpers.evaluation import scaling


def test_records_goal_table_verdicts_and_figures(tmp_path) -> None:
    _records(tmp_path / "bench")
    (tmp_path / "bench" / "unrelated.json").write_text("{}")
    records = page.load_benchmarks(str(tmp_path / "bench"))
    assert list(records) == ["ridge_path", "stream_fit", "book_time"]
    assert page.missing_note(records) is None
    assert "`python benchmarks/book_time.py`" in page.missing_note(
        {"ridge_path": {}, "stream_fit": {}})
    goals = page.goal_table(records)
    assert goals["met"].tolist() == ["NOT met", "yes", "yes"]
    assert goals.loc[0, "load_1min"] == 3.0 and np.isnan(goals.loc[1, "load_1min"])
    v = page.goal_verdicts(1e-9, goals, records)
    assert [x["passed"] for x in v] == [True, False, True, True]
    assert page.goal_table({}).empty
    assert len(plots.ridge_path_bars(records["ridge_path"]).data[0].x) == 3
    assert len(plots.stream_fit_bars(records["stream_fit"]).data) == 3
    fig = plots.book_time_bars(records["book_time"])
    assert list(fig.data[0].marker.color) == ["#4c78a8", "#e45756"]


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
