"""Lazy re-exports of a sub-package's public names (PEP 562).

A sub-package's ``__init__`` lists its re-exports as ordinary ``from … import …`` statements
under ``if TYPE_CHECKING:`` (type checkers and IDEs see them) and ends with::

    __getattr__, __dir__ = lazy_exports(__name__)

At run time ``from moehelpers.evaluation import peers_table`` then imports only the module that
defines the name, not every module of the sub-package. That keeps imports light and, above
all, keeps a notebook's execution cache (``book.exec_cache``: the modules its kernel imported)
to what it actually used, so a change to one module re-executes only the notebooks that use it.
The ``TYPE_CHECKING`` block is the single list of re-exports: it is read from the
``__init__``'s source with :mod:`ast` once, on the first lookup.
"""

from __future__ import annotations

import ast
import importlib
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["export_map", "lazy_exports"]


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def export_map(init_file: str | Path) -> dict[str, str]:
    """``{public name: defining module}`` from the ``if TYPE_CHECKING:`` imports of a file."""
    tree = ast.parse(Path(init_file).read_text(encoding="utf-8"))
    out: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for imp in node.body:
                if isinstance(imp, ast.ImportFrom) and imp.module and imp.level == 0:
                    out.update({a.asname or a.name: f"{imp.module}:{a.name}" for a in imp.names})
    return out


def lazy_exports(package: str) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """Module ``__getattr__`` and ``__dir__`` that import each re-exported name on first use.

    Parameters
    ----------
    package : str
        The sub-package's ``__name__``.
    """
    mod = sys.modules[package]
    table: dict[str, str] | None = None

    def _table() -> dict[str, str]:
        nonlocal table
        if table is None:
            table = export_map(str(mod.__file__))
        return table

    def __getattr__(name: str) -> Any:
        target = _table().get(name)
        if target is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        module, attr = target.split(":")
        value = getattr(importlib.import_module(module), attr)
        setattr(mod, name, value)  # later lookups do not come here
        return value

    def __dir__() -> list[str]:
        return sorted({*vars(mod), *_table()})

    return __getattr__, __dir__
