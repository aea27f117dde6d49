"""Pseudo gating (MVP-3.1): route stars by a label predicted from their noisy spectra.

The experts are those of the oracle model (trained on bins of the *true* label); only the
routing of the test stars changes: a global Ridge predicts the label (e.g. [M/H]) from the
noisy flux, and each star goes to the expert of the bin its *predicted* value falls in.
The comparison Oracle vs Pseudo therefore isolates the cost of gating errors; retention
ρ = (R²_pseudo − R²_global) / (R²_oracle − R²_global) on the same stars
(:func:`moehelpers.metrics.retention`).

The label predictor needs no new pass over the training spectra: its Gram matrix is the
one of the log g model, only ``Σ x·m`` differs (:func:`retarget`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from moehelpers._validation import check_xy
from moehelpers.engine.linalg import check_chunk_size
from moehelpers.engine.ridge import RidgeRegressor, RidgeStats
from moehelpers.engine.store import fit_from_stats
from moehelpers.errors import ShapeMismatchError
from moehelpers.metrics import RetentionResult, paired_bootstrap, retention
from moehelpers.models.bins import BinScheme
from moehelpers.models.piecewise import PiecewiseRidge

__all__ = ["GateComparison", "compare_gates", "gate_reading", "gate_table", "label_predictor",
           "retarget", "routing_confusion", "routing_error_table", "routing_errors"]


def retarget(stats: RidgeStats, X: Any, y: Any, *, chunk_size: int | None = None
             ) -> RidgeStats:
    """Statistics of ``(X, y)`` reusing the Gram matrix of ``stats`` (same ``X``, unweighted).

    Only ``Σ(x − s)·y``, ``Σy`` and ``Σy²`` are recomputed (one matrix–vector pass), so a
    second target on the same spectra costs no new Gram.
    """
    X, y, _ = check_xy(X, y, None, n_features=stats.n_features)
    if X.shape[0] != stats.n:
        raise ShapeMismatchError(f"stats hold n={stats.n:g} rows but X has {X.shape[0]}; pass the "
                         "unweighted statistics of the same rows.")
    shift = stats._shift0()
    xty = np.zeros(stats.n_features)
    chunk = check_chunk_size(chunk_size, stats.n_features)
    for start in range(0, X.shape[0], chunk):
        u = np.asarray(X[start:start + chunk], dtype=np.float64) - shift
        xty += u.T @ np.asarray(y[start:start + chunk], dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    parts = (stats.n, stats.sum_u.copy(), float(y.sum()), stats._upper.copy(), xty,
             float(y @ y))
    return RidgeStats._from_parts(shift.copy(), parts)


def label_predictor(stats: RidgeStats, X: Any, m: Any, X_val: Any, m_val: Any,
                    alphas: Sequence[float]) -> RidgeRegressor:
    """Global Ridge predicting a label ``m`` from the spectra (α chosen on validation).

    ``stats`` are the unweighted statistics of ``X`` (any target): their Gram is reused, or,
    with fewer rows than pixels, the rows' n × n kernel (the same model, cheaper). The primal
    path goes through the active statistics store (:func:`~moehelpers.engine.store.
    fit_from_stats`), so a rerun reads it.
    """
    model = RidgeRegressor(list(alphas))
    if np.shape(X)[0] < stats.n_features:  # the dual system: the Gram is not needed
        return model.fit(X, m, X_val, m_val)
    return fit_from_stats(model, retarget(stats, X, m), X_val, m_val)


def routing_confusion(scheme: BinScheme, true_labels: Any, routed_labels: Any) -> pd.DataFrame:
    """Stars per (true bin, routed bin); rows true, columns routed; ``uncovered`` if any."""
    t, r = scheme.assign(true_labels), scheme.assign(routed_labels)
    names = scheme.bin_names()
    ids = list(range(scheme.n_bins)) + ([-1] if (t < 0).any() or (r < 0).any() else [])
    label = [names[k] if k >= 0 else "uncovered" for k in ids]
    table = np.array([[int(np.sum((t == a) & (r == b))) for b in ids] for a in ids])
    return pd.DataFrame(table, index=pd.Index(label, name="true bin"),
                        columns=pd.Index(label, name="routed bin"))


def routing_errors(wrong: Any, values: Any, edges: Sequence[float], name: str,
                   extra: Any = None) -> pd.DataFrame:
    """Share of misrouted stars per interval of ``values`` (e.g. true [M/H] or Teff).

    Parameters
    ----------
    wrong : bool array, True where the routed bin differs from the true bin
    values : the label whose intervals are tabulated
    edges : interval edges (outer ones may be ±inf)
    name : column name of the interval
    extra : optional array (e.g. |predicted − true| [M/H]) whose mean per interval is added

    Returns
    -------
    DataFrame with ``name``, ``n``, ``n_wrong``, ``share_wrong``, ``share_of_errors``
    (this interval's part of all routing errors) and ``mean_extra`` when given.
    """
    wrong = np.asarray(wrong, dtype=bool)
    values = np.asarray(values, dtype=float)
    e = np.asarray(edges, dtype=float)
    idx = np.clip(np.searchsorted(e, values, side="right") - 1, 0, e.size - 2)
    total = max(int(wrong.sum()), 1)
    rows = []
    for k in range(e.size - 1):
        sel = idx == k
        row = {name: f"[{e[k]:g}, {e[k + 1]:g})", "n": int(sel.sum()),
               "n_wrong": int(wrong[sel].sum()),
               "share_wrong": float(wrong[sel].mean()) if sel.any() else np.nan,
               "share_of_errors": float(wrong[sel].sum() / total)}
        if extra is not None:
            row["mean_extra"] = float(np.mean(np.asarray(extra)[sel])) if sel.any() else np.nan
        rows.append(row)
    return pd.DataFrame(rows)



def routing_error_table(wrong: Mapping[str, Any],
                        by: Mapping[str, tuple[Any, Sequence[float]]], extra: Any = None,
                        extra_name: str = "mean_extra") -> pd.DataFrame:
    """:func:`routing_errors` for several schemes and several labels, in one long table.

    Parameters
    ----------
    wrong : mapping
        Scheme name → bool array, True where that scheme misroutes the star.
    by : mapping
        Label name → (values, interval edges) to tabulate the errors over.
    extra : array, optional
        Per-star values whose mean per interval is added (see :func:`routing_errors`).
    extra_name : str
        Column name of that mean.

    Returns
    -------
    pandas.DataFrame
        Columns ``scheme``, ``label``, ``interval``, ``n``, ``n_wrong``, ``share_wrong``,
        ``share_of_errors`` (and ``extra_name``), schemes then labels in the given order.
    """
    table = pd.concat([
        pd.concat([routing_errors(w, values, edges, "interval", extra=extra).assign(label=label)
                   for label, (values, edges) in by.items()]).assign(scheme=name)
        for name, w in wrong.items()], ignore_index=True)
    table = table.rename(columns={"mean_extra": extra_name})
    return table[["scheme", "label", *[c for c in table.columns if c not in ("scheme", "label")]]]


@dataclass
class GateComparison:
    """Oracle vs pseudo routing of one fitted piecewise model on the same test stars."""

    name: str
    retention: RetentionResult
    pred_oracle: np.ndarray
    pred_pseudo: np.ndarray
    wrong: np.ndarray
    confusion: pd.DataFrame

    @property
    def judged_rho(self) -> float:
        """ρ where the oracle beats the global model, else NaN: a ratio of two losses, or
        of a gain to a loss, says nothing about how much of a gain a gate keeps."""
        r = self.retention
        return r.rho if r.gain_oracle > 0 else float("nan")

    def row(self) -> dict[str, Any]:
        """One summary-table row."""
        r = self.retention
        return {"scheme": self.name, "n": r.n, "r2_global": r.r2_global,
                "r2_oracle": r.r2_oracle, "r2_pseudo": r.r2_gate, "gain_oracle": r.gain_oracle,
                "gain_pseudo": r.r2_gate - r.r2_global, "retention": r.rho,
                "retention_lo": r.ci_low, "retention_hi": r.ci_high,
                "retention_judged": self.judged_rho,
                "misrouted": float(self.wrong.mean())}

    def reading(self, deploy: float = 0.7, bottleneck: float = 0.5) -> str:
        """What the retention says, by the document's decision rule.

        Parameters
        ----------
        deploy : float
            ρ at or above which the pseudo gate is deployable.
        bottleneck : float
            ρ below which the gate is the bottleneck.
        """
        rho = self.judged_rho
        if self.retention.gain_oracle <= 0:
            return "not evaluable: the oracle experts do not beat the global model here"
        if not np.isfinite(rho):
            return "not evaluable (the oracle gain is too small to divide by)"
        if rho >= deploy:
            return "deployable: the predicted [M/H] keeps most of the gain"
        if rho < bottleneck:
            return "the gate is the bottleneck"
        return "between the document's thresholds: inconclusive"


def compare_gates(name: str, model: PiecewiseRidge, X: Any, y: Any, labels: pd.DataFrame,
                  column: str, predicted: Any, pred_global: Any, *, n_boot: int,
                  seed: int) -> GateComparison:
    """Route the test stars by true and by predicted ``column``; retention with paired CI.

    Every star is scored (uncovered stars fall back to the global model when the model
    has ``fallback=True``), so Oracle, Pseudo and the global model share one star set.
    """
    routed = labels.copy()
    routed[column] = np.asarray(predicted, dtype=float)
    p_oracle = model.predict(X, labels)
    p_pseudo = model.predict(X, routed)
    wrong = model.route(labels) != model.route(routed)
    res = retention(y, p_pseudo, pred_global, p_oracle, n_boot=n_boot, seed=seed)
    return GateComparison(name, res, p_oracle, p_pseudo, wrong,
                          routing_confusion(model.scheme_, labels, routed))


# --- notebook 08: the log g gate trio (oracle, pseudo, learned) ---
def gate_table(y: Any, pred_oracle: Any, comparisons: Mapping[str, GateComparison],
               pred_global: Any, *, oracle_name: str, n_boot: int, seed: int) -> pd.DataFrame:
    """The oracle and each compared gate on the same test stars (MVP-4.0).

    Parameters
    ----------
    y : array-like of shape (n,)
    pred_oracle : array-like of shape (n,)
        The experts routed by the true label.
    comparisons : mapping of name → GateComparison
        :func:`compare_gates` of each real gate (same experts, same stars).
    pred_global : array-like of shape (n,)
    oracle_name : str
        Table name of the oracle row (first).
    n_boot, seed : int

    Returns
    -------
    pandas.DataFrame
        ``gate``, ``n``, ``r2_global``, ``r2``, ``delta_r2`` (+ ``_lo``, ``_hi``) against the
        global model, ``retention`` (+ ``_lo``, ``_hi``; 1 for the oracle by definition) and
        ``routing_accuracy`` (1 for the oracle).
    """
    preds = {oracle_name: pred_oracle, **{n: c.pred_pseudo for n, c in comparisons.items()}}
    rows = []
    for name, p in preds.items():
        d = paired_bootstrap(y, p, pred_global, n_boot=n_boot, seed=seed)
        c = comparisons.get(name)
        rows.append({"gate": name, "n": d.n, "r2_global": d.score_b, "r2": d.score_a,
                     "delta_r2": d.difference, "delta_r2_lo": d.ci_low,
                     "delta_r2_hi": d.ci_high,
                     "retention": 1.0 if c is None else c.retention.rho,
                     "retention_lo": 1.0 if c is None else c.retention.ci_low,
                     "retention_hi": 1.0 if c is None else c.retention.ci_high,
                     "routing_accuracy": 1.0 if c is None else 1 - float(c.wrong.mean())})
    return pd.DataFrame(rows)


def gate_reading(c: GateComparison, close: float = 0.7, bottleneck: float = 0.5) -> str:
    """The document's reading of a gate's retention of the oracle gain (MVP-4.0).

    Parameters
    ----------
    c : GateComparison
    close : float, default=0.7
        ρ at or above which the gate is close to the oracle.
    bottleneck : float, default=0.5
        ρ below which the gate is the bottleneck.

    Returns
    -------
    str
    """
    rho = c.judged_rho
    if c.retention.gain_oracle <= 0:
        return "not evaluable: the oracle experts do not beat the global model"
    if not np.isfinite(rho):
        return "not evaluable (the oracle gain is too small to divide by)"
    if rho >= close:
        return "close to the oracle: gate noise is not the bottleneck"
    if rho < bottleneck:
        return "far from the oracle: the gate is the bottleneck, effort belongs there"
    return "between the thresholds: inconclusive"
