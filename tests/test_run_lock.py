"""One writer per run: a second batch of a run fails at once; stale locks are taken over;
different runs executed at the same time by two processes never interfere."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from conftest import wait_for_output, write_notebook

from moehelpers.book.run_lock import LOCK_NAME, RunLock, read_holder
from moehelpers.book.runner import execute_run
from moehelpers.errors import RunLockedError, RunnerError
from moehelpers.paths import repo_root

TIMEOUT_S = 120.0


def _start(script: str, tmp_path: Path, name: str) -> subprocess.Popen:
    path = tmp_path / f"{name}.py"
    path.write_text(textwrap.dedent(script))
    return subprocess.Popen([sys.executable, str(path)], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True,
                            env={**os.environ, "MOE_RUNS_DIR": str(tmp_path / "runs")},
                            cwd=repo_root())


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_second_writer_fails_at_once_naming_run_and_pid(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("MOE_RUNS_DIR", str(tmp_path / "runs"))
    src = tmp_path / "notebooks"
    src.mkdir()
    write_notebook(src / "01_a.ipynb", "x = 1")
    holder = _start(f"""
        import time
        from pathlib import Path
        from moehelpers.book.run_lock import RunLock
        with RunLock(Path({str(tmp_path / "runs" / "busy")!r}), "busy"):
            print("HELD", flush=True)
            time.sleep(600)
    """, tmp_path, "holder")
    try:
        wait_for_output(holder, "HELD")
        t0 = time.perf_counter()
        with pytest.raises(RunLockedError, match=rf"Run 'busy' .*pid {holder.pid}\b") as info:
            execute_run("busy", folder=src, progress=False)
        assert time.perf_counter() - t0 < 5.0  # at once: the papermill kernel never started
        assert isinstance(info.value, RunnerError) and "Fix:" in str(info.value)
        assert not (tmp_path / "runs" / "busy" / "notebooks").exists()
        assert execute_run("other", folder=src, progress=False).ok  # other runs: unaffected
    finally:
        os.killpg(holder.pid, signal.SIGKILL)
        holder.wait(timeout=30)
    # the holder died with the lock: its pid is still in the file, the next batch takes over
    assert read_holder(tmp_path / "runs" / "busy" / LOCK_NAME)["pid"] == holder.pid
    with caplog.at_level(logging.WARNING, logger="moehelpers.book.run_lock"):
        assert execute_run("busy", folder=src, progress=False).ok
    assert "taking over a stale lock" in caplog.text and f"pid {holder.pid}" in caplog.text
    assert read_holder(tmp_path / "runs" / "busy" / LOCK_NAME) == {}  # released after


def test_stale_lock_file_of_a_dead_pid_is_taken_over(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    run_dir = tmp_path / "runs" / "r"
    run_dir.mkdir(parents=True)
    dead = _dead_pid()
    (run_dir / LOCK_NAME).write_text(json.dumps({"pid": dead, "started": "yesterday"}))
    with caplog.at_level(logging.WARNING, logger="moehelpers.book.run_lock"):
        with RunLock(run_dir) as lock:
            assert lock.held and read_holder(lock.path)["pid"] == os.getpid()
            with pytest.raises(RunLockedError, match=rf"'r' .*pid {os.getpid()}\b"):
                RunLock(run_dir).acquire()  # a second lock object, even in-process
    assert f"pid {dead} (dead, since yesterday)" in caplog.text
    assert not lock.held


def test_two_processes_writing_records_of_different_runs_do_not_interfere(
        tmp_path: Path) -> None:
    src = tmp_path / "notebooks"
    src.mkdir()
    barrier = tmp_path / "barrier"
    barrier.mkdir()
    # each notebook waits until the other run's notebook has started: they truly overlap
    write_notebook(src / "01_rec.ipynb", textwrap.dedent(f"""\
        import pathlib, time
        from moehelpers.records.store import record
        b = pathlib.Path({str(barrier)!r})
        (b / run_name).touch()
        deadline = time.monotonic() + 90
        while len(list(b.iterdir())) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        overlapped = int(len(list(b.iterdir())) == 2)
        for k in range(20):
            record(f"MVP-T{{k}}", run=run_name, params={{"seed": k, "noise": noise_level}},
                   dataset={{"generator": {{"toy": run_name}}}},
                   metrics={{"noise": noise_level, "k": k, "overlapped": overlapped}})
    """))
    procs = {
        run: _start(f"""
            from pathlib import Path
            from moehelpers.book.runner import execute_run
            s = execute_run({run!r}, noise={noise}, folder=Path({str(src)!r}), progress=False)
            print("DONE", s.ok, [n.error for n in s.notebooks], flush=True)
        """, tmp_path, run)
        for run, noise in (("ra", 0.1), ("rb", 0.7))
    }
    for proc in procs.values():
        out, _ = proc.communicate(timeout=TIMEOUT_S)
        assert "DONE True" in out, out
    from moehelpers.records.store import load_records

    for run, noise in (("ra", 0.1), ("rb", 0.7)):
        records = load_records(tmp_path / "runs", run=run)  # verifies every content hash
        assert len(records) == 20
        assert {r["metrics"]["noise"] for r in records} == {noise}
        assert all(r["metrics"]["overlapped"] == 1 for r in records)
        manifest = json.loads((tmp_path / "runs" / run / "run.json").read_text())
        assert manifest["run"] == run and manifest["params"]["noise"] == noise
        assert manifest["notebooks"][0]["records"] == sorted(f"MVP-T{k}.json" for k in range(20))
