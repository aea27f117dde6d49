"""Notebook 11 (MVP-6.1): verdicts, verdict sentences and record metrics of the NN-MoE page."""

from __future__ import annotations

from typing import Any

import pandas as pd

from moehelpers.book import report
from moehelpers.evaluation.nn_moe import REFERENCE
from moehelpers.records import store as results

__all__ = ["GIVEN_TRUE_LABELS", "META_GATE", "best_spectral", "headline", "record_metrics",
           "said", "verdicts"]

#: The document's configuration: the NN-MoE whose gate also reads the true labels.
META_GATE = "NN-MoE K=3, linear, meta gate (Teff, [M/H], SNR)"


def best_spectral(fits: pd.DataFrame) -> str:
    """The spectral-gate NN-MoE with linear experts of lowest validation MSE.

    Parameters
    ----------
    fits : DataFrame
        Columns ``model`` and ``val_mse_std``
        (from :func:`~moehelpers.evaluation.nn_moe.fit_models`).

    Returns
    -------
    str
        Its model name.
    """
    f = fits.set_index("model")
    spectral = [n for n in f.index if n.startswith("NN-MoE K=") and n.endswith("linear experts")]
    return min(spectral, key=lambda n: float(f.loc[n, "val_mse_std"]))


def verdicts(table: pd.DataFrame, best_name: str, d_mlp: Any) -> list[dict[str, Any]]:
    """The MVP-6.1 verdicts: NN-MoE against the oracle piecewise Ridge and the global MLP.

    Parameters
    ----------
    table : DataFrame
        :func:`~moehelpers.evaluation.nn_moe.compare_models` output.
    best_name : str
        The best spectral-gate model.
    d_mlp : paired bootstrap result
        ``best_name`` against the global MLP.

    Returns
    -------
    list of dict
        Verdicts of :func:`moehelpers.records.store.verdict`.
    """
    t = table.set_index("model")
    oracle = "R² − R²(piecewise Ridge 3×3, oracle) > 0"
    out = [
        results.verdict("nn_moe_meta_gt_piecewise", t.loc[META_GATE, "vs_piecewise"], 0.0, ">",
                        f"meta-gate NN-MoE: {oracle} (document rule)", tests="H3.1"),
        results.verdict("nn_moe_meta_gt_piecewise_ci", t.loc[META_GATE, "vs_piecewise_lo"], 0.0,
                        ">", "meta-gate NN-MoE: lower end of the paired 95% interval > 0",
                        tests="H3.1"),
        results.verdict("nn_moe_spectral_gt_piecewise", t.loc[best_name, "vs_piecewise"], 0.0,
                        ">", f"spectral-gate NN-MoE ({best_name}): {oracle}", tests="H3.1"),
        results.verdict("nn_moe_spectral_gt_piecewise_ci", t.loc[best_name, "vs_piecewise_lo"],
                        0.0, ">", "spectral-gate NN-MoE: lower end of the paired 95% interval > 0",
                        tests="H3.1"),
    ]
    out.append(results.verdict("nn_moe_gt_global_mlp", d_mlp.difference, 0.0, ">",
                               f"{best_name}: R² − R²(global MLP) > 0"))
    return out


def said(table: pd.DataFrame, name: str) -> str:
    """One sentence: does ``name`` beat, lose to or not separate from the oracle piecewise Ridge?

    Parameters
    ----------
    table : DataFrame
        :func:`~moehelpers.evaluation.nn_moe.compare_models` output.
    name : str
        The model.

    Returns
    -------
    str
        Markdown sentence with both R² and the paired interval of the difference.
    """
    t = table.set_index("model")
    r = t.loc[name]
    word = "beats" if r["vs_piecewise_lo"] > 0 else (
        "loses to" if r["vs_piecewise_hi"] < 0 else "does not separate from")
    return (f"**{name}** {word} the oracle-routed piecewise Ridge: R² {report.fmt(r['r2'])} vs "
            f"{report.fmt(t.loc[REFERENCE, 'r2'])}, ΔR² {report.fmt(r['vs_piecewise'])} "
            f"[{report.fmt(r['vs_piecewise_lo'])}, {report.fmt(r['vs_piecewise_hi'])}].")


def record_metrics(table: pd.DataFrame, best_name: str, on_cuda: bool) -> dict[str, Any]:
    """The metrics of the MVP-6.1 record (model names without brackets as keys).

    Parameters
    ----------
    table : DataFrame
        :func:`~moehelpers.evaluation.nn_moe.compare_models` output.
    best_name : str
        The best spectral-gate model (its K is recorded).
    on_cuda : bool
        Whether the neural models ran on CUDA.

    Returns
    -------
    dict
        ``r2``, ``vs_piecewise`` (+ ``_lo``, ``_hi``) per model, ``best_spectral_k``, ``on_cuda``.
    """
    keys = [n.replace("[", "").replace("]", "") for n in table["model"]]
    metrics: dict[str, Any] = {
        col: dict(zip(keys, table[col].tolist(), strict=True))
        for col in ("r2", "vs_piecewise", "vs_piecewise_lo", "vs_piecewise_hi")}
    metrics["best_spectral_k"] = int(best_name.split("K=")[1].split(",")[0])
    metrics["on_cuda"] = int(on_cuda)
    return metrics


#: Models told the true Teff / [M/H] of each test star (record keys, brackets removed).
GIVEN_TRUE_LABELS = (REFERENCE.replace("[", "").replace("]", ""),
                     "conditional Ridge (true M/H)",
                     META_GATE.replace("[", "").replace("]", ""))


def headline(metrics: dict[str, Any], noise_level: float) -> list[dict[str, Any]]:
    """Headline rows of the MVP-6.1 record; models given true labels say so.

    Parameters
    ----------
    metrics : dict
        :func:`record_metrics` output (its ``r2`` per model).
    noise_level : float
        Noise level of the test flux.

    Returns
    -------
    list of dict
        :func:`moehelpers.records.store.headline_row` rows, ``labels_given`` set to
        ``"Teff/[M/H]"`` for :data:`GIVEN_TRUE_LABELS` (an absent one is an error).
    """
    return results.headline_from_r2(metrics["r2"], noise_level,
                                    dict.fromkeys(GIVEN_TRUE_LABELS, "Teff/[M/H]"))
