"""Computed tables of the hub: questions (§1.3), insights (§1.4), conclusions and design
principles (§5), the decision tree (§6.1).

Each row pairs the framework document's statement with our number (from a record) and the
original study's (from :mod:`moehelpers.records.references`, labelled). Missing record → *not run
yet*; a record lacking a field → a sentence naming it (:func:`moehelpers.book.hub_facts.safe`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from moehelpers.book.hub_facts import ORIG, ci, m, pct, safe
from moehelpers.book.report import fmt

__all__ = ["decision_md", "insights_md", "principles_md", "questions_md"]

Records = Mapping[str, Mapping[str, Any]]
NOT_RUN = "*not run yet*"
REF = "original study (BOSZ)"


def _cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _table(header: list[str], rows: list[list[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def _need(recs: Records, *ids: str) -> list[Mapping[str, Any]] | None:
    got = [recs.get(i) for i in ids]
    return None if any(r is None for r in got) else got  # type: ignore[return-value]


def _passed(rec: Mapping[str, Any] | None, name: str) -> bool | None:
    if rec is None or name not in rec.get("verdicts", {}):
        return None
    return rec["verdicts"][name]["passed"]


def _mark(value: bool | None) -> str:
    return {True: "✓ yes", False: "✗ no", None: "n/a"}[value]


def _answer(fn: Callable[..., str], recs: Records, *ids: str) -> str:
    got = _need(recs, *ids)
    return NOT_RUN if got is None else (safe(fn, *got) or NOT_RUN)


# ---------------------------------------------------------------------- §1.3 questions
def _q2(r: Mapping[str, Any]) -> str:
    from moehelpers.records.store import table

    pb = table(r, "per_bin")
    better = pb[pb["delta_r2_lo"] > 0]["name"].tolist()
    best = pb.loc[pb["r2_expert"].idxmax()]
    return (f"{len(better)} of {len(pb)} bins with a paired CI above 0 "
            f"({', '.join(map(str, better)) or 'none'}); best expert {best['name']}, "
            f"R² {fmt(best['r2_expert'])}")


def _q3(r: Mapping[str, Any]) -> str:
    from moehelpers.records.store import table

    pb = table(r, "per_bin")
    return f"smallest bin: {int(pb['n_train'].min())} train, {int(pb['n_test'].min())} test stars"


def _q5(r: Mapping[str, Any]) -> str:
    lv, lo = list(m(r, "delta_levels")), list(m(r, "delta_lo"))
    good = [fmt(n, 2) for n, low in zip(lv, lo, strict=True) if low > 0]
    return (f"expert's CI above the mixed model at noise {', '.join(good) or 'none'} of "
            f"{len(lv)} levels; noise-0 expert at the highest noise: R² "
            f"{fmt(m(r, 'noise0_expert_at_max'))}; highest-noise expert at noise 0: "
            f"{fmt(m(r, 'max_expert_at_noise0'))}")


def _orig_q() -> dict[str, str]:
    o = ORIG
    rich = [i + 1 for i, v in enumerate(o["mvp1.per_bin_r2"]) if v > 0.96]
    mean_gain = np.mean(np.subtract(o["mvp2.r2_expert"], o["mvp2.r2_mixed"]))
    qd = dict(zip(o["mvp3.quantile_k"], o["mvp3.quantile_delta_r2"], strict=True))
    kbest = max(qd, key=qd.get)
    cond = o["mvp3.conditional_r2_by_order"]
    return {
        "Q1": f"ΔR² {fmt(o['mvp1.delta_r2'])} {list(o['mvp1.delta_r2_ci'])}",
        "Q2": f"bins {rich} (metal-rich) reach R² > 0.96",
        "Q3": f"smallest bin {min(o['mvp1.per_bin_n_train'])} train, "
              f"{min(o['mvp1.per_bin_n_test'])} test",
        "Q4": f"mean ΔR² {fmt(mean_gain)}",
        "Q5": f"noise-0 expert at noise 1: R² ≈ {fmt(o['mvp2.noise0_expert_at_noise1'], 0)}; "
              f"noise-1 expert at noise 0: {fmt(o['mvp2.noise1_expert_at_noise0'], 2)}",
        "Q6": f"K = {kbest} the only positive gain ({fmt(qd[kbest])})",
        "Q7": f"{pct(o['mvp3.pseudo_retention_k2'])} (K = 2)",
        "Q8": f"order 1: ΔR² {fmt(cond[1] - cond[0])}, "
              f"{pct(o['mvp3.conditional_share_order1'])} of the MoE gain",
        "Q9": "never run",
    }


QUESTIONS: tuple[tuple[str, str, str, str, tuple[str, ...], Callable[..., str]], ...] = (
    ("Q1", "How much higher is the piecewise Ridge R² than the global Ridge R²?", "H1.2",
     "≥ +0.03: the MoE is worth it", ("MVP-1.1",),
     lambda r: f"ΔR² {ci(m(r, 'delta_r2'), m(r, 'delta_lo'), m(r, 'delta_hi'))} (same stars)"),
    ("Q2", "Which bins have a local R² clearly above the global Ridge?", "H1.1",
     "low Teff and low [M/H]", ("MVP-1.0",), _q2),
    ("Q3", "Does every bin hold enough stars (> 100)?", "feasibility", "all bins ≥ 100",
     ("MVP-1.0",), _q3),
    ("Q4", "Do experts per noise level beat a single model?", "H1.3",
     "clear gain at high noise", ("MVP-2.0",),
     lambda r: f"mean ΔR² {ci(m(r, 'mean_delta_r2'), m(r, 'mean_delta_lo'), m(r, 'mean_delta_hi'))}"),  # noqa: E501
    ("Q5", "How robust are the experts across noise levels?", "noise robustness",
     "partitioned models more robust", ("MVP-2.0",), _q5),
    ("Q6", "What is the best K for quantile bins?", "H2.1", "an optimum K ∈ [3, 5]",
     ("MVP-3.0",), lambda r: f"K = {m(r, 'best_k')} (chosen on validation)"),
    ("Q7", "How much of the oracle gain does a pseudo gate keep?", "H2.2",
     "≥ 70%: the MoE is deployable", ("MVP-3.1",),
     lambda r: f"{pct(m(r, 'retention')[0])} (K = 2), {pct(m(r, 'retention')[-1])} "
               "(physical edges)"),
    ("Q8", "How much of the MoE effect does the conditional linear model reach?", "H2.3",
     "ΔR² ≥ 0.04 would replace the MoE", ("MVP-3.2",),
     lambda r: f"order 1: ΔR² {fmt(m(r, 'delta_r2_true')[1])}, "
               f"{pct(m(r, 'share_moe_gain_true')[1])} of the 9-bin gain"),
    ("Q9", "How far apart are the oracle and pseudo log g gates?", "H2.4",
     "small gap → the gate is not the bottleneck", ("MVP-4.0",),
     lambda r: f"R² oracle {fmt(m(r, 'r2.oracle'))} vs pseudo {fmt(m(r, 'r2.pseudo'))} "
               f"(gap {fmt(m(r, 'r2.oracle') - m(r, 'r2.pseudo'))})"),
)


def questions_md(recs: Records) -> str:
    """§1.3: the nine questions with our computed answers beside the original study's."""
    orig = _orig_q()
    rows = [[q, text, hyp, exp, _answer(fn, recs, *ids), orig[q]]
            for q, text, hyp, exp, ids, fn in QUESTIONS]
    return _table(["#", "question", "tests", "expected (document)", "this book", REF], rows)


# ----------------------------------------------------------------------- §1.4 insights
INSIGHTS: tuple[tuple[str, str, str, str, Callable[..., str], Callable[..., bool | None],
                      str], ...] = (
    ("I1", "The gain of (Teff, [M/H]) partitioning is real and stable", "MVP-1.1", "MVP-1.1",
     lambda r: f"ΔR² {ci(m(r, 'delta_r2'), m(r, 'delta_lo'), m(r, 'delta_hi'))}; seeds "
               f"{fmt(m(r, 'seeds_mean'))} ± {fmt(m(r, 'seeds_sd'))}",
     lambda r: _passed(r, "H1.2_ci"),
     f"ΔR² {fmt(ORIG['mvp1.delta_r2'])} {list(ORIG['mvp1.delta_r2_ci'])}"),
    ("I2", "The gain comes mostly from [M/H], not Teff", "MVP-1.1", "MVP-1.1",
     lambda r: f"[M/H]-only {pct(m(r, 'share_mh_only'))}, Teff-only "
               f"{pct(m(r, 'share_teff_only'))} of the 9-bin gain",
     lambda r: _passed(r, "mh_dominates"),
     f"{pct(ORIG['mvp1.share_mh_only'])} vs {pct(ORIG['mvp1.share_teff_only'])}"),
    ("I3", "Quantile bins do not beat the physical edges", "MVP-3.0", "MVP-3.0",
     lambda r: f"best K − physical edges {ci(m(r, 'best_minus_physical'), m(r, 'best_minus_physical_lo'), m(r, 'best_minus_physical_hi'))}",  # noqa: E501
     lambda r: None if _passed(r, "H2.1_ci") is None else not _passed(r, "H2.1_ci"),
     "K = 2 +0.004, K ≥ 3 negative"),
    ("I4", "A deployable gate is the main risk (pseudo gate keeps < 50%)", "MVP-3.1", "MVP-3.1",
     lambda r: f"pseudo gate keeps {pct(m(r, 'retention')[0])} (K = 2)",
     lambda r: _passed(r, "gate_bottleneck"), f"{pct(ORIG['mvp3.pseudo_retention_k2'])}"),
    ("I5", "Conditional Ridge reaches most of the MoE gain", "MVP-3.2", "MVP-3.2",
     lambda r: f"order 1: {pct(m(r, 'share_moe_gain_true')[1])} of the MoE gain",
     lambda r: _passed(r, "H2.3"), f"{pct(ORIG['mvp3.conditional_share_order1'])}"),
    ("I6", "Noise experts pay, but discrete levels are unstable", "MVP-2.0", "MVP-2.0",
     lambda r: f"mean ΔR² {fmt(m(r, 'mean_delta_r2'))}; smallest "
               f"{fmt(min(m(r, 'delta_r2')))}",
     lambda r: None if _passed(r, "H1.3") is None or _passed(r, "H1.3_every_level") is None
     else bool(_passed(r, "H1.3") and not _passed(r, "H1.3_every_level")),
     "mean +0.080; noise 0.5 −0.031"),
    ("I7", "Ca II matters; metal-rich information is more spread out", "MVP-5.0", "MVP-5.0",
     lambda r: f"Ca II 8498 {fmt(m(r, 'ca8498_ratio_global'), 2)}× mean |w|; top-10 share "
               f"poor {pct(m(r, 'topk_share_poor_mean'))} vs rich "
               f"{pct(m(r, 'topk_share_rich_mean'))}",
     lambda r: None if _passed(r, "poor_more_concentrated") is None
     else bool(_passed(r, "ca8498_above_mean") and _passed(r, "poor_more_concentrated")),
     f"Ca II {ORIG['mvp5.ca8498_ratio']}×; poor {pct(ORIG['mvp5.topk_share_metal_poor'][0])}–"
     f"{pct(ORIG['mvp5.topk_share_metal_poor'][1])}, rich "
     f"{pct(ORIG['mvp5.topk_share_metal_rich'][0])}–{pct(ORIG['mvp5.topk_share_metal_rich'][1])}"),
)


def insights_md(recs: Records) -> str:
    """§1.4: the document's insights I1–I7, re-tested on our records."""
    rows = []
    for i, text, src, mvp_id, numbers, holds, orig in INSIGHTS:
        rec = recs.get(mvp_id)
        verdict = "not run yet" if rec is None else _mark(holds(rec))
        rows.append([i, text, src, _answer(numbers, recs, mvp_id), verdict, orig])
    return _table(["#", "insight (document)", "source", "this book", "holds here?", REF], rows)


# -------------------------------------------------------------- §5.2 design principles
PRINCIPLES: tuple[tuple[str, str, Callable[..., str], Callable[..., bool | None]], ...] = (
    ("Split experts by [M/H] first", "MVP-1.1",
     lambda r: f"3 [M/H] experts keep {pct(m(r, 'share_mh_only'))} of the 9-bin gain, "
               f"3 Teff experts {pct(m(r, 'share_teff_only'))}",
     lambda r: _passed(r, "mh_dominates")),
    ("Train at the noise you deploy at", "MVP-2.0",
     lambda r: f"noise-0 expert at the highest noise: R² {fmt(m(r, 'noise0_expert_at_max'))}",
     lambda r: _passed(r, "noise0_fails_completely")),
    ("With unknown SNR, prefer the high-noise expert", "MVP-2.0",
     lambda r: f"highest-noise expert at noise 0: R² {fmt(m(r, 'max_expert_at_noise0'))}",
     lambda r: bool(m(r, "max_expert_at_noise0") > m(r, "noise0_expert_at_max"))),
    ("Compare on the same stars (mask-aligned)", "MVP-1.1",
     lambda r: f"misaligned ΔR² {fmt(m(r, 'delta_misaligned'))} vs aligned "
               f"{fmt(m(r, 'delta_r2'))}",
     lambda r: bool(m(r, "delta_misaligned") > m(r, "delta_r2"))),
    ("Regularise each expert on its own (α per expert)", "MVP-1.0",
     lambda r: f"expert α {sorted(set(m(r, 'alpha_experts')))} vs global "
               f"{fmt(m(r, 'alpha_global'), 3)}",
     lambda r: bool(len(set(m(r, "alpha_experts")) | {m(r, "alpha_global")}) > 1)),
)


def principles_md(recs: Records) -> str:
    """§5.2: design principles with the evidence behind each, from our records."""
    rows = []
    for text, mvp_id, ev, holds in PRINCIPLES:
        rec = recs.get(mvp_id)
        verdict = "not run yet" if rec is None else _mark(_try(holds, rec))
        rows.append([text, mvp_id, _answer(ev, recs, mvp_id), verdict])
    return _table(["principle", "source", "evidence (this book)", "supported here?"], rows)


def _try(fn: Callable[..., bool | None], rec: Mapping[str, Any]) -> bool | None:
    try:
        return fn(rec)
    except (KeyError, IndexError, TypeError, ValueError):
        return None


# ---------------------------------------------------------------- §6.1 decision tree
def decision_md(recs: Records) -> str:
    """§6.1 case A / case B and the §5.4 decision points, with the branch our results took."""
    rec = recs.get("MVP-1.1") or recs.get("MVP-1.0")
    out = []
    if rec is None:
        out.append("```{note}\nNo piecewise Ridge record yet: neither branch can be marked.\n```\n")
    else:
        v = rec["verdicts"].get("H1.2", {})
        case = "A" if v.get("passed") else "B"
        out.append(f"```{{important}}\n**Branch taken: case {case}.** {rec['mvp_id']} measured "
                   f"ΔR² = {fmt(v.get('value'))} against the threshold "
                   f"{fmt(v.get('threshold'), 2)} (rule: {v.get('rule', 'H1.2')}).\n```\n")
    points = [
        ("pseudo gate keeps ≥ 70% of the oracle gain", "continue with a learned gate (MVP-6.0)",
         _passed(recs.get("MVP-3.1"), "H2.2")),
        ("pseudo gate keeps < 50% of the oracle gain", "stop: the gate is the bottleneck",
         _passed(recs.get("MVP-3.1"), "gate_bottleneck")),
        ("conditional Ridge ≈ MoE", "use the conditional model, drop the MoE",
         _passed(recs.get("MVP-3.2"), "Q8")),
        ("log g pseudo gate ≈ oracle", "gate noise is not the bottleneck: improve the experts",
         _passed(recs.get("MVP-4.0"), "gate_close_pseudo")),
    ]
    out.append(_table(["result (document §5.4)", "next action", "our results"],
                      [[c, a, {True: "✓ **taken**", False: "not taken",
                               None: "not run yet"}[p]] for c, a, p in points]))
    return "\n".join(out)
