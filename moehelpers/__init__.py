"""moehelpers: the logic behind the MoE log g book.

Modules hold one concern each: :mod:`~moehelpers.data` (spectra I/O),
:mod:`~moehelpers.grid` (the embedded spectral grid),
:mod:`~moehelpers.sampler` (labelled datasets drawn from the grid),
:mod:`~moehelpers.ridge` (the Ridge engine), :mod:`~moehelpers.metrics`,
:mod:`~moehelpers.results` (result records), :mod:`~moehelpers.plots`
and :mod:`~moehelpers.runner` (papermill batch runs + the book build).
"""

from __future__ import annotations

from moehelpers.errors import MoEHelpersError

__version__ = "0.1.0"

__all__ = ["MoEHelpersError", "__version__"]
