"""The offline HTML check (headless Chromium); skipped where no Chromium is installed."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from moehelpers.book.htmlcheck import check_page, find_chromium
from moehelpers.book.plots import plotly_js_path

pytestmark = pytest.mark.skipif(
    find_chromium() is None,
    reason="no Chromium on this machine (apt-get install chromium to run the offline check)")

FIG = ('<div id="f" class="plotly-graph-div" style="height:300px;width:400px;"></div>'
       '<script>Plotly.newPlot("f", [{"x": [1, 2], "y": [3, 4]}], {});</script>')


def test_a_local_plotly_page_passes(tmp_path: Path) -> None:
    shutil.copy(plotly_js_path(), tmp_path / "plotly.min.js")
    page = tmp_path / "ok.html"
    page.write_text(f'<html><head><script src="plotly.min.js"></script></head><body>{FIG}'
                    "</body></html>")
    result = check_page(page, screenshot=tmp_path / "ok.png")
    assert (result.figures, result.figures_drawn) == (1, 1)
    assert result.problems == []
    assert (tmp_path / "ok.png").stat().st_size > 1000


def test_network_scripts_errors_and_untypeset_math_are_reported(tmp_path: Path) -> None:
    page = tmp_path / "bad.html"
    page.write_text('<html><head><script src="https://cdn.example.org/plotly.min.js"></script>'
                    '</head><body><span class="math notranslate">\\(x^2\\)</span>'
                    f"{FIG}<script>undefinedFunction();</script></body></html>")
    problems = " | ".join(check_page(page).problems)
    assert "1 of 1 plotly figures not drawn" in problems
    assert "MathJax typeset none" in problems
    assert "undefinedFunction is not defined" in problems
    assert "loads from the network: https://cdn.example.org/plotly.min.js" in problems
