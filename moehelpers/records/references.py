"""Numbers reported by the original study (BOSZ/PFS spectra), for side-by-side tables.

These are *references, not targets*: the original data differ from ours (see
``REFERENCE.md`` §4 of the project notes). Every table that shows one labels it
``original study (BOSZ)``. All at noise_level 0.2 with 32k train / 1k test unless
the key says otherwise.
"""

from __future__ import annotations

from collections.abc import Sequence
from types import MappingProxyType
from typing import Any

__all__ = ["ABLATIONS", "LABEL", "NEVER_RUN", "ORIGINAL", "mvp2_by_noise", "original_r2_by_noise",
           "reference_at", "reference_for"]

#: Label used wherever these numbers appear.
LABEL = "original study (BOSZ)"

#: MVPs of the framework document that the original study never completed (REFERENCE.md §4):
#: no reference number exists for them, and this project's pages are the first answers.
NEVER_RUN: tuple[str, ...] = ("MVP-4.0", "MVP-6.0", "MVP-6.1", "MVP-7.2", "MVP-7.3", "MVP-7.4")

ORIGINAL = MappingProxyType({
    # Data: SNR per noise level over 1000 spectra (REFERENCE.md §2), mean ± sd
    "snr.noise_levels": (0.1, 0.2, 0.5, 1.0),
    "snr.l2_mean": (33.4, 16.7, 6.7, 3.3),
    "snr.l2_sd": (17.0, 8.5, 3.4, 1.7),
    "snr.l2_median_0.2": 14.6,
    "snr.l2_median_1.0": 2.9,
    "snr.pixel_mean": (70.0, 35.0, 14.0, 7.0),
    "snr.pixel_sd": (34.0, 17.0, 6.7, 3.4),
    # MVP-0: global Ridge
    "mvp0.r2_all": 0.8341,           # all 1000 test spectra
    "mvp0.r2_covered": 0.8616,       # the 816 spectra inside the 3×3 bins
    "mvp0.coverage": 0.816,
    # MVP-1.0 / 1.1: 9-bin piecewise Ridge
    "mvp1.r2_moe": 0.9116,
    "mvp1.delta_r2": 0.050,
    "mvp1.delta_r2_ci": (0.033, 0.067),
    "mvp1.seeds_mean": 0.0445,
    "mvp1.seeds_sd": 0.0064,
    "mvp1.delta_r2_fallback": 0.041,  # 100% coverage with the global fallback
    "mvp1.delta_r2_mh_only": 0.034,
    "mvp1.share_mh_only": 0.687,
    "mvp1.delta_r2_teff_only": 0.021,
    "mvp1.share_teff_only": 0.429,
    "mvp1.per_bin_r2": (0.897, 0.957, 0.980, 0.773, 0.916, 0.979, 0.787, 0.928, 0.969),
    "mvp1.per_bin_n_train": (2910, 2872, 2064, 3278, 3224, 2308, 3658, 3769, 2526),
    "mvp1.per_bin_n_test": (90, 76, 59, 105, 83, 65, 107, 129, 102),
    "mvp1.delta_r2_misaligned": 0.078,  # MoE on covered stars − global on all stars (lesson 1)
    # MVP-1.1 at 100k train / 10k test, noise 0.2 and 0.5
    "mvp1.large_noise_levels": (0.2, 0.5),
    "mvp1.large_r2_global": (0.8745, 0.7198),
    "mvp1.large_r2_moe": (0.9246, 0.7719),
    "mvp1.large_delta_r2": (0.0501, 0.0521),
    "mvp1.large_delta_r2_ci": ((0.0451, 0.0552), (0.0421, 0.0611)),
    # MVP-2.0: expert per noise level vs one mixed model
    "mvp2.noise_levels": (0.0, 0.1, 0.2, 0.5, 1.0),
    "mvp2.r2_expert": (0.9991, 0.9130, 0.8341, 0.6552, 0.4601),
    "mvp2.r2_mixed": (0.8207, 0.8168, 0.8001, 0.6863, 0.3393),
    "mvp2.noise0_expert_at_noise1": -700.0,   # "R² ≈ −700"
    "mvp2.noise1_expert_at_noise0": 0.63,
    # MVP-3.x
    "mvp3.quantile_k": (2, 3, 4, 5, 6),
    "mvp3.quantile_delta_r2": (0.004, -0.053, -0.122, -0.264, -0.839),
    "mvp3.pseudo_retention_k2": 0.073,
    "mvp3.pseudo_mh_r2": 0.98,  # test R² of the global Ridge predicting [M/H]
    "mvp3.pseudo_k": 2,  # the K of the reported retention
    "mvp3.conditional_r2": {"[x]": 0.8341, "[x, m·x]": 0.9018, "[x, m·x, m²·x]": 0.8895},
    "mvp3.conditional_orders": (0, 1, 2),  # the same three models, by order (true [M/H])
    "mvp3.conditional_r2_by_order": (0.8341, 0.9018, 0.8895),
    "mvp3.conditional_share_order1": 0.80,  # framework document H2.3: order 1 reaches 80%
    # MVP-5.0: Ridge coefficients of the 9 physical experts (REFERENCE.md §4)
    "mvp5.top_k": 10,  # k of the top-k |w| energy share below
    "mvp5.topk_share_metal_poor": (0.22, 0.31),  # range over the metal-poor experts
    "mvp5.topk_share_metal_rich": (0.07, 0.12),  # range over the metal-rich experts
    "mvp5.ca8498_ratio": 1.65,  # mean |w| in the Ca II 8498 window / mean |w|
    # Learned gates of the original study (REFERENCE.md §4; its own protocol, not MVP-6.x)
    "mvp6.mlp_gate_r2": 0.931,  # MLP gate over frozen Ridge experts
    "mvp6.logistic_gate_r2": 0.921,  # logistic gate over the same experts
    "mvp6.window_soft_retention_mh3": 1.0,  # physical-window soft gate, 3 [M/H] experts (~100%)
    "mvp6.window_hard_retention_mh3": 0.72,  # the same gate, hard routing
    "mvp6.window9_noise1_1m_r2": {"soft gate": 0.593, "global": 0.461, "oracle": 0.625},
    "mvp6.window9_noise1_1m_retention": 0.81,  # 9 experts, 37 features, 1M train, noise 1
    # MVP-7.1: gate noise σ (in dex of [M/H]); hard MoE routed by m̃, conditional with m̃.
    # MVP-7.2–7.4 were never completed in the original study (see NEVER_RUN).
    "mvp7.sigma": (0.0, 0.1, 0.2, 0.5, 1.0),
    "mvp7.hard_r2": (0.894, 0.894, 0.891, 0.859, 0.823),
    "mvp7.conditional_r2": (0.902, 0.898, 0.890, 0.868, 0.844),
})


def original_r2_by_noise() -> dict[float, float]:
    """Global Ridge R² of the original study per noise level (trained and tested there)."""
    return mvp2_by_noise("expert")


def mvp2_by_noise(model: str) -> dict[float, float]:
    """The original study's MVP-2.0 test R² per noise level, ``{level: R²}``.

    Parameters
    ----------
    model : {"expert", "mixed"}
        The noise-matched expert (trained and tested at the level) or the mixed-noise Ridge.
    """
    if model not in ("expert", "mixed"):
        raise ValueError(f"model must be 'expert' or 'mixed'; got {model!r}.")
    return dict(zip(ORIGINAL["mvp2.noise_levels"], ORIGINAL[f"mvp2.r2_{model}"], strict=True))

#: The ablations of MVP-1.1 the original study reported (fallback, misaligned bins, ...).
ABLATIONS: tuple[str, ...] = ("mh_only", "teff_only")


def reference_for(n_train: int, noise_level: float,
                  ablations: Sequence[str] = ABLATIONS) -> dict[str, Any]:
    """The original study's MVP-1.1 numbers for the closest setting it ran.

    ``n_train ≥ 100000``: its 100k/10k runs (noise 0.2 and 0.5); else the 32k series
    (noise 0.2 only). Values it did not report are NaN; ``setting`` names the source.
    """
    ref = ORIGINAL
    nan = float("nan")
    out: dict[str, Any] = {"setting": "", "r2_global": nan, "r2_moe": nan, "delta_r2": nan,
                           "delta_lo": nan, "delta_hi": nan, "seeds_mean": nan,
                           "seeds_sd": nan, "delta_fallback": nan,
                           "delta_misaligned": nan}
    out.update({f"{q}_{n}": nan for n in ablations for q in ("delta", "share")})
    if n_train >= 100_000:
        levels = list(ref["mvp1.large_noise_levels"])
        if noise_level in levels:
            k = levels.index(noise_level)
            lo, hi = ref["mvp1.large_delta_r2_ci"][k]
            out.update(setting=f"100k train / 10k test, noise {noise_level:g}",
                       r2_global=ref["mvp1.large_r2_global"][k],
                       r2_moe=ref["mvp1.large_r2_moe"][k],
                       delta_r2=ref["mvp1.large_delta_r2"][k], delta_lo=lo, delta_hi=hi)
        else:
            out["setting"] = f"none at 100k and noise {noise_level:g}"
        return out
    if noise_level != 0.2:
        out["setting"] = f"none at noise {noise_level:g} (the 32k series ran at 0.2)"
        return out
    lo, hi = ref["mvp1.delta_r2_ci"]
    out.update(setting="32k train / 1k test, noise 0.2", r2_global=ref["mvp0.r2_covered"],
               r2_moe=ref["mvp1.r2_moe"], delta_r2=ref["mvp1.delta_r2"], delta_lo=lo,
               delta_hi=hi, seeds_mean=ref["mvp1.seeds_mean"], seeds_sd=ref["mvp1.seeds_sd"],
               delta_fallback=ref["mvp1.delta_r2_fallback"],
               delta_misaligned=ref["mvp1.delta_r2_misaligned"])
    out.update({f"{q}_{n}": ref[f"mvp1.{'delta_r2' if q == 'delta' else q}_{n}"]
                for n in ablations for q in ("delta", "share")})
    return out


def reference_at(key: str, noise_level: float) -> float:
    """``ORIGINAL[key]`` where the setting is the study's default noise 0.2, else NaN."""
    return float(ORIGINAL[key]) if abs(float(noise_level) - 0.2) < 1e-9 else float("nan")
