"""Notebook 00 (data): the SNR table beside the original study, the data checks and the record
metrics of the data page."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from moehelpers.data.spectra import SpectraSet
from moehelpers.records import references
from moehelpers.records import store as results

__all__ = ["data_verdicts", "record_metrics", "snr_deviation", "snr_table"]


def snr_table(test: SpectraSet, noise_levels: Sequence[float]) -> pd.DataFrame:
    """L2 and per-pixel SNR of the test split per noise level, beside the original study.

    Parameters
    ----------
    test : SpectraSet
        The test split (its ``snr_l2`` and ``snr_pixel`` are read).
    noise_levels : sequence of float
        Noise levels, one row each.

    Returns
    -------
    DataFrame
        Columns ``noise_level``, ``l2_median``, ``l2_mean``, ``l2_sd``, ``pixel_mean``,
        ``pixel_sd`` and, where the original study reported the level, ``l2_mean (orig.)``
        and ``pixel_mean (orig.)`` (NaN at the other levels).
    """
    ref = references.ORIGINAL
    ref_levels = list(ref["snr.noise_levels"])
    rows = []
    for level in noise_levels:
        l2, px = test.snr_l2(level), test.snr_pixel(level)
        row = {"noise_level": level, "l2_median": float(np.median(l2)),
               "l2_mean": float(l2.mean()), "l2_sd": float(l2.std()),
               "pixel_mean": float(px.mean()), "pixel_sd": float(px.std())}
        if level in ref_levels:
            i = ref_levels.index(level)
            row["l2_mean (orig.)"] = ref["snr.l2_mean"][i]
            row["pixel_mean (orig.)"] = ref["snr.pixel_mean"][i]
        rows.append(row)
    return pd.DataFrame(rows)


def snr_deviation(test: SpectraSet, level: float, key: str) -> float:
    """Relative deviation of the median L2 SNR from the original study's median.

    Parameters
    ----------
    test : SpectraSet
        The test split.
    level : float
        Noise level.
    key : str
        Key of the original median in :data:`moehelpers.records.references.ORIGINAL`.

    Returns
    -------
    float
        ``|median L2 SNR / original median − 1|``.
    """
    return abs(float(np.median(test.snr_l2(level))) / references.ORIGINAL[key] - 1.0)


def data_verdicts(test: SpectraSet, coverage: Mapping[str, float]) -> list[dict[str, Any]]:
    """The data checks: median SNR at noise 0.2 and 1.0 and the 3×3 coverage of train.

    Parameters
    ----------
    test : SpectraSet
        The test split.
    coverage : mapping
        Split name → share of its stars inside the physical 3×3 bins (``"train"`` is read).

    Returns
    -------
    list of dict
        Verdicts ``snr_0.2``, ``snr_1.0`` (within 15% of the original medians) and
        ``coverage`` (within 0.03 of 2.5/3, the share of a uniform [M/H] in the bins).
    """
    return [
        results.verdict("snr_0.2", snr_deviation(test, 0.2, "snr.l2_median_0.2"), 0.15, "<=",
                        "median L2 SNR at noise 0.2 within 15% of the original 14.6"),
        results.verdict("snr_1.0", snr_deviation(test, 1.0, "snr.l2_median_1.0"), 0.15, "<=",
                        "median L2 SNR at noise 1.0 within 15% of the original 2.9"),
        results.verdict("coverage", abs(coverage["train"] - 2.5 / 3), 0.03, "<=",
                        "train coverage of the 3×3 bins within 0.03 of 2.5/3 (uniform [M/H])"),
    ]


def record_metrics(coverage: Mapping[str, float], snr: pd.DataFrame,
                   noise_levels: Sequence[float]) -> dict[str, Any]:
    """The metrics of the DATA record.

    Parameters
    ----------
    coverage : mapping
        Split name → share of its stars inside the physical 3×3 bins.
    snr : DataFrame
        :func:`snr_table` output.
    noise_levels : sequence of float
        The levels of ``snr``.

    Returns
    -------
    dict
        ``coverage``, ``snr_l2_median``, ``snr_pixel_mean`` (lists, one per level) and
        ``noise_levels``.
    """
    return {"coverage": coverage, "snr_l2_median": snr["l2_median"].tolist(),
            "snr_pixel_mean": snr["pixel_mean"].tolist(), "noise_levels": noise_levels}
