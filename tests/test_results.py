"""Tests of :mod:`moehelpers.records.store` (result records: write, read, tables for the book)."""

from __future__ import annotations

import errno
import json
import math
import os
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from moehelpers.errors import (
    DataFileNotFoundError,
    InvalidParameterError,
    ResultsWriteError,
)
from moehelpers.records import store as results
from moehelpers.records.store import RecordCorruptError

SHA = "ab" * 32


def mixed_table() -> pd.DataFrame:
    """A table with every supported dtype, missing values and a named str index."""
    df = pd.DataFrame({
        "bin": ["cool-poor", "cool-rich", None],
        "n": np.array([10, 0, 7], dtype="int64"),
        "r2": [0.5, np.nan, -np.inf],
        "rmse32": np.array([0.1, 0.2, np.nan], dtype="float32"),
        "covered": [True, False, True],
        "k": pd.array([1, None, 3], dtype="Int64"),
        "label": pd.array(["a", None, "c"], dtype="string"),
        "band": pd.Categorical(["lo", "hi", None], categories=["lo", "mid", "hi"], ordered=True),
        "mixed": [1, "x", 2.5],
    })
    df.index = pd.Index(["b0", "b1", "b2"], name="bin_id")
    return df


def write(tmp_path: Path, **overrides) -> Path:
    kwargs = dict(
        run="default",
        params={"seed": 42, "noise_level": np.float32(0.2), "alphas": (0.1, 1.0),
                "split_seeds": np.array([1, 2])},
        dataset={"path": "data/default/test/dataset.h5", "sha256": SHA},
        metrics={"r2": {"global": np.float64(0.455), "moe": 0.5},
                 "per_bin": np.array([0.1, np.nan, np.inf]), "n_test": np.int64(1000)},
        tables={"bins": mixed_table()},
        verdicts={"H1": results.verdict("H1", 0.045, 0.03, rule_text="ΔR² ≥ 0.03")},
        notes="unit test",
        runs_dir=tmp_path,
    )
    kwargs.update(overrides)
    return results.record("MVP-1.2", **kwargs)


def test_round_trip(tmp_path: Path) -> None:
    path = write(tmp_path)
    assert path == tmp_path / "default" / "records" / "MVP-1.2.json"
    rec = results.load_record("default", "MVP-1.2", runs_dir=tmp_path)
    assert rec["schema_version"] == results.SCHEMA_VERSION
    assert rec["params"] == {"seed": 42, "noise_level": float(np.float32(0.2)),
                             "alphas": [0.1, 1.0], "split_seeds": [1, 2]}
    assert rec["metrics"]["r2"] == {"global": 0.455, "moe": 0.5}
    per_bin = rec["metrics"]["per_bin"]
    assert per_bin[0] == 0.1 and math.isnan(per_bin[1]) and per_bin[2] == math.inf
    assert rec["verdicts"]["H1"] == {"rule": "ΔR² ≥ 0.03", "op": ">=", "value": 0.045,
                                     "threshold": 0.03, "passed": True, "tests": None}
    assert set(rec["provenance"]) >= {"created_utc", "git_commit", "moehelpers", "numpy"}
    pd.testing.assert_frame_equal(results.table(rec, "bins"), mixed_table())
    text = path.read_text(encoding="utf-8")
    assert "NaN" not in text and "Infinity" not in text  # strict JSON
    with pytest.raises(InvalidParameterError, match=r"no table 'nope'.*bins"):
        results.table(rec, "nope")


def test_same_inputs_give_identical_bytes_outside_provenance(tmp_path, monkeypatch) -> None:
    texts = []
    for i, when in enumerate([datetime(2025, 1, 1, tzinfo=UTC), datetime(2026, 6, 1, tzinfo=UTC)]):
        monkeypatch.setattr(results, "_utcnow", lambda when=when: when)
        texts.append(write(tmp_path / str(i)).read_text(encoding="utf-8"))
    heads = [t.split('"provenance"')[0] for t in texts]
    assert heads[0] == heads[1]
    assert texts[0] != texts[1]  # the timestamps differ, and only there
    assert json.loads(texts[0])["provenance"]["created_utc"] == "2025-01-01T00:00:00Z"


def test_content_hash_stable_and_pinned(tmp_path: Path) -> None:
    write(tmp_path)
    rec = results.load_record("default", "MVP-1.2", runs_dir=tmp_path)
    assert results.content_hash(rec) == rec["content_hash"]
    # Pinned: a change here means old records no longer verify; bump SCHEMA_VERSION.
    tiny = {"schema_version": 1, "run": "r", "mvp_id": "m", "params": {"seed": 1},
            "dataset": {"generator": {"seed": 1}}, "metrics": {"x": float("nan"), "y": 0.1},
            "tables": {}, "verdicts": {}, "notes": None, "provenance": {"anything": 1}}
    assert results.content_hash(tiny) == (
        "0d625b3f91ae7e8d35eece2028dd2a21f10225bf59668002d4946253ebcfa936"
    )
    assert results.content_hash({**tiny, "metrics": {"x": 1.0, "y": 0.1}}) != (
        results.content_hash(tiny))


def test_hand_edited_record_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path)
    raw = json.loads(path.read_text(encoding="utf-8"))
    raw["metrics"]["r2"]["moe"] = 0.9  # a number typed by hand
    path.write_text(json.dumps(raw), encoding="utf-8")
    with pytest.raises(RecordCorruptError, match="edited by hand"):
        results.load_record("default", "MVP-1.2", runs_dir=tmp_path)
    assert results.load_record("default", "MVP-1.2", runs_dir=tmp_path, verify=False)


@pytest.mark.parametrize("fail", ["replace", "fsync"])
def test_failed_write_leaves_nothing(tmp_path, monkeypatch, fail) -> None:
    path = write(tmp_path)
    before = path.read_bytes()

    def boom(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, fail, boom)
    with pytest.raises(ResultsWriteError, match=r"MVP-1\.2\.json.*No space left.*Fix"):
        write(tmp_path, notes="second run", overwrite=True)
    assert [p.name for p in path.parent.iterdir()] == ["MVP-1.2.json"]  # no temp file
    assert path.read_bytes() == before  # the old record is intact


def test_unwritable_runs_dir(tmp_path: Path) -> None:
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    with pytest.raises(ResultsWriteError, match="a_file"):
        write(blocker / "runs")
    assert blocker.read_text() == "not a folder"


@pytest.mark.parametrize("bad", ["", "../up", "a/b", ".hidden", "has space", "x" * 65, 3, None])
def test_invalid_names_rejected(tmp_path: Path, bad) -> None:
    with pytest.raises(InvalidParameterError, match="Invalid run name"):
        write(tmp_path, run=bad)
    with pytest.raises(InvalidParameterError, match="MVP id"):
        results.record(bad, run="ok", params={"seed": 1}, dataset={"sha256": SHA},
                       metrics={}, runs_dir=tmp_path)
    assert not any(tmp_path.iterdir())


@pytest.mark.parametrize("params, match", [
    ({"noise_level": 0.2}, "no seed"),
    ({"seed": None}, "not a seed"),
    ({"seed": 1, "noise_seed": 2.5}, "noise_seed"),
    ({"seeds": []}, "not a seed"),
])
def test_missing_or_bad_seed_rejected(tmp_path: Path, params, match) -> None:
    with pytest.raises(InvalidParameterError, match=match):
        write(tmp_path, params=params)


def test_bad_inputs_rejected(tmp_path: Path) -> None:
    with pytest.raises(InvalidParameterError, match="identify the data"):
        write(tmp_path, dataset={"path": "x.h5"})
    with pytest.raises(InvalidParameterError, match=r"metrics\.r2.*convert it to a number"):
        write(tmp_path, metrics={"r2": "high"})
    with pytest.raises(InvalidParameterError, match=r"without '\.'"):
        write(tmp_path, metrics={"r2.moe": 0.5})
    with pytest.raises(InvalidParameterError, match="datetime64"):
        write(tmp_path, tables={"t": pd.DataFrame({"d": pd.to_datetime(["2025-01-01"])})})
    with pytest.raises(InvalidParameterError, match="contradicts"):
        write(tmp_path, verdicts={"H1": {**results.verdict("H1", 0.01, 0.03), "passed": True}})
    assert not any(tmp_path.iterdir())


def test_verdict() -> None:
    assert results.verdict("H", 0.03, 0.03)["passed"] is True
    assert results.verdict("H", 0.2, 0.1, op="<")["passed"] is False
    assert results.verdict("H", np.nan, 0.1)["passed"] is None
    with pytest.raises(InvalidParameterError, match="op"):
        results.verdict("H", 1.0, 0.1, op="=>")
    for value, threshold in [(None, 0.1), ("high", 0.1), (1.0, np.nan)]:
        with pytest.raises(InvalidParameterError, match="must be numbers"):
            results.verdict("H", value, threshold)


def test_collision_refused_unless_overwrite(tmp_path: Path) -> None:
    write(tmp_path)
    write(tmp_path, notes="re-run, same experiment")  # same params + dataset: fine
    with pytest.raises(InvalidParameterError, match="new run name"):  # guard on request
        write(tmp_path, params={"seed": 7}, overwrite=False)
    write(tmp_path, params={"seed": 7})  # the default: a re-run replaces its record
    assert results.load_record("default", "MVP-1.2", runs_dir=tmp_path)["params"] == {"seed": 7}


def test_tables_for_the_book(tmp_path: Path) -> None:
    write(tmp_path)
    write(tmp_path, run="noise035", metrics={"r2": {"moe": 0.3}},
          verdicts=[results.verdict("H1", np.nan, 0.03)])
    assert results.list_runs(tmp_path) == ["default", "noise035"]
    recs = results.load_records(tmp_path)
    assert [(r["run"], r["mvp_id"]) for r in recs] == [("default", "MVP-1.2"),
                                                       ("noise035", "MVP-1.2")]
    m = results.metrics_table(recs)
    assert list(m.columns) == ["run", "mvp_id", "metric", "value"]
    assert m.shape == (7, 4) and m["value"].dtype == np.float64
    assert m["metric"].tolist()[:6] == ["n_test", "per_bin[0]", "per_bin[1]", "per_bin[2]",
                                        "r2.global", "r2.moe"]
    v = results.verdicts_table(recs)
    assert v.shape == (2, 8) and v["passed"].tolist() == [True, pd.NA]
    assert len(results.load_records(tmp_path, run="noise035")) == 1
    assert results.metrics_table([]).shape == (0, 4)


def test_corrupt_file_named_or_skipped(tmp_path: Path) -> None:
    write(tmp_path)
    bad = tmp_path / "default" / "records" / "MVP-2.json"
    bad.write_text('{"schema_version": 1, "run": "def', encoding="utf-8")
    with pytest.raises(RecordCorruptError, match=r"MVP-2\.json"):
        results.load_records(tmp_path)
    with pytest.warns(UserWarning, match=r"MVP-2\.json"):
        assert len(results.load_records(tmp_path, skip_bad=True)) == 1
    with pytest.raises(DataFileNotFoundError, match="runs present"):
        results.load_record("other", "MVP-1.2", runs_dir=tmp_path)


def test_runs_dir_resolution(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv(results.RUNS_DIR_ENV, raising=False)
    repo = Path(results.__file__).resolve().parents[2]
    assert results.resolve_runs_dir() == repo / "runs"
    monkeypatch.setenv(results.RUNS_DIR_ENV, str(tmp_path))
    assert results.record_path("r", "m") == tmp_path / "r" / "records" / "m.json"
    assert results.resolve_runs_dir(tmp_path / "x") == tmp_path / "x"


def test_file_identity(tmp_path: Path) -> None:
    f = tmp_path / "d.h5"
    f.write_bytes(b"spectra")
    ident = results.file_identity(f)
    assert ident["size_bytes"] == 7 and len(ident["sha256"]) == 64
    with pytest.raises(DataFileNotFoundError):
        results.file_identity(tmp_path / "missing.h5")


def test_verdicts_name_the_hypothesis_they_test(tmp_path: Path) -> None:
    kw = {"run": "r", "params": {"seed": 1}, "dataset": {"generator": {"n": 1}},
          "metrics": {}, "runs_dir": tmp_path}
    assert results.verdict("H1.2_ci", 0.1, 0.0)["tests"] == "H1.2"  # named after it
    assert results.verdict("alpha_interior", 1.0, 1.0)["tests"] is None  # a check
    with pytest.raises(InvalidParameterError, match="not a hypothesis of the registry"):
        results.verdict("x", 1.0, 0.0, tests="H9.9")
    # MVP-6.1 tests H3.1: a record none of whose verdicts names it cannot be written
    with pytest.raises(InvalidParameterError, match=r"H3\.1"):
        results.record("MVP-6.1", verdicts=[results.verdict("nn_gt", 0.1, 0.0)], **kw)
    # a verdict naming a hypothesis the registry gives another MVP is refused
    with pytest.raises(InvalidParameterError, match="does not assign"):
        results.record("MVP-6.1", verdicts=[results.verdict("nn_gt", 0.1, 0.0, tests="H3.1"),
                                            results.verdict("H1.2", 0.1, 0.0)], **kw)
    path = results.record("MVP-6.1", verdicts=[results.verdict("nn_gt", 0.1, 0.0, tests="H3.1")],
                          **kw)
    assert results.load_record("r", "MVP-6.1", tmp_path)["verdicts"]["nn_gt"]["tests"] == "H3.1"
    assert path.is_file()


def test_headline_is_validated_on_write(tmp_path: Path) -> None:
    kw = {"run": "r", "params": {"seed": 1}, "dataset": {"generator": {"n": 1}},
          "metrics": {}, "runs_dir": tmp_path}
    row = results.headline_row("global Ridge", 0.2, 0.7, (0.65, 0.75))
    results.record("X", headline=[row], **kw)
    tab = results.table(results.load_record("r", "X", tmp_path), "headline")
    assert list(tab.columns) == results.HEADLINE_COLUMNS and tab["r2"].iloc[0] == 0.7
    for bad, needle in [([{"model": "m", "r2": 0.5}], "noise_level"),
                        ([{**row, "noise_level": -1.0}], "≥ 0"),
                        ([{**row, "r2_lo": 0.9}], "r2_lo"),
                        ([row, row], "unique"),
                        ([{**row, "extra": 1}], "not part of the schema"),
                        ([{**row, "model": ""}], "model name")]:
        with pytest.raises(InvalidParameterError, match=needle):
            results.record("X", headline=bad, **kw)


def test_timings_live_in_the_provenance_not_the_content(tmp_path) -> None:
    """Two runs that differ only in how long they took have the same content hash."""
    from moehelpers.records import store

    hashes = []
    for i, secs in enumerate((1.5, 99.0)):
        path = store.record("MVP-X", run="r", params={"seed": 1},
                            dataset={"generator": {"t": 1}}, metrics={"r2": 0.5},
                            runs_dir=tmp_path / str(i), wall_seconds=secs,
                            timings={"fit": secs, "steps": [secs, 2 * secs]})
        rec = store.load_record("r", "MVP-X", tmp_path / str(i))
        assert rec["provenance"]["timings"] == {"fit": secs, "steps": [secs, 2 * secs]}
        assert rec["provenance"]["wall_seconds"] == secs
        assert "fit" not in rec["metrics"] and path.is_file()
        hashes.append(rec["content_hash"])
    assert hashes[0] == hashes[1]
