"""Building the HTML book with Jupyter Book 1 (the notebooks are executed by the runner).

The committed ``_config.yml`` and ``_toc.yml`` describe the book; :func:`build_book`
derives from them, under ``_build/``, the files one build actually uses:

* ``_build/_toc.yml`` — the toc less pages that were not produced (a partial run);
* ``_build/_config.yml`` — the config plus a local MathJax when one is available,
  so the HTML reads offline (plotly.js is always served locally).
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from moehelpers.errors import RunnerError
from moehelpers.paths import repo_root

__all__ = ["build_book", "ensure_mathjax", "run_parts", "write_config", "write_status_page",
           "write_toc"]

log = logging.getLogger(__name__)

ASSETS = Path("book") / "assets"  # html_static_path of _config.yml (not "_static": see DESIGN)
MATHJAX_VERSION = "3"
MATHJAX_ENTRY = "mathjax/es5/tex-chtml.js"


def _copy_static(root: Path) -> None:
    """Put the local plotly.min.js where ``_config.yml`` serves it from."""
    from moehelpers.book.plots import plotly_js_path

    dest = root / ASSETS / "plotly.min.js"
    dest.parent.mkdir(parents=True, exist_ok=True)
    src = plotly_js_path()
    if not dest.exists() or dest.stat().st_size != src.stat().st_size:
        shutil.copyfile(src, dest)


def _page_exists(root: Path, file: str) -> bool:
    return any((root / f"{file}{ext}").is_file() for ext in ("", ".md", ".ipynb"))


def _prune_toc(node: Any, root: Path, missing: list[str]) -> Any:
    """Copy of a toc tree without entries whose page file is absent (recorded in ``missing``)."""
    if isinstance(node, list):
        kept = [_prune_toc(n, root, missing) for n in node]
        return [n for n in kept if n is not None]
    if isinstance(node, dict):
        if "file" in node and not _page_exists(root, node["file"]):
            missing.append(node["file"])
            return None
        out = {k: _prune_toc(v, root, missing) if k in ("parts", "chapters", "sections") else v
               for k, v in node.items()}
        for key in ("chapters", "sections"):
            if key in out and not out[key]:
                del out[key]
        if "parts" in out:
            out["parts"] = [p for p in out["parts"] if p.get("chapters")]
        return out
    return node


def run_parts(root: Path, skip: Iterable[str] = ("default",)) -> list[dict[str, Any]]:
    """One toc part per run under ``runs/`` other than ``skip``: its executed notebooks."""
    import json

    parts = []
    for folder in sorted(p for p in (root / "runs").glob("*") if p.is_dir()):
        pages = sorted((folder / "notebooks").glob("*.ipynb"))
        if folder.name in skip or not pages:
            continue
        noise = None
        try:
            noise = json.loads((folder / "run.json").read_text()).get("params", {}).get("noise")
        except (OSError, ValueError, AttributeError):
            pass
        caption = f"Run {folder.name}" + ("" if noise is None else f" (noise {noise:g})")
        parts.append({"caption": caption, "chapters": [
            {"file": p.relative_to(root).with_suffix("").as_posix()} for p in pages]})
    return parts


def write_toc(root: Path) -> tuple[Path, list[str]]:
    """Write ``_build/_toc.yml``: the committed ``_toc.yml`` less pages not produced, plus
    one part per extra run (inserted before the last part, the build status).

    A notebook that was not executed (e.g. a partial run) has no page yet; the book
    still builds and the missing pages are reported.
    """
    import yaml

    toc = yaml.safe_load((root / "_toc.yml").read_text())
    listed = {c.get("file", "").split("/")[1] for p in toc.get("parts", [])
              for c in p.get("chapters", []) if c.get("file", "").startswith("runs/")}
    extra = run_parts(root, skip=listed)
    if extra and toc.get("parts"):
        toc["parts"][-1:-1] = extra
    missing: list[str] = []
    pruned = _prune_toc(toc, root, missing)
    out = root / "_build" / "_toc.yml"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(yaml.safe_dump(pruned, sort_keys=False))
    return out, missing


def ensure_mathjax(root: Path) -> bool:
    """Make a local MathJax available under the book's assets; True if it is there.

    Uses ``npm pack mathjax@3`` (the npm registry) when ``npm`` exists and the copy is
    missing; otherwise the book falls back to Sphinx's CDN MathJax (math then needs a
    network connection to render), which is logged.
    """
    target = root / ASSETS / MATHJAX_ENTRY
    if target.is_file():
        return True
    npm = shutil.which("npm")
    if npm is None:
        log.warning("npm not found: math will load MathJax from its CDN (needs network)")
        return False
    with tempfile.TemporaryDirectory() as tmp:
        proc = subprocess.run([npm, "pack", f"mathjax@{MATHJAX_VERSION}", "--silent"], cwd=tmp,
                              capture_output=True, text=True, timeout=300)
        tarballs = list(Path(tmp).glob("mathjax-*.tgz"))
        if proc.returncode != 0 or not tarballs:
            log.warning("npm pack mathjax failed (%s): math will load MathJax from its CDN",
                        proc.stderr.strip()[-200:])
            return False
        dest = root / ASSETS / "mathjax"
        staging = Path(tmp) / "out"
        with tarfile.open(tarballs[0]) as tar:
            members = [m for m in tar.getmembers()
                       if m.name.startswith("package/es5/") and (m.isfile() or m.isdir())]
            tar.extractall(staging, members=members, filter="data")
        if dest.exists():
            shutil.rmtree(dest)
        shutil.move(str(staging / "package"), dest)
    return target.is_file()


STATUS_PAGE = Path("book") / "_generated" / "status.md"  # git-ignored, listed in _toc.yml
_VERSIONED = ("numpy", "scipy", "pandas", "h5py", "scikit-learn", "plotly", "papermill",
              "jupyter-book", "myst-nb", "torch")


def _versions() -> list[tuple[str, str]]:
    from importlib.metadata import PackageNotFoundError, version

    from moehelpers import __version__
    rows = [("moehelpers", __version__), ("python", sys.version.split()[0])]
    for name in _VERSIONED:
        try:
            rows.append((name, version(name)))
        except PackageNotFoundError:
            rows.append((name, "not installed"))
    return rows


def write_status_page(root: Path) -> Path:
    """Write the build-status page: every run's notebooks with status and time, and versions.

    A notebook that failed is listed with its error, so a failure is visible in the book
    (its executed page, with the traceback, is still part of the book); one the runner
    reused from its execution cache is listed as "cached".
    """
    import json

    lines = ["# Build status", "",
             "Every run found under `runs/`, as recorded by the runner in `runs/<run>/run.json`, "
             "and the package versions of the machine that built this HTML.", ""]
    manifests = sorted((root / "runs").glob("*/run.json"))
    if not manifests:
        lines += ["No run has been executed yet (`python -m moehelpers run`).", ""]
    for path in manifests:
        run = json.loads(path.read_text())
        lines += [f"## Run `{run.get('run', path.parent.name)}`", "",
                  f"Overrides: `{json.dumps(run.get('params', {}), sort_keys=True)}`", "",
                  "| notebook | status | seconds | error |", "|---|---|---|---|"]
        for nb in run.get("notebooks", []):
            error = (nb.get("error") or "").strip().splitlines()
            first = error[-1].replace("|", "\\|")[:160] if error else ""
            status = {"failed": "**failed**",
                      "running": "**interrupted** (the batch stopped while it ran)",
                      "cached": "cached (unchanged since its last execution; reused)"}.get(
                nb.get("status"), nb.get("status", ""))
            lines.append(f"| {nb.get('notebook')} | {status} | {nb.get('seconds', 0):.1f} | "
                         f"{first} |")
        lines.append("")
    lines += ["## Package versions", "", "| package | version |", "|---|---|"]
    lines += [f"| {name} | {ver} |" for name, ver in _versions()]
    out = root / STATUS_PAGE
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines) + "\n")
    return out


def write_config(root: Path, *, local_mathjax: bool) -> Path:
    """Write ``_build/_config.yml``: the committed config plus build-time settings."""
    import yaml

    config = yaml.safe_load((root / "_config.yml").read_text())
    sphinx_config = config.setdefault("sphinx", {}).setdefault("config", {})
    if local_mathjax:
        sphinx_config["mathjax_path"] = MATHJAX_ENTRY  # relative to html_static_path
    out = root / "_build" / "_config.yml"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(yaml.safe_dump(config, sort_keys=False, allow_unicode=True))
    return out


def build_book(*, root: Path | None = None, strict: bool = False,
               extra_args: Iterable[str] = ()) -> Path:
    """Build the HTML book with Jupyter Book 1 (notebooks are not re-executed).

    Returns the path of ``_build/html/index.html``.
    """
    root = root or repo_root()
    _copy_static(root)
    config = write_config(root, local_mathjax=ensure_mathjax(root))
    write_status_page(root)
    from moehelpers.book.hub import write_hub

    write_hub(root)
    toc, missing = write_toc(root)
    for page in missing:
        log.warning("page %s is not built yet (run its notebook); left out of the book", page)
    jb = Path(sys.executable).with_name("jupyter-book")
    cmd = [str(jb) if jb.exists() else "jupyter-book", "build", str(root), "--toc", str(toc),
           "--config", str(config)]
    if strict:
        cmd += ["-W", "-n", "--keep-going"]
    cmd += list(extra_args)
    proc = subprocess.run(cmd, cwd=root, capture_output=True, text=True)
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).splitlines()[-30:])
        raise RunnerError(f"jupyter-book build failed (exit {proc.returncode}):\n{tail}")
    index = root / "_build" / "html" / "index.html"
    if not index.is_file():
        raise RunnerError(f"jupyter-book reported success but {index} is missing.")
    return index
