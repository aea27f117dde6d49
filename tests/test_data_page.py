"""Data page helpers (book.data_page): the SNR table, the data checks and the DATA metrics."""

from __future__ import annotations

import numpy as np
import pandas as pd

from moehelpers.book import data_page
from moehelpers.records import references


class _Test:
    """A test split whose SNR per level is given: L2 SNR ``l2[level]``, pixel SNR twice that."""

    def __init__(self, l2: dict[float, list[float]]) -> None:
        self.l2 = {k: np.asarray(v, dtype=float) for k, v in l2.items()}

    def snr_l2(self, level: float) -> np.ndarray:
        return self.l2[level]

    def snr_pixel(self, level: float) -> np.ndarray:
        return 2 * self.l2[level]


def test_snr_table_rows_and_the_original_columns_only_where_reported() -> None:
    test = _Test({0.2: [10.0, 14.0, 30.0], 0.3: [1.0, 2.0, 3.0]})
    snr = data_page.snr_table(test, [0.2, 0.3])
    assert snr["noise_level"].tolist() == [0.2, 0.3]
    assert snr["l2_median"].tolist() == [14.0, 2.0]
    assert snr.loc[0, "l2_mean"] == 18.0 and snr.loc[0, "pixel_mean"] == 36.0
    np.testing.assert_allclose(snr.loc[1, "l2_sd"], np.std([1.0, 2.0, 3.0]))
    np.testing.assert_allclose(snr.loc[1, "pixel_sd"], 2 * np.std([1.0, 2.0, 3.0]))
    i = list(references.ORIGINAL["snr.noise_levels"]).index(0.2)
    assert snr.loc[0, "l2_mean (orig.)"] == references.ORIGINAL["snr.l2_mean"][i]
    assert snr.loc[0, "pixel_mean (orig.)"] == references.ORIGINAL["snr.pixel_mean"][i]
    assert np.isnan(snr.loc[1, "l2_mean (orig.)"])


def test_data_verdicts_judge_the_snr_medians_and_the_coverage() -> None:
    ref = references.ORIGINAL
    test = _Test({0.2: [0.0, 1.1 * ref["snr.l2_median_0.2"], 99.0],  # 10% off: passes
                  1.0: [0.0, 1.2 * ref["snr.l2_median_1.0"], 99.0]})  # 20% off: fails
    v = data_page.data_verdicts(test, {"train": 2.5 / 3 - 0.02})
    assert [x["name"] for x in v] == ["snr_0.2", "snr_1.0", "coverage"]
    assert [x["passed"] for x in v] == [True, False, True]
    np.testing.assert_allclose([x["value"] for x in v], [0.1, 0.2, 0.02])
    assert [x["threshold"] for x in v] == [0.15, 0.15, 0.03]
    assert {x["op"] for x in v} == {"<="}
    assert data_page.data_verdicts(test, {"train": 0.7})[2]["passed"] is False


def test_record_metrics_lists_per_level() -> None:
    snr = pd.DataFrame({"l2_median": [14.0, 3.0], "pixel_mean": [35.0, 7.0]})
    m = data_page.record_metrics({"train": 0.8, "test": 0.9}, snr, [0.2, 1.0])
    assert m == {"coverage": {"train": 0.8, "test": 0.9}, "snr_l2_median": [14.0, 3.0],
                 "snr_pixel_mean": [35.0, 7.0], "noise_levels": [0.2, 1.0]}
