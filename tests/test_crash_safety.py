"""Crash safety: a process killed mid-write never leaves a file a later step takes as complete.

Each test starts the real code path in a child process, waits until it is provably in the
middle of writing (a hook in the child announces it and then stalls), kills it with SIGKILL
(no clean-up handlers run) and checks what a later step sees.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from conftest import wait_for_output, write_notebook

from moehelpers.book.build import write_status_page
from moehelpers.data.grid import DEFAULT_GRID_PATH
from moehelpers.errors import DataFileNotFoundError
from moehelpers.paths import repo_root

TIMEOUT_S = 120.0


def _start(script: str, tmp_path: Path, env: dict[str, str] | None = None) -> subprocess.Popen:
    path = tmp_path / "child.py"
    path.write_text(textwrap.dedent(script))
    return subprocess.Popen([sys.executable, str(path)], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True,
                            env={**os.environ, **(env or {})}, cwd=repo_root())


def _kill(proc: subprocess.Popen) -> None:
    os.killpg(proc.pid, signal.SIGKILL)  # the whole group: papermill's kernel too
    proc.wait(timeout=30)


@pytest.mark.slow
@pytest.mark.grid
@pytest.mark.skipif(not DEFAULT_GRID_PATH.is_file(), reason="needs the committed grid")
def test_killed_make_data_leaves_no_dataset(tmp_path: Path) -> None:
    from moehelpers.data import sampler
    from moehelpers.data import splits as experiment
    root = tmp_path / "data"
    proc = _start(f"""
        import time
        import moehelpers.data._hdf5io as io
        real = io._write_arrays
        def stalled(tmp, *args, **kwargs):
            real(tmp, *args, **kwargs)   # the arrays are in the temporary file ...
            print("WRITING", tmp, flush=True)
            time.sleep(600)              # ... and the rename has not happened yet
        io._write_arrays = stalled
        from moehelpers.data import sampler
        sampler.default_dataset({str(root)!r}, n_train=40, n_val=20, n_test=20,
                                progress=False)
    """, tmp_path)
    wait_for_output(proc, "WRITING")
    _kill(proc)
    assert list(root.rglob(".*.tmp")), "the child was not killed mid-write"
    assert not list(root.rglob("dataset.h5"))
    with pytest.raises(DataFileNotFoundError):
        experiment.load_splits(str(root))
    # the next `make data` writes complete files and sweeps the dead temporary file
    sampler.default_dataset(root, n_train=40, n_val=20, n_test=20, progress=False)
    assert not list(root.rglob(".*.tmp"))
    splits = experiment.load_splits(str(root), n_train=40, n_val=20, n_test=20)
    assert splits.sizes() == {"train": 40, "val": 20, "test": 20}


def test_killed_grid_node_is_not_taken_as_done(tmp_path: Path) -> None:
    tools = repo_root() / "tools"
    dest = tmp_path / "nodes" / "4000_4.50_+0.00.npz"
    proc = _start(f"""
        import sys, time
        sys.path.insert(0, {str(tools)!r})
        import numpy as np
        import build_grid
        def writer(p):
            with open(p, "wb") as fh:
                np.savez(fh, norm=np.ones(10))
            print("WRITING", flush=True)
            time.sleep(600)
        build_grid.atomic_save(__import__("pathlib").Path({str(dest)!r}), writer)
    """, tmp_path)
    wait_for_output(proc, "WRITING")
    _kill(proc)
    assert list(dest.parent.glob(".*.tmp")), "the child was not killed mid-write"
    assert not dest.exists()  # `build` decides what is done by this name alone
    sys.path.insert(0, str(tools))
    try:
        import build_grid
    finally:
        sys.path.remove(str(tools))
    node = (4000.0, 4.5, 0.0)
    assert node in build_grid.missing_nodes([node], tmp_path / "nodes")


@pytest.mark.slow
def test_killed_batch_leaves_no_half_executed_page(tmp_path: Path) -> None:
    folder, runs = tmp_path / "notebooks", tmp_path / "runs"
    folder.mkdir()
    write_notebook(folder / "01_quick.ipynb", "x = 1", noise_level=False)
    write_notebook(folder / "02_slow.ipynb", "print('STARTED', flush=True)\nimport time\n"
                   "time.sleep(600)", noise_level=False)
    proc = _start(f"""
        import time
        from pathlib import Path
        from moehelpers.book.runner import execute_run
        import papermill
        real = papermill.execute_notebook
        def announced(src, dst, **kw):
            if "02_slow" in src:
                print("EXECUTING", flush=True)
            return real(src, dst, **kw)
        papermill.execute_notebook = announced
        execute_run("r", folder=Path({str(folder)!r}), progress=False)
    """, tmp_path, env={"MOE_RUNS_DIR": str(runs)})
    wait_for_output(proc, "EXECUTING")
    partial = runs / "r" / ".partial" / "02_slow.ipynb"
    deadline = time.monotonic() + TIMEOUT_S  # wait until papermill has begun writing it
    while not partial.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert partial.exists()
    _kill(proc)
    done = runs / "r" / "notebooks"
    assert (done / "01_quick.ipynb").is_file()
    assert not (done / "02_slow.ipynb").exists()  # the book never sees the half page
    manifest = json.loads((runs / "r" / "run.json").read_text())
    assert [n["status"] for n in manifest["notebooks"]] == ["ok", "running"]
    # the status page of the book reports the interruption
    (tmp_path / "runs").mkdir(exist_ok=True)
    page = write_status_page(tmp_path).read_text()
    assert "| 02_slow | **interrupted**" in page
