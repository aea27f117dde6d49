"""moehelpers: the logic behind the MoE log g book.

The package is a stack of layers; a module imports only from its own layer and the layers
below it (``tests/test_layers.py`` walks every import and fails on an upward one):

==============  ===========================================================================
layer           owns
==============  ===========================================================================
utilities       :mod:`~moehelpers.errors` (one exception family), :mod:`~moehelpers.paths`,
                :mod:`~moehelpers._lazy` (lazy re-exports),
                :mod:`~moehelpers._validation` (input checks), :mod:`~moehelpers.metrics`
                (R², MAE, RMSE, the one paired-bootstrap CI, retention)
``data``        spectra I/O, the embedded grid, fibre noise model, sampler, windows,
                flux-only features and SNR estimates, splits with frozen noise
``engine``      sufficient statistics, BLAS kernels, α paths, the Ridge estimator, streaming
``models``      bin schemes, piecewise Ridge, modulated / conditional Ridge, noise experts,
                noise conditioning, NN-MoE, fits from streamed statistics
``gates``       pseudo, flux and learned gates over frozen experts
``evaluation``  per-bin evaluation, gate-noise curves, the Fisher ceiling
``records``     result store, codec, registry of MVPs and hypotheses, reference numbers
``book``        notebook front end, runner, CLI, report, plots, hub pages, HTML build
==============  ===========================================================================

``records`` imports only the utilities (a record never depends on how it was computed);
``book`` may import everything. Each sub-package's ``__init__`` re-exports its public names
lazily (:mod:`moehelpers._lazy`).
A notebook needs only ``from moehelpers import notebook`` (see :mod:`moehelpers.book.notebook`).
"""

from __future__ import annotations

from typing import Any

from moehelpers.errors import MoEHelpersError

__version__ = "0.2.0"

#: Layers from the bottom up (``"."`` is the top-level utilities).
LAYERS: tuple[str, ...] = (".", "data", "engine", "models", "gates", "evaluation", "records",
                           "book")
#: Layers a layer may import besides itself and the utilities (records sits beside the
#: computing layers, not above them).
ALLOWED_IMPORTS: dict[str, frozenset[str]] = {
    ".": frozenset(),
    "data": frozenset(),
    "engine": frozenset({"data"}),
    "models": frozenset({"data", "engine"}),
    "gates": frozenset({"data", "engine", "models"}),
    "evaluation": frozenset({"data", "engine", "models", "gates"}),
    "records": frozenset(),
    "book": frozenset({"data", "engine", "models", "gates", "evaluation", "records"}),
}

__all__ = ["ALLOWED_IMPORTS", "LAYERS", "MoEHelpersError", "__version__", "notebook"]


def __getattr__(name: str) -> Any:
    # ``moehelpers.notebook`` on first use, so importing a low layer stays light
    if name == "notebook":
        from moehelpers.book import notebook

        return notebook
    raise AttributeError(f"module 'moehelpers' has no attribute {name!r}")
