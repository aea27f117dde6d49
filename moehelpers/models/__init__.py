"""Models built on the engine: bin schemes, piecewise Ridge, modulated / conditional Ridge, noise
experts, noise conditioning, NN-MoE, fits from streamed statistics.

Imports ``engine``, ``data`` and the top-level utilities.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from moehelpers._lazy import lazy_exports

if TYPE_CHECKING:  # the re-exports; at run time each loads on first use (moehelpers._lazy)
    from moehelpers.models.bins import (
        MH_EDGES,
        TEFF_EDGES,
        AxisBins,
        BinPlan,
        BinScheme,
        Interval,
        merge_sparse_bins,
        mh_only,
        physical_3x3,
        quantile_scheme,
        resolve_small_bins,
        teff_only,
    )
    from moehelpers.models.conditional import (
        ConditionalRidge,
        fit_orders,
        moment_stats,
        standardized_moments,
    )
    from moehelpers.models.modulated import (
        ModulatedRidge,
        ModulatorScaling,
        fit_steps,
        gram_monomials,
        label_modulators,
        modulated_stats,
        monomial_values,
        parse_steps,
        step_monomials,
        step_name,
        step_stats,
        term_exponents,
        term_name,
        term_variables,
    )
    from moehelpers.models.nn_moe import (
        NNMoERegressor,
        require_torch,
        resolve_device,
        spectral_inputs,
    )
    from moehelpers.models.noise_conditioning import (
        LevelScores,
        NoiseConditionedRidge,
        dr2_columns,
        model_key,
        n_hat_table,
        scaled_stats,
        score_levels,
    )
    from moehelpers.models.noise_experts import (
        DEFAULT_LEVELS,
        CrossNoise,
        MatchedComparison,
        NoiseExperts,
        check_levels,
        compare_matched,
        cross_noise,
    )
    from moehelpers.models.peers import (
        CannonModel,
        CNNRegressor,
        EmulatorFit,
    )
    from moehelpers.models.piecewise import (
        PiecewiseRidge,
        fit_together,
    )
    from moehelpers.models.stream_fit import (
        MODELS,
        fit_from_stream_stats,
        fit_stream,
        spec_for,
    )

__all__ = [
    "DEFAULT_LEVELS",
    "MH_EDGES",
    "MODELS",
    "TEFF_EDGES",
    "AxisBins",
    "BinPlan",
    "BinScheme",
    "CNNRegressor",
    "CannonModel",
    "ConditionalRidge",
    "CrossNoise",
    "EmulatorFit",
    "Interval",
    "LevelScores",
    "MatchedComparison",
    "ModulatedRidge",
    "ModulatorScaling",
    "NNMoERegressor",
    "NoiseConditionedRidge",
    "NoiseExperts",
    "PiecewiseRidge",
    "check_levels",
    "compare_matched",
    "cross_noise",
    "dr2_columns",
    "fit_from_stream_stats",
    "fit_orders",
    "fit_steps",
    "fit_stream",
    "fit_together",
    "gram_monomials",
    "label_modulators",
    "merge_sparse_bins",
    "mh_only",
    "model_key",
    "modulated_stats",
    "moment_stats",
    "monomial_values",
    "n_hat_table",
    "parse_steps",
    "physical_3x3",
    "quantile_scheme",
    "require_torch",
    "resolve_device",
    "resolve_small_bins",
    "scaled_stats",
    "score_levels",
    "spec_for",
    "spectral_inputs",
    "standardized_moments",
    "step_monomials",
    "step_name",
    "step_stats",
    "teff_only",
    "term_exponents",
    "term_name",
    "term_variables",
]

__getattr__, __dir__ = lazy_exports(__name__)
