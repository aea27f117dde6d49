"""Runs are independent: executing or re-running one never changes another's files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import write_notebook

from moehelpers.book.runner import execute_run


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file()}


def test_rerunning_one_run_leaves_other_runs_and_entries_alone(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    runs = tmp_path / "runs"
    monkeypatch.setenv("MOE_RUNS_DIR", str(runs))
    src = tmp_path / "notebooks"
    src.mkdir()
    write = ("import os, pathlib\n"
             "p = pathlib.Path(os.environ['MOE_RUNS_DIR']) / run_name / 'records'\n"
             "p.mkdir(parents=True, exist_ok=True)\n"
             "(p / '{name}.txt').write_text(str(noise_level))")
    write_notebook(src / "01_a.ipynb", write.format(name="a"))
    write_notebook(src / "02_b.ipynb", write.format(name="b"))

    assert execute_run("default", folder=src, progress=False).ok
    before = _snapshot(runs / "default")
    assert execute_run("n035", noise=0.35, folder=src, progress=False).ok
    assert (runs / "n035" / "records" / "a.txt").read_text() == "0.35"
    assert _snapshot(runs / "default") == before  # byte for byte

    other = _snapshot(runs / "n035")
    assert execute_run("default", notebooks=["02"], folder=src, progress=False).ok
    assert _snapshot(runs / "n035") == other
    manifest = json.loads((runs / "default" / "run.json").read_text())
    assert [nb["notebook"] for nb in manifest["notebooks"]] == ["01_a", "02_b"]  # 01 kept

    assert execute_run("default", noise=0.5, notebooks=["02"], folder=src, progress=False).ok
    manifest = json.loads((runs / "default" / "run.json").read_text())
    assert [nb["notebook"] for nb in manifest["notebooks"]] == ["02_b"]  # other params: dropped
