"""Recorded model R² next to the Fisher ceiling: "R² as a fraction of the ceiling".

:func:`recorded_r2` collects, from the result records of one run, every model scored on
**all** test stars (records scored on covered stars only, MVP-1.x, are left out: their
ceiling would be that of another set of stars; the log g-oracle gate of MVP-4.0 is left out:
it is given the answer). Each row says whether the model is deployable or was given the true
Teff / [M/H] (``uses_true_labels``): the latter is compared with the conditional ceiling
(Teff and [M/H] known), the others with the marginal one. A missing or unreadable record
yields a status row "not run yet", never an exception.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from moehelpers.book.hub_facts import m
from moehelpers.errors import DataFileNotFoundError, MoEHelpersError
from moehelpers.evaluation.ceiling import CEILING_ID
from moehelpers.records import store as results

__all__ = ["SOURCES", "fraction_of_ceiling", "recorded_r2"]

_COLS = ["mvp_id", "model", "noise_level", "r2", "r2_lo", "r2_hi", "uses_true_labels"]


def _row(rec: dict, model: str, level: float, r2: float, lo: float = np.nan,
         hi: float = np.nan, true_labels: bool = False) -> dict[str, Any]:
    return dict(zip(_COLS, [rec["mvp_id"], model, float(level), float(r2), float(lo), float(hi),
                            bool(true_labels)], strict=True))


def _mvp0(rec: dict) -> list[dict]:
    tab = results.table(rec, "by_noise")
    return [_row(rec, "global Ridge", r.noise_level, r.r2, r.r2_lo, r.r2_hi)
            for r in tab.itertuples()]


def _mvp20(rec: dict) -> list[dict]:
    tab = results.table(rec, "by_level")
    return [_row(rec, "Ridge trained on mixed noise", r.noise_level, r.r2_mixed)
            for r in tab.itertuples()]


def _mvp30(rec: dict) -> list[dict]:
    tab = results.table(rec, "by_k")
    best = tab[tab["K"] == int(m(rec, "best_k"))].iloc[0]
    return [_row(rec, f"quantile [M/H] bins, K={int(best.K)} (true [M/H])",
                 rec["params"]["noise_level"], best.r2_moe, true_labels=True)]


def _mvp31(rec: dict) -> list[dict]:
    tab = results.table(rec, "retention")
    return [_row(rec, f"pseudo gate, {r.scheme}", rec["params"]["noise_level"], r.r2_pseudo)
            for r in tab.itertuples()]


def _mvp32(rec: dict) -> list[dict]:
    tab = results.table(rec, "by_order")
    tab = tab[tab["order"] > 0]
    return [_row(rec, f"conditional Ridge, order {int(r.order)}, m={r.m}",
                 rec["params"]["noise_level"], r.r2, true_labels=(r.m == "true"))
            for r in tab.itertuples()]


def _mvp40(rec: dict) -> list[dict]:
    tab = results.table(rec, "gates")
    keep = tab[~tab["gate"].str.startswith("oracle")]
    return [_row(rec, f"log g gate, {r.gate}", rec["params"]["noise_level"], r.r2)
            for r in keep.itertuples()]


#: Record id → extractor of its all-test-star model R² rows.
SOURCES: dict[str, Callable[[dict], list[dict]]] = {
    "MVP-0": _mvp0, "MVP-2.0": _mvp20, "MVP-3.0": _mvp30, "MVP-3.1": _mvp31,
    "MVP-3.2": _mvp32, "MVP-4.0": _mvp40,
}


def recorded_r2(run: str = "default", runs_dir: str | Path | None = None
                ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Model R² rows of a run and the status of every source record.

    Returns
    -------
    models : DataFrame
        ``mvp_id, model, noise_level, r2, r2_lo, r2_hi, uses_true_labels`` (NaN CI where the
        record has none).
    status : DataFrame
        ``mvp_id, status`` with ``"ok"``, ``"not run yet"`` or ``"unreadable: …"``.
    """
    rows, status = [], []
    for mvp_id, extract in SOURCES.items():
        try:
            rec = results.load_record(run, mvp_id, runs_dir)
        except FileNotFoundError:
            status.append((mvp_id, "not run yet"))
            continue
        except MoEHelpersError as exc:
            status.append((mvp_id, f"unreadable: {str(exc)[:120]}"))
            continue
        try:
            rows += extract(rec)
            status.append((mvp_id, "ok"))
        except (KeyError, IndexError, AttributeError, TypeError, ValueError,
                MoEHelpersError) as exc:
            status.append((mvp_id, f"unreadable: {type(exc).__name__}: {str(exc)[:100]}"))
    models = pd.DataFrame(rows, columns=_COLS)
    return models, pd.DataFrame(status, columns=["mvp_id", "status"])


def fraction_of_ceiling(models: pd.DataFrame, ceiling: pd.DataFrame | None = None, *,
                        run: str = "default", runs_dir: str | Path | None = None
                        ) -> pd.DataFrame:
    """Add the ceiling at each model's noise level and ``r2 / ceiling``.

    ``ceiling`` is the ``by_noise`` table of the ceiling (default: read from the run's
    record). Models with ``uses_true_labels`` are divided by ``r2_cond_set``, the others by
    ``r2_max_set``; ``fraction_bayes`` divides by the approximate shrinkage ceiling
    ``r2_bayes_set``. A noise level the ceiling lacks gets NaN, and so does a fraction whose
    ceiling is ≤ 0 (an unbiased estimator cannot beat predicting the mean there, so the
    ratio has no meaning; compare with ``fraction_bayes``).
    """
    tab = ceiling if ceiling is not None else ceiling_table(run, runs_dir)
    out = models.copy()
    cols = ("r2_max_set", "r2_cond_set", "r2_bayes_set")
    for col in cols:
        out[col] = np.nan
    if tab is not None and len(out):
        for col in cols:
            lookup = dict(zip(np.round(tab["noise_level"], 6), tab[col], strict=True))
            out[col] = [lookup.get(round(lv, 6), np.nan) for lv in out["noise_level"]]
    ceiling_used = np.where(out["uses_true_labels"], out["r2_cond_set"], out["r2_max_set"])
    out["ceiling"] = ceiling_used
    with np.errstate(divide="ignore", invalid="ignore"):
        out["fraction"] = np.where(out["ceiling"] > 0, out["r2"] / out["ceiling"], np.nan)
        out["fraction_bayes"] = np.where(out["r2_bayes_set"] > 0,
                                         out["r2"] / out["r2_bayes_set"], np.nan)
    return out


# --------------------------------------------------------------------------- records
def ceiling_table(run: str = "default", runs_dir: str | Path | None = None) -> pd.DataFrame | None:
    """The ceiling per noise level from the run's ``BEYOND-ceiling`` record, else ``None``.

    Columns include ``noise_level``, ``r2_max_set`` (compare with a model's test R²),
    ``r2_max_median`` and ``snr_l2_median``.
    """
    try:
        rec = results.load_record(run, CEILING_ID, runs_dir)
    except DataFileNotFoundError:
        return None
    return results.table(rec, "by_noise")


def ceiling_r2(noise_level: float, run: str = "default", runs_dir: str | Path | None = None,
               *, which: str = "r2_max_set") -> float:
    """Ceiling R² at ``noise_level`` from the run's record (NaN if not run or level absent).

    ``which`` is a column of :func:`ceiling_table`: ``"r2_max_set"`` (default, the unbiased
    CRLB ceiling), ``"r2_max_median"``, ``"r2_cond_set"`` (Teff and [M/H] known: for models
    given the true labels), ``"r2_bayes_set"`` (approximate shrinkage ceiling). Divide a
    model's test R² by it to get "R² as a fraction of the ceiling".
    """
    tab = ceiling_table(run, runs_dir)
    if tab is None:
        return float("nan")
    hit = tab[np.isclose(tab["noise_level"], float(noise_level))]
    return float(hit[which].iloc[0]) if len(hit) else float("nan")

