"""The Ridge engine: sufficient statistics (Grams, grouped and weighted), BLAS kernels, α paths
from one decomposition, the Ridge estimator, streaming over shards.

Imports ``data`` and the top-level utilities.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from moehelpers._lazy import lazy_exports

if TYPE_CHECKING:  # the re-exports; at run time each loads on first use (moehelpers._lazy)
    from moehelpers.engine.block_path import (
        BlockPathMixin,
        best_alpha_index,
    )
    from moehelpers.engine.linalg import (
        accumulate_rows,
        check_chunk_size,
        choose_method,
        default_chunk_size,
        dual_coefs,
        eigen_decompose,
        solve_cholesky_dual,
        solve_cholesky_primal,
        solve_eigen_dual,
        solve_eigen_primal,
        symmetrize_upper,
        syrk_update,
    )
    from moehelpers.engine.ridge import (
        DEFAULT_ALPHAS,
        RidgePath,
        RidgeRegressor,
        RidgeSelection,
        RidgeStats,
        grouped_ridge_paths,
        grouped_stats,
        ridge_path,
        ridge_path_from_stats,
        ridge_path_select,
    )
    from moehelpers.engine.store import (
        StatsKey,
        StatsStore,
        array_fingerprint,
        cached_ridge_fit,
        cached_ridge_path,
        cached_ridge_stats,
        file_fingerprint,
    )
    from moehelpers.engine.stream import (
        NOISE_BLOCK,
        StreamSpec,
        StreamStats,
        accumulate_chunk,
        iter_chunks,
        plan_tasks,
        read_labels,
        stream_noisy,
        stream_stats,
    )
    from moehelpers.engine.terms import (
        ModulatorScaling,
        Monomial,
        gram_monomials,
        monomial_values,
        term_exponents,
        term_name,
        term_variables,
    )

__all__ = [
    "DEFAULT_ALPHAS",
    "NOISE_BLOCK",
    "BlockPathMixin",
    "ModulatorScaling",
    "Monomial",
    "RidgePath",
    "RidgeRegressor",
    "RidgeSelection",
    "RidgeStats",
    "StatsKey",
    "StatsStore",
    "StreamSpec",
    "StreamStats",
    "accumulate_chunk",
    "accumulate_rows",
    "array_fingerprint",
    "best_alpha_index",
    "cached_ridge_fit",
    "cached_ridge_path",
    "cached_ridge_stats",
    "check_chunk_size",
    "choose_method",
    "default_chunk_size",
    "dual_coefs",
    "eigen_decompose",
    "file_fingerprint",
    "gram_monomials",
    "grouped_ridge_paths",
    "grouped_stats",
    "iter_chunks",
    "monomial_values",
    "plan_tasks",
    "read_labels",
    "ridge_path",
    "ridge_path_from_stats",
    "ridge_path_select",
    "solve_cholesky_dual",
    "solve_cholesky_primal",
    "solve_eigen_dual",
    "solve_eigen_primal",
    "stream_noisy",
    "stream_stats",
    "symmetrize_upper",
    "syrk_update",
    "term_exponents",
    "term_name",
    "term_variables",
]

__getattr__, __dir__ = lazy_exports(__name__)
