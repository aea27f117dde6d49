"""Result records: one JSON file per (run, MVP) that notebooks write and the book reads.

No number in the book is typed by hand: notebooks end with :func:`record`; book pages read
:func:`load_records` through :func:`metrics_table`, :func:`verdicts_table` and :func:`table`.

* Layout: ``<runs_dir>/<run>/records/<mvp_id>.json``; ``runs_dir`` is the argument, else
  ``$MOE_RUNS_DIR``, else ``<repo>/runs``. Names: 1–64 of ``A-Za-z0-9._-``, alphanumeric first.
  Re-running a run replaces its records (runs are namespaced, so ids cannot collide across runs).
  With ``overwrite=False`` a record whose params or dataset differ from the stored one is refused.
* Encoding: sorted keys, floats via ``repr``, numpy scalars/arrays → numbers/lists, tuples →
  lists, paths → POSIX strings. A non-finite float is ``{"$float": "nan"}`` (``"inf"``,
  ``"-inf"``) everywhere, so NaN round-trips and the file stays strict JSON. Tables keep column
  order, dtypes (numeric, bool, object, ``string``, ``category``, nullable) and the index.
* ``content_hash``: SHA-256 of the canonical JSON without ``provenance``/``content_hash``.
  ``provenance`` (UTC time, versions, git commit; no hostname) is written last, so every byte
  before it is identical for identical inputs; a record edited by hand is refused on load.
* Errors: writes are atomic (temp file + ``os.replace``), failures raise
  :class:`~moehelpers.errors.ResultsWriteError`; unreadable records raise
  :class:`RecordCorruptError` naming the file (``load_records(skip_bad=True)`` warns instead).
"""

from __future__ import annotations

import hashlib
import json
import math
import operator
import os
import platform
import re
import subprocess
import tempfile
import warnings
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from moehelpers.errors import (
    DataFileNotFoundError,
    InvalidParameterError,
    RecordCorruptError,
    ResultsWriteError,
)
from moehelpers.paths import check_name as _check_name
from moehelpers.paths import repo_root as _repo_root
from moehelpers.records import registry
from moehelpers.records.codec import _canonical, _decode, _decode_table, _encode, _encode_table

__all__ = [
    "ALL_TEST_STARS",
    "HEADLINE_COLUMNS",
    "LABELS_GIVEN",
    "RUNS_DIR_ENV",
    "SCHEMA_VERSION",
    "RecordCorruptError",
    "content_hash",
    "file_identity",
    "headline_from_r2",
    "headline_per_level",
    "headline_row",
    "list_runs",
    "load_record",
    "load_records",
    "metrics_table",
    "record",
    "record_path",
    "resolve_runs_dir",
    "table",
    "verdict",
    "verdicts_table",
]

SCHEMA_VERSION = 3  # 2: verdicts name their hypothesis, headline table; 3: labels_given
RUNS_DIR_ENV = "MOE_RUNS_DIR"
_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")

_OPS = {">=": operator.ge, ">": operator.gt, "<=": operator.le, "<": operator.lt}
_NOT_CONTENT = ("content_hash", "provenance")
_REQUIRED = ("schema_version", "run", "mvp_id", "params", "dataset", "metrics", "tables",
             "verdicts", "content_hash")




def resolve_runs_dir(runs_dir: str | os.PathLike[str] | None = None) -> Path:
    """Root of all runs: ``runs_dir``, else ``$MOE_RUNS_DIR``, else ``<repo>/runs``."""
    if runs_dir is not None:
        return Path(runs_dir)
    env = os.environ.get(RUNS_DIR_ENV)
    return Path(env) if env else _repo_root() / "runs"


def record_path(run: str, mvp_id: str, runs_dir: str | os.PathLike[str] | None = None) -> Path:
    """Path of the record of ``mvp_id`` in ``run``: ``<runs_dir>/<run>/records/<mvp_id>.json``."""
    _check_name(run, "run name")
    _check_name(mvp_id, "MVP id")
    return resolve_runs_dir(runs_dir) / run / "records" / f"{mvp_id}.json"


# -------------------------------------------------------------------- checks, verdicts
def verdict(name: str, value: float, threshold: float, op: str = ">=",
            rule_text: str | None = None, *, tests: str | None = None) -> dict[str, Any]:
    """Judge a computed value against an acceptance rule of the framework document.

    Parameters
    ----------
    name : str
        Verdict name, e.g. ``"H1"``.
    value, threshold : float
        Computed value; threshold (not NaN).
    op : {">=", ">", "<=", "<"}, default=">="
        ``passed = value <op> threshold``, None when ``value`` is NaN.
    rule_text : str, optional
        The rule in words, e.g. ``"ΔR² (MoE − global) ≥ 0.03 on covered stars"``.
    tests : str, optional
        Id of the hypothesis this rule tests (``"H3.1"``). Default: the hypothesis the name
        is written after (``"H1.2_ci"`` → ``"H1.2"``), else ``None`` — a check that tests no
        hypothesis (e.g. "every α inside the grid"). Checked against the registry when the
        record is written.

    Returns
    -------
    dict
        ``{"name", "rule", "op", "value", "threshold", "passed", "tests"}``.
    """
    if not isinstance(name, str) or not name:
        raise InvalidParameterError(f"verdict name must be a non-empty str; got {name!r}.")
    if op not in _OPS:
        raise InvalidParameterError(f"verdict op {op!r} is not one of {sorted(_OPS)}.")
    try:
        v, t = float(value), float(threshold)
    except (TypeError, ValueError):
        v, t = math.nan, math.nan
    if math.isnan(t) or (math.isnan(v) and not isinstance(value, float | np.floating)):
        raise InvalidParameterError(f"verdict {name!r}: value {value!r} and threshold "
                                    f"{threshold!r} must be numbers (threshold not NaN).")
    passed = None if math.isnan(v) else bool(_OPS[op](v, t))
    if tests is None:
        tests = registry.hypothesis_named(name)
    elif registry.hypothesis(tests) is None:
        raise InvalidParameterError(
            f"verdict {name!r}: tests={tests!r} is not a hypothesis of the registry; use one "
            f"of {', '.join(h.id for h in registry.HYPOTHESES)} or leave it out for a check.")
    return {"name": name, "rule": rule_text or f"{name}: value {op} {t!r}", "op": op,
            "value": v, "threshold": t, "passed": passed, "tests": tests}


def _check_verdicts(verdicts: Mapping[str, Any] | Sequence[Mapping[str, Any]] | None) -> dict:
    out: dict[str, Any] = {}
    items = verdicts.items() if isinstance(verdicts, Mapping) else [
        (v.get("name"), v) for v in verdicts or []]
    for name, given in items:
        try:
            v = verdict(name, given["value"], given["threshold"], given.get("op", ">="),
                        given["rule"], tests=given.get("tests"))
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidParameterError(f"verdict {name!r} needs rule, value, threshold (and op): "
                                        f"build it with results.verdict(). ({exc!r})") from exc
        if name in out or given.get("name", name) != name:
            raise InvalidParameterError(f"verdict {name!r} is given twice or under another name "
                                        f"({given.get('name')!r}); names must be unique.")
        if "passed" in given and given["passed"] != v["passed"]:
            raise InvalidParameterError(f"verdict {name!r}: passed={given['passed']!r} contradicts "
                                        f"{v['value']!r} {v['op']} {v['threshold']!r}.")
        out[name] = {k: v[k] for k in ("rule", "op", "value", "threshold", "passed", "tests")}
    return out


def _check_hypotheses(mvp_id: str, verdicts: Mapping[str, Mapping[str, Any]]) -> None:
    """Every verdict tests a hypothesis of this MVP, and every such hypothesis has a verdict.

    This is what keeps a hypothesis from silently showing "not evaluable" in the book after a
    verdict was renamed: the record cannot be written.
    """
    entry = registry.mvp(mvp_id)
    own = {h.id for h in registry.HYPOTHESES if mvp_id in h.mvps}
    for name, v in verdicts.items():  # registered evidence names its hypothesis too
        if v.get("tests") is None:
            v["tests"] = next((h.id for h in registry.HYPOTHESES
                               if (mvp_id, name) in h.evidence), None)
    for name, v in verdicts.items():
        h = v.get("tests")
        if h is not None and h not in own and (mvp_id, name) not in registry.evidence_pairs(h):
            raise InvalidParameterError(
                f"{mvp_id}: verdict {name!r} tests {h!r}, which the registry does not assign to "
                f"{mvp_id} (its hypotheses: {sorted(own) or 'none'}); fix tests= or "
                "moehelpers/records/registry.py.")
    if entry is None:
        return
    tested = {v.get("tests") for v in verdicts.values()}
    missing = [h for h in entry.hypotheses if h not in tested]
    if missing:
        raise InvalidParameterError(
            f"{mvp_id} tests hypotheses {', '.join(missing)} (registry) but no verdict of the "
            "record names them: pass tests=<id> to results.verdict(...) for the rule that "
            "tests each.")


def _check_headline(rows: Any) -> pd.DataFrame:
    """The record's headline table: one row per main model, the hub's only source of R²."""
    df = pd.DataFrame(list(rows) if not isinstance(rows, pd.DataFrame) else rows).copy()
    if df.empty and not len(df.columns):  # a notebook that fits no model declares []
        df = pd.DataFrame(columns=HEADLINE_REQUIRED)
    missing = [c for c in HEADLINE_REQUIRED if c not in df.columns]
    if missing:
        raise InvalidParameterError(
            f"headline rows need columns {HEADLINE_REQUIRED}; missing {missing}. Build them "
            "with moehelpers.records.store.headline_row(...).")
    unknown = [c for c in df.columns if c not in HEADLINE_COLUMNS]
    if unknown:
        raise InvalidParameterError(f"headline columns {unknown} are not part of the schema "
                                    f"{HEADLINE_COLUMNS}.")
    for c in HEADLINE_COLUMNS:
        if c not in df.columns:
            df[c] = _HEADLINE_DEFAULTS.get(c, np.nan)
    df = df[HEADLINE_COLUMNS]
    if df["model"].map(lambda m: not isinstance(m, str) or not m).any():
        raise InvalidParameterError("headline: every row needs a non-empty model name.")
    bad = sorted(set(df["labels_given"]) - set(LABELS_GIVEN), key=str)
    if bad:
        raise InvalidParameterError(
            f"headline: labels_given {bad} not among {LABELS_GIVEN} ('none': the model sees "
            "only the spectrum; 'Teff/[M/H]': it is given the true Teff and/or [M/H]; "
            "'log g': it is given the answer).")
    for c in ("noise_level", "r2", "r2_lo", "r2_hi", "reference"):
        try:
            df[c] = df[c].astype(float)
        except (TypeError, ValueError) as exc:
            raise InvalidParameterError(f"headline column {c!r} must be numeric ({exc}).") from exc
    if (df["noise_level"] < 0).any() or df["noise_level"].isna().any():
        raise InvalidParameterError("headline: noise_level must be a number ≥ 0 in every row.")
    ok = df["r2_lo"].isna() | df["r2_hi"].isna() | (df["r2_lo"] <= df["r2_hi"])
    if not ok.all():
        raise InvalidParameterError("headline: r2_lo must not exceed r2_hi.")
    if df.duplicated(["model", "noise_level", "subset"]).any():
        raise InvalidParameterError("headline: (model, noise_level, subset) must be unique.")
    return df.reset_index(drop=True)


#: Columns of a record's ``headline`` table (``reference``: the original study's value;
#: ``labels_given``: what the model is told besides the spectrum, one of :data:`LABELS_GIVEN`).
HEADLINE_COLUMNS = ["model", "noise_level", "subset", "labels_given", "r2", "r2_lo", "r2_hi",
                    "reference"]
HEADLINE_REQUIRED = ["model", "noise_level", "r2"]
#: The headline's ``subset`` of a model scored on every test star (the ceiling's set).
ALL_TEST_STARS = "all test stars"
#: What a headline model is given besides the spectrum and its error array: nothing (it is
#: deployable), the true Teff and/or [M/H] (compare it with the ceiling at known Teff and
#: [M/H]), or the true log g itself (an oracle of the target: never compared with a ceiling).
LABELS_GIVEN = ("none", "Teff/[M/H]", "log g")
_HEADLINE_DEFAULTS = {"subset": ALL_TEST_STARS, "labels_given": "none"}


def headline_row(model: str, noise_level: float, r2: float, ci: tuple[float, float] | None = None,
                 *, subset: str = ALL_TEST_STARS, labels_given: str = "none",
                 reference: float = math.nan) -> dict[str, Any]:
    """One row of a record's headline table.

    Parameters
    ----------
    model : str
        The model's name as the book shows it.
    noise_level, r2 : float
        Noise level of the test flux and the test R² of log g.
    ci : (float, float), optional
        The 95% bootstrap interval of R².
    subset : str, default "all test stars"
        The test stars scored; anything else (e.g. ``"covered test stars"``) keeps the row
        out of comparisons with the ceiling of the whole test set.
    labels_given : {"none", "Teff/[M/H]", "log g"}, default "none"
        What the model is told besides the spectrum (:data:`LABELS_GIVEN`).
    reference : float, optional
        The original study's value for this row.
    """
    lo, hi = (math.nan, math.nan) if ci is None else (float(ci[0]), float(ci[1]))
    return {"model": model, "noise_level": float(noise_level), "subset": subset,
            "labels_given": labels_given, "r2": float(r2), "r2_lo": lo, "r2_hi": hi,
            "reference": float(reference)}


def headline_from_r2(r2: Mapping[str, Any], noise_level: float,
                     labels_given: Mapping[str, str] | None = None) -> list[dict[str, Any]]:
    """Headline rows of ``{model: r2}`` or ``{scheme: {gate: r2}}`` at one noise level.

    ``labels_given`` maps a row's model name (``"scheme · gate"`` for nested dicts) or its
    outer key to what it is given (:data:`LABELS_GIVEN`); unnamed rows get ``"none"``.
    """
    given = dict(labels_given or {})
    rows, names = [], set()
    for name, value in r2.items():
        pairs = value.items() if isinstance(value, Mapping) else [("", value)]
        names.add(str(name))
        for gate, v in pairs:
            model = f"{name} · {gate}" if gate else str(name)
            names.add(model)
            rows.append(headline_row(model, noise_level, v,
                                     labels_given=given.get(model, given.get(str(name), "none"))))
    _refuse_unknown_models(given, names)
    return rows


def _refuse_unknown_models(given: Mapping[str, str], names: set[str]) -> None:
    unknown = sorted(set(given) - names)
    if unknown:  # a renamed model must not silently lose what it is given
        raise InvalidParameterError(f"labels_given names models {unknown} that are not among "
                                    f"the headline's models {sorted(names)}.")


def headline_per_level(levels: Sequence[float], series: Mapping[str, Sequence[float]],
                       labels_given: Mapping[str, str] | None = None) -> list[dict[str, Any]]:
    """Headline rows of ``{model: [r2 per level]}`` over ``levels`` (``labels_given`` by model)."""
    given = dict(labels_given or {})
    _refuse_unknown_models(given, set(series))
    return [headline_row(model, lv, v, labels_given=given.get(model, "none"))
            for model, values in series.items() for lv, v in zip(levels, values, strict=True)]


def _is_seed(x: Any) -> bool:
    if isinstance(x, Mapping):
        return bool(x) and all(_is_seed(v) for v in x.values())
    if isinstance(x, list | tuple | np.ndarray):
        return len(x) > 0 and all(_is_seed(v) for v in x)
    return isinstance(x, int | np.integer) and not isinstance(x, bool | np.bool_)


def _check_params(params: Any) -> None:
    if not isinstance(params, Mapping):
        raise InvalidParameterError(f"params must be a dict; got {type(params).__name__}.")
    keys = [k for k in params if isinstance(k, str) and re.search("seed|random_state", k.lower())]
    if not keys:
        raise InvalidParameterError(
            f"params has no seed (keys: {sorted(map(str, params))}); every seed the notebook uses "
            f"must be recorded: add params['seed'] = <int> (or 'seeds', '<purpose>_seed').")
    for k in keys:
        if not _is_seed(params[k]):
            raise InvalidParameterError(f"params[{k!r}] = {params[k]!r} is not a seed: give an "
                                        f"int or a list/dict of ints (None cannot be reproduced).")


def _check_dataset(dataset: Any) -> None:
    ok = isinstance(dataset, Mapping) and (
        (isinstance(dataset.get("sha256"), str)
         and re.fullmatch(r"[0-9a-f]{64}", dataset["sha256"]) is not None)
        or (isinstance(dataset.get("generator"), Mapping) and bool(dataset["generator"])))
    if not ok:
        raise InvalidParameterError(f"dataset must identify the data: results.file_identity(path) "
                                    f"or {{'generator': {{settings}}}}; got {dataset!r}.")


def file_identity(path: str | os.PathLike[str]) -> dict[str, Any]:
    """``{"path", "sha256", "size_bytes"}`` of a data file; path relative to the repo if inside."""
    p = Path(path)
    digest = hashlib.sha256()
    try:
        with p.open("rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)
    except FileNotFoundError as exc:
        raise DataFileNotFoundError(f"dataset file {p} does not exist; check the path.") from exc
    try:
        shown = p.resolve().relative_to(_repo_root()).as_posix()
    except ValueError:
        shown = p.as_posix()
    return {"path": shown, "sha256": digest.hexdigest(), "size_bytes": p.stat().st_size}


# --------------------------------------------------------------------------- writing
def _utcnow() -> datetime:
    return datetime.now(UTC)


def _git(*args: str) -> str | None:
    try:
        out = subprocess.run(["git", "-C", str(_repo_root()), *args], capture_output=True,
                             text=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def _provenance() -> dict[str, Any]:
    import moehelpers

    commit = _git("rev-parse", "HEAD")
    status = _git("status", "--porcelain", "--untracked-files=no") if commit else None
    return {"created_utc": _utcnow().astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "git_commit": commit, "git_dirty": None if status is None else bool(status),
            "moehelpers": moehelpers.__version__, "numpy": np.__version__,
            "pandas": pd.__version__, "python": platform.python_version(),
            "platform": f"{platform.system()}-{platform.machine()}"}


def content_hash(rec: Mapping[str, Any]) -> str:
    """SHA-256 (hex) of the canonical JSON of a record without ``provenance``/``content_hash``."""
    body = {k: v for k, v in rec.items() if k not in _NOT_CONTENT}
    return hashlib.sha256(_canonical(_encode(body, "record")).encode("utf-8")).hexdigest()


def record(mvp_id: str, *, run: str, params: Mapping[str, Any], dataset: Mapping[str, Any],
           metrics: Mapping[str, Any], tables: Mapping[str, pd.DataFrame] | None = None,
           verdicts: Mapping[str, Any] | Sequence[Mapping[str, Any]] | None = None,
           notes: str | None = None, runs_dir: str | os.PathLike[str] | None = None,
           overwrite: bool = True, headline: Any = None,
           wall_seconds: float | None = None, require_facts: bool = False,
           timings: Mapping[str, Any] | None = None) -> Path:
    """Write the result record of one notebook run atomically; return its path.

    Parameters
    ----------
    mvp_id, run : str
        MVP id (e.g. ``"MVP-1.2"``) and run name (e.g. ``"default"``).
    params : dict
        Every notebook parameter, with at least one seed key (``seed``, ``seeds``,
        ``<purpose>_seed``, ``random_state``) holding ints.
    dataset : dict
        :func:`file_identity` (path + sha256) or ``{"generator": {settings}}``.
    metrics : dict
        Nested dict of numbers; numpy scalars/arrays allowed; NaN/inf kept.
    tables : dict of str to DataFrame, optional
        Tables for the book (dtypes, column order, index round-trip).
    verdicts : dict or list, optional
        ``{name: verdict(...)}`` or a list of :func:`verdict` results; ``passed`` is rechecked.
    notes : str, optional
        Free text.
    runs_dir : path, optional
        Root of all runs (default ``$MOE_RUNS_DIR``, else ``<repo>/runs``).
    overwrite : bool, default=True
        Replace a record of this (run, MVP) whose params or dataset differ.
    headline : list of dict or DataFrame, optional
        The main models' R² (:func:`headline_row`), stored as the table ``"headline"`` after
        schema validation; the hub reads R² from nowhere else. The notebook front end
        (:meth:`moehelpers.book.notebook.Context.record`) requires it.
    wall_seconds : float, optional
        Wall time of the notebook, kept in ``provenance`` (``wall_seconds``): a timing is
        not a result, so it stays out of the content hash and of the determinism check.
    timings : dict, optional
        Seconds of stages of the notebook (numbers or lists of numbers), kept in
        ``provenance["timings"]`` beside ``wall_seconds``: never a metric, so a record's
        content depends only on its inputs.
    require_facts : bool, default=False
        Refuse a record that lacks a fact the registry declares for ``mvp_id``
        (:data:`moehelpers.records.registry.FACTS`: the numbers the hub quotes). The
        notebook front end sets it, so a renamed metric fails the notebook, not the page.

    Returns
    -------
    pathlib.Path
        ``<runs_dir>/<run>/records/<mvp_id>.json``.
    """
    path = record_path(run, mvp_id, runs_dir)
    _check_params(params)
    _check_dataset(dataset)
    if notes is not None and not isinstance(notes, str):
        raise InvalidParameterError(f"notes must be a str or None; got {type(notes).__name__}.")
    tables = {} if tables is None else dict(tables)
    if not isinstance(metrics, Mapping) or not isinstance(tables, Mapping):
        raise InvalidParameterError("metrics must be a dict and tables a dict of DataFrames.")
    if headline is not None:
        if "headline" in tables:
            raise InvalidParameterError("pass the headline either as headline= or as a table, "
                                        "not both.")
        tables["headline"] = _check_headline(headline)
    elif "headline" in tables:
        tables["headline"] = _check_headline(tables["headline"])
    if require_facts:
        missing = registry.missing_facts(mvp_id, dict(metrics))
        if missing:
            raise InvalidParameterError(
                f"{mvp_id}: metrics lack the declared fact(s) "
                f"{', '.join(f'{f.name!r} ({f.label})' for f in missing)} that the hub quotes; "
                "write them (NaN when not evaluable) or change "
                "moehelpers.records.registry.FACTS together with the pages that read them.")
    checked_verdicts = _check_verdicts(verdicts)
    _check_hypotheses(mvp_id, checked_verdicts)
    body: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION, "mvp_id": mvp_id, "run": run,
        "params": _encode(params, "params"), "dataset": _encode(dataset, "dataset"),
        "metrics": _encode(metrics, "metrics", numeric=True),
        "tables": {str(k): _encode_table(v, str(k)) for k, v in tables.items()},
        "verdicts": _encode(checked_verdicts, "verdicts"), "notes": notes,
    }
    if not overwrite:
        _refuse_collision(path, body)
    body["content_hash"] = content_hash(body)
    text = json.dumps(body, sort_keys=True, indent=1, ensure_ascii=False, allow_nan=False)
    provenance = _provenance()
    if wall_seconds is not None:
        provenance["wall_seconds"] = round(float(wall_seconds), 3)
    if timings:
        provenance["timings"] = _encode(dict(timings), "timings", numeric=True)
    prov = json.dumps({"provenance": provenance}, sort_keys=True, indent=1)
    _atomic_write(path, text[:-2] + ",\n" + prov[2:] + "\n")
    return path


def _refuse_collision(path: Path, body: Mapping[str, Any]) -> None:
    folder = path.parent
    clash = [p.name for p in (folder.glob("*.json") if folder.is_dir() else [])
             if p.stem.casefold() == path.stem.casefold() and p.name != path.name]
    if path.is_file():
        try:
            old = json.loads(path.read_text(encoding="utf-8"))
            clash += [k for k in ("params", "dataset") if _canonical(old[k]) != _canonical(body[k])]
        except (OSError, ValueError, KeyError, TypeError):
            clash.append("unreadable existing record")
    if clash:
        raise InvalidParameterError(f"{path} already holds a different experiment (differs in: "
                                    f"{clash}); use a new run name, or overwrite=True on purpose.")


def _atomic_write(path: Path, text: str) -> None:
    tmp: str | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
        tmp = None
    except OSError as exc:
        raise ResultsWriteError(
            f"could not write result record {path}: {exc.strerror or exc}. Fix: free disk space "
            f"or make {path.parent} writable, or write elsewhere with runs_dir=... or "
            f"${RUNS_DIR_ENV}. No partial record was left."
        ) from exc
    finally:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)


# --------------------------------------------------------------------------- reading
def _read(path: Path, verify: bool = True) -> dict[str, Any]:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise DataFileNotFoundError(f"no result record at {path}; run its notebook first (runs "
                                    f"present: {list_runs(path.parents[2])}).") from exc
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise RecordCorruptError(f"result record {path} is unreadable ({exc}); delete it and "
                                 f"re-run its notebook.") from exc
    missing = [k for k in _REQUIRED if not isinstance(raw, dict) or k not in raw]
    problem = f"it lacks {missing}" if missing else None
    if not problem and not (isinstance(raw["schema_version"], int)
                            and raw["schema_version"] <= SCHEMA_VERSION):
        problem = f"schema {raw['schema_version']!r} is not <= {SCHEMA_VERSION}: update moehelpers"
    elif not problem and (raw["run"], raw["mvp_id"]) != (path.parents[1].name, path.stem):
        problem = f"it holds run {raw['run']!r}, MVP {raw['mvp_id']!r}: it was moved or copied"
    elif not problem and verify and content_hash(raw) != raw["content_hash"]:
        problem = "its content does not match content_hash: it was edited by hand"
    if problem:
        raise RecordCorruptError(f"result record {path} is invalid: {problem}. Re-run its "
                                 f"notebook to regenerate it.")
    return _decode(raw)


def load_record(run: str, mvp_id: str, runs_dir: str | os.PathLike[str] | None = None,
                verify: bool = True) -> dict[str, Any]:
    """Read one record (NaN/inf restored); ``verify`` checks its ``content_hash``."""
    return _read(record_path(run, mvp_id, runs_dir), verify)


def list_runs(runs_dir: str | os.PathLike[str] | None = None) -> list[str]:
    """Sorted names of the runs that have a ``records`` folder (empty if none)."""
    root = resolve_runs_dir(runs_dir)
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir()
                  if _NAME_RE.fullmatch(p.name) and (p / "records").is_dir())


def load_records(runs_dir: str | os.PathLike[str] | None = None, run: str | None = None,
                 skip_bad: bool = False) -> list[dict[str, Any]]:
    """All records (of one ``run`` or of every run), sorted by (run, mvp_id).

    A bad file raises :class:`RecordCorruptError` naming it; with ``skip_bad=True`` it is
    skipped with a warning instead (the book build keeps the default: no silent gaps).
    """
    runs = [_check_name(run, "run name")] if run is not None else list_runs(runs_dir)
    root = resolve_runs_dir(runs_dir)
    if run is not None and not (root / run / "records").is_dir():
        raise DataFileNotFoundError(f"run {run!r} has no records under {root}; runs present: "
                                    f"{list_runs(runs_dir)}.")
    out = []
    for name in runs:
        for path in sorted((root / name / "records").glob("*.json")):
            if path.name.startswith("."):
                continue
            try:
                out.append(_read(path))
            except RecordCorruptError as exc:
                if not skip_bad:
                    raise
                warnings.warn(f"skipped: {exc}", stacklevel=2)
    return out


def _flatten(obj: Any, prefix: str) -> list[tuple[str, Any]]:
    if isinstance(obj, dict):
        return [kv for k, v in obj.items() for kv in _flatten(v, f"{prefix}.{k}" if prefix else k)]
    if isinstance(obj, list):
        return [kv for i, v in enumerate(obj) for kv in _flatten(v, f"{prefix}[{i}]")]
    return [(prefix, obj)]


def metrics_table(records: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """Long table ``run, mvp_id, metric, value``; paths dotted, array items as ``name[i]``."""
    rows = [(r["run"], r["mvp_id"], path, float(v))
            for r in records for path, v in _flatten(r["metrics"], "")]
    return pd.DataFrame(rows, columns=["run", "mvp_id", "metric", "value"]).astype(
        {"value": "float64"})


def verdicts_table(records: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """Table ``run, mvp_id, verdict, rule, op, value, threshold, passed`` (nullable bool)."""
    cols = ["rule", "op", "value", "threshold", "passed"]
    rows = [(r["run"], r["mvp_id"], name, *(float(v[c]) if c in ("value", "threshold") else v[c]
                                             for c in cols))
            for r in records for name, v in r["verdicts"].items()]
    df = pd.DataFrame(rows, columns=["run", "mvp_id", "verdict", *cols])
    return df.astype({"value": "float64", "threshold": "float64", "passed": "boolean"})


def table(rec: Mapping[str, Any], name: str) -> pd.DataFrame:
    """The table ``name`` of a loaded record as a DataFrame (dtypes and order restored)."""
    if name not in rec["tables"]:
        raise InvalidParameterError(f"record {rec['run']}/{rec['mvp_id']} has no table {name!r}; "
                                    f"available: {sorted(rec['tables'])}.")
    return _decode_table(rec["tables"][name])
