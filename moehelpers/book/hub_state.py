"""What the hub pages read: every run present, its records, notebooks and statuses.

Nothing here fails on a missing or unreadable record: a missing one is *not run yet*, a
corrupt one is listed with its problem (the build-status page shows it too).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from moehelpers.errors import MoEHelpersError
from moehelpers.records.registry import (
    HYPOTHESES,
    MVPS,
    Hypothesis,
    notebook_records,
    verdict_matches,
)

__all__ = ["PRIMARY_RUN", "HubState", "RunState", "hypothesis_status", "load_state"]

log = logging.getLogger(__name__)
PRIMARY_RUN = "default"


@dataclass
class RunState:
    """One run under ``runs/``: its records, executed notebooks and manifest."""

    name: str
    records: dict[str, dict[str, Any]] = field(default_factory=dict)
    notebooks: dict[str, str] = field(default_factory=dict)  # mvp_id → docname (no suffix)
    pages: list[str] = field(default_factory=list)  # every executed notebook, docnames
    failed: dict[str, str] = field(default_factory=dict)  # notebook stem → error line
    bad_records: dict[str, str] = field(default_factory=dict)  # file name → problem
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def noise(self) -> float | None:
        """The run's ``--noise`` (None when the run kept the notebooks' defaults)."""
        value = self.params.get("noise")
        return None if value is None else float(value)

    def label(self) -> str:
        """``n035 (noise 0.35)``."""
        return self.name + ("" if self.noise is None else f" (noise {self.noise:g})")


@dataclass
class HubState:
    """All runs; ``primary`` is the run the hub's single-run tables describe."""

    runs: dict[str, RunState]
    primary: str | None
    source_notebooks: dict[str, str] = field(default_factory=dict)  # mvp_id → notebook stem

    @property
    def records(self) -> dict[str, dict[str, Any]]:
        """Records of the primary run (empty when there is none)."""
        return self.runs[self.primary].records if self.primary else {}

    def mvp_ids(self) -> list[str]:
        """Registered ids, then every other id found in a record or a notebook (sorted)."""
        ids = [mv.id for mv in MVPS]
        extra = {i for r in self.runs.values() for i in r.records} | set(self.source_notebooks)
        return ids + sorted(extra - set(ids) - {"DATA"})


def _load_run(folder: Path, root: Path) -> RunState:
    from moehelpers.records.store import load_record

    state = RunState(folder.name)
    manifest = folder / "run.json"
    written: dict[str, str] = {}  # record id → notebook stem, from the runner's manifest
    if manifest.is_file():
        try:
            run = json.loads(manifest.read_text())
            state.params = dict(run.get("params") or {})
            written = {Path(r).stem: nb["notebook"] for nb in run.get("notebooks", [])
                       for r in nb.get("records") or []}
            state.failed = {nb["notebook"]: (nb.get("error") or "interrupted").splitlines()[0][:160]
                            for nb in run.get("notebooks", [])
                            if nb.get("status") in ("failed", "running")}
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            state.bad_records["run.json"] = f"unreadable manifest ({exc})"
    for path in sorted((folder / "records").glob("*.json")):
        if path.name.startswith("."):
            continue
        try:
            state.records[path.stem] = load_record(folder.name, path.stem, folder.parent)
        except MoEHelpersError as exc:
            state.bad_records[path.name] = str(exc).splitlines()[0][:200]
    for nb in sorted((folder / "notebooks").glob("*.ipynb")):
        try:
            doc = nb.relative_to(root).with_suffix("").as_posix()
        except ValueError:  # runs outside the book's root cannot be pages
            doc = ""
        if doc:
            state.pages.append(doc)
        ids = notebook_records(nb) + [i for i, stem in written.items() if stem == nb.stem]
        for mvp_id in ids:
            state.notebooks.setdefault(mvp_id, doc)
    return state


def load_state(root: Path, runs_dir: Path | None = None,
               primary: str = PRIMARY_RUN) -> HubState:
    """Read every run under ``runs_dir`` (default ``<root>/runs``) and the source notebooks.

    ``primary`` is the run described by the single-run tables; when it is absent the first
    run (alphabetically) is used, and with no run at all every table says *not run yet*.
    """
    runs_dir = runs_dir or root / "runs"
    runs: dict[str, RunState] = {}
    if runs_dir.is_dir():
        for folder in sorted(p for p in runs_dir.iterdir() if p.is_dir()):
            if (folder / "records").is_dir() or (folder / "notebooks").is_dir():
                runs[folder.name] = _load_run(folder, root)
    chosen = primary if primary in runs else (next(iter(runs)) if runs else None)
    sources = {}
    for nb in sorted((root / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        for mvp_id in notebook_records(nb):
            sources.setdefault(mvp_id, nb.stem)
    return HubState(runs, chosen, sources)


# ---------------------------------------------------------------- hypothesis status
SUPPORTED, REJECTED, PARTLY, NOT_EVALUABLE, NOT_RUN = (
    "supported", "not supported", "partly supported", "not evaluable", "not run yet")
# plain symbols: DejaVu and most system fonts have them, emoji fonts are not everywhere
#: Status, in the conclusions across runs, of a hypothesis that no notebook of a run holding
#: other records judges (a run of some notebooks only, e.g. the §6.2 runs of MVP-1.1).
NOT_IN_RUN = "not in this run"
ICONS = {SUPPORTED: "✓", REJECTED: "✗", PARTLY: "⚠", NOT_EVALUABLE: "?", NOT_RUN: "·",
         NOT_IN_RUN: "·"}


def evidence(h: Hypothesis, records: Mapping[str, Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The verdicts that test ``h``: ``[{mvp_id, name, rule, value, op, threshold, passed}]``."""
    out = []
    for mvp_id in dict.fromkeys([*h.mvps, *(e[0] for e in h.evidence)]):
        rec = records.get(mvp_id)
        if rec is None:
            continue
        for name, v in rec.get("verdicts", {}).items():
            # schema 2: the verdict names its hypothesis; older records: by name
            tests = v.get("tests") if "tests" in v else (
                h.id if (mvp_id, name) in h.evidence or verdict_matches(h.id, name) else None)
            if tests == h.id or (tests is not None and tests.startswith(h.id)
                                 and verdict_matches(h.id, tests)):
                out.append({"mvp_id": mvp_id, "name": name, **v})
    return out


def hypothesis_status(h: Hypothesis,
                      records: Mapping[str, Mapping[str, Any]]) -> tuple[str, str]:
    """``(status, detail)``: all of its rules hold → supported; none → not supported.

    Rules whose value was NaN (``passed`` None) are not counted; without any record of its
    experiments the status is *not run yet*.
    """
    ev = evidence(h, records)
    if not any(mvp_id in records for mvp_id in h.mvps):
        return NOT_RUN, ""
    judged = [e for e in ev if e.get("passed") is not None]
    if not judged:
        return NOT_EVALUABLE, "no rule of this hypothesis could be evaluated"
    held = sum(bool(e["passed"]) for e in judged)
    detail = f"{held} of {len(judged)} rules hold"
    if held == len(judged):
        return SUPPORTED, detail
    return (REJECTED, detail) if held == 0 else (PARTLY, detail)


def all_statuses(records: Mapping[str, Mapping[str, Any]]) -> dict[str, tuple[str, str]]:
    """Status of every registered hypothesis."""
    return {h.id: hypothesis_status(h, records) for h in HYPOTHESES}
