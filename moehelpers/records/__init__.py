"""Result records: the store (one JSON per run × MVP, atomic, hashed, schema-validated), its codec,
the registry of MVPs and hypotheses, the original study's reference numbers.

Imports only the top-level utilities: a record never depends on how it was computed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from moehelpers._lazy import lazy_exports

if TYPE_CHECKING:  # the re-exports; at run time each loads on first use (moehelpers._lazy)
    from moehelpers.records.references import (
        ABLATIONS,
        LABEL,
        NEVER_RUN,
        ORIGINAL,
        mvp2_by_noise,
        original_r2_by_noise,
        reference_for,
    )
    from moehelpers.records.registry import (
        HYPOTHESES,
        MVP,
        MVPS,
        PHASES,
        Hypothesis,
        mvp,
        notebook_records,
        notebook_title,
        verdict_matches,
    )
    from moehelpers.records.store import (
        RUNS_DIR_ENV,
        SCHEMA_VERSION,
        content_hash,
        file_identity,
        list_runs,
        load_record,
        load_records,
        metrics_table,
        record,
        record_path,
        resolve_runs_dir,
        table,
        verdict,
        verdicts_table,
    )

__all__ = [
    "ABLATIONS",
    "HYPOTHESES",
    "LABEL",
    "MVP",
    "MVPS",
    "NEVER_RUN",
    "ORIGINAL",
    "PHASES",
    "RUNS_DIR_ENV",
    "SCHEMA_VERSION",
    "Hypothesis",
    "content_hash",
    "file_identity",
    "list_runs",
    "load_record",
    "load_records",
    "metrics_table",
    "mvp",
    "mvp2_by_noise",
    "notebook_records",
    "notebook_title",
    "original_r2_by_noise",
    "record",
    "record_path",
    "reference_for",
    "resolve_runs_dir",
    "table",
    "verdict",
    "verdict_matches",
    "verdicts_table",
]

__getattr__, __dir__ = lazy_exports(__name__)
