"""moehelpers: the logic behind the MoE log g book.

One concern per module: :mod:`~moehelpers.data` (spectra I/O), :mod:`~moehelpers.grid`
(the embedded spectral grid), :mod:`~moehelpers.noise_model` and
:mod:`~moehelpers.sampler` (labelled datasets drawn from the grid),
:mod:`~moehelpers.experiment` (splits and frozen noise), :mod:`~moehelpers.ridge` (the
Ridge engine), :mod:`~moehelpers.gating` (bin schemes), :mod:`~moehelpers.moe`,
:mod:`~moehelpers.conditional`, :mod:`~moehelpers.modulated` and
:mod:`~moehelpers.noise_experts` (experts), :mod:`~moehelpers.noise_conditioning` (one model
conditioned on the noise level), :mod:`~moehelpers.snr` (noise level from the flux alone),
:mod:`~moehelpers.gate_noise` (gate-noise curves),
:mod:`~moehelpers.stream` and :mod:`~moehelpers.stream_fit` (the same models fitted from
shards streamed chunk by chunk, locally or on Dask),
:mod:`~moehelpers.pseudo` (routing by predicted labels), :mod:`~moehelpers.flux_gate`
(a learned gate on the noisy flux), :mod:`~moehelpers.windows` (physical wavelength windows,
coefficient importance), :mod:`~moehelpers.metrics`,
:mod:`~moehelpers.results` (result records), :mod:`~moehelpers.report` and
:mod:`~moehelpers.plots` (what a page shows), :mod:`~moehelpers.runner` and
:mod:`~moehelpers.book` (papermill runs and the HTML book).
"""

from __future__ import annotations

from moehelpers.errors import MoEHelpersError

__version__ = "0.1.0"

__all__ = ["MoEHelpersError", "__version__"]
