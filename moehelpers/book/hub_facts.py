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
from moehelpers.records import references
from moehelpers.records.registry import declared_fact

__all__ = ["CEILING_MODEL", "conclusion", "headline", "is_ceiling", "m", "noise_of", "safe",
           "verdict_summary"]

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
def _c_mvp0(r: Mapping[str, Any]) -> str:
    parts = [f"{fmt(v)} at noise {fmt(n, 2)}" for n, v in zip(m(r, "noise_levels"), m(r, "r2"),
                                                             strict=True)]
    return "global Ridge R² " + ", ".join(parts)


def _c_mvp10(r: Mapping[str, Any]) -> str:
    return (f"ΔR² (piecewise − global, same {m(r, 'n_covered')} covered stars) = "
            f"{ci(m(r, 'delta_r2'), m(r, 'delta_lo'), m(r, 'delta_hi'))}; coverage "
            f"{pct(m(r, 'coverage'))}")


def _c_mvp11(r: Mapping[str, Any]) -> str:
    return (f"ΔR² = {ci(m(r, 'delta_r2'), m(r, 'delta_lo'), m(r, 'delta_hi'))}; "
            f"{len(m(r, 'seeds'))} seeds {fmt(m(r, 'seeds_mean'))} ± {fmt(m(r, 'seeds_sd'))}; "
            f"[M/H]-only keeps {pct(m(r, 'share_mh_only'))} of the gain, Teff-only "
            f"{pct(m(r, 'share_teff_only'))}")


def _c_mvp20(r: Mapping[str, Any]) -> str:
    deltas = list(m(r, "delta_r2"))
    worst = int(np.argmin(deltas))
    return (f"matched expert − mixed model, mean over levels "
            f"{ci(m(r, 'mean_delta_r2'), m(r, 'mean_delta_lo'), m(r, 'mean_delta_hi'))}; "
            f"smallest at noise {fmt(m(r, 'delta_levels')[worst], 2)}: {fmt(deltas[worst])}; "
            f"noise-0 expert at the highest noise: R² {fmt(m(r, 'noise0_expert_at_max'))}")


def _c_mvp30(r: Mapping[str, Any]) -> str:
    i = list(m(r, "ks")).index(m(r, "best_k"))
    return (f"best K = {m(r, 'best_k')} (validation), ΔR² vs global "
            f"{ci(m(r, 'delta_r2')[i], m(r, 'delta_lo')[i], m(r, 'delta_hi')[i])}; vs the "
            f"physical [M/H] edges {ci(m(r, 'best_minus_physical'), m(r, 'best_minus_physical_lo'), m(r, 'best_minus_physical_hi'))}")  # noqa: E501


def _c_mvp31(r: Mapping[str, Any]) -> str:
    ret, lo, hi = (m(r, k) for k in ("retention", "retention_lo", "retention_hi"))
    return (f"pseudo gate keeps {ci(ret[0], lo[0], hi[0], 2)} of the oracle gain (K = 2); "
            f"physical edges {ci(ret[-1], lo[-1], hi[-1], 2)}; [M/H] predicted with R² "
            f"{fmt(m(r, 'mh_r2'))}")


def _c_mvp32(r: Mapping[str, Any]) -> str:
    orders = list(m(r, "orders"))
    i = orders.index(1) if 1 in orders else int(m(r, "best_order_true"))
    return (f"order {orders[i]}: ΔR² vs global "
            f"{ci(m(r, 'delta_r2_true')[i], m(r, 'delta_r2_lo_true')[i], m(r, 'delta_r2_hi_true')[i])} "  # noqa: E501
            f"with true [M/H], {fmt(m(r, 'delta_r2_true_to_pred')[i])} with predicted [M/H]; "
            f"{pct(m(r, 'share_moe_gain_true')[i])} of the 9-bin MoE gain")


def _c_mvp40(r: Mapping[str, Any]) -> str:
    d = {g: m(r, f"delta_r2.{g}") for g in ("oracle", "pseudo", "learned")}
    return (f"ΔR² vs global: oracle {fmt(d['oracle'])}, pseudo {fmt(d['pseudo'])}, learned "
            f"{fmt(d['learned'])}; pseudo keeps {pct(m(r, 'retention.pseudo'))} of the oracle "
            "gain")


def _c_mvp50(r: Mapping[str, Any]) -> str:
    return (f"Ca II 8498 mean |w| = {fmt(m(r, 'ca8498_ratio_global'), 2)}× the mean (global "
            f"model); top-10 energy share metal-poor {pct(m(r, 'topk_share_poor_mean'))} vs "
            f"metal-rich {pct(m(r, 'topk_share_rich_mean'))}")


_CONCLUSIONS: dict[str, Callable[[Mapping[str, Any]], str]] = {
    "MVP-0": _c_mvp0, "MVP-1.0": _c_mvp10, "MVP-1.1": _c_mvp11, "MVP-2.0": _c_mvp20,
    "MVP-3.0": _c_mvp30, "MVP-3.1": _c_mvp31, "MVP-3.2": _c_mvp32, "MVP-4.0": _c_mvp40,
    "MVP-5.0": _c_mvp50,
}


def conclusion(rec: Mapping[str, Any]) -> str:
    """One computed sentence for the tracker (a generic one for unregistered experiments)."""
    fn = _CONCLUSIONS.get(rec["mvp_id"])
    if fn is not None:
        return safe(fn, rec) or ""
    rows = headline(rec)
    if len(rows):
        best = rows.loc[rows["r2"].idxmax()]
        return f"best R² {fmt(best['r2'])} ({best['model']}); {verdict_summary(rec)}"
    return verdict_summary(rec)
