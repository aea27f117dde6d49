"""Spectra in, spectra out: BOSZ HDF5 I/O, the embedded grid, the fibre noise model, the sampler,
physical windows, flux-only features and SNR estimates, splits with frozen noise.

Imports only the top-level utilities (``errors``, ``paths``, ``_validation``, ``metrics``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from moehelpers._lazy import lazy_exports

if TYPE_CHECKING:  # the re-exports; at run time each loads on first use (moehelpers._lazy)
    from moehelpers.data.fibre_noise import (
        EXPOSURE_S,
        NOISE_MODEL_VERSION,
        FibreNoiseModel,
        VarianceTerms,
        exposure_for_median_snr,
        load_oh_lines,
        vacuum_to_air,
    )
    from moehelpers.data.flux_features import (
        GATE_WINDOWS,
        GateFeatures,
        check_gate_flux,
        window_features,
    )
    from moehelpers.data.grid import (
        DEFAULT_GRID_PATH,
        SpectralGrid,
        lagrange_stencil,
        load_grid,
    )
    from moehelpers.data.sampler import (
        LABEL_BOX,
        SAMPLER_VERSION,
        calibrate_exposure,
        dataset_settings,
        default_dataset,
        draw_labels,
        grid_checksum,
        make_dataset,
        snr_table,
        split_seeds,
    )
    from moehelpers.data.snr import (
        DER_CONSTANT,
        NoiseLevelEstimator,
        der_noise,
        der_snr,
        noise_features,
    )
    from moehelpers.data.spectra import (
        REQUIRED_LABELS,
        SpectraSet,
        checksum,
        iter_chunks,
        load,
        save,
    )
    from moehelpers.data.splits import (
        SPLITS,
        PooledLevels,
        Splits,
        bin_pixels,
        load_splits,
        noise_seed,
        noisy_splits,
        pool_levels,
        resplit,
        scores_with_ci,
    )
    from moehelpers.data.windows import (
        PHYSICAL_WINDOWS,
        Window,
        energy_curve,
        group_importance,
        pixel_std,
        standardise,
        topk_energy_share,
        window_importance,
        window_mask,
    )

__all__ = [
    "DEFAULT_GRID_PATH",
    "DER_CONSTANT",
    "EXPOSURE_S",
    "FibreNoiseModel",
    "GATE_WINDOWS",
    "GateFeatures",
    "LABEL_BOX",
    "NOISE_MODEL_VERSION",
    "NoiseLevelEstimator",
    "PHYSICAL_WINDOWS",
    "PooledLevels",
    "REQUIRED_LABELS",
    "SAMPLER_VERSION",
    "SPLITS",
    "SpectraSet",
    "SpectralGrid",
    "Splits",
    "VarianceTerms",
    "Window",
    "bin_pixels",
    "calibrate_exposure",
    "check_gate_flux",
    "checksum",
    "dataset_settings",
    "default_dataset",
    "der_noise",
    "der_snr",
    "draw_labels",
    "energy_curve",
    "exposure_for_median_snr",
    "grid_checksum",
    "group_importance",
    "iter_chunks",
    "lagrange_stencil",
    "load",
    "load_grid",
    "load_oh_lines",
    "load_splits",
    "make_dataset",
    "noise_features",
    "noise_seed",
    "noisy_splits",
    "pixel_std",
    "pool_levels",
    "resplit",
    "save",
    "scores_with_ci",
    "snr_table",
    "split_seeds",
    "standardise",
    "topk_energy_share",
    "vacuum_to_air",
    "window_features",
    "window_importance",
    "window_mask",
]

__getattr__, __dir__ = lazy_exports(__name__)
