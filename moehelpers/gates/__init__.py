"""Gates over frozen experts: pseudo gates (labels predicted from the flux), flux classifiers,
learned gates.

Imports ``models`` and the layers below.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from moehelpers._lazy import lazy_exports

if TYPE_CHECKING:  # the re-exports; at run time each loads on first use (moehelpers._lazy)
    from moehelpers.gates.flux import (
        FluxBinClassifier,
        bin_representatives,
    )
    from moehelpers.gates.learned import (
        GateInputs,
        LogisticGate,
        MixtureGate,
        TrainPart,
        combine,
        confusion,
        expert_matrix,
        fit_mixture,
        gate_rows,
        option_names,
        score_gate,
        score_gates,
        split_experts_gate,
        true_options,
    )
    from moehelpers.gates.pseudo import (
        GateComparison,
        compare_gates,
        gate_reading,
        gate_table,
        label_predictor,
        retarget,
        routing_confusion,
        routing_error_table,
        routing_errors,
    )

__all__ = [
    "FluxBinClassifier",
    "GateComparison",
    "GateInputs",
    "LogisticGate",
    "MixtureGate",
    "TrainPart",
    "bin_representatives",
    "combine",
    "compare_gates",
    "confusion",
    "expert_matrix",
    "fit_mixture",
    "gate_reading",
    "gate_rows",
    "gate_table",
    "label_predictor",
    "option_names",
    "retarget",
    "routing_confusion",
    "routing_error_table",
    "routing_errors",
    "score_gate",
    "score_gates",
    "split_experts_gate",
    "true_options",
]

__getattr__, __dir__ = lazy_exports(__name__)
