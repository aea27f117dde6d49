"""Numbers and one-line sentences the hub pages take from result records.

Every function here reads loaded records (``{mvp_id: record}`` of one run) and returns text
or a table; a missing record gives ``None`` (the page then says *not run yet*) and a record
lacking a field gives a sentence naming the field, never an exception (see :func:`safe`).
Metrics are read only through :func:`m`, and only the facts the registry declares
(:data:`moehelpers.records.registry.FACTS`): no record key is known here that the registry
does not name, with its label and unit.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from moehelpers.book.report import fmt
from moehelpers.evaluation.ceiling import BAYES_CEILING_MODEL, CEILING_MODEL
from moehelpers.records import references, registry
from moehelpers.records.registry import declared_fact

__all__ = ["CEILING_MODEL", "conclusion", "declared_facts_text", "headline", "is_ceiling", "m",
           "noise_of", "safe", "verdict_summary"]

log = logging.getLogger(__name__)
Records = Mapping[str, Mapping[str, Any]]
ORIG = references.ORIGINAL


def safe(fn: Callable[..., str | None], *args: Any) -> str | None:
    """Call ``fn``; a record that lacks what it needs gives a sentence, not a crash."""
    try:
        return fn(*args)
    except (KeyError, IndexError, TypeError, ValueError) as exc:
        log.warning("hub: %s could not read a record field (%r)", fn.__name__, exc)
        return f"*the record lacks a field this summary needs ({exc!r}); re-run its notebook*"


def m(rec: Mapping[str, Any], path: str) -> Any:
    """A declared fact of a record by dotted path (``"delta_r2.pseudo"``).

    Only facts that :data:`moehelpers.records.registry.FACTS` declares for the record's MVP
    can be read (else :class:`~moehelpers.errors.UndeclaredFactError`, which no page
    swallows); a declared one that an old record lacks raises KeyError (a sentence on the
    page, see :func:`safe`).
    """
    top, *rest = path.split(".")
    declared_fact(rec["mvp_id"], top)
    value: Any = rec["metrics"][top]
    for key in rest:
        value = value[key]
    return value


def ci(value: Any, lo: Any, hi: Any, digits: int = 3) -> str:
    """``0.065 [0.042, 0.089]``."""
    return f"{fmt(value, digits)} [{fmt(lo, digits)}, {fmt(hi, digits)}]"


def pct(value: Any) -> str:
    """Share as a percentage (``1.036`` → ``104%``)."""
    v = float(value)
    return "n/a" if not np.isfinite(v) else f"{100 * v:.0f}%"


def noise_of(rec: Mapping[str, Any]) -> float | None:
    """The single noise level a record was run at (None for multi-level records)."""
    p = rec.get("params", {})
    if "noise_level" in p:
        return float(p["noise_level"])
    levels = p.get("noise_levels") or p.get("expert_noise_levels")
    return float(levels[0]) if levels and len(levels) == 1 else None


def verdict_summary(rec: Mapping[str, Any]) -> str:
    """``3 of 5 rules hold`` (not evaluable ones counted apart)."""
    vs = list(rec.get("verdicts", {}).values())
    judged = [v for v in vs if v.get("passed") is not None]
    text = f"{sum(bool(v['passed']) for v in judged)} of {len(judged)} rules hold"
    if len(judged) < len(vs):
        text += f", {len(vs) - len(judged)} not evaluable"
    return text


# ------------------------------------------------------------------ headline models


def is_ceiling(model: str) -> bool:
    """True for the ceiling rows (bounds, not models)."""
    return model in (CEILING_MODEL, BAYES_CEILING_MODEL)


HEADLINE_COLUMNS = ["mvp_id", "model", "noise_level", "subset", "labels_given", "r2", "r2_lo",
                    "r2_hi", "original"]


def headline(rec: Mapping[str, Any]) -> pd.DataFrame:
    """The main models of a record: ``model, noise_level, subset, labels_given, r2, …, original``.

    Read from the record's own ``headline`` table, which the notebook declares and the record
    store validates on write (:func:`moehelpers.records.store.headline_row`); nothing here
    knows any MVP. A record without one (schema 1) has no headline; one written before
    ``labels_given`` existed (schema 2) reads as ``"none"`` there.
    """
    from moehelpers.records.store import table

    if "headline" not in rec.get("tables", {}):
        out = pd.DataFrame(columns=HEADLINE_COLUMNS)
        out["mvp_id"] = out["mvp_id"].astype(object)
        return out
    own = table(rec, "headline").rename(columns={"reference": "original"})
    out = own.reindex(columns=HEADLINE_COLUMNS[1:])
    out["labels_given"] = out["labels_given"].fillna("none")
    out.insert(0, "mvp_id", rec["mvp_id"])
    return out.reset_index(drop=True)


# ------------------------------------------------------------ one-line conclusions
def _fact_text(value: Any) -> str:
    """A fact's value as text: numbers by :func:`fmt`, lists and dicts item by item."""
    if isinstance(value, Mapping):
        return ", ".join(f"{k} {_fact_text(v)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return ", ".join(_fact_text(v) for v in value)
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        return str(value)
    return fmt(value)


def declared_facts_text(rec: Mapping[str, Any]) -> str:
    """Every fact the registry declares for the record's MVP: ``label: value unit; …``.

    The same rule for every experiment: the label and unit come from
    :data:`moehelpers.records.registry.FACTS`, the value from the record (through :func:`m`),
    so no experiment has its own sentence here.
    """
    parts = []
    for fact in registry.FACTS.get(rec["mvp_id"], ()):
        label = fact.label.removesuffix(" (list)")
        unit = f" {fact.unit}" if fact.unit else ""
        parts.append(f"{label}: {_fact_text(m(rec, fact.name))}{unit}")
    return "; ".join(parts)


def conclusion(rec: Mapping[str, Any]) -> str:
    """One computed sentence for the tracker: the record's declared facts and its verdicts
    (for an experiment that declares none, its best headline R²)."""
    if registry.FACTS.get(rec["mvp_id"]):
        text = safe(declared_facts_text, rec) or ""
        return f"{text}; {verdict_summary(rec)}" if text else verdict_summary(rec)
    rows = headline(rec)
    if len(rows):
        best = rows.loc[rows["r2"].idxmax()]
        return f"best R² {fmt(best['r2'])} ({best['model']}); {verdict_summary(rec)}"
    return verdict_summary(rec)
