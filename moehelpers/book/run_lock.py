"""One writer per run: an exclusive lock on ``runs/<run>/.lock``.

:func:`~moehelpers.book.runner.execute_run` holds the lock of its run for the whole batch,
so two batches of the *same* run (two terminals, a ``make book`` beside a ``make run``)
cannot interleave their executed notebooks, records and ``run.json``: the second fails at
once with :class:`~moehelpers.errors.RunLockedError` naming the run and the holder's pid.
Different runs have different lock files and never wait for each other.

The lock is an ``flock`` on the file, so the kernel releases it when the holder dies, however
it dies (``kill -9`` included); the file keeps the holder's pid only to name it. A lock file
left by a dead process is therefore *stale*: the next batch takes it over and logs a line
saying whose lock it took.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import socket
import time
from pathlib import Path
from types import TracebackType
from typing import Any

from moehelpers.errors import RunLockedError, RunnerError

__all__ = ["LOCK_NAME", "RunLock", "read_holder"]

log = logging.getLogger(__name__)

LOCK_NAME = ".lock"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by another user
        return True
    return True


def read_holder(path: Path) -> dict[str, Any]:
    """What a lock file says about its holder (``{}`` when empty or unreadable)."""
    try:
        data = json.loads(Path(path).read_text() or "{}")
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


class RunLock:
    """Exclusive, non-blocking lock of one run folder; a context manager.

    Parameters
    ----------
    run_dir : Path
        ``runs/<run>``; created if missing.
    run : str, optional
        Run name used in messages (default: the folder name).
    """

    def __init__(self, run_dir: Path, run: str | None = None) -> None:
        self.run_dir = Path(run_dir)
        self.run = run or self.run_dir.name
        self.path = self.run_dir / LOCK_NAME
        self._fd: int | None = None

    def acquire(self) -> RunLock:
        """Take the lock or raise :class:`RunLockedError` at once (never waits)."""
        if self._fd is not None:
            return self
        try:
            self.run_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise RunnerError(f"Cannot create the run folder {self.run_dir}: {exc}. Fix: make "
                              "runs/ writable or set MOE_RUNS_DIR to a writable folder.") from exc
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                holder = read_holder(self.path)
                raise RunLockedError(
                    f"Run {self.run!r} is being executed by another process (pid "
                    f"{holder.get('pid', '?')} on {holder.get('host', '?')}, since "
                    f"{holder.get('started', '?')}); two writers of one run would mix their "
                    f"notebooks and records. Fix: wait for it to finish, stop it (kill "
                    f"{holder.get('pid', '<pid>')}), or use another run name (--name)."
                ) from None
            try:  # the file may have been replaced between open and flock: retry on the new one
                same = os.fstat(fd).st_ino == os.stat(self.path).st_ino
            except FileNotFoundError:
                same = False
            if same:
                break
            os.close(fd)
        old = read_holder(self.path)
        pid = old.get("pid")
        if isinstance(pid, int) and pid != os.getpid():
            state = "dead" if not _alive(pid) else "alive but no longer holding it"
            log.warning("run %r: taking over a stale lock %s of pid %d (%s, since %s)",
                        self.run, self.path, pid, state, old.get("started", "?"))
        payload = {"pid": os.getpid(), "host": socket.gethostname(),
                   "started": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
        os.ftruncate(fd, 0)
        os.pwrite(fd, (json.dumps(payload) + "\n").encode(), 0)
        self._fd = fd
        return self

    def release(self) -> None:
        """Give the lock up; the file is emptied (not removed, so waiters stay on one inode)."""
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        try:
            os.ftruncate(fd, 0)
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    @property
    def held(self) -> bool:
        """True while this object holds the lock."""
        return self._fd is not None

    def __enter__(self) -> RunLock:
        return self.acquire()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.release()
