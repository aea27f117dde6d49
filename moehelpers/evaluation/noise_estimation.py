"""Accuracy of noise-level estimators n̂ (notebook 18): bias, scatter and routing accuracy per
true level, and the overall R² of n̂ against n."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

__all__ = ["estimator_accuracy"]


def estimator_accuracy(n_hat: Mapping[str, np.ndarray], level: np.ndarray,
                       test_levels: Sequence[float], train_levels: Sequence[float],
                       val_r2: Mapping[str, float]) -> tuple[pd.DataFrame, dict[str, dict]]:
    """Per-level and overall accuracy of each estimator's n̂ on the test spectra.

    Parameters
    ----------
    n_hat : mapping of str → ndarray
        Estimator name → n̂ of every test spectrum.
    level : ndarray
        True noise level of every test spectrum (aligned with each ``n_hat``).
    test_levels : sequence of float
        Levels reported, in table order.
    train_levels : sequence of float
        Levels the estimators were trained at (the routing grid).
    val_r2 : mapping of str → float
        Validation R² of each estimator (copied into ``overall``).

    Returns
    -------
    acc : DataFrame
        One row per (estimator, level): ``seen_in_training``, ``mean``, ``median``,
        ``bias`` (mean − level), ``sd``, ``robust_sd`` (1.4826 × MAD) and
        ``nearest_accuracy`` (share of spectra whose nearest training level is the true one;
        NaN at levels not seen in training).
    overall : dict of str → dict
        Per estimator: ``r2`` of n̂ against n over every test spectrum, ``val_r2``, and
        ``nearest_accuracy`` (mean over the seen levels).
    """
    grid = np.asarray(train_levels)
    rows = []
    for name, est in n_hat.items():
        for lv in test_levels:
            v = est[level == lv]
            nearest = grid[np.abs(v[:, None] - grid[None, :]).argmin(axis=1)]
            rows.append({"estimator": name, "noise_level": lv,
                         "seen_in_training": lv in train_levels,
                         "mean": float(v.mean()), "median": float(np.median(v)),
                         "bias": float(v.mean() - lv), "sd": float(v.std()),
                         "robust_sd": float(1.4826 * np.median(np.abs(v - np.median(v)))),
                         "nearest_accuracy": float(np.mean(np.isclose(nearest, lv)))
                         if lv in train_levels else np.nan})
    acc = pd.DataFrame(rows)
    overall = {name: {"r2": float(1 - np.mean((est - level) ** 2) / np.var(level)),
                      "val_r2": val_r2[name],
                      "nearest_accuracy": float(acc.loc[(acc["estimator"] == name)
                                                        & acc["seen_in_training"],
                                                        "nearest_accuracy"].mean())}
               for name, est in n_hat.items()}
    return acc, overall
