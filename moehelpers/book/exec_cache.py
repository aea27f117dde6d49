"""Resumable, cached notebook execution for :func:`~moehelpers.book.runner.execute_run`.

A notebook is *not* executed again in a run when, since its last successful execution in
that run, none of these changed:

* its source (sha256 of the ``.ipynb`` file) and this cache's format (:data:`CACHE_VERSION`),
* its parameters (the checked values papermill would inject, as canonical JSON),
* the package code it used: the ``moehelpers`` modules its kernel had imported when it
  finished, each with its sha256. The runner appends a hidden probe cell (tagged
  ``remove-cell``, :func:`probe_cell`) that writes them to ``<stem>.modules.json`` beside
  the executed notebook; so a changed package file re-executes exactly the notebooks that
  imported it,
* the data identity: size and mtime of every ``*.h5`` under the default data folder, the
  grid folder and any existing path among the notebook's ``*path*``/``*dir*`` parameters,
  and of the benchmark records (``*.json``) a ``bench_dir`` parameter points to (empty:
  ``benchmarks/results``) — cheap: no file is read,
* its outputs: the executed copy (same sha256) and the record files it wrote still exist.

The state lives in ``runs/<run>/exec_cache.json``; an entry is written right after each
successful execution and removed when a notebook fails, so an interrupted batch resumes
with the notebooks it had not finished. ``execute_run(..., force=True)`` (CLI ``--force``)
ignores the cache.
"""

from __future__ import annotations

import ast
import hashlib
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from moehelpers.paths import default_data_dir, repo_root

__all__ = ["CACHE_NAME", "CACHE_VERSION", "JSON_INPUT_DIRS", "ExecCache", "data_identity",
           "modules_file", "probe_cell", "sha256_file"]

CACHE_VERSION = 1
CACHE_NAME = "exec_cache.json"
PROBE_TAG = "moehelpers-exec-cache"

_PROBE = '''\
# moehelpers execution cache: which package modules this notebook used (hidden in the book)
def _moe_exec_cache_probe(target):
    import hashlib, json, sys
    found = {{}}
    for name, module in list(sys.modules.items()):
        file = getattr(module, "__file__", None)
        if file and (name == "moehelpers" or name.startswith("moehelpers.")):
            with open(file, "rb") as fh:
                found[file] = hashlib.sha256(fh.read()).hexdigest()
    with open(target, "w") as fh:
        json.dump({{"modules": dict(sorted(found.items()))}}, fh, indent=1)
_moe_exec_cache_probe({target!r})
del _moe_exec_cache_probe
'''


def sha256_file(path: Path) -> str | None:
    """sha256 (hex) of a file, or None when it cannot be read."""
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
    except OSError:
        return None
    return digest.hexdigest()


def modules_file(notebook_output: Path) -> Path:
    """``<stem>.modules.json`` beside an executed notebook."""
    return notebook_output.with_name(notebook_output.stem + ".modules.json")


def probe_cell(target: Path) -> Any:
    """The hidden last cell that writes the imported ``moehelpers`` modules to ``target``."""
    import nbformat

    cell = nbformat.v4.new_code_cell(_PROBE.format(target=str(target)))
    cell.metadata["tags"] = ["remove-cell", PROBE_TAG]
    return cell


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str, separators=(",", ":"))


#: Parameters naming a folder of JSON inputs other than datasets, with the folder an empty
#: value means: the scaling page reads the benchmark records, so a new record re-executes it.
JSON_INPUT_DIRS = {"bench_dir": ("benchmarks", "results")}


def data_identity(params: Mapping[str, Any]) -> str:
    """sha256 of the (path, size, mtime) of the data files a notebook may read.

    The ``*.h5`` files under the default data folder, the grid folder and every existing
    ``*path*``/``*dir*`` parameter; for a parameter of :data:`JSON_INPUT_DIRS` (given or
    empty: its default folder) also the ``*.json`` files there.
    """
    roots: list[tuple[Path, str]] = [(default_data_dir(), "*.h5"),
                                     (repo_root() / "data" / "grid", "*.h5")]
    for name, value in sorted(params.items()):
        if not ("path" in name or "dir" in name) or not isinstance(value, str):
            continue
        if value:
            roots.append((Path(value).expanduser(), "*.h5"))
        if name in JSON_INPUT_DIRS:
            roots.append((Path(value).expanduser() if value
                          else repo_root().joinpath(*JSON_INPUT_DIRS[name]), "*.json"))
    rows = []
    for root, pattern in roots:
        files = ([root] if root.is_file() else sorted(root.rglob(pattern)) if root.is_dir()
                 else [])
        for file in files:
            try:
                st = file.stat()
            except OSError:
                continue
            rows.append(f"{file.resolve()} {st.st_size} {st.st_mtime_ns}")
    return hashlib.sha256("\n".join(rows).encode()).hexdigest()


def _literal(source: Any) -> Any:
    """A default as papermill reports it (source text, e.g. ``'""'``) turned into its value."""
    try:
        return ast.literal_eval(source) if isinstance(source, str) else source
    except (ValueError, SyntaxError):
        return source


def _modules_unchanged(modules: Any) -> bool:
    if not isinstance(modules, dict):  # {} is fine: the notebook imported no package code
        return False
    return all(sha256_file(Path(f)) == sha for f, sha in modules.items())


class ExecCache:
    """The cache entries of one run (``runs/<run>/exec_cache.json``)."""

    def __init__(self, run_dir: Path) -> None:
        self.path = Path(run_dir) / CACHE_NAME
        try:
            data = json.loads(self.path.read_text())
        except (OSError, ValueError):
            data = {}
        ok = isinstance(data, dict) and data.get("version") == CACHE_VERSION
        entries = data.get("notebooks") if ok else None
        self.entries: dict[str, dict[str, Any]] = entries if isinstance(entries, dict) else {}

    @staticmethod
    def key(source: Path, params: Mapping[str, Any],
            declared: Mapping[str, Any] | None = None) -> dict[str, str]:
        """What must match: source sha256, parameter JSON sha256, data identity.

        ``declared`` (the notebook's parameters cell, name → {..., "default": ...}): an
        input folder of :data:`JSON_INPUT_DIRS` that the notebook declares but the run does
        not set still counts, with its default value.
        """
        inputs = {name: _literal((declared[name] or {}).get("default", ""))
                  for name in JSON_INPUT_DIRS if declared and name in declared}
        return {"source": sha256_file(source) or "",
                "params": hashlib.sha256(_canonical(dict(params)).encode()).hexdigest(),
                "data": data_identity({**inputs, **params})}

    def reusable(self, stem: str, key: Mapping[str, str], output: Path,
                 records_dir: Path) -> dict[str, Any] | None:
        """The entry of ``stem`` when its last successful execution can be reused, else None."""
        entry = self.entries.get(stem)
        if not isinstance(entry, dict) or entry.get("key") != dict(key):
            return None
        if sha256_file(output) != entry.get("output_sha256"):
            return None
        if not all((records_dir / name).is_file() for name in entry.get("records", [])):
            return None
        return entry if _modules_unchanged(entry.get("modules")) else None

    def store(self, stem: str, key: Mapping[str, str], output: Path, records: list[str],
              seconds: float) -> bool:
        """Record a successful execution; False (nothing stored) without the probe's file."""
        try:
            modules = json.loads(modules_file(output).read_text())["modules"]
        except (OSError, ValueError, KeyError, TypeError):
            self.drop(stem)
            return False
        self.entries[stem] = {"key": dict(key), "output_sha256": sha256_file(output),
                              "records": sorted(records), "modules": modules,
                              "seconds": seconds}
        self._save()
        return True

    def drop(self, stem: str) -> None:
        """Forget ``stem`` (it failed, or is being executed again)."""
        if self.entries.pop(stem, None) is not None:
            self._save()

    def _save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        payload = {"version": CACHE_VERSION, "notebooks": self.entries}
        tmp.write_text(json.dumps(payload, indent=1, sort_keys=True) + "\n")
        os.replace(tmp, self.path)
