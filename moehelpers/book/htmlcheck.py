"""Offline check of the built HTML book in headless Chromium (``make check-html``).

Each page is opened from ``file://`` with networking disabled (every host name resolves to
nothing and every request goes to a dead proxy), so anything a page loads from the internet
fails. A page passes when

* every plotly figure was drawn (each ``plotly-graph-div`` holds an SVG ``main-svg``),
* every math span was typeset by MathJax (``mjx-container`` present when math is), and
* the browser console shows no error (uncaught exceptions, failed loads), and
* no ``<script>`` or ``<link>`` of the page points at the network.

Screenshots go to ``_build/check-html/`` for a person to look at.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from moehelpers.errors import RunnerError

__all__ = ["PageCheck", "check_book", "check_page", "find_chromium"]

_CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")
_OFFLINE = ["--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE localhost",
            "--proxy-server=http://127.0.0.1:9", "--proxy-bypass-list=<-loopback>"]
_CONSOLE_RE = re.compile(r"CONSOLE[:(]\d+\)?\] \"(?P<msg>.*?)\", source: (?P<src>\S*)")
_EXTERNAL_RE = re.compile(r"<(?:script|link)\b[^>]*(?:src|href)=\"((?:https?:)?//[^\"]+)\"[^>]*>")
_ERROR_WORDS = ("Uncaught", "Failed to load", "net::ERR", "is not defined", "TypeError",
                "ReferenceError", "SyntaxError")
DEFAULT_PAGES = ("book/intro.html", *(f"book/hub/{p}.html" for p in (
    "goals", "roadmap", "tracker", "analysis", "conclusions", "appendix", "runs")),
    "runs/default/notebooks/01_mvp0_global_ridge.html")


def find_chromium() -> str | None:
    """Path of a Chromium/Chrome executable, or None."""
    return next((p for p in map(shutil.which, _CANDIDATES) if p), None)


@dataclass
class PageCheck:
    """What one page showed in the browser."""

    page: str
    figures: int = 0
    figures_drawn: int = 0
    math: int = 0
    math_typeset: int = 0
    console_errors: list[str] = field(default_factory=list)
    external: list[str] = field(default_factory=list)
    screenshot: str = ""

    @property
    def problems(self) -> list[str]:
        """Empty when the page passed."""
        out = []
        if self.figures_drawn < self.figures:
            out.append(f"{self.figures - self.figures_drawn} of {self.figures} plotly figures "
                       "not drawn")
        if self.math and not self.math_typeset:
            out.append(f"{self.math} math spans but MathJax typeset none")
        out += [f"console: {e}" for e in self.console_errors]
        out += [f"loads from the network: {u}" for u in self.external]
        return out


def _chromium(exe: str, args: list[str], timeout: int) -> subprocess.CompletedProcess:
    with tempfile.TemporaryDirectory() as profile:
        cmd = [exe, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
               "--disable-extensions", "--disable-background-networking",
               f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0",
               "--virtual-time-budget=20000", "--run-all-compositor-stages-before-draw",
               *_OFFLINE, *args]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)


def check_page(html: Path, *, chromium: str | None = None, screenshot: Path | None = None,
               timeout: int = 120) -> PageCheck:
    """Open one built page offline and report figures, math and console errors."""
    exe = chromium or find_chromium()
    if exe is None:
        raise RunnerError("No Chromium found; install it (e.g. `apt-get install chromium`) to "
                          "check the HTML offline.")
    if not html.is_file():
        raise RunnerError(f"{html} does not exist; build the book first (make book).")
    url = html.resolve().as_uri()
    dom = _chromium(exe, ["--dump-dom", url], timeout)
    text = dom.stdout
    result = PageCheck(page=str(html))
    result.figures = len(re.findall(r'class="[^"]*plotly-graph-div', text))
    # Plotly.newPlot wraps every drawn figure in one "plot-container" holding its SVG
    result.figures_drawn = min(len(re.findall(r'class="plot-container plotly"', text)),
                               result.figures)
    source = html.read_text(encoding="utf-8", errors="replace")
    result.external = [u for u in _EXTERNAL_RE.findall(source)
                       if "rel=\"canonical\"" not in u]
    result.math = len(re.findall(r'class="math[ "]', text))
    result.math_typeset = text.count("<mjx-container")
    for match in _CONSOLE_RE.finditer(dom.stderr):
        msg = match.group("msg")
        if any(w in msg for w in _ERROR_WORDS):
            result.console_errors.append(f"{msg[:200]} ({match.group('src')[-60:]})")
    if screenshot is not None:
        screenshot.parent.mkdir(parents=True, exist_ok=True)
        _chromium(exe, [f"--screenshot={screenshot}", "--window-size=1300,2200",
                        "--hide-scrollbars", url], timeout)
        result.screenshot = str(screenshot) if screenshot.is_file() else ""
    return result


def check_book(html_dir: Path, pages: tuple[str, ...] = DEFAULT_PAGES,
               shots: Path | None = None) -> list[PageCheck]:
    """Check ``pages`` (relative to ``html_dir``) that exist; screenshots into ``shots``."""
    checks = []
    for page in pages:
        path = html_dir / page
        if not path.is_file():
            continue
        shot = shots / (page.replace("/", "__").removesuffix(".html") + ".png") if shots else None
        checks.append(check_page(path, screenshot=shot))
    if not checks:
        raise RunnerError(f"None of {list(pages)} exists under {html_dir}; build the book first.")
    return checks
