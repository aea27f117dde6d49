"""Batch execution of the notebooks with papermill,.

A *run* is a named set of parameter overrides. Executing a run writes

``runs/<run>/notebooks/<notebook>.ipynb``  executed copies (errors kept in place)
``runs/<run>/records/<mvp>.json``          result records (written by the notebooks)
``runs/<run>/run.json``                    the run manifest: parameters, status per notebook

Crash safety: papermill writes each executed copy under ``runs/<run>/.partial/`` and the
copy is moved into ``notebooks/`` only when its execution ended (successfully or with an
error kept in place), so a batch killed mid-way never leaves a half-executed page that the
book would mistake for a finished one. Before a notebook starts, ``run.json`` lists it as
``"running"``; a manifest still saying so after the batch stopped marks it interrupted.

One writer per run: the batch holds ``runs/<run>/.lock`` (:mod:`~moehelpers.book.run_lock`);
a second batch of the same run fails at once naming the holder's pid. Resumable: a notebook
unchanged since its last successful execution in the run (source, parameters, the
``moehelpers`` modules it imported, data identity; :mod:`~moehelpers.book.exec_cache`) is
reused and listed as ``"cached"``, so an interrupted batch resumes where it stopped.

Runs are independent: re-executing one never touches another. Parameter values
are checked against each notebook's annotated ``parameters`` cell *before*
papermill injects them as code, so a value can only ever be a literal of the
declared type.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
import traceback
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from moehelpers.book import parameters
from moehelpers.book.exec_cache import ExecCache, modules_file, probe_cell
from moehelpers.book.run_lock import RunLock
from moehelpers.errors import InvalidParameterError, RunnerError
from moehelpers.paths import check_name, notebooks_dir, repo_root, runs_dir

__all__ = [
    "NotebookStatus",
    "RunSummary",
    "check_parameters",
    "execute_run",
    "list_notebooks",
    "notebook_parameters",
]

log = logging.getLogger(__name__)

#: Tags that hide papermill's parameter cells in the book.
_HIDDEN_CELL_TAGS = ("parameters", "injected-parameters")
#: Parameters the runner sets itself; a notebook declares them to receive them.
_RUNNER_PARAMETERS = ("run_name",)  # not "run": IPython automagic reads `run: …` as %run


@dataclass
class NotebookStatus:
    """Outcome of one executed notebook."""

    notebook: str
    status: str  # "ok" | "cached" | "failed" | "running" (interrupted if the batch is gone)
    seconds: float
    output: str
    error: str = ""
    records: list[str] = field(default_factory=list)  # record files this notebook wrote


@dataclass
class RunSummary:
    """Outcome of a run: one :class:`NotebookStatus` per notebook."""

    run: str
    params: dict[str, Any]
    notebooks: list[NotebookStatus] = field(default_factory=list)

    @property
    def failed(self) -> list[NotebookStatus]:
        """Notebooks that raised during execution."""
        return [s for s in self.notebooks if s.status == "failed"]

    @property
    def ok(self) -> bool:
        """True when no notebook failed."""
        return not self.failed

    def to_text(self) -> str:
        """One line per notebook, for the terminal."""
        lines = [f"run {self.run!r}:"]
        for s in self.notebooks:
            line = f"  {s.status:7s} {s.notebook:40s} {s.seconds:7.1f} s"
            if s.error:
                line += f"  {s.error.splitlines()[0][:120]}"
            lines.append(line)
        return "\n".join(lines)


def list_notebooks(folder: Path | None = None) -> list[Path]:
    """Source notebooks in run order (file names start with a two-digit number)."""
    folder = folder or notebooks_dir()
    return sorted(p for p in folder.glob("[0-9][0-9]_*.ipynb") if p.is_file())


def _resolve(names: Iterable[str] | None, folder: Path | None = None) -> list[Path]:
    available = list_notebooks(folder)
    if names is None:
        return available
    chosen = []
    for name in names:
        stem = Path(name).stem
        match = [p for p in available if p.stem == stem or p.stem.startswith(stem + "_")
                 or p.stem.split("_", 1)[0] == stem]
        if len(match) != 1:
            known = ", ".join(p.stem for p in available)
            raise RunnerError(f"Unknown or ambiguous notebook {name!r}; available: {known}.")
        chosen.append(match[0])
    return chosen


def notebook_parameters(path: Path) -> dict[str, dict[str, Any]]:
    """Declared parameters of a notebook: name → {type, default, help}.

    Reads the cell tagged ``parameters``; every parameter must carry a type
    annotation (``noise_level: float = 0.2  # comment``).
    """
    return parameters.declared_from_notebook(path)


def check_parameters(path: Path, params: Mapping[str, Any]) -> dict[str, Any]:
    """Validate overrides against a notebook's parameters cell (types, ranges, names).

    The same checks run again inside the notebook (:func:`moehelpers.book.notebook.start`).

    Raises
    ------
    InvalidParameterError
        For an unknown name (close matches and the notebook's parameters listed), a value
        whose type differs from the declared annotation, or one out of its range.
    """
    return parameters.check_values(notebook_parameters(path), params, Path(path).name)


def _params_for(path: Path, run: str, noise: float | None,
                overrides: Mapping[str, Any]) -> dict[str, Any]:
    """Overrides that apply to one notebook (generic ones only where declared)."""
    declared = notebook_parameters(path)
    params: dict[str, Any] = {}
    for name in _RUNNER_PARAMETERS:
        if name in declared:
            params[name] = run
    if noise is not None and "noise_level" in declared:  # multi-level notebooks add it
        params["noise_level"] = noise
    for name, value in overrides.items():
        if name in declared:
            params[name] = value
    return check_parameters(path, params)


def _hide_parameter_cells(path: Path) -> None:
    """Tag papermill's parameter cells ``remove-cell`` so the book hides them."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        tags = cell.get("metadata", {}).get("tags", [])
        if any(t in tags for t in _HIDDEN_CELL_TAGS) and "remove-cell" not in tags:
            cell.setdefault("metadata", {}).setdefault("tags", []).append("remove-cell")
    tmp = path.with_suffix(".ipynb.tmp")
    nbformat.write(nb, tmp)
    os.replace(tmp, path)


def _write_json_atomic(path: Path, payload: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(payload, indent=2, sort_keys=True, default=str) + "\n")
    os.replace(tmp, path)


def _record_stamps(records: Path) -> dict[str, int]:
    """Modification times (ns) of the run's record files, to see which a notebook wrote."""
    if not records.is_dir():
        return {}
    return {p.name: p.stat().st_mtime_ns for p in records.glob("*.json")}


def execute_run(
    run: str = "default",
    *,
    notebooks: Iterable[str] | None = None,
    noise: float | None = None,
    params: Mapping[str, Any] | None = None,
    folder: Path | None = None,
    progress: bool = True,
    kernel_name: str | None = None,
    force: bool = False,
) -> RunSummary:
    """Execute notebooks for one named run, isolating failures.

    Parameters
    ----------
    run : str, default="default"
        Run name; output goes to ``runs/<run>/``.
    notebooks : iterable of str, optional
        Notebook stems or number prefixes (``"01"``); default all.
    noise : float, optional
        Sets ``noise_level`` (or ``noise_levels = [noise]``) where a notebook declares it.
    params : mapping, optional
        Further overrides; each applies to the notebooks that declare it, and a
        name no selected notebook declares raises.
    folder : Path, optional
        Source notebook folder (default ``notebooks/``).
    force : bool, default=False
        Execute every selected notebook even when the execution cache
        (:mod:`~moehelpers.book.exec_cache`) says its last execution can be reused.

    The run is locked for the whole batch (:mod:`~moehelpers.book.run_lock`): a second
    batch of the same run raises :class:`~moehelpers.errors.RunLockedError` at once.
    A notebook whose source, parameters, imported package modules and data are unchanged
    since its last successful execution in this run is not executed again; ``run.json``
    lists it as ``"cached"``.

    Returns
    -------
    RunSummary
        Check ``summary.ok``; a failed notebook keeps its executed copy with the error.
    """
    check_name(run, "run name")
    if noise is not None and (not isinstance(noise, int | float) or noise < 0):
        raise InvalidParameterError(f"--noise must be a number ≥ 0; got {noise!r}.")
    overrides = dict(params or {})
    paths = _resolve(notebooks, folder)
    if not paths:
        raise RunnerError("No notebooks selected; see notebooks/ for the available ones.")
    declared_anywhere = set().union(*(notebook_parameters(p) for p in paths))
    unknown = sorted(set(overrides) - declared_anywhere)
    if unknown:
        raise InvalidParameterError(
            f"Unknown parameter(s) {unknown} for the selected notebooks; "
            f"declared parameters are: {', '.join(sorted(declared_anywhere))}."
        )
    plan = [(p, _params_for(p, run, noise, overrides)) for p in paths]  # validate all first

    run_dir = runs_dir() / run
    with RunLock(run_dir, run):  # one writer per run; other runs are not affected
        return _execute_plan(run, plan, RunSummary(run=run, params={"noise": noise, **overrides}),
                             progress=progress, kernel_name=kernel_name, force=force)


def _execute_plan(run: str, plan: list[tuple[Path, dict[str, Any]]], summary: RunSummary, *,
                  progress: bool, kernel_name: str | None, force: bool) -> RunSummary:
    """Execute (or reuse from the cache) each planned notebook; the run lock is held."""
    from tqdm.auto import tqdm

    run_dir = runs_dir() / run
    out_dir = run_dir / "notebooks"
    partial_dir = run_dir / ".partial"  # executions in progress (or killed) live here
    out_dir.mkdir(parents=True, exist_ok=True)
    if partial_dir.exists():  # left by a batch that was killed: never a finished page
        shutil.rmtree(partial_dir)
    partial_dir.mkdir()
    cache = ExecCache(run_dir)
    kept = _kept_entries(run_dir / "run.json", {p.stem for p, _ in plan}, summary.params)
    bar = tqdm(plan, desc=f"run {run}", unit="nb", disable=not progress)
    for path, nb_params in bar:
        bar.set_postfix_str(path.stem)
        output = out_dir / path.name
        state = NotebookStatus(notebook=path.stem, status="running", seconds=0.0,
                               output=str(output.relative_to(runs_dir())))
        summary.notebooks.append(state)
        key = ExecCache.key(path, nb_params, notebook_parameters(path))
        entry = None if force else cache.reusable(path.stem, key, output, run_dir / "records")
        if entry is not None:
            state.status, state.records = "cached", list(entry.get("records", []))
            log.info("%s: unchanged since its last execution in run %r; reused", path.stem, run)
            _write_manifest(run_dir / "run.json", summary, kept)
            continue
        cache.drop(path.stem)
        _write_manifest(run_dir / "run.json", summary, kept)
        _execute_one(path, nb_params, state, run_dir, partial_dir, kernel_name)
        if state.status == "ok":
            cache.store(path.stem, key, output, state.records, state.seconds)
        _write_manifest(run_dir / "run.json", summary, kept)
    shutil.rmtree(partial_dir, ignore_errors=True)
    return summary


def _execute_one(path: Path, nb_params: dict[str, Any], state: NotebookStatus, run_dir: Path,
                 partial_dir: Path, kernel_name: str | None) -> None:
    """Execute one notebook with papermill into ``partial_dir``, then move it into place.

    The executed copy gets a hidden last cell (:func:`exec_cache.probe_cell`) that lists the
    ``moehelpers`` modules the kernel imported, beside it as ``<stem>.modules.json``.
    """
    import nbformat
    import papermill

    output, partial = run_dir / "notebooks" / path.name, partial_dir / path.name
    probe = modules_file(partial)
    source = partial_dir / f"{path.stem}.source.ipynb"
    nb = nbformat.read(path, as_version=4)
    nb.cells.append(probe_cell(probe.resolve()))
    nbformat.write(nb, source)
    before = _record_stamps(run_dir / "records")
    start = time.perf_counter()
    try:
        papermill.execute_notebook(
            str(source), str(partial), parameters=nb_params, progress_bar=False,
            kernel_name=kernel_name, cwd=str(repo_root()),
        )
        state.status = "ok"
    except Exception as exc:  # papermill wraps kernel errors; keep going (isolation)
        state.status = "failed"
        state.error = f"{type(exc).__name__}: {exc}"
        log.debug("notebook %s failed:\n%s", path.name, traceback.format_exc())
    state.seconds = time.perf_counter() - start
    after = _record_stamps(run_dir / "records")
    state.records = sorted(name for name, t in after.items() if before.get(name) != t)
    modules_file(output).unlink(missing_ok=True)
    if partial.exists():
        _hide_parameter_cells(partial)
        if probe.exists():
            os.replace(probe, modules_file(output))
        os.replace(partial, output)
    else:  # papermill failed before writing anything: no stale page from an older run
        output.unlink(missing_ok=True)


def _write_manifest(path: Path, summary: RunSummary, kept: list[dict]) -> None:
    """``run.json``: this batch's notebooks plus the kept entries of earlier batches."""
    manifest = asdict(summary)
    manifest["notebooks"] = sorted(kept + manifest["notebooks"], key=lambda n: n["notebook"])
    _write_json_atomic(path, manifest)


def _kept_entries(manifest: Path, planned: set[str], params: Mapping[str, Any]) -> list[dict]:
    """Entries of an earlier ``run.json`` to keep: notebooks not re-run, same parameters.

    Re-running one notebook of a run must not erase the status of the others; when the
    parameters changed the old entries describe another experiment and are dropped.
    """
    try:
        old = json.loads(manifest.read_text())
    except (OSError, ValueError):
        return []
    if not isinstance(old, dict) or old.get("params") != json.loads(json.dumps(params)):
        return []
    return [nb for nb in old.get("notebooks", [])
            if isinstance(nb, dict) and nb.get("notebook") not in planned]
