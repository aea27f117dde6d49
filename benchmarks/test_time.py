"""Benchmark: ``make test`` wall time (goal ≤ 6 min once the venv exists) and the checks the
test suite makes (goal: no fewer than the record this run replaces — no test weakened).

Usage::

    python benchmarks/test_time.py                  # times `make test` (ruff + pytest)
    python benchmarks/test_time.py --baseline REF   # checks compared with commit REF's tests
    python benchmarks/test_time.py --count-only     # counts the checks against the last
                                                    # record; runs and writes nothing

A *check* is an ``assert`` statement or a call of a function whose name starts with
``assert`` (``np.testing.assert_array_equal``, ``assert_identical``, ...) or is ``raises`` or
``warns`` (``pytest.raises``), counted in the source of ``tests/`` (the abstract syntax tree,
so comments and strings do not count); parametrised cases count once. The count is a floor
against silently deleted checks, not a measure of coverage.
"""

from __future__ import annotations

import argparse
import ast
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import RESULTS_DIR, goal, machine_info, write_record

ROOT = Path(__file__).resolve().parents[1]

GOAL_SECONDS = 360.0  # the goal: make test ≤ 6 min after the venv exists
CHECK_NAMES = ("raises", "warns")


def _called_name(node: ast.Call) -> str:
    func = node.func
    return func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")


def count_checks(tests_dir: Path) -> dict[str, int]:
    """``checks`` and ``test_functions`` in the ``test_*.py``/``conftest.py`` files of a folder.

    Raises
    ------
    SystemExit
        The folder holds no test file (a wrong ``--tests``).
    """
    files = sorted([*tests_dir.rglob("test_*.py"), *tests_dir.rglob("conftest.py")])
    if not files:
        raise SystemExit(f"no test_*.py under {tests_dir}; pass the tests folder with --tests.")
    checks = functions = 0
    for file in files:
        for node in ast.walk(ast.parse(file.read_text(), filename=str(file))):
            if isinstance(node, ast.Assert):
                checks += 1
            elif isinstance(node, ast.Call):
                name = _called_name(node)
                checks += name.startswith("assert") or name in CHECK_NAMES
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                functions += node.name.startswith("test_")
    return {"checks": checks, "test_functions": functions, "files": len(files)}


def baseline_counts(ref: str) -> dict[str, int]:
    """:func:`count_checks` of ``tests/`` at git commit ``ref`` (``git archive``).

    Raises
    ------
    SystemExit
        ``ref`` is not a commit of this repository (git's message is kept).
    """
    import tarfile
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        done = subprocess.run(["git", "archive", "--format=tar", ref, "tests"], cwd=ROOT,
                              capture_output=True, check=False)
        if done.returncode != 0:
            raise SystemExit(f"--baseline {ref}: {done.stderr.decode().strip()}")
        archive = Path(tmp) / "tests.tar"
        archive.write_bytes(done.stdout)
        with tarfile.open(archive) as tar:
            tar.extractall(tmp, filter="data")
        return count_checks(Path(tmp) / "tests")


def _previous(out: Path) -> dict[str, Any] | None:
    try:
        return json.loads(out.read_text())
    except (OSError, ValueError):
        return None


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--command", default="make test", help="the test command (`make test`)")
    ap.add_argument("--tests", type=Path, default=ROOT / "tests", help="folder of the tests")
    ap.add_argument("--count-only", action="store_true", help="count the checks, run nothing")
    ap.add_argument("--baseline", default=None, metavar="REF",
                    help="compare the checks with those of git commit REF (default: the "
                    "record this run replaces)")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args(argv)
    out = args.out or RESULTS_DIR / "test_time.json"
    before = _previous(out)
    counts = count_checks(args.tests)
    record: dict[str, Any] = {"machine": machine_info(), "command": args.command, **counts}
    print(f"{counts['checks']} checks in {counts['test_functions']} test functions "
          f"({counts['files']} files)")
    record["goals"] = []
    if args.baseline is not None:
        base = baseline_counts(args.baseline)
        record.update(baseline=args.baseline, baseline_checks=base["checks"])
        record["goals"].append(goal(f"checks in tests/ (those at {args.baseline} or more)",
                                    counts["checks"], base["checks"], ">=", ""))
    elif before and isinstance(before.get("checks"), int):
        record["previous_checks"] = before["checks"]
        record["goals"].append(goal("checks in tests/ (previous record's count or more)",
                                    counts["checks"], before["checks"], ">=", ""))
    if not args.count_only:
        t0 = time.perf_counter()
        rc = subprocess.run(args.command, shell=True, cwd=ROOT, check=False).returncode
        record.update(seconds=time.perf_counter() - t0, returncode=rc)
        print(f"`{args.command}`: {record['seconds']:.0f} s, exit status {rc}")
        if rc == 0:  # a failing suite is not a measurement of the goal
            record["goals"].insert(0, goal(f"`{args.command}` wall time (venv exists)",
                                           record["seconds"], GOAL_SECONDS, "<=", "s"))
    else:  # a count alone replaces no timing
        for g in record["goals"]:
            print(f"{g['name']}: {g['measured']:g} {g['op']} {g['target']:g}: "
                  f"{'met' if g['met'] else 'NOT met'}")
        return record
    path = write_record("test_time", record, out)
    print(f"wrote {path}")
    return record


if __name__ == "__main__":
    main()
