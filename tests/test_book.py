"""Book build helpers: toc pruning, the status page, the generated config."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from moehelpers.book.build import STATUS_PAGE, write_config, write_status_page, write_toc


def _root(tmp_path: Path) -> Path:
    (tmp_path / "book").mkdir()
    (tmp_path / "book" / "intro.md").write_text("# Intro\n")
    (tmp_path / "_config.yml").write_text("title: t\nsphinx:\n  config: {}\n")
    toc = {"format": "jb-book", "root": "book/intro", "parts": [
        {"caption": "A", "chapters": [{"file": "runs/default/notebooks/01_x"},
                                      {"file": "runs/default/notebooks/02_y"}]},
        {"caption": "B", "chapters": [{"file": "runs/default/notebooks/03_z"}]}]}
    (tmp_path / "_toc.yml").write_text(yaml.safe_dump(toc))
    return tmp_path


def test_toc_drops_pages_not_produced_and_empty_parts(tmp_path: Path) -> None:
    root = _root(tmp_path)
    nb = root / "runs" / "default" / "notebooks"
    nb.mkdir(parents=True)
    (nb / "02_y.ipynb").write_text("{}")
    path, missing = write_toc(root)
    toc = yaml.safe_load(path.read_text())
    assert missing == ["runs/default/notebooks/01_x", "runs/default/notebooks/03_z"]
    assert [p["caption"] for p in toc["parts"]] == ["A"]
    assert toc["parts"][0]["chapters"] == [{"file": "runs/default/notebooks/02_y"}]
    assert yaml.safe_load((root / "_toc.yml").read_text())["parts"][1]  # source untouched


def test_status_page_shows_failures_and_versions(tmp_path: Path) -> None:
    root = _root(tmp_path)
    run = {"run": "n035", "params": {"noise": 0.35}, "notebooks": [
        {"notebook": "01_x", "status": "ok", "seconds": 1.5, "output": "", "error": ""},
        {"notebook": "02_y", "status": "failed", "seconds": 0.7, "output": "",
         "error": "PapermillExecutionError:\nValueError: bad | thing"}]}
    (root / "runs" / "n035").mkdir(parents=True)
    (root / "runs" / "n035" / "run.json").write_text(json.dumps(run))
    page = write_status_page(root).read_text()
    assert page == (root / STATUS_PAGE).read_text()
    assert "## Run `n035`" in page and '"noise": 0.35' in page
    assert "| 02_y | **failed** | 0.7 | ValueError: bad \\| thing |" in page
    assert "| 01_x | ok | 1.5 |  |" in page
    assert "| numpy |" in page and "| moehelpers |" in page


def test_config_points_mathjax_at_the_local_copy_only_when_present(tmp_path: Path) -> None:
    root = _root(tmp_path)
    local = yaml.safe_load(write_config(root, local_mathjax=True).read_text())
    assert local["sphinx"]["config"]["mathjax_path"] == "mathjax/es5/tex-chtml.js"
    cdn = yaml.safe_load(write_config(root, local_mathjax=False).read_text())
    assert "mathjax_path" not in cdn["sphinx"]["config"]


def test_duplicate_scripts_are_dropped_once_per_page() -> None:
    from sphinx.builders.html._assets import _JavaScript

    from moehelpers.book.sphinx_ext import _dedupe_scripts

    body = 'const THEBE_JS_URL = "x"'
    scripts = [_JavaScript("a.js", priority=500), _JavaScript("", priority=500, body=body),
               _JavaScript(None, priority=500, body=body), _JavaScript("a.js", priority=800),
               _JavaScript("", priority=500, body="other")]
    context = {"script_files": scripts}
    _dedupe_scripts(None, "p", "page.html", context, None)
    assert [(js.filename, js.attributes.get("body")) for js in context["script_files"]] == [
        ("a.js", None), ("", body), ("", "other")]


def test_book_config_never_builds_the_venv_data_or_partial_runs() -> None:
    """The venv's LICENSE.md files once became orphan pages of the book (230 of them)."""
    from sphinx.util.matching import Matcher

    from moehelpers.paths import repo_root

    config = yaml.safe_load((repo_root() / "_config.yml").read_text())
    excluded = Matcher(config["exclude_patterns"])
    for path in (".venv/lib/python3.11/site-packages/numpy/LICENSE.md", ".venv",
                 "data/default/train/notes.md", "runs/default/.partial/01_x.ipynb",
                 "tests/fixtures/page.md", "benchmarks/results/notes.md"):
        assert excluded(path), path
    for path in ("runs/default/notebooks/01_mvp0_global_ridge.ipynb", "book/intro.md",
                 "runs/noise0.35/notebooks/01_mvp0_global_ridge.ipynb"):
        assert not excluded(path), path
