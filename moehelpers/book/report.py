"""Computed text for notebook pages: verdict boxes and captioned tables.

Every sentence that states a number is built here from result values, so no number
is typed into a page by hand.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["ci_table", "fmt", "ours_vs_reference", "table_html", "verdict_markdown"]


def fmt(value: Any, digits: int = 3, *, fixed: bool = False) -> str:
    """Number → short text (``nan`` → ``n/a``; ints stay ints).

    Magnitudes below ``10**-digits`` or from ``1e4`` are written in scientific notation,
    unless ``fixed``: a difference of scores then reads ``0.0000`` when it is zero at the
    shown precision (two fits of the same model differ by rounding, 1e-16, which in
    scientific notation looks like a result).
    """
    if value is None:
        return "n/a"
    if isinstance(value, int | np.integer):
        return str(int(value))
    v = float(value)
    if not np.isfinite(v):
        return "n/a"
    if not fixed and v != 0 and (abs(v) >= 1e4 or abs(v) < 10 ** (-digits)):
        return f"{v:.{max(digits - 1, 1)}e}"
    text = f"{v:.{digits}f}"
    return text[1:] if text.startswith("-") and not text.strip("-0.") else text  # no "-0.000"


def verdict_markdown(verdicts: Iterable[Mapping[str, Any]], title: str = "Verdict") -> str:
    """A Markdown admonition listing each rule, the measured value and pass/fail.

    ``verdicts`` are the dicts made by :func:`moehelpers.records.store.verdict`.
    """
    lines = [f"```{{admonition}} {title}", ":class: tip", ""]
    lines += ["| rule | measured | threshold | outcome |", "|---|---|---|---|"]
    for v in verdicts:
        passed = v.get("passed")
        outcome = "**holds**" if passed else ("not evaluable" if passed is None else "**fails**")
        lines.append(f"| {v.get('rule') or v.get('name')} | {fmt(v.get('value'), 4)} | "
                     f"{v.get('op', '')} {fmt(v.get('threshold'), 4)} | {outcome} |")
    lines.append("```")
    return "\n".join(lines)


def table_html(df: pd.DataFrame, caption: str = "", digits: int = 4,
               fixed: Iterable[str] = ()) -> str:
    """Compact HTML table with a caption; floats rounded for reading only.

    ``fixed``: columns shown in fixed point whatever their magnitude (differences of
    scores, see :func:`fmt`).
    """
    shown = df.copy()
    fixed = set(fixed)
    for col in shown.columns:
        if pd.api.types.is_float_dtype(shown[col]):
            shown[col] = shown[col].map(lambda x, f=col in fixed: fmt(x, digits, fixed=f))
    html = shown.to_html(index=False, escape=True, border=0, classes="table")
    if caption:  # after the opening tag, whatever attributes this pandas version writes
        html = re.sub(r"<table\b[^>]*>", lambda m: f"{m.group(0)}<caption>{caption}</caption>",
                      html, count=1)
    return html


def ci_table(df: pd.DataFrame, metrics: Iterable[str] = ("r2", "mae", "rmse"),
             digits: int = 3) -> pd.DataFrame:
    """Display copy of ``df`` with ``m``, ``m_lo``, ``m_hi`` merged into ``"m [lo, hi]"`` text."""
    out = df.copy()
    for m in metrics:
        if {m, f"{m}_lo", f"{m}_hi"} <= set(out.columns):
            out[m] = [f"{fmt(v, digits)} [{fmt(lo, digits)}, {fmt(hi, digits)}]"
                      for v, lo, hi in zip(out[m], out[f"{m}_lo"], out[f"{m}_hi"], strict=True)]
            out = out.drop(columns=[f"{m}_lo", f"{m}_hi"])
    return out


def ours_vs_reference(ours: Mapping[str, Any], reference: Mapping[str, Any],
                      labels: Mapping[str, str], reference_label: str) -> pd.DataFrame:
    """Table ``quantity | ours | <reference_label>``, one row per key of ``labels`` (in order).

    Parameters
    ----------
    ours, reference : mapping
        Values by key; every key of ``labels`` must be in both.
    labels : mapping
        Key → the row's display name.
    reference_label : str
        Name of the reference column.

    Returns
    -------
    pandas.DataFrame
    """
    return pd.DataFrame({"quantity": list(labels.values()),
                         "ours": [ours[k] for k in labels],
                         reference_label: [reference[k] for k in labels]})
