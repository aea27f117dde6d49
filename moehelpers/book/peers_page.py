"""The peers page (notebook 20, BEYOND-peers): its verdicts and record metrics."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from moehelpers.errors import InvalidParameterError
from moehelpers.evaluation.ceiling_mc import ML_GRID_MODEL
from moehelpers.records import store as results

__all__ = ["page_metrics", "page_verdicts"]


def page_verdicts(scores: pd.DataFrame, pulls: pd.DataFrame, level: float,
                  models: Sequence[str]) -> tuple[list[dict[str, Any]], str]:
    """The peers page's verdicts at one level, and the best peer there.

    ``peer_beats_ridge``: the best peer's paired ΔR² against the global Ridge has its lower
    95% end above 0; ``pulls_honest``: every χ²-fit peer's log g pull width ≤ 1.5; and, when
    ``scores`` holds the ML fit with the true model, ``ml_grid_pulls_honest``: its pull width
    ≤ 1.25 (an efficient fit with the exact model must state an honest σ).

    Parameters
    ----------
    scores, pulls : DataFrame
        :class:`PeerLevels` tables (``model, noise_level, …``).
    level : float
        The level judged (one of the levels run).
    models : sequence of str
        The peer families fitted (the best is chosen among them).
    """
    at = scores[np.isclose(scores["noise_level"], level)].set_index("model")
    at_pulls = pulls[(pulls["label"] == "log_g") & np.isclose(pulls["noise_level"], level)]
    at_pulls = at_pulls.set_index("model")
    fitted = [m for m in models if m in at.index]
    if not fitted:
        raise InvalidParameterError(f"no peer of {list(models)} was scored at noise {level:g}.")
    best = str(at.loc[fitted, "r2"].idxmax())
    chi2 = [m for m in fitted if m in at_pulls.index]
    out = [results.verdict("peer_beats_ridge", at.loc[best, "delta_lo"], 0.0, ">",
                           f"best peer ({best}) at noise {level:g}: lower end of the paired "
                           "95% interval of ΔR² vs the global Ridge > 0")]
    if chi2:
        out.append(results.verdict(
            "pulls_honest", float(at_pulls.loc[chi2, "pull_width"].max()), 1.5, "<=",
            "every χ²-fit family's log g pull width ≤ 1.5 (stated σ not too small)"))
    if ML_GRID_MODEL in at_pulls.index:
        out.append(results.verdict(
            "ml_grid_pulls_honest", float(at_pulls.loc[ML_GRID_MODEL, "pull_width"]), 1.25,
            "<=", "the ML fit with the true model states an honest σ (log g pull width ≤ 1.25)"))
    return out, best


def page_metrics(scores: pd.DataFrame, levels: Sequence[float], level: float) -> dict[str, Any]:
    """The peers record's metrics: levels run, the verdict level, R² and share per model."""
    at = scores[np.isclose(scores["noise_level"], level)].set_index("model")
    return {"noise_levels": [float(v) for v in levels], "verdict_level": float(level),
            "r2": {m: float(at.loc[m, "r2"]) for m in at.index},
            "share_of_ceiling": {m: float(at.loc[m, "share_of_ceiling"]) for m in at.index}}
