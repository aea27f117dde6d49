"""Numbers and one-line sentences the hub pages take from result records.

Every function here reads loaded records (``{mvp_id: record}`` of one run) and returns text
or a table; a missing record gives ``None`` (the page then says *not run yet*) and a record
lacking a field gives a sentence naming the field, never an exception (see :func:`safe`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from moehelpers.book.report import fmt
from moehelpers.records import references

__all__ = ["CEILING_MODEL", "conclusion", "headline", "is_ceiling", "noise_of", "safe",
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
    """A metric by dotted path (``"delta_r2.pseudo"``); KeyError when absent."""
    value: Any = rec["metrics"]
    for key in path.split("."):
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
def _row(model: str, noise: float | None, r2: Any, lo: Any = np.nan, hi: Any = np.nan,
         subset: str = "all test stars", original: Any = np.nan) -> dict[str, Any]:
    return {"model": model, "noise_level": np.nan if noise is None else float(noise),
            "subset": subset, "r2": float(r2), "r2_lo": float(lo), "r2_hi": float(hi),
            "original": float(original)}


def _at(noise: float | None, key: str) -> float:
    """Original-study number ``key`` where the noise is the document's default 0.2."""
    return float(ORIG[key]) if noise is not None and abs(noise - 0.2) < 1e-9 else np.nan


def _h_mvp0(rec: Mapping[str, Any]) -> list[dict]:
    orig = references.original_r2_by_noise()
    mt = rec["metrics"]
    return [_row("global Ridge", n, r, lo, hi, original=orig.get(float(n), np.nan))
            for n, r, lo, hi in zip(mt["noise_levels"], mt["r2"], mt["r2_lo"], mt["r2_hi"],
                                    strict=True)]


def _h_mvp10(rec: Mapping[str, Any]) -> list[dict]:
    n = noise_of(rec)
    return [_row("global Ridge", n, m(rec, "r2_global_covered"), subset="covered stars",
                 original=_at(n, "mvp0.r2_covered")),
            _row("piecewise Ridge, 9 bins", n, m(rec, "r2_moe_covered"),
                 subset="covered stars", original=_at(n, "mvp1.r2_moe"))]


def _h_mvp11(rec: Mapping[str, Any]) -> list[dict]:
    n = noise_of(rec)
    return [_row("piecewise Ridge, 9 bins (seed 1)", n, m(rec, "r2_moe"),
                 subset="covered stars", original=_at(n, "mvp1.r2_moe"))]


def _h_mvp20(rec: Mapping[str, Any]) -> list[dict]:
    mt = rec["metrics"]
    o_exp = dict(zip(ORIG["mvp2.noise_levels"], ORIG["mvp2.r2_expert"], strict=True))
    o_mix = dict(zip(ORIG["mvp2.noise_levels"], ORIG["mvp2.r2_mixed"], strict=True))
    levels = mt["expert_noise_levels"]
    rows = [_row("expert per noise level", n, r, original=o_exp.get(float(n), np.nan))
            for n, r in zip(levels, mt["r2_matched"], strict=True)]
    rows += [_row("mixed-noise Ridge", n, r, original=o_mix.get(float(n), np.nan))
             for n, r in zip(levels, mt["r2_mixed"], strict=True)]
    return rows


def _h_mvp30(rec: Mapping[str, Any]) -> list[dict]:
    i = list(m(rec, "ks")).index(m(rec, "best_k"))
    r2 = m(rec, "r2_global") + m(rec, "delta_r2")[i]
    return [_row(f"quantile [M/H] bins, K = {m(rec, 'best_k')}", noise_of(rec), r2)]


def _h_mvp31(rec: Mapping[str, Any]) -> list[dict]:
    n = noise_of(rec)
    return [_row("oracle [M/H] gate, K = 2", n, m(rec, "r2_oracle")[0]),
            _row("pseudo [M/H] gate, K = 2", n, m(rec, "r2_pseudo")[0])]


def _h_mvp32(rec: Mapping[str, Any]) -> list[dict]:
    n, k = noise_of(rec), int(m(rec, "best_order_true"))
    orders = list(m(rec, "orders"))
    orig = dict(zip(ORIG["mvp3.conditional_orders"], ORIG["mvp3.conditional_r2_by_order"],
                    strict=True))
    kd = int(m(rec, "best_order_deploy"))
    return [_row(f"conditional Ridge, order {k}, true [M/H]", n,
                 m(rec, "r2_true")[orders.index(k)],
                 original=orig[k] if n is not None and abs(n - 0.2) < 1e-9 and k in orig
                 else np.nan),
            _row(f"conditional Ridge, order {kd}, predicted [M/H]", n,
                 m(rec, "r2_true_to_pred")[orders.index(kd)])]


def _h_mvp40(rec: Mapping[str, Any]) -> list[dict]:
    n = noise_of(rec)
    return [_row(f"{g} log g gate", n, m(rec, f"r2.{g}")) for g in ("oracle", "pseudo", "learned")]


def _h_dict(rec: Mapping[str, Any]) -> list[dict]:
    """``metrics.r2`` is ``{model: r2}`` or ``{scheme: {gate: r2}}`` (MVP-6.0, 6.1, 7.4)."""
    n = noise_of(rec)
    rows = []
    for name, value in m(rec, "r2").items():
        if isinstance(value, Mapping):
            rows += [_row(f"{name} · {gate}", n, r2) for gate, r2 in value.items()]
        else:
            rows.append(_row(str(name), n, value))
    return rows


def _h_mvp71(rec: Mapping[str, Any]) -> list[dict]:
    n = noise_of(rec)  # the gate-noise-free end of the curves (σ = 0)
    return [_row("hard MoE, 9 bins (clean gate)", n, m(rec, "r2_clean_hard9")),
            _row("conditional Ridge (clean gate)", n, m(rec, "r2_clean_cond"))]


def _h_mvp72(rec: Mapping[str, Any]) -> list[dict]:
    from moehelpers.records.store import table

    n = noise_of(rec)
    steps = table(rec, "steps")
    rows = [_row(f"Conditional Ridge++ {r['model']}", n, r["r2"]) for _, r in steps.iterrows()]
    return [*rows, _row("9-bin MoE", n, m(rec, "r2_moe"))]


def _per_level(names: Mapping[str, str]) -> Callable[[Mapping[str, Any]], list[dict]]:
    """Extractor of records holding ``metrics[key]`` as one R² per ``metrics.noise_levels``."""
    def extract(rec: Mapping[str, Any]) -> list[dict]:
        levels = m(rec, "noise_levels")
        return [_row(label, lv, r2) for key, label in names.items()
                for lv, r2 in zip(levels, m(rec, key), strict=True)]
    return extract


_h_mvp73 = _per_level({"r2_expert": "expert per noise level", "r2_mixed": "mixed-noise Ridge",
                       "r2_cond1_hat": "noise-conditioned [x, n̂·x]",
                       "r2_cond2_hat": "noise-conditioned [x, n̂·x, n̂²·x]"})
_h_combined = _per_level({"r2_MoE1": "MoE-1 (Teff, [M/H])", "r2_MoE2_hat": "MoE-2 (n̂)",
                          "r2_combined_hat": "combined gate (n̂)",
                          "r2_conditional_mn_hat": "conditional [x, m·x, n̂·x]"})


#: Model names of the Fisher ceiling rows (the figure and the fraction table find them here).
CEILING_MODEL = "Fisher ceiling R²_max (set level)"
BAYES_CEILING_MODEL = "shrinkage ceiling (approx.)"


def _h_ceiling(rec: Mapping[str, Any]) -> list[dict]:
    from moehelpers.records.store import table

    tab = table(rec, "by_noise")
    rows = []
    for _, r in tab.iterrows():
        rows.append(_row(CEILING_MODEL, r["noise_level"], r["r2_max_set"],
                         r.get("r2_max_set_lo", np.nan), r.get("r2_max_set_hi", np.nan)))
        if "r2_bayes_set" in tab.columns:
            rows.append(_row(BAYES_CEILING_MODEL, r["noise_level"], r["r2_bayes_set"]))
    return rows


_HEADLINES: dict[str, Callable[[Mapping[str, Any]], list[dict]]] = {
    "MVP-0": _h_mvp0, "MVP-1.0": _h_mvp10, "MVP-1.1": _h_mvp11, "MVP-2.0": _h_mvp20,
    "MVP-3.0": _h_mvp30, "MVP-3.1": _h_mvp31, "MVP-3.2": _h_mvp32, "MVP-4.0": _h_mvp40,
    "MVP-6.0": _h_dict, "MVP-6.1": _h_dict, "MVP-7.1": _h_mvp71, "MVP-7.2": _h_mvp72,
    "MVP-7.3": _h_mvp73, "MVP-7.4": _h_dict, "BEYOND-GATE": _h_combined,
    "BEYOND-ceiling": _h_ceiling,
}


def is_ceiling(model: str) -> bool:
    """True for the ceiling rows (bounds, not models)."""
    return model in (CEILING_MODEL, BAYES_CEILING_MODEL)
HEADLINE_COLUMNS = ["mvp_id", "model", "noise_level", "subset", "r2", "r2_lo", "r2_hi",
                    "original"]


def headline(rec: Mapping[str, Any]) -> pd.DataFrame:
    """The main models of a record: ``model, noise_level, subset, r2, r2_lo, r2_hi, original``.

    A record's own table ``"headline"`` wins (that is how a new notebook joins the
    cross-experiment matrix without code here); else the extractor of its MVP id; else empty.
    """
    from moehelpers.records.store import table

    rows: list[dict] = []
    own = table(rec, "headline") if "headline" in rec.get("tables", {}) else None
    if own is not None and {"model", "r2"} <= set(own.columns):
        noise = noise_of(rec)
        for _, r in own.iterrows():
            rows.append(_row(str(r["model"]), r.get("noise_level", noise), r["r2"],
                             r.get("r2_lo", np.nan), r.get("r2_hi", np.nan),
                             str(r.get("subset", "all test stars")),
                             r.get("original", np.nan)))
    elif rec["mvp_id"] in _HEADLINES:
        try:
            rows = _HEADLINES[rec["mvp_id"]](rec)
        except (KeyError, IndexError, TypeError, ValueError) as exc:
            log.warning("hub: no headline for %s/%s (%r)", rec["run"], rec["mvp_id"], exc)
    out = pd.DataFrame(rows, columns=HEADLINE_COLUMNS[1:])
    out.insert(0, "mvp_id", rec["mvp_id"])
    return out


# ------------------------------------------------------------ one-line conclusions
def _c_mvp0(r: Mapping[str, Any]) -> str:
    mt = r["metrics"]
    parts = [f"{fmt(v)} at noise {fmt(n, 2)}" for n, v in zip(mt["noise_levels"], mt["r2"],
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
