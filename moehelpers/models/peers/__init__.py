"""Peer models astronomers use instead of Ridge experts: The Cannon, a Payne-style emulator fit
and a StarNet-style CNN. Each fits the noisy flux; the error array enters only as χ² weights
(Cannon, emulator) or to draw training noise (CNN), never as a feature.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from moehelpers._lazy import lazy_exports

if TYPE_CHECKING:  # the re-exports; at run time each loads on first use (moehelpers._lazy)
    from moehelpers.models.peers._common import LABELS, FitResult, batched_lm, bin_ivar
    from moehelpers.models.peers.cannon import CannonModel, monomial_exponents
    from moehelpers.models.peers.cnn import CNNRegressor
    from moehelpers.models.peers.emulator import EmulatorFit, fit_scatter

__all__ = [
    "LABELS",
    "CNNRegressor",
    "CannonModel",
    "EmulatorFit",
    "FitResult",
    "batched_lm",
    "bin_ivar",
    "fit_scatter",
    "monomial_exponents",
]

__getattr__, __dir__ = lazy_exports(__name__)
