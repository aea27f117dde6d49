"""Where things live: the repository root, the runs folder, the default data.

Every location can be overridden by an environment variable so that tests and
users can redirect output without touching code:

``MOE_RUNS_DIR``  folder holding ``<run>/records`` and ``<run>/notebooks``
``MOE_DATA_DIR``  folder holding the default dataset splits
``MOE_STATS_DIR`` folder of the sufficient-statistics cache (:mod:`moehelpers.engine.store`)
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from moehelpers.errors import InvalidParameterError

__all__ = [
    "check_name",
    "default_data_dir",
    "notebooks_dir",
    "repo_root",
    "runs_dir",
    "stats_dir",
]

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")


def repo_root() -> Path:
    """The project root: the folder above the installed ``moehelpers`` package.

    The package is installed editable, so this is the git checkout. Falls back to
    the current directory when the package was installed elsewhere.
    """
    here = Path(__file__).resolve().parent.parent
    if (here / "pyproject.toml").is_file() or (here / "_config.yml").is_file():
        return here
    return Path.cwd()


def runs_dir() -> Path:
    """Folder of all runs (``$MOE_RUNS_DIR`` or ``<repo>/runs``)."""
    env = os.environ.get("MOE_RUNS_DIR")
    return Path(env) if env else repo_root() / "runs"


def default_data_dir(kind: str = "physical") -> Path:
    """Folder of the default dataset (``$MOE_DATA_DIR`` or ``<repo>/data/default``).

    ``kind="normalized"``: its continuum-normalised twin, the same folder name with
    ``-normalized`` appended (``data/default-normalized``).
    """
    env = os.environ.get("MOE_DATA_DIR")
    root = Path(env) if env else repo_root() / "data" / "default"
    return root if kind == "physical" else root.with_name(f"{root.name}-{kind}")


def stats_dir() -> Path:
    """Folder of the statistics cache (``$MOE_STATS_DIR`` or ``<repo>/data/cache/stats``).

    ``data/cache/`` is git-ignored; entries are shared by every notebook of every run.
    """
    env = os.environ.get("MOE_STATS_DIR")
    return Path(env) if env else repo_root() / "data" / "cache" / "stats"


def notebooks_dir() -> Path:
    """Folder of the source notebooks (outputs stripped)."""
    return repo_root() / "notebooks"


def check_name(value: str, what: str = "run name") -> str:
    """Validate a run name or experiment id used in file names.

    Raises
    ------
    InvalidParameterError
        If ``value`` has characters other than letters, digits, ``_ . -``,
        starts with a non-alphanumeric character, or is longer than 64.
    """
    if not isinstance(value, str) or not _NAME_RE.match(value):
        raise InvalidParameterError(
            f"Invalid {what} {value!r}: use 1-64 characters from letters, digits, '_', '.', '-', "
            "starting with a letter or digit (e.g. 'noise0.35')."
        )
    return value
