"""MVP-6.0 (notebook 10): learned gates over frozen piecewise-Ridge experts, evaluated.

:func:`~moehelpers.gates.learned.gate_rows` divides the training stars between the experts
and the gates; :func:`evaluate_gates` fits the logistic and mixture gates of every scheme and
scores every routing (oracle, pseudo, logistic / mixture, soft / hard) on the same test stars;
:func:`learned_vs_pseudo` sets the learned gates against the pseudo gate and
:func:`gate_metrics` gathers the record's metrics.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from moehelpers.gates import learned
from moehelpers.metrics import paired_bootstrap, r2
from moehelpers.models.piecewise import PiecewiseRidge

__all__ = [
    "LEARNED",
    "GateResults",
    "evaluate_gates",
    "gate_metrics",
    "learned_vs_pseudo",
]

#: The learned gates, each read soft (probability-weighted) and hard (most probable option).
LEARNED = ("logistic soft", "logistic hard", "mixture soft", "mixture hard")


@dataclass
class GateResults:
    """Every routing of every scheme on the test stars.

    Attributes
    ----------
    table : DataFrame
        One row per (scheme, gate): :func:`~moehelpers.gates.learned.score_gate` columns.
    preds : dict
        (scheme, gate) → test predictions.
    confusion : dict
        (scheme, gate) → confusion table of the pseudo and hard learned gates.
    l2 : dict
        Scheme → mixture-gate L2 chosen on validation.
    """

    table: pd.DataFrame
    preds: dict[tuple[str, str], np.ndarray]
    confusion: dict[tuple[str, str], pd.DataFrame]
    l2: dict[str, float]


def evaluate_gates(models: Mapping[str, PiecewiseRidge], features: Any, gate_data: Sequence[Any],
                   X: Mapping[str, Any], y: Mapping[str, np.ndarray],
                   lab: Mapping[str, pd.DataFrame], routed: pd.DataFrame, *, gate_C: float,
                   mixture_l2: Sequence[float], n_boot: int, seed: int) -> GateResults:
    """Fit the learned gates of every scheme and score all routings on the test stars.

    Parameters
    ----------
    models : mapping of str to PiecewiseRidge
        The fitted (frozen) schemes.
    features : GateFeatures
        Fitted flux-only gate features.
    gate_data : (Xg, yg, lg)
        Flux, log g and labels of the gates' training stars.
    X, y, lab : mapping
        Flux, log g and labels of the ``"val"`` and ``"test"`` splits.
    routed : DataFrame
        Test labels with ``M_H`` and ``T_eff`` predicted from the spectrum (pseudo gate).
    gate_C : float
        Inverse regularisation of the logistic gate.
    mixture_l2 : sequence of float
        L2 grid of the mixture gate (chosen by validation R²).
    n_boot, seed : int
        Bootstrap resamples and seed.

    Returns
    -------
    GateResults
    """
    Xg, yg, lg = gate_data
    rows, conf, preds, chosen_by, l2_chosen = [], {}, {}, {}, {}
    # every gate of every scheme sees the same stars: their features are formed once
    Zg, Zv, Zt = (learned.GateInputs.of(features, a) for a in (Xg, X["val"], X["test"]))
    for name, m in models.items():
        names = learned.option_names(m)
        E_g, E_v, E_t = (learned.expert_matrix(m, a) for a in (Xg, X["val"], X["test"]))
        o_g, o_t = learned.true_options(m, lg), learned.true_options(m, lab["test"])
        g, oracle = E_t[:, -1], m.predict(X["test"], lab["test"])
        ps = m.predict(X["test"], routed)
        ps_opt = np.where(m.route(routed) >= 0, m.route(routed), len(m.experts_))
        logistic = learned.LogisticGate(features, len(names), gate_C).fit(Zg, o_g)
        fits = {l2: learned.MixtureGate(features, l2, init=logistic).fit(Zg, E_g, yg)
                for l2 in mixture_l2}
        val_r2 = {l2: r2(y["val"], learned.combine(f.predict_proba(Zv), E_v))
                  for l2, f in fits.items()}
        l2_chosen[name] = max(val_r2, key=val_r2.get)
        mixture = fits[l2_chosen[name]]
        P = {"logistic": logistic.predict_proba(Zt), "mixture": mixture.predict_proba(Zt)}
        cand = {"oracle": (oracle, o_t), "pseudo": (ps, ps_opt)}
        for gname, p in P.items():
            for mode in ("soft", "hard"):
                cand[f"{gname} {mode}"] = (learned.combine(p, E_t, mode), p.argmax(axis=1))
        for gname, (pred, chosen) in cand.items():
            rows.append({"scheme": name, **learned.score_gate(
                gname, y["test"], pred, g, oracle, chosen, o_t, n_boot=n_boot, seed=seed)})
            preds[(name, gname)] = pred
            chosen_by[(name, gname)] = chosen
        for gname in ("pseudo", "logistic hard", "mixture hard"):
            conf[(name, gname)] = learned.confusion(o_t, chosen_by[(name, gname)], names)
    return GateResults(pd.DataFrame(rows), preds, conf, l2_chosen)


def learned_vs_pseudo(y: np.ndarray, preds: Mapping[tuple[str, str], np.ndarray],
                      schemes: Sequence[str], *, n_boot: int, seed: int) -> pd.DataFrame:
    """R² of every learned gate minus that of the pseudo gate, paired bootstrap.

    Parameters
    ----------
    y : ndarray
        True log g of the test stars.
    preds : mapping
        (scheme, gate) → test predictions (``GateResults.preds``).
    schemes : sequence of str
        Schemes to compare.
    n_boot, seed : int
        Bootstrap resamples and seed.

    Returns
    -------
    DataFrame
        ``scheme``, ``gate``, ``r2_learned``, ``r2_pseudo``, ``delta_r2`` (+ ``_lo``, ``_hi``).
    """
    rows = []
    for name in schemes:
        for gname in LEARNED:
            d = paired_bootstrap(y, preds[(name, gname)], preds[(name, "pseudo")],
                                 n_boot=n_boot, seed=seed)
            rows.append({"scheme": name, "gate": gname, "r2_learned": d.score_a,
                         "r2_pseudo": d.score_b, "delta_r2": d.difference,
                         "delta_r2_lo": d.ci_low, "delta_r2_hi": d.ci_high})
    return pd.DataFrame(rows)


def gate_metrics(res: GateResults, slug: Mapping[str, str], *, n_expert_train: int,
                 n_gate_train: int, n_gate_features: int) -> dict[str, Any]:
    """The record's metrics, keyed by the schemes' slugs.

    Parameters
    ----------
    res : GateResults
        Output of :func:`evaluate_gates`.
    slug : mapping of str to str
        Scheme name → short key.
    n_expert_train, n_gate_train, n_gate_features : int
        Training stars of the experts and of the gates; number of gate features.

    Returns
    -------
    dict
        ``r2_global``, the three counts, ``mixture_l2`` (slug → L2), then ``r2``, ``delta_r2``
        (+ ``_lo``, ``_hi``), ``retention`` (+ ``_lo``, ``_hi``) and ``routing_accuracy`` as
        slug → gate → value, and ``confusion`` as "slug gate" → count matrix.
    """
    gates = res.table
    metrics: dict[str, Any] = {"r2_global": float(gates["r2_global"].iloc[0]),
                               "n_expert_train": n_expert_train, "n_gate_train": n_gate_train,
                               "mixture_l2": {slug[n]: v for n, v in res.l2.items()},
                               "n_gate_features": n_gate_features}
    for col in ("r2", "delta_r2", "delta_r2_lo", "delta_r2_hi", "retention", "retention_lo",
                "retention_hi", "routing_accuracy"):
        metrics[col] = {slug[n]: dict(zip(g0["gate"], g0[col].tolist(), strict=True))
                        for n, g0 in gates.groupby("scheme", sort=False)}
    metrics["confusion"] = {f"{slug[n]} {g}": c.to_numpy().tolist()
                            for (n, g), c in res.confusion.items()}
    return metrics
