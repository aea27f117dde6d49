"""Book tables: captions, rounding for reading, CI columns."""

from __future__ import annotations

import numpy as np
import pandas as pd

from moehelpers.book import report


def test_table_html_puts_the_caption_inside_the_table() -> None:
    df = pd.DataFrame({"model": ["global <Ridge>"], "r2": [0.123456789]})
    html = report.table_html(df, caption="Test R² of log g (1000 stars).")
    assert html.count("<caption>") == 1
    start = html.index("<table")
    assert html.index("<caption>Test R² of log g (1000 stars).</caption>") > start
    assert html.index("<caption>") < html.index("<thead")
    assert "0.1235" in html and "global &lt;Ridge&gt;" in html  # rounded; cells escaped
    assert "<caption>" not in report.table_html(df)


def test_ci_table_merges_interval_columns() -> None:
    df = pd.DataFrame({"r2": [0.5], "r2_lo": [0.4], "r2_hi": [0.6], "n": [3]})
    out = report.ci_table(df, metrics=["r2"])
    assert list(out.columns) == ["r2", "n"] and out["r2"].iloc[0] == "0.500 [0.400, 0.600]"
    nan = report.ci_table(df.assign(r2_lo=np.nan), metrics=["r2"])
    assert nan["r2"].iloc[0].startswith("0.500 [")


def test_fixed_columns_show_rounding_level_differences_as_zero() -> None:
    assert report.fmt(9.992e-16, 4) == "9.992e-16"  # small quantities keep their magnitude
    assert report.fmt(9.992e-16, 4, fixed=True) == "0.0000"
    assert report.fmt(-2.2e-16, 4, fixed=True) == "0.0000"  # no "-0.0000"
    assert report.fmt(-0.0512, 4, fixed=True) == "-0.0512"
    assert report.fmt(12345.6, 2, fixed=True) == "12345.60"
    df = pd.DataFrame({"model": ["a", "b"], "delta_r2": [9.992e-16, -0.03], "acc": [1e-11, 0.5]})
    html = report.table_html(df, fixed=["delta_r2"])
    assert "0.0000" in html and "-0.0300" in html and "e-16" not in html
    assert "1.000e-11" in html  # other columns unchanged
