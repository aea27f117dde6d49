"""MVP-6.1 (notebook 11): the Ridge baselines, inputs and model grid of the NN-MoE study.

:func:`ridge_baselines` fits the piecewise, global and conditional Ridge baselines on the full
noisy spectra and predicts the test stars; :func:`meta_gate_inputs` and :func:`mh_groups`
build the meta gate's inputs and the hard [M/H] groups of the pre-trained variant;
:func:`model_specs` names the neural models; :func:`fit_models` trains them and
:func:`compare_models` sets every model against the reference and the global Ridge with
paired bootstrap intervals on the same test stars.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from moehelpers.data import splits as experiment
from moehelpers.engine.fitted import cached_outputs
from moehelpers.engine.store import shared_stats
from moehelpers.gates import pseudo
from moehelpers.metrics import paired_bootstrap
from moehelpers.models import bins as gating
from moehelpers.models.conditional import ConditionalRidge, moment_stats
from moehelpers.models.nn_moe import NNMoERegressor, resolve_device
from moehelpers.models.piecewise import PiecewiseRidge, fit_together

__all__ = ["REFERENCE", "compare_models", "fit_models", "meta_gate_inputs", "mh_groups",
           "model_specs", "ridge_baselines"]

#: The document's reference model of MVP-6.1.
REFERENCE = "piecewise Ridge 3×3 (oracle labels)"


def ridge_baselines(X: Mapping[str, Any], y: Mapping[str, np.ndarray],
                    lab: Mapping[str, pd.DataFrame], alphas: Sequence[float], *,
                    min_bin_train: int, min_bin_val: int) -> dict[str, np.ndarray]:
    """Fit the Ridge baselines on the full noisy spectra and predict the test stars.

    Parameters
    ----------
    X, y, lab : mapping
        Noisy flux, log g and labels per split (``"train"``, ``"val"``, ``"test"``).
    alphas : sequence of float
        Ridge α grid.
    min_bin_train, min_bin_val : int
        Bin-merging and α-fallback thresholds of the piecewise Ridge.

    Returns
    -------
    dict of str to ndarray
        Test predictions of the global Ridge, the physical 3×3 piecewise Ridge routed by the
        true (oracle) and predicted (pseudo) labels, and the order-1 conditional Ridge applied
        with the true and the predicted [M/H].
    """
    mh = {s: lab[s]["M_H"].to_numpy() for s in experiment.SPLITS}
    stats = shared_stats(X["train"], y["train"])  # the Gram notebooks 06 and 07 form too
    piecewise = PiecewiseRidge(gating.physical_3x3(), alphas, min_bin_train=min_bin_train,
                               min_bin_val=min_bin_val)
    fit_together([piecewise], X["train"], y["train"], lab["train"], X["val"], y["val"],
                 lab["val"], global_stats=stats)
    predictors = {c: pseudo.label_predictor(stats, X["train"], lab["train"][c].to_numpy(),
                                            X["val"], lab["val"][c].to_numpy(), alphas)
                  for c in ("M_H", "T_eff")}
    m_mean, m_sd = float(mh["train"].mean()), float(mh["train"].std())
    moments = moment_stats(X["train"], y["train"], (mh["train"] - m_mean) / m_sd, 2, base=stats)
    conditional = ConditionalRidge(1, alphas, alpha_search="walk").fit_moments(
        moments, m_mean, m_sd, X["val"], y["val"], mh["val"],
        train=(X["train"], y["train"], mh["train"]))
    del moments, stats
    routed = lab["test"].copy()
    for c, reg in predictors.items():
        routed[c] = reg.predict(X["test"])
    return {"global Ridge": piecewise.global_.predict(X["test"]),
            REFERENCE: piecewise.predict(X["test"], lab["test"]),
            "piecewise Ridge 3×3 (pseudo labels)": piecewise.predict(X["test"], routed),
            "conditional Ridge (true [M/H])": conditional.predict(X["test"], mh["test"]),
            "conditional Ridge (predicted [M/H])": conditional.predict(
                X["test"], routed["M_H"].to_numpy())}


def meta_gate_inputs(G: Mapping[str, np.ndarray], lab: Mapping[str, pd.DataFrame],
                     splits: Mapping[str, Any], noise_level: float) -> dict[str, np.ndarray]:
    """Append the standardised true Teff, [M/H] and log10 L2 SNR to the gate features.

    Parameters
    ----------
    G : mapping of str to ndarray
        Spectral gate features per split.
    lab : mapping of str to DataFrame
        Labels per split (``T_eff``, ``M_H``).
    splits : mapping
        The splits (each with ``snr_l2(noise_level)``).
    noise_level : float
        σ multiplier of the error array.

    Returns
    -------
    dict of str to ndarray
        Per split, ``[G, (meta − mean) / sd]`` with mean and sd of the training stars.
    """
    meta = {s: np.column_stack([lab[s][["T_eff", "M_H"]].to_numpy(),
                                np.log10(np.clip(splits[s].snr_l2(noise_level), 1e-3, 1e6))])
            for s in experiment.SPLITS}
    mu, sd = meta["train"].mean(axis=0), meta["train"].std(axis=0) + 1e-12
    return {s: np.column_stack([G[s], (meta[s] - mu) / sd]) for s in experiment.SPLITS}


def mh_groups(labels: pd.DataFrame) -> np.ndarray:
    """Hard [M/H] group (0, 1, 2) of every star for the pre-trained NN-MoE.

    Stars outside the [M/H]-only bins go to the nearest edge bin: below the first edge to 0,
    above the last edge (metal-rich, [M/H] > 0) to 2.

    Parameters
    ----------
    labels : DataFrame
        Labels with ``M_H`` (and the columns the bin scheme reads).

    Returns
    -------
    ndarray of int
        Group per star.
    """
    groups = np.clip(gating.mh_only().assign(labels), 0, 2)
    groups[(groups == 0) & (labels["M_H"].to_numpy() > 0)] = 2
    return groups


def model_specs(n_experts_list: Sequence[int], pretrain_epochs: int, G: Any, Gm: Any,
                groups: np.ndarray) -> dict[str, tuple[dict[str, Any], Any, np.ndarray | None]]:
    """The neural models of MVP-6.1: name → (keyword arguments, gate inputs, hard groups).

    Parameters
    ----------
    n_experts_list : sequence of int
        K of the spectral-gate NN-MoE with linear experts.
    pretrain_epochs : int
        Hard-group pre-training epochs of the pre-trained variant.
    G, Gm : mapping
        Spectral and meta gate inputs per split.
    groups : ndarray
        Hard [M/H] groups of the training stars (pre-trained variant).

    Returns
    -------
    dict
        The global MLP (K = 1), the K-grid, K = 3 with MLP experts, pre-trained and meta gate.
    """
    specs: dict[str, tuple[dict[str, Any], Any, np.ndarray | None]] = {
        "global MLP": ({"n_experts": 1, "expert": "mlp"}, G, None)}
    for k in n_experts_list:
        specs[f"NN-MoE K={k}, linear experts"] = ({"n_experts": int(k), "expert": "linear"}, G,
                                                  None)
    specs["NN-MoE K=3, MLP experts"] = ({"n_experts": 3, "expert": "mlp"}, G, None)
    specs["NN-MoE K=3, linear, pre-trained on [M/H] bins"] = (
        {"n_experts": 3, "expert": "linear", "pretrain_epochs": pretrain_epochs}, G, groups)
    specs["NN-MoE K=3, linear, meta gate (Teff, [M/H], SNR)"] = (
        {"n_experts": 3, "expert": "linear"}, Gm, None)
    return specs


def fit_models(specs: Mapping[str, tuple[dict[str, Any], Any, np.ndarray | None]],
               common: Mapping[str, Any], Z: Mapping[str, np.ndarray],
               y: Mapping[str, np.ndarray]
               ) -> tuple[dict[str, NNMoERegressor], dict[str, np.ndarray], pd.DataFrame]:
    """Train every model of :func:`model_specs` and predict the test stars.

    Parameters
    ----------
    specs : mapping
        Name → (keyword arguments, gate inputs per split, hard groups or None).
    common : mapping
        Keyword arguments shared by all :class:`NNMoERegressor` models.
    Z, y : mapping
        Expert inputs and log g per split.

    Returns
    -------
    nets : dict
        Fitted models by name.
    preds : dict
        Test predictions by name.
    fits : DataFrame
        Per model: epochs run, best epoch, best validation MSE (standardised), seconds.
    """
    nets, preds, rows = {}, {}, []
    for name, (kw, gate_in, grp) in specs.items():
        net = NNMoERegressor(**common, **kw)

        def train(net: NNMoERegressor = net, gate_in: Any = gate_in, grp: Any = grp
                  ) -> dict[str, np.ndarray]:
            t0 = time.perf_counter()
            net.fit(Z["train"], gate_in["train"], y["train"], Z["val"], gate_in["val"],
                    y["val"], groups=grp)
            return {**net.state_arrays(), "seconds": np.float64(time.perf_counter() - t0)}

        # a rerun with the same inputs, parameters and code reads the trained weights
        inputs = {**{f"{k}_{s}": d[s] for k, d in (("x", Z), ("g", gate_in))
                     for s in ("train", "val", "test")},
                  "y_train": y["train"], "y_val": y["val"],
                  **({} if grp is None else {"groups": grp})}
        params = {**{k: getattr(net, k) for k in inspect.signature(NNMoERegressor).parameters
                     if k != "progress"}, "device": resolve_device(net.device)}
        state = cached_outputs("nn_moe", inputs, params, train, torch=True)
        if not hasattr(net, "model_"):  # read from the store: restore the trained network
            net.load_state_arrays(state)
        nets[name] = net
        preds[name] = net.predict(Z["test"], gate_in["test"])
        val_mse = min(h["val_mse"] for h in net.history_ if not h["pretrain"])
        rows.append({"model": name, "epochs": net.n_epochs_, "best_epoch": net.best_epoch_,
                     "val_mse_std": val_mse, "seconds": float(state["seconds"])})
    return nets, preds, pd.DataFrame(rows)


def compare_models(y: np.ndarray, preds: Mapping[str, np.ndarray], *, n_boot: int, seed: int,
                   reference: str = REFERENCE, baseline: str = "global Ridge") -> pd.DataFrame:
    """R² of every model and its paired-bootstrap difference to a reference and a baseline.

    Parameters
    ----------
    y : ndarray
        True log g of the test stars.
    preds : mapping of str to ndarray
        Test predictions by model; must contain ``reference`` and ``baseline``.
    n_boot, seed : int
        Bootstrap resamples and seed.
    reference, baseline : str
        Models the differences are taken against (columns ``vs_piecewise*``, ``vs_global*``).

    Returns
    -------
    DataFrame
        One row per model: ``model``, ``n``, ``r2``, ``vs_piecewise`` (+ ``_lo``, ``_hi``),
        ``vs_global`` (+ ``_lo``, ``_hi``).
    """
    rows = []
    for name, p in preds.items():
        d = paired_bootstrap(y, p, preds[reference], n_boot=n_boot, seed=seed)
        g = paired_bootstrap(y, p, preds[baseline], n_boot=n_boot, seed=seed)
        rows.append({"model": name, "n": d.n, "r2": d.score_a, "vs_piecewise": d.difference,
                     "vs_piecewise_lo": d.ci_low, "vs_piecewise_hi": d.ci_high,
                     "vs_global": g.difference, "vs_global_lo": g.ci_low,
                     "vs_global_hi": g.ci_high})
    return pd.DataFrame(rows)
