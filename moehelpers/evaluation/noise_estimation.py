"""Accuracy of noise-level estimators n̂ (notebook 18): the estimators fitted on features of
every level, bias, scatter and routing accuracy per true level, the overall R² of n̂ against
n, and DER_SNR against the true per-star SNR."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from moehelpers.data.snr import NoiseLevelEstimator
from moehelpers.data.spectra import SpectraSet
from moehelpers.data.splits import SPLITS, Splits, noisy_splits

__all__ = ["LevelEstimates", "der_snr_vs_true", "estimate_levels", "estimator_accuracy"]

#: The estimators notebook 18 compares, in table order.
METHODS = ("der_snr", "learned")


@dataclass(frozen=True)
class LevelEstimates:
    """Noise-level estimators fitted on every training level and their test estimates.

    Attributes
    ----------
    estimators : dict of str → NoiseLevelEstimator
        One fitted estimator per method of :data:`METHODS`.
    n_hat : dict of str → ndarray
        Estimated level of every test spectrum (all test levels, level after level).
    level : ndarray
        True level of every test spectrum (aligned with ``n_hat``).
    nsr : ndarray
        DER_SNR noise-to-signal ratio 1 / DER_SNR of every test spectrum (0 when noiseless).
    """

    estimators: dict[str, NoiseLevelEstimator]
    n_hat: dict[str, np.ndarray] = field(repr=False)
    level: np.ndarray = field(repr=False)
    nsr: np.ndarray = field(repr=False)


def estimate_levels(splits: Splits, train_levels: Sequence[float],
                    test_levels: Sequence[float], seed: int) -> LevelEstimates:
    """Fit both estimators on the training levels and estimate n of every test spectrum.

    Parameters
    ----------
    splits : Splits
        The clean splits; each is noised with the frozen realisation of
        :func:`~moehelpers.data.splits.noisy_splits` (seed ``seed``).
    train_levels : sequence of float
        Levels whose training spectra fit (and validation spectra calibrate) the estimators.
    test_levels : sequence of float
        Levels of the test spectra, in order (training levels among them use every split;
        the others only the test split, so they stay unseen in training).
    seed : int
        Noise seed.

    Returns
    -------
    LevelEstimates
        Only a few features per spectrum are kept; the noisy copies are dropped level by
        level.
    """
    estimators = {m: NoiseLevelEstimator(m) for m in METHODS}
    feats: dict[str, dict[str, list]] = {m: {s: [] for s in SPLITS} for m in METHODS}
    level = []
    seen = [lv for lv in test_levels if lv in train_levels]  # levels of the training blocks
    for lv in test_levels:
        which = SPLITS if lv in seen else ("test",)
        noisy = noisy_splits(splits, lv, seed, which=which)
        for s in which:
            for m, est in estimators.items():
                feats[m][s].append(est.features(noisy[s]))
        level.append(np.full(len(noisy["test"]), lv))
        del noisy
    for m, est in estimators.items():
        est.fit_levels(feats[m]["train"], feats[m]["val"], seen)
    return LevelEstimates(
        estimators,
        {m: est.predict_features(np.vstack(feats[m]["test"])) for m, est in estimators.items()},
        np.concatenate(level), np.vstack(feats["der_snr"]["test"])[:, 0])


def der_snr_vs_true(test: SpectraSet, nsr: np.ndarray, level: np.ndarray,
                    test_levels: Sequence[float]
                    ) -> tuple[pd.DataFrame, list[tuple[float, np.ndarray, np.ndarray]]]:
    """DER_SNR of the noisy test spectra against their true per-pixel SNR, level by level.

    Parameters
    ----------
    test : SpectraSet
        The clean test stars; the true SNR ``mean(|f/σ|)/n`` comes from their error array
        (as truth only, never as an input of an estimator).
    nsr, level : ndarray
        1 / DER_SNR and the true level of every noisy test spectrum
        (:class:`LevelEstimates` ``nsr`` and ``level``).
    test_levels : sequence of float
        Levels reported, in table order (level 0 is skipped: no noise, no SNR).

    Returns
    -------
    table : DataFrame
        One row per level: ``noise_level, true_snr_pixel_median, der_snr_median,
        median_ratio, ratio_p16, ratio_p84, corr_log`` (ratio = DER_SNR / true SNR; corr_log
        = correlation of their logarithms).
    points : list of (float, ndarray, ndarray)
        ``(level, true SNR, DER_SNR)`` of every star, for the scatter figure.
    """
    rows, points = [], []
    for lv in test_levels:
        if lv == 0:
            continue
        true = test.snr_pixel(lv)
        with np.errstate(divide="ignore"):
            est = 1.0 / nsr[level == lv]
        ratio = est / true
        rows.append({"noise_level": lv, "true_snr_pixel_median": float(np.median(true)),
                     "der_snr_median": float(np.median(est)),
                     "median_ratio": float(np.median(ratio)),
                     "ratio_p16": float(np.quantile(ratio, 0.16)),
                     "ratio_p84": float(np.quantile(ratio, 0.84)),
                     "corr_log": float(np.corrcoef(np.log(true), np.log(est))[0, 1])})
        points.append((lv, true, est))
    return pd.DataFrame(rows), points


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
