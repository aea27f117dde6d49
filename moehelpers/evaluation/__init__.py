"""Evaluation beyond one score: per-bin evaluation, gate-noise curves, the Fisher ceiling and its
Monte-Carlo check. (R², bootstrap and retention live in the top-level :mod:`moehelpers.metrics`,
which every layer uses.)

Imports ``gates`` and the layers below.
"""

from __future__ import annotations

from moehelpers.evaluation.ceiling import (
    CEILING_ID,
    LABEL_NAMES,
    LABEL_SCALE,
    MEDIAN_WINDOW,
    Ceiling,
    compute_ceiling,
    fisher,
    flux_jacobian,
    lagrange_derivative,
    marginal_bound,
    r2_ceiling,
)
from moehelpers.evaluation.ceiling_mc import (
    ml_fit,
    ml_logg_spread,
)
from moehelpers.evaluation.gate_noise import (
    GateNoiseCurve,
    gate_noise_curve,
    noisy_gate,
)
from moehelpers.evaluation.peers import (
    PeerResult,
    PeerSettings,
    evaluate_peers,
)
from moehelpers.evaluation.per_bin import (
    ABLATIONS,
    TITLES,
    SeedResult,
    bin_axes,
    interior_share,
    per_bin_table,
    piecewise_summary,
    rigorous_labels,
    rigorous_seed,
    rigorous_summary,
    seed_table,
)

__all__ = [
    "ABLATIONS",
    "CEILING_ID",
    "LABEL_NAMES",
    "LABEL_SCALE",
    "MEDIAN_WINDOW",
    "TITLES",
    "Ceiling",
    "GateNoiseCurve",
    "PeerResult",
    "PeerSettings",
    "SeedResult",
    "bin_axes",
    "compute_ceiling",
    "evaluate_peers",
    "fisher",
    "flux_jacobian",
    "gate_noise_curve",
    "interior_share",
    "lagrange_derivative",
    "marginal_bound",
    "ml_fit",
    "ml_logg_spread",
    "noisy_gate",
    "per_bin_table",
    "piecewise_summary",
    "r2_ceiling",
    "rigorous_labels",
    "rigorous_seed",
    "rigorous_summary",
    "seed_table",
]
