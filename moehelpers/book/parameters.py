"""Notebook parameters: one checker for the runner and for the notebook itself.

A notebook declares its parameters in the cell tagged ``parameters``, each with a type
annotation and a comment (``noise_level: float = 0.2  # σ multiplier``). Two callers check
values against that declaration with the same code:

* the runner (:mod:`moehelpers.book.runner`), *before* papermill injects anything, from the
  notebook file (:func:`declared_from_notebook`);
* the notebook itself, in its first code cell (:func:`moehelpers.book.notebook.start`), from
  its own namespace (:func:`declared_from_namespace`) — so plain ``papermill … -p`` and
  JupyterLab get the same checks as the runner.

Checks: the declared type (``float`` accepts ints; ``bool`` is not an int), ``Optional``,
``list[T]``; value ranges by parameter name (:data:`RANGES`: noise levels ≥ 0, sizes ≥ 1,
seeds ≥ 0, α > 0, …); unknown names, with close matches. Every failure is an
:class:`~moehelpers.errors.InvalidParameterError` naming the parameter and its limit.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from moehelpers.data.flux_kind import FLUX_KINDS
from moehelpers.errors import InvalidParameterError, RunnerError

__all__ = [
    "CHOICES",
    "RANGES",
    "Range",
    "check_unknown",
    "check_value",
    "check_values",
    "declared_from_namespace",
    "declared_from_notebook",
    "type_name",
]


@dataclass(frozen=True)
class Range:
    """Allowed interval of a numeric parameter (each element of a list parameter)."""

    low: float | None = None
    high: float | None = None
    low_open: bool = False  # True: value must be > low (not ≥)
    why: str = ""

    def check(self, name: str, value: Any) -> None:
        if isinstance(value, bool) or not isinstance(value, int | float):
            return
        if isinstance(value, float) and not math.isfinite(value):
            raise InvalidParameterError(
                f"Parameter {name!r} must be a finite number; got {value!r}. {self.why}".strip())
        bad_low = self.low is not None and (value <= self.low if self.low_open
                                            else value < self.low)
        bad_high = self.high is not None and value > self.high
        if bad_low or bad_high:
            lo = "" if self.low is None else f"{'>' if self.low_open else '≥'} {self.low:g}"
            hi = "" if self.high is None else f"≤ {self.high:g}"
            limit = " and ".join(p for p in (lo, hi) if p)
            raise InvalidParameterError(
                f"Parameter {name!r} must be {limit}; got {value!r}. {self.why} "
                f"Pass e.g. -p {name} <value {limit}>.".replace("  ", " "))


#: Ranges by parameter name (regular expressions matched against the whole name, first wins).
RANGES: tuple[tuple[str, Range], ...] = (
    (r"(expert_)?noise_levels?|.*_noise(_level)?s?|noise_grid",
     Range(0.0, 10.0, why="A noise level multiplies the error array (0 = noiseless).")),
    (r"alphas?|.*_alphas?", Range(0.0, low_open=True, why="Ridge α must be positive.")),
    (r"(.*_)?seeds?|random_state", Range(0.0, 2**32 - 1, why="Seeds are non-negative ints.")),
    (r"n_boot", Range(1.0, why="The bootstrap needs at least one resample.")),
    (r"n_(train|val|test)(_.*)?|n_stars|n_spectra|n_per_level",
     Range(1.0, why="A split needs at least one star.")),
    (r"min_bin_\w+|n_\w+|k_\w+|max_\w+|.*_epochs|.*_factor|.*_bins?|.*_k",
     Range(0.0, why="Counts are non-negative.")),
    (r".*_frac(tion)?|.*_share|ci", Range(0.0, 1.0, why="A fraction lies in [0, 1].")),
    (r"distortion_amplitude", Range(0.0, 0.5, why="σ of each Legendre coefficient of ln flux "
                                    "(moehelpers.data.flux_kind).")),
)

#: Allowed values of string parameters, by name.
CHOICES: dict[str, tuple[str, ...]] = {"flux_kind": FLUX_KINDS}

_SCALARS: dict[str, tuple[type, ...]] = {
    "float": (float, int), "int": (int,), "str": (str,), "bool": (bool,),
}


def type_name(annotation: Any) -> str:
    """``float`` → ``"float"``, ``list[float]`` → ``"list[float]"``, ``str | None`` → …"""
    if isinstance(annotation, str):
        return annotation.replace(" ", "")
    if isinstance(annotation, type) and not getattr(annotation, "__args__", None):
        return annotation.__name__
    return re.sub(r"\btyping\.|\bbuiltins\.", "", str(annotation)).replace(" ", "")


def _range_for(name: str) -> Range | None:
    for pattern, rng in RANGES:
        if re.fullmatch(pattern, name):
            return rng
    return None


def check_value(name: str, value: Any, declared: str) -> Any:
    """``value`` coerced to the declared type and range-checked, else InvalidParameterError."""
    declared = declared.replace(" ", "")
    optional = declared.startswith("Optional[") or declared.endswith("|None") or \
        declared.startswith("None|")
    if optional:
        if value is None:
            return None
        declared = (declared.removeprefix("Optional[").removesuffix("]") if
                    declared.startswith("Optional[") else
                    declared.removesuffix("|None").removeprefix("None|"))
    out: Any = _MISSING
    if declared in _SCALARS:
        if isinstance(value, _SCALARS[declared]) and not (
                declared != "bool" and isinstance(value, bool)):
            out = float(value) if declared == "float" else value
    elif declared.startswith(("list[", "tuple[")) and isinstance(value, list | tuple):
        inner = declared[declared.index("[") + 1:-1]
        return [_check_element(name, i, v, inner) for i, v in enumerate(value)]
    elif declared in ("list", "tuple") and isinstance(value, list | tuple):
        if all(isinstance(v, int | float | str | bool) for v in value):
            out = list(value)
    if out is _MISSING:
        raise InvalidParameterError(
            f"Parameter {name!r} must be {declared}; got {value!r} ({type(value).__name__}). "
            f"Pass a literal of that type (e.g. -p {name} ... on the command line).")
    rng = _range_for(name)
    if rng is not None and not isinstance(out, list):
        rng.check(name, out)
    if name in CHOICES and out not in CHOICES[name]:
        raise InvalidParameterError(
            f"Parameter {name!r} must be one of {', '.join(map(repr, CHOICES[name]))}; got "
            f"{out!r}. Pass e.g. -p {name}={CHOICES[name][-1]}.")
    return out


def _check_element(name: str, i: int, value: Any, inner: str) -> Any:
    try:
        out = check_value(name, value, inner)
    except InvalidParameterError as exc:
        raise InvalidParameterError(str(exc).replace(f"Parameter {name!r}",
                                                     f"Parameter '{name}[{i}]'", 1)) from None
    return out


class _Missing:
    pass


_MISSING = _Missing()


def check_unknown(names: Mapping[str, Any] | list[str], declared: Mapping[str, Any],
                  where: str) -> None:
    """Raise for names that ``declared`` does not hold (close matches, then the full list)."""
    for name in names:
        if name not in declared:
            close = difflib.get_close_matches(name, list(declared), n=3)
            hint = f" Did you mean {', '.join(map(repr, close))}?" if close else ""
            raise InvalidParameterError(
                f"Unknown parameter {name!r} for {where}.{hint} Its parameters are: "
                f"{', '.join(sorted(declared))}.")


def check_values(declared: Mapping[str, Mapping[str, Any]], values: Mapping[str, Any],
                 where: str) -> dict[str, Any]:
    """Check ``values`` (a subset of the declared names) against ``declared``.

    ``declared`` maps name → ``{"type": "float", ...}`` (either source below).
    """
    check_unknown(list(values), declared, where)
    return {n: check_value(n, v, str(declared[n]["type"])) for n, v in values.items()}


def declared_from_notebook(path: Path) -> dict[str, dict[str, Any]]:
    """Declared parameters of a notebook file: name → {type, default, help}.

    Reads the cell tagged ``parameters`` (papermill's inspection); every parameter must
    carry a type annotation.
    """
    import papermill

    raw = papermill.inspect_notebook(str(path))
    if not raw:
        raise RunnerError(f"{Path(path).name} has no cell tagged 'parameters'; tag the "
                          "defaults cell.")
    untyped = [n for n, info in raw.items() if info["inferred_type_name"] in ("None", "")]
    if untyped:
        raise RunnerError(f"{Path(path).name}: parameters without a type annotation: "
                          f"{', '.join(untyped)} (write e.g. `{untyped[0]}: float = 0.2`).")
    return {name: {"type": info["inferred_type_name"], "default": info["default"],
                   "help": info.get("help", "")} for name, info in raw.items()}


def declared_from_namespace(namespace: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Declared parameters of a running notebook: its annotated top-level names.

    The ``parameters`` cell's annotated assignments are the only annotations a notebook
    makes at top level, so ``__annotations__`` of the kernel's namespace declares them.
    """
    ann = namespace.get("__annotations__") or {}
    return {name: {"type": type_name(tp), "default": None, "help": ""}
            for name, tp in ann.items()}
