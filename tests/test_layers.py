"""The package's layering: no module imports a layer above its own (moehelpers/__init__.py)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import moehelpers

PKG = Path(moehelpers.__file__).parent


def layer_of(module: str) -> str:
    """``moehelpers.engine.ridge`` -> ``engine``; ``moehelpers.errors`` -> ``.``."""
    parts = module.split(".")
    if len(parts) >= 2 and (PKG / parts[1]).is_dir():
        return parts[1]
    return "."


def imports_of(path: Path) -> list[tuple[int, str]]:
    """Every moehelpers module imported by ``path`` (at any depth, lazy imports included)."""
    tree = ast.parse(path.read_text())
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if a.name.startswith("moehelpers")]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "moehelpers":
                found += [(node.lineno, f"moehelpers.{a.name}") for a in node.names]
            elif node.module.startswith("moehelpers"):
                found.append((node.lineno, node.module))
    return found


def module_name(path: Path) -> str:
    rel = path.relative_to(PKG.parent).with_suffix("")
    return ".".join(rel.parts).removesuffix(".__init__")


#: The package root's lazy ``moehelpers.notebook`` and ``python -m moehelpers`` are entry
#: points, not layers: they may reach the top layer.
ENTRY_POINTS = {"moehelpers", "moehelpers.__main__"}
MODULES = sorted(p for p in PKG.rglob("*.py"))


def test_every_module_sits_in_a_declared_layer():
    layers = {layer_of(module_name(p)) for p in MODULES}
    assert layers <= set(moehelpers.LAYERS), layers - set(moehelpers.LAYERS)
    subpackages = {p.name for p in PKG.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert subpackages == set(moehelpers.LAYERS) - {"."}


@pytest.mark.parametrize("path", MODULES, ids=lambda p: module_name(p))
def test_no_upward_import(path):
    mine = layer_of(module_name(path))
    allowed = moehelpers.ALLOWED_IMPORTS[mine] | {mine, "."}
    if module_name(path) in ENTRY_POINTS:
        allowed = set(moehelpers.LAYERS)
    bad = [f"line {ln}: {mod} (layer {layer_of(mod)!r})" for ln, mod in imports_of(path)
           if layer_of(mod) not in allowed]
    assert not bad, f"{module_name(path)} (layer {mine!r}) imports upward: {bad}"


def test_the_walker_sees_an_upward_import(tmp_path):
    # the checker itself must fail on a violation (a lazy import inside a function)
    fake = tmp_path / "m.py"
    fake.write_text("def f():\n    from moehelpers.book.runner import execute_run\n")
    assert imports_of(fake) == [(2, "moehelpers.book.runner")]
    assert layer_of("moehelpers.book.runner") not in moehelpers.ALLOWED_IMPORTS["data"]


def test_subpackages_re_export_their_public_names():
    import importlib

    for layer in moehelpers.LAYERS[1:]:
        if layer == "book":
            continue
        pkg = importlib.import_module(f"moehelpers.{layer}")
        assert pkg.__all__, layer
        for name in pkg.__all__:
            assert hasattr(pkg, name), f"moehelpers.{layer}.{name}"


def test_re_exports_are_lazy_and_complete():
    # one import list per sub-package (its TYPE_CHECKING block) equals __all__, every name is
    # the defining module's object, and importing a sub-package loads none of its modules
    import importlib
    import subprocess
    import sys

    from moehelpers._lazy import export_map

    for layer in [*moehelpers.LAYERS[1:], "models.peers"]:
        if layer == "book":
            continue
        pkg = importlib.import_module(f"moehelpers.{layer}")
        table = export_map(pkg.__file__)
        assert set(table) == set(pkg.__all__), f"moehelpers.{layer}"
        for name, target in table.items():
            module, attr = target.split(":")
            assert getattr(pkg, name) is getattr(importlib.import_module(module), attr)
        assert set(pkg.__all__) <= set(dir(pkg))
        with pytest.raises(AttributeError, match="no attribute 'not_a_name'"):
            pkg.not_a_name  # noqa: B018
    code = ("import sys, moehelpers.evaluation as ev; "
            "print(sorted(m for m in sys.modules if m.startswith('moehelpers.')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert eval(out) == ["moehelpers._lazy", "moehelpers.errors", "moehelpers.evaluation"], out
