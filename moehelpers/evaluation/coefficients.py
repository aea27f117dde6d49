"""Where the experts look (MVP-5.0): standardised coefficients of a piecewise Ridge.

Coefficients are compared on a common scale, ``w·σ`` (:func:`moehelpers.data.windows.
standardise`, σ the pixel's flux standard deviation over the expert's own training stars):
the change of log g per standard deviation of the flux in that pixel. :func:`study` gathers
them per expert (and for the global model) with the expert's [M/H] group; the tables below
are what the MVP-5.0 page shows and records:

* :func:`expert_table` — energy concentration (top-k share of Σw², pixels for half of it)
  and the mean |w| per group of physical windows, relative to the expert's mean |w|;
* :func:`window_grid` — mean |w| per window and expert (relative), long and wide;
* :func:`difference_spectra` — ``w(metal-rich) − w(metal-poor)`` per Teff row and its mean,
  with the windows that stand out in it;
* :func:`group_ratios` — metal-line and Paschen importance of metal-rich against
  metal-poor experts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from moehelpers.data import windows
from moehelpers.models.bins import physical_3x3

__all__ = ["GROUP_NAMES", "CoefficientStudy", "difference_spectra", "expert_table",
           "group_ratios", "study", "topk_by_group", "window_grid"]

#: [M/H] column of the 3×3 scheme → group name (None: an expert serving several columns).
GROUP_NAMES: dict[int | None, str] = {0: "metal-poor", 1: "solar", 2: "metal-rich",
                                      None: "mixed"}


@dataclass
class CoefficientStudy:
    """Standardised coefficients of a fitted piecewise Ridge and what each expert serves.

    Attributes
    ----------
    wave : ndarray
    model : PiecewiseRidge
    standardised : dict of str → ndarray
        ``w·σ`` per expert (σ over the expert's training stars).
    standardised_global : ndarray
        The global model's ``w·σ`` (σ over all training stars).
    raw : dict of str → ndarray
        The experts' coefficients as fitted.
    served : ndarray of int
        Expert of every training star (−1: none).
    mh_column : dict of str → int or None
        [M/H] column (0, 1, 2) of each expert's bins; None when they span several.
    """

    wave: np.ndarray
    model: Any
    standardised: dict[str, np.ndarray]
    standardised_global: np.ndarray
    raw: dict[str, np.ndarray]
    served: np.ndarray
    mh_column: dict[str, int | None]

    def group(self, name: str) -> str:
        """[M/H] group of an expert (``"all"`` for the global model)."""
        return "all" if name == "global" else GROUP_NAMES[self.mh_column.get(name)]

    def with_global(self) -> dict[str, np.ndarray]:
        """``standardised`` plus ``"global"``."""
        return {**self.standardised, "global": self.standardised_global}


def study(model: Any, X_train: Any, train_labels: pd.DataFrame, wave: Any) -> CoefficientStudy:
    """Standardise the coefficients of a fitted :class:`~moehelpers.models.piecewise.
    PiecewiseRidge` on its training flux ``X_train`` (labels route the stars)."""
    served = model.route(train_labels)
    std = {name: windows.standardise(reg.coef_, windows.pixel_std(X_train, served == k))
           for k, (name, reg) in enumerate(zip(model.expert_names_, model.experts_,
                                                strict=True))}
    glob = windows.standardise(model.global_.coef_, windows.pixel_std(X_train))
    raw = dict(zip(model.expert_names_, (r.coef_ for r in model.experts_), strict=True))
    shape = _scheme(model).shape
    mh_col: dict[str, int | None] = {}
    for k, name in enumerate(model.expert_names_):
        cols = {int(np.unravel_index(b, shape)[1])
                for b in np.flatnonzero(model.bin_plan_.expert_of_bin == k)}
        mh_col[name] = cols.pop() if len(cols) == 1 else None
    return CoefficientStudy(np.asarray(wave), model, std, glob, raw, served, mh_col)


def _row(name: str, group: str, n_train: int, alpha: float, w: np.ndarray, raw: np.ndarray,
         wave: np.ndarray, top_k: int) -> dict[str, Any]:
    return {"expert": name, "[M/H] group": group, "n_train": n_train, "alpha": alpha,
            f"top-{top_k} share": windows.topk_energy_share(w, top_k),
            f"top-{top_k} share (raw w)": windows.topk_energy_share(raw, top_k),
            "pixels for 50% energy": int(np.searchsorted(windows.energy_curve(w), 0.5)) + 1,
            **{f"{sp} ×mean": v for sp, v in windows.group_importance(wave, w).items()}}


def expert_table(s: CoefficientStudy, top_k: int) -> pd.DataFrame:
    """One row per expert and one for the global model (see the module docstring)."""
    m = s.model
    rows = [_row(name, s.group(name), int(np.sum(s.served == k)), m.alpha_per_expert_[k], w,
                 s.raw[name], s.wave, top_k)
            for k, (name, w) in enumerate(s.standardised.items())]
    rows.append(_row("global", "all", int(s.served.size), m.global_.alpha_,
                     s.standardised_global, m.global_.coef_, s.wave, top_k))
    return pd.DataFrame(rows)


def topk_by_group(experts: pd.DataFrame, top_k: int) -> dict[str, pd.Series]:
    """Min, max and mean top-k share of the metal-poor and metal-rich experts (NaN if none)."""
    sel = experts[experts["[M/H] group"].isin(["metal-poor", "metal-rich"])]
    by_group = sel.groupby("[M/H] group")[f"top-{top_k} share"].agg(["min", "max", "mean"])
    empty = pd.Series({"min": np.nan, "max": np.nan, "mean": np.nan})
    return {g: by_group.loc[g] if g in by_group.index else empty
            for g in ("metal-poor", "metal-rich")}


def window_grid(s: CoefficientStudy) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Mean |w| per physical window relative to the expert's mean |w|: long and wide
    (rows: experts then ``global``; columns: windows in :data:`~moehelpers.data.windows.
    PHYSICAL_WINDOWS` order)."""
    coefs = s.with_global()
    long = pd.concat([windows.window_importance(s.wave, w).assign(expert=name)
                      for name, w in coefs.items()], ignore_index=True)
    wide = long.pivot(index="expert", columns="window", values="ratio").loc[
        list(coefs), [w.name for w in windows.PHYSICAL_WINDOWS]]
    return long, wide


def difference_spectra(s: CoefficientStudy) -> tuple[dict[str, np.ndarray], pd.DataFrame]:
    """``w(metal-rich) − w(metal-poor)`` per Teff row with distinct experts, and the windows
    of their mean (relative mean |Δw| and mean signed Δw). Empty when bins were merged."""
    m = s.model
    scheme = _scheme(m)
    diffs: dict[str, np.ndarray] = {}
    for i, teff in enumerate(scheme.axes[0].names):
        lo_k, hi_k = (int(m.bin_plan_.expert_of_bin[np.ravel_multi_index((i, j),
                                                                         scheme.shape)])
                      for j in (0, 2))
        lo, hi = (m.expert_names_[k] if k >= 0 else None for k in (lo_k, hi_k))
        if lo is not None and hi is not None and s.mh_column[lo] == 0 \
                and s.mh_column[hi] == 2:
            diffs[f"Teff {teff}"] = s.standardised[hi] - s.standardised[lo]
    if not diffs:
        return diffs, pd.DataFrame(columns=["window", "ratio"])
    diffs["mean over Teff rows"] = np.mean(list(diffs.values()), axis=0)
    mean_diff = diffs["mean over Teff rows"]
    table = windows.window_importance(s.wave, mean_diff)
    masks = [windows.window_mask(s.wave, win) for win in windows.PHYSICAL_WINDOWS]
    table["mean signed Δw"] = [float(np.mean(mean_diff[k])) if k.any() else np.nan
                               for k in masks]
    return diffs, table


def _scheme(model: Any) -> Any:
    return physical_3x3() if model.scheme is None else model.scheme


_GROUP_COLS = {sp: f"{sp} ×mean" for sp in ("Ca II", "Na I", "Mg I", "Paschen", "TiO")}


def group_ratios(experts: pd.DataFrame) -> tuple[float, float]:
    """``(metal_ratio, paschen_ratio)``: mean relative importance of the metal-line windows
    (Ca II, Na I, Mg I) of metal-rich over metal-poor experts, and of the Paschen windows of
    metal-poor over metal-rich experts (NaN where a group has no expert)."""
    sel = experts[experts["[M/H] group"].isin(["metal-poor", "metal-rich"])]
    groups = sel.groupby("[M/H] group")[list(_GROUP_COLS.values())].mean()

    def mean(group: str, species: list[str]) -> float:
        if group not in groups.index:
            return float("nan")
        return float(groups.loc[group, [_GROUP_COLS[x] for x in species]].mean())

    metal = ["Ca II", "Na I", "Mg I"]
    return (mean("metal-rich", metal) / mean("metal-poor", metal),
            mean("metal-poor", ["Paschen"]) / mean("metal-rich", ["Paschen"]))
