"""Models scored at several noise levels on the same test stars, against a baseline and
against the best of a few single gates (MVP-8 combined gate), and the predictions of the
combined-gate study's models at every level.

At each level every model's R² gets a bootstrap CI; its paired differences against the
baseline (``d_global``) and against the better of the ``candidates`` at that level
(``d_best_single``, chosen by R² point value) use the same resampled stars. The mean over
levels of ``d_best_single`` gets its interval from the level-averaged bootstrap
distribution (the same star indices at every level, so the mean is paired too).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from moehelpers.data.splits import Splits, noisy_splits
from moehelpers.metrics import bootstrap_ci, paired_bootstrap

if TYPE_CHECKING:
    from moehelpers.data.snr import NoiseLevelEstimator
    from moehelpers.models.modulated import ModulatedRidge
    from moehelpers.models.noise_experts import NoiseExperts
    from moehelpers.models.piecewise import PiecewiseRidge

__all__ = ["combined_gate_predictions", "compare_to_best_single", "r2_by_level"]


def compare_to_best_single(y: np.ndarray, preds: Mapping[tuple[float, str], np.ndarray],
                           levels: Sequence[float], names: Sequence[str], *,
                           candidates: Sequence[str], baseline: str = "global",
                           n_boot: int = 1000, seed: int = 0
                           ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per-level and mean comparison of every model with the baseline and the best single.

    Parameters
    ----------
    y : ndarray
        True values of the test stars (the same at every level).
    preds : mapping of (level, model name) → ndarray
        Predictions of every model at every level.
    levels : sequence of float
        Test levels, in table order.
    names : sequence of str
        Models, in table order (must include ``baseline`` and ``candidates``).
    candidates : sequence of str
        The single gates; the best one (highest R²) at each level is the reference of
        ``d_best_single`` (ties: the first).
    baseline : str
        Reference of ``d_global``.
    n_boot, seed : int
        Bootstrap resamples and seed (the same for every model and level).

    Returns
    -------
    table : DataFrame
        One row per (level, model): ``noise_level, model, r2, r2_lo, r2_hi, d_global,
        d_global_lo, d_global_hi, best_single, d_best_single, d_best_single_lo,
        d_best_single_hi, n``.
    means : DataFrame
        One row per model: ``model, mean_r2, d_best_single, d_best_single_lo,
        d_best_single_hi`` (95% interval of the level-averaged paired distribution).
    """
    kw = {"n_boot": n_boot, "seed": seed}
    rows, dist_best = [], {}
    for level in levels:
        best_single = max(candidates,
                          key=lambda k: bootstrap_ci(y, preds[(level, k)], **kw).point)
        for name in names:
            b = bootstrap_ci(y, preds[(level, name)], **kw)
            vs_g = paired_bootstrap(y, preds[(level, name)], preds[(level, baseline)], **kw)
            vs_b = paired_bootstrap(y, preds[(level, name)], preds[(level, best_single)], **kw)
            rows.append({"noise_level": level, "model": name, "r2": b.point, "r2_lo": b.ci_low,
                         "r2_hi": b.ci_high, "d_global": vs_g.difference,
                         "d_global_lo": vs_g.ci_low, "d_global_hi": vs_g.ci_high,
                         "best_single": best_single, "d_best_single": vs_b.difference,
                         "d_best_single_lo": vs_b.ci_low, "d_best_single_hi": vs_b.ci_high,
                         "n": b.n})
            dist_best.setdefault(name, []).append(vs_b.distribution)
    tab = pd.DataFrame(rows)
    means = pd.DataFrame([{"model": name,
                           "mean_r2": float(tab.loc[tab["model"] == name, "r2"].mean()),
                           "d_best_single": float(np.mean(np.mean(d, axis=0))),
                           "d_best_single_lo": float(np.quantile(np.mean(d, axis=0), 0.025)),
                           "d_best_single_hi": float(np.quantile(np.mean(d, axis=0), 0.975))}
                          for name, d in dist_best.items()])
    return tab, means


def combined_gate_predictions(splits: Splits, levels: Sequence[float], seed: int,
                              estimator: NoiseLevelEstimator, *, moe1: PiecewiseRidge,
                              moe2: NoiseExperts, combined: PiecewiseRidge,
                              cond: ModulatedRidge | None = None
                              ) -> tuple[dict[tuple[float, str], np.ndarray],
                                         dict[float, np.ndarray]]:
    """Predictions of the combined-gate study's models on the test stars at every level.

    Parameters
    ----------
    splits : Splits
        The test split is noised at each level with the frozen realisation (seed ``seed``).
    levels : sequence of float
        Test levels, in order.
    seed : int
        Noise seed.
    estimator : NoiseLevelEstimator
        Fitted estimator of n from the flux (the deployable routes use its n̂).
    moe1, combined : PiecewiseRidge
        MoE-1 (Teff, [M/H] bins) and the combined (Teff, [M/H], noise) gate; routed with the
        true Teff / [M/H]; ``combined.global_`` is the ``global`` model.
    moe2 : NoiseExperts
        One expert per level (MoE-2), routed by the true n or by n̂.
    cond : ModulatedRidge or None
        The conditional (m, n) model, if fitted.

    Returns
    -------
    preds : dict of (level, model name) → ndarray
        ``global``, ``MoE-1``, ``MoE-2 (true n)``, ``MoE-2 (n̂)``, ``combined (true n)``,
        ``combined (n̂)`` and, with ``cond``, ``conditional m,n (true n)`` and
        ``conditional m,n (n̂)``.
    n_hat : dict of float → ndarray
        n̂ of every test star at every level.
    """
    lab_t = splits.test.labels
    preds, n_hat = {}, {}
    for level in levels:
        x = noisy_splits(splits, level, seed, which=("test",))["test"]
        n_hat[level] = nh = estimator.predict(x)
        pr = {"global": combined.global_.predict(x), "MoE-1": moe1.predict(x, lab_t),
              "MoE-2 (true n)": moe2.predict(x, level), "MoE-2 (n̂)": moe2.predict(x, nh),
              "combined (true n)": combined.predict(x, lab_t.assign(noise=level)),
              "combined (n̂)": combined.predict(x, lab_t.assign(noise=nh))}
        if cond is not None:
            m = lab_t["M_H"].to_numpy()
            pr["conditional m,n (true n)"] = cond.predict(x, {"m": m,
                                                              "n": np.full(m.size, level)})
            pr["conditional m,n (n̂)"] = cond.predict(x, {"m": m, "n": nh})
        preds.update({(level, name): v for name, v in pr.items()})
    return preds, n_hat


def r2_by_level(table: pd.DataFrame) -> pd.DataFrame:
    """Test R² as a level × model table (models in their first-appearance order).

    Parameters
    ----------
    table : DataFrame
        One row per (level, model) with columns ``noise_level``, ``model`` and ``r2``.

    Returns
    -------
    DataFrame
        Index ``noise_level``, one column per model.
    """
    return table.pivot(index="noise_level", columns="model", values="r2")[
        list(dict.fromkeys(table["model"]))]
