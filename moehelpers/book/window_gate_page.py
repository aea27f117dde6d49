"""The MVP-7.4 page (notebook 15, a physical-window gate over the nine Ridge experts).

The captions built from numbers, the verdicts of the document's acceptance and stop-loss
rules, the record metrics and headline rows. The routings and models are those of
:mod:`moehelpers.evaluation.window_gate`; the reading in words is
:func:`moehelpers.book.conditional_context.window_gate_reading`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from moehelpers.records import store as results

__all__ = ["GAPS_CAPTION", "TRUE_LABEL_MODELS", "models_caption", "window_headline",
           "window_metrics", "window_verdicts"]

#: Caption of the table of the document's comparisons.
GAPS_CAPTION = ("Window gate against the pseudo gate, Conditional Ridge++ and the order-1 "
                "conditional Ridge, 95% paired bootstrap.")

#: Record keys (brackets dropped) of the models given the true Teff / [M/H].
TRUE_LABEL_MODELS = ("oracle (true labels)", "conditional Ridge (true M/H)",
                     "Conditional Ridge++ (true Teff, M/H)")


def models_caption(table: pd.DataFrame, noise_level: float, n_boot: int) -> str:
    """Caption of the table of every model on the same test stars.

    Parameters
    ----------
    table : DataFrame
        The scored models (column ``n``: test stars).
    noise_level : float
        Flux noise level.
    n_boot : int
        Bootstrap resamples.

    Returns
    -------
    str
    """
    return (f"All {table['n'].iloc[0]} test stars, noise {noise_level:g}: R², ΔR² over the "
            "global Ridge and retention of the oracle 9-bin gain (95% paired bootstrap, "
            f"{n_boot} resamples). Routing accuracy: share of stars whose most probable option "
            "is their true one (n/a for the conditional models, which do not route).")


def window_verdicts(gaps: pd.DataFrame, equivalence_margin: float) -> list[dict[str, Any]]:
    """The document's two acceptance conditions and its stop-loss, in that order.

    Parameters
    ----------
    gaps : DataFrame
        Paired R² differences of :data:`moehelpers.evaluation.window_gate.DOCUMENT_PAIRS`:
        row 0 window gate − pseudo gate, row 1 window gate − Conditional Ridge++ (predicted
        labels); columns ``delta_r2``, ``delta_r2_lo``.
    equivalence_margin : float
        ``|ΔR²|`` below this reads as "≈" (stop-loss).

    Returns
    -------
    list of dict
        ``window_ge_pseudo`` (H-B), ``window_clearly_above_conditional`` (H-D),
        ``stop_loss_window_equals_conditional``.
    """
    d_ps, d_cond = gaps.iloc[0], gaps.iloc[1]
    return [
        results.verdict("window_ge_pseudo", d_ps["delta_r2"], 0.0, ">=",
                        "acceptance (1): R²(window gate) − R²(pseudo gate) ≥ 0", tests="H-B"),
        results.verdict("window_clearly_above_conditional", d_cond["delta_r2_lo"], 0.0, ">",
                        "acceptance (2): the paired 95% interval of R²(window gate) − "
                        "R²(Conditional Ridge++, predicted labels) lies above 0", tests="H-D"),
        results.verdict("stop_loss_window_equals_conditional", abs(d_cond["delta_r2"]),
                        equivalence_margin, "<",
                        f"stop-loss: |R²(window gate) − R²(Conditional Ridge++)| < "
                        f"{equivalence_margin:g} → use the conditional model, drop NN-MoE"),
    ]


def window_metrics(table: pd.DataFrame, gaps: pd.DataFrame, *, mixture_l2: float,
                   pp_alpha: float, confusion: pd.DataFrame) -> dict[str, Any]:
    """The metrics of the MVP-7.4 record.

    Parameters
    ----------
    table : DataFrame
        The scored models (``model``, ``r2_global``, ``r2``, ``delta_r2``, its interval,
        ``retention``).
    gaps : DataFrame
        The document's comparisons (``delta_r2`` and its interval).
    mixture_l2 : float
        L2 of the mixture gate chosen on validation.
    pp_alpha : float
        α of Conditional Ridge++.
    confusion : DataFrame
        Routing confusion of the soft multinomial gate.

    Returns
    -------
    dict
        ``r2_global``; per column a dict model → value, keyed by the model name without
        brackets; ``gaps``, ``gaps_lo``, ``gaps_hi``; ``mixture_l2``, ``pp_alpha``,
        ``confusion``.
    """
    keys = [n.replace("[", "").replace("]", "") for n in table["model"]]
    return {"r2_global": float(table["r2_global"].iloc[0]),
            **{col: dict(zip(keys, table[col].tolist(), strict=True))
               for col in ("r2", "delta_r2", "delta_r2_lo", "delta_r2_hi", "retention")},
            **{f"gaps{s}": gaps[f"delta_r2{s}"].tolist() for s in ("", "_lo", "_hi")},
            "mixture_l2": mixture_l2, "pp_alpha": pp_alpha,
            "confusion": confusion.to_numpy().tolist()}


def window_headline(metrics: Mapping[str, Any], noise_level: float) -> list[dict[str, Any]]:
    """Headline rows of the MVP-7.4 record: every model's R²; :data:`TRUE_LABEL_MODELS` are
    given Teff/[M/H].

    Parameters
    ----------
    metrics : mapping
        :func:`window_metrics` (``r2``: model → R²).
    noise_level : float

    Returns
    -------
    list of dict
        :func:`moehelpers.records.store.headline_from_r2` rows.
    """
    return results.headline_from_r2(metrics["r2"], noise_level,
                                     dict.fromkeys(TRUE_LABEL_MODELS, "Teff/[M/H]"))
