"""Evaluation beyond one score: per-bin evaluation, gate-noise curves, the Fisher ceiling and its
Monte-Carlo check. (R², bootstrap and retention live in the top-level :mod:`moehelpers.metrics`,
which every layer uses.)

Imports ``gates`` and the layers below.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from moehelpers._lazy import lazy_exports

if TYPE_CHECKING:  # the re-exports; at run time each loads on first use (moehelpers._lazy)
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
    from moehelpers.evaluation.compare import (
        ci_columns,
        delta_row,
        delta_table,
        gap_table,
        row_shares,
    )
    from moehelpers.evaluation.conditional import (
        best_by_validation,
        best_order,
        full_resolution_r2,
        order_row,
        order_table,
        share_of_gain,
        step_table,
        val_r2,
        variant_predictions,
    )
    from moehelpers.evaluation.gate_noise import (
        GateNoiseCurve,
        gate_noise_curve,
        noisy_gate,
    )
    from moehelpers.evaluation.level_scores import (
        combined_gate_predictions,
        compare_to_best_single,
        r2_by_level,
    )
    from moehelpers.evaluation.noise_estimation import (
        LevelEstimates,
        der_snr_vs_true,
        estimate_levels,
        estimator_accuracy,
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
    "LevelEstimates",
    "PeerResult",
    "PeerSettings",
    "SeedResult",
    "best_by_validation",
    "best_order",
    "bin_axes",
    "ci_columns",
    "combined_gate_predictions",
    "compare_to_best_single",
    "compute_ceiling",
    "delta_row",
    "delta_table",
    "der_snr_vs_true",
    "estimate_levels",
    "estimator_accuracy",
    "evaluate_peers",
    "fisher",
    "flux_jacobian",
    "full_resolution_r2",
    "gap_table",
    "gate_noise_curve",
    "interior_share",
    "lagrange_derivative",
    "marginal_bound",
    "ml_fit",
    "ml_logg_spread",
    "noisy_gate",
    "order_row",
    "order_table",
    "per_bin_table",
    "piecewise_summary",
    "r2_by_level",
    "r2_ceiling",
    "rigorous_labels",
    "rigorous_seed",
    "rigorous_summary",
    "row_shares",
    "seed_table",
    "share_of_gain",
    "step_table",
    "val_r2",
    "variant_predictions",
]

__getattr__, __dir__ = lazy_exports(__name__)
