"""The one place that knows the framework document's experiments and hypotheses.

The hub pages of the book (§1–§6 of the framework document, see :mod:`moehelpers.book.hub`) are
generated from this registry plus whatever result records exist. Adding an experiment:

1. write its notebook (it ends with ``results.record("<MVP id>", ...)``);
2. add an :class:`MVP` entry to :data:`MVPS` (id, title, phase, hypotheses, dependencies);
3. optionally give its record a table named ``"headline"`` with columns ``model``,
   ``noise_level``, ``r2`` (and ``r2_lo``, ``r2_hi``): its models then join the
   cross-experiment matrix and the R²-vs-noise figure without any code change.

A record whose id is not registered still appears in the tracker (title taken from its
notebook's first heading) under *beyond the document*. Verdicts named after a hypothesis
(``"H-A1"``, ``"H3.1_ci"``) count as evidence for it automatically (:func:`verdict_matches`).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from moehelpers.errors import UndeclaredFactError

__all__ = [
    "FACTS",
    "HYPOTHESES",
    "MVP",
    "MVPS",
    "PHASES",
    "Fact",
    "Hypothesis",
    "declared_fact",
    "missing_facts",
    "mvp",
    "notebook_records",
    "notebook_title",
    "verdict_matches",
]


@dataclass(frozen=True)
class MVP:
    """One experiment of the framework document (§2.2)."""

    id: str
    title: str
    phase: str
    hypotheses: tuple[str, ...] = ()
    depends: tuple[str, ...] = ()
    acceptance: str = ""  # the document's acceptance rule, in words


@dataclass(frozen=True)
class Hypothesis:
    """A hypothesis of §1.2 and the verdicts that test it.

    ``evidence`` lists ``(mvp_id, verdict_name)`` pairs; besides them every verdict of the
    MVPs in ``mvps`` whose name matches the hypothesis id counts (:func:`verdict_matches`).
    """

    id: str
    statement: str
    mvps: tuple[str, ...]
    evidence: tuple[tuple[str, str], ...] = ()
    group: str = "sub"  # "sub" (H1.x–H3.x) or "key" (H-A…H-D, Phase 7)


#: Phases in the order of the framework document's roadmap (§2.1).
PHASES: dict[str, str] = {
    "Phase 0": "baseline: a single global Ridge",
    "Phase 1": "piecewise Ridge over (Teff, [M/H]) bins",
    "Phase 2": "experts per noise level",
    "Phase 3": "from hand-made bins to deployable gates",
    "Phase 4": "ceiling of a log g gate",
    "Phase 5": "what the experts look at",
    "Phase 6": "learned gates and a neural MoE",
    "Phase 7": "continuous conditioning",
    "Beyond": "questions the document leaves open",
}

_M = MVP
MVPS: tuple[MVP, ...] = (
    _M("MVP-0", "Global Ridge baseline", "Phase 0", (), (),
       "R² at noise 0, 0.1, 0.5 and 1.0"),
    _M("MVP-1.0", "Piecewise Ridge (3×3 bins)", "Phase 1", ("H1.1", "H1.2"), ("MVP-0",),
       "ΔR² (piecewise − global) ≥ 0.03"),
    _M("MVP-1.1", "Rigorous validation", "Phase 1", ("H1.2",), ("MVP-1.0",),
       "ΔR² ≥ 0.03 on the same stars, CI and seeds"),
    _M("MVP-2.0", "Experts per noise level", "Phase 2", ("H1.3",), ("MVP-0",),
       "matched expert vs mixed model"),
    _M("MVP-3.0", "Quantile [M/H] bins", "Phase 3", ("H2.1",), ("MVP-1.1",),
       "best K, 100% coverage"),
    _M("MVP-3.1", "Pseudo gate", "Phase 3", ("H2.2",), ("MVP-3.0",),
       "pseudo keeps ≥ 70% of the oracle gain"),
    _M("MVP-3.2", "Conditional Ridge", "Phase 3", ("H2.3",), ("MVP-1.1",),
       "ΔR² ≥ 0.04"),
    _M("MVP-4.0", "log g gate trio", "Phase 4", ("H2.4",), ("MVP-1.1",),
       "pseudo close to oracle → the gate is not the bottleneck"),
    _M("MVP-5.0", "Ridge coefficients", "Phase 5", (), ("MVP-1.0",),
       "a physical reading of the experts"),
    _M("MVP-6.0", "Learned gate", "Phase 6", (), ("MVP-3.1",),
       "learned gate ≥ pseudo gate"),
    _M("MVP-6.1", "NN-MoE", "Phase 6", ("H3.1",), ("MVP-6.0",),
       "R² above the piecewise Ridge"),
    _M("MVP-7.1", "Gate-noise sensitivity", "Phase 7", ("H-A",), ("MVP-3.1", "MVP-3.2"),
       "conditional keeps ≥ 60–80% while hard MoE collapses"),
    _M("MVP-7.2", "Conditional Ridge++", "Phase 7", (), ("MVP-7.1",),
       "≥ 90% of the MoE gain at 100% coverage"),
    _M("MVP-7.3", "Continuous noise conditioning", "Phase 7", ("H-C",), ("MVP-2.0",),
       "within 0.01 of the experts, no noise-0.5 dip"),
    _M("MVP-7.4", "Physical-window gate", "Phase 7", ("H-B", "H-D"),
       ("MVP-7.2", "MVP-7.3", "MVP-5.0"), "learned gate ≥ pseudo and > Conditional++"),
)

HYPOTHESES: tuple[Hypothesis, ...] = (
    Hypothesis("H1.1", "Within each (Teff, [M/H]) bin, a Ridge fitted to that bin beats the "
               "global Ridge", ("MVP-1.0",)),
    Hypothesis("H1.2", "The nine piecewise Ridge experts together beat the global Ridge by "
               "ΔR² ≥ 0.03", ("MVP-1.0", "MVP-1.1")),
    Hypothesis("H1.3", "Experts per noise level beat one model trained on mixed noise",
               ("MVP-2.0",)),
    Hypothesis("H2.1", "Quantile bins beat the hand-made edges (100% coverage, more even bins)",
               ("MVP-3.0",)),
    Hypothesis("H2.2", "A pseudo gate (predicted [M/H]) keeps ≥ 70% of the oracle gain",
               ("MVP-3.1",)),
    Hypothesis("H2.3", "A conditional linear model (x, m·x, m²·x) comes close to the MoE",
               ("MVP-3.2",), (("MVP-3.2", "Q8"),)),
    Hypothesis("H2.4", "A log g pseudo gate comes close to the oracle log g gate",
               ("MVP-4.0",), (("MVP-4.0", "gate_close_pseudo"),)),
    Hypothesis("H3.1", "A neural MoE improves on the piecewise Ridge", ("MVP-6.1",)),
    Hypothesis("H-A", "Gate error is the bottleneck; continuous conditioning tolerates it "
               "better than hard routing", ("MVP-7.1",), group="key"),
    Hypothesis("H-B", "The MoE's physical boundaries can be learned (no hand-made edges, "
               "better than quantiles)", ("MVP-7.4",), group="key"),
    Hypothesis("H-C", "Noise is a continuous conditioning problem, not a set of discrete "
               "experts", ("MVP-7.3",), group="key"),
    Hypothesis("H-D", "The hardest sub-domains need other features or non-linear experts, "
               "not only partitioning", ("MVP-7.4",), group="key"),
)


@dataclass(frozen=True)
class Fact:
    """A number of a record that the hub's pages quote: ``metrics[name]``, with its meaning.

    ``unit`` is ``""`` for dimensionless numbers (R², shares), ``"dex"``, ``"stars"``, …
    A list-valued fact (one entry per noise level, K or order) says so in its label.
    """

    name: str
    label: str
    unit: str = ""


_F = Fact
_CI = (_F("delta_r2", "ΔR² against the global Ridge (paired, same stars)"),
       _F("delta_lo", "lower end of its 95% paired bootstrap interval"),
       _F("delta_hi", "upper end of its 95% paired bootstrap interval"))

#: The facts each experiment's record must carry (checked when a notebook writes its record,
#: :meth:`moehelpers.book.notebook.Context.record`) and the only metrics the hub reads
#: (:func:`moehelpers.book.hub_facts.m` refuses any other): the record format is declared here
#: once, not in the hub.
FACTS: dict[str, tuple[Fact, ...]] = {
    "MVP-0": (_F("noise_levels", "noise levels of the global Ridge (list)"),
              _F("r2", "test R² of the global Ridge per noise level (list)")),
    "MVP-1.0": (*_CI,
                _F("n_covered", "test stars in bins with an expert", "stars"),
                _F("coverage", "share of test stars in bins with an expert"),
                _F("alpha_experts", "α chosen by each bin expert on validation (list)"),
                _F("alpha_global", "α of the global Ridge (validation)")),
    "MVP-1.1": (*_CI,
                _F("seeds", "noise seeds of the repeat (list)"),
                _F("seeds_mean", "mean ΔR² over the seeds"),
                _F("seeds_sd", "standard deviation of ΔR² over the seeds"),
                _F("share_mh_only", "share of the 9-bin gain kept by 3 [M/H] experts"),
                _F("share_teff_only", "share of the 9-bin gain kept by 3 Teff experts"),
                _F("delta_misaligned", "ΔR² when the two models are scored on different "
                                       "stars (the pitfall)")),
    "MVP-2.0": (_F("delta_levels", "noise levels of the expert comparison (list)"),
                _F("delta_r2", "matched expert − mixed model ΔR² per level (list)"),
                _F("delta_lo", "lower ends of the paired intervals per level (list)"),
                _F("mean_delta_r2", "mean over levels of matched expert − mixed ΔR²"),
                _F("mean_delta_lo", "lower end of its 95% bootstrap interval"),
                _F("mean_delta_hi", "upper end of its 95% bootstrap interval"),
                _F("noise0_expert_at_max", "R² of the noise-0 expert at the highest level"),
                _F("max_expert_at_noise0", "R² of the highest-noise expert at noise 0")),
    "MVP-3.0": (_F("ks", "numbers of quantile bins K tried (list)"),
                _F("best_k", "K chosen on validation"),
                _F("delta_r2", "ΔR² against the global Ridge per K (list)"),
                _F("delta_lo", "lower ends of the paired intervals per K (list)"),
                _F("delta_hi", "upper ends of the paired intervals per K (list)"),
                _F("best_minus_physical", "R² of the best K − R² of the physical edges"),
                _F("best_minus_physical_lo", "lower end of its paired interval"),
                _F("best_minus_physical_hi", "upper end of its paired interval")),
    "MVP-3.1": (_F("retention", "share of the oracle gain kept by the pseudo gate, per "
                                "binning (list: K = 2 first, physical edges last)"),
                _F("retention_lo", "lower ends of the retention intervals (list)"),
                _F("retention_hi", "upper ends of the retention intervals (list)"),
                _F("mh_r2", "test R² of the [M/H] predictor the gate uses")),
    "MVP-3.2": (_F("orders", "orders of the conditional Ridge (list)"),
                _F("best_order_true", "order chosen on validation with true [M/H]"),
                _F("delta_r2_true", "ΔR² against the global Ridge per order, true [M/H] (list)"),
                _F("delta_r2_lo_true", "lower ends of the paired intervals (list)"),
                _F("delta_r2_hi_true", "upper ends of the paired intervals (list)"),
                _F("delta_r2_true_to_pred", "ΔR² per order when trained on true and "
                                            "applied with predicted [M/H] (list)"),
                _F("share_moe_gain_true", "share of the 9-bin MoE gain per order (list)")),
    "MVP-4.0": (_F("r2", "test R² per log g gate (oracle, pseudo, learned)"),
                _F("delta_r2", "ΔR² against the global Ridge per gate"),
                _F("retention", "share of the oracle gain kept per deployable gate")),
    "MVP-5.0": (_F("ca8498_ratio_global", "mean |w| at Ca II 8498 / mean |w| (global model)"),
                _F("topk_share_poor_mean", "energy share of the top-10 pixels, metal-poor "
                                           "experts (mean)"),
                _F("topk_share_rich_mean", "energy share of the top-10 pixels, metal-rich "
                                           "experts (mean)")),
}


def declared_fact(mvp_id: str, name: str) -> Fact:
    """The :class:`Fact` ``name`` of ``mvp_id``; :class:`UndeclaredFactError` if not declared."""
    hit = next((f for f in FACTS.get(mvp_id, ()) if f.name == name), None)
    if hit is None:
        raise UndeclaredFactError(
            f"{mvp_id} declares no fact {name!r} (declared: "
            f"{[f.name for f in FACTS.get(mvp_id, ())]}); add it to "
            "moehelpers.records.registry.FACTS before a page quotes it.")
    return hit


def missing_facts(mvp_id: str, metrics: dict) -> list[Fact]:
    """Declared facts of ``mvp_id`` that ``metrics`` lacks."""
    return [f for f in FACTS.get(mvp_id, ()) if f.name not in metrics]


def mvp(mvp_id: str) -> MVP | None:
    """The registry entry of ``mvp_id`` (None for an experiment beyond the registry)."""
    return next((m for m in MVPS if m.id == mvp_id), None)


def hypothesis(hypothesis_id: str) -> Hypothesis | None:
    """The registry entry of a hypothesis id (None when unknown)."""
    return next((h for h in HYPOTHESES if h.id == hypothesis_id), None)


def hypothesis_named(verdict_name: str) -> str | None:
    """The hypothesis a verdict is named after (``"H1.2_ci"`` → ``"H1.2"``), else None.

    The longest matching id wins, so ``"H-A1_x"`` names ``H-A``'s sub-hypothesis of H-A.
    """
    found = [h.id for h in HYPOTHESES if verdict_matches(h.id, verdict_name)]
    return max(found, key=len) if found else None


def evidence_pairs(hypothesis_id: str) -> tuple[tuple[str, str], ...]:
    """Extra ``(mvp_id, verdict_name)`` pairs registered as evidence of a hypothesis."""
    h = hypothesis(hypothesis_id)
    return () if h is None else h.evidence


def verdict_matches(hypothesis_id: str, verdict_name: str) -> bool:
    """True when a verdict is named after the hypothesis.

    ``H1.2`` matches ``H1.2`` and ``H1.2_ci``; ``H-A`` also matches ``H-A1`` and ``H-A2_ci``
    (its sub-hypotheses); ``H1.2`` does not match ``H1.21``.
    """
    if verdict_name == hypothesis_id or verdict_name.startswith(hypothesis_id + "_"):
        return True
    rest = verdict_name[len(hypothesis_id):]
    return (verdict_name.startswith(hypothesis_id) and hypothesis_id[-1].isalpha()
            and re.fullmatch(r"\d+(_.*)?", rest) is not None)


_RECORD_RE = re.compile(r"results\.record\(\s*[\"']([A-Za-z0-9][A-Za-z0-9._-]*)[\"']")
_HEADING_RE = re.compile(r"^#\s+(.+)$", re.MULTILINE)


def _cells(path: Path) -> list[dict]:
    try:
        return json.loads(path.read_text(encoding="utf-8")).get("cells", [])
    except (OSError, ValueError):
        return []


def _source(cell: dict) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else str(src)


def notebook_records(path: Path) -> list[str]:
    """Record ids a notebook writes (found in its code: ``results.record("MVP-1.0", ...)``)."""
    ids: list[str] = []
    for cell in _cells(path):
        if cell.get("cell_type") == "code":
            ids += [i for i in _RECORD_RE.findall(_source(cell)) if i not in ids]
    return ids


def notebook_title(path: Path) -> str:
    """The first ``#`` heading of a notebook (its stem when it has none)."""
    for cell in _cells(path):
        if cell.get("cell_type") == "markdown":
            match = _HEADING_RE.search(_source(cell))
            if match:
                return match.group(1).strip()
    return path.stem
