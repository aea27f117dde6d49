"""Resumable, cached execution: a notebook unchanged since its last success is not run again."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest

from moehelpers.book import cli
from moehelpers.book.build import write_status_page
from moehelpers.book.exec_cache import modules_file
from moehelpers.book.runner import execute_run


def _notebook(path: Path, log: Path, body: str = "") -> Path:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    params = nbformat.v4.new_code_cell('run_name: str = "default"  # run\n'
                                       "level: float = 0.1  # a parameter\n"
                                       'data_path: str = ""  # data')
    params.metadata["tags"] = ["parameters"]
    record = nbformat.v4.new_code_cell(
        f"with open({str(log)!r}, 'a') as fh:\n    fh.write({path.stem!r} + '\\n')")
    nb.cells = [params, record, nbformat.v4.new_code_cell(body or "x = 1")]
    nbformat.write(nb, path)
    return path


def _importing(module: str, pkg: Path) -> str:
    """Notebook code importing ``moehelpers.<module>`` from ``pkg`` (a test-only module)."""
    return (f"import moehelpers\nmoehelpers.__path__.append({str(pkg)!r})\n"
            f"import moehelpers.{module} as m\nvalue = m.VALUE")


@pytest.fixture
def book(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    monkeypatch.setenv("MOE_RUNS_DIR", str(tmp_path / "runs"))
    data = tmp_path / "data"
    data.mkdir()
    (data / "dataset.h5").write_bytes(b"not read, only stat-ed")
    monkeypatch.setenv("MOE_DATA_DIR", str(data))
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "cache_mod_a.py").write_text("VALUE = 1\n")
    (pkg / "cache_mod_b.py").write_text("VALUE = 2\n")
    src, log = tmp_path / "notebooks", tmp_path / "executed.log"
    src.mkdir()
    _notebook(src / "01_a.ipynb", log, _importing("cache_mod_a", pkg))
    _notebook(src / "02_b.ipynb", log, _importing("cache_mod_b", pkg))
    _notebook(src / "03_plain.ipynb", log)
    return {"src": src, "log": log, "pkg": pkg, "data": data, "runs": tmp_path / "runs",
            "root": tmp_path}


def _run(book: dict[str, Path], **kw: object) -> tuple[list[str], dict[str, str]]:
    """Execute run ``r``; return the notebooks actually executed and the statuses."""
    book["log"].unlink(missing_ok=True)
    summary = execute_run("r", folder=book["src"], progress=False, **kw)
    executed = book["log"].read_text().split() if book["log"].exists() else []
    return executed, {s.notebook: s.status for s in summary.notebooks}


def test_second_run_executes_nothing_and_says_cached(book: dict[str, Path]) -> None:
    executed, states = _run(book)
    assert executed == ["01_a", "02_b", "03_plain"] and set(states.values()) == {"ok"}
    modules = json.loads(modules_file(book["runs"] / "r/notebooks/01_a.ipynb").read_text())
    assert any(f.endswith("cache_mod_a.py") for f in modules["modules"])
    assert not any(f.endswith("cache_mod_b.py") for f in modules["modules"])
    executed, states = _run(book)
    assert executed == [] and set(states.values()) == {"cached"}
    manifest = json.loads((book["runs"] / "r" / "run.json").read_text())
    assert [n["status"] for n in manifest["notebooks"]] == ["cached"] * 3
    # the probe cell is hidden in the book
    nb = nbformat.read(book["runs"] / "r/notebooks/03_plain.ipynb", as_version=4)
    assert "remove-cell" in nb.cells[-1].metadata["tags"]
    page = write_status_page(book["root"]).read_text()
    assert "| 01_a | cached" in page
    executed, states = _run(book, force=True)
    assert executed == ["01_a", "02_b", "03_plain"] and set(states.values()) == {"ok"}


def test_changed_parameter_reexecutes_only_that_notebook(book: dict[str, Path]) -> None:
    _run(book)
    _notebook(book["src"] / "04_extra.ipynb", book["log"])  # new notebook: executed once
    nb = nbformat.read(book["src"] / "03_plain.ipynb", as_version=4)
    nb.cells[0].source += "\nonly_here: int = 1  # declared by 03 only"
    nbformat.write(nb, book["src"] / "03_plain.ipynb")
    executed, _ = _run(book)
    assert executed == ["03_plain", "04_extra"]  # 03's source changed; 04 is new
    executed, states = _run(book, params={"only_here": 5})
    assert executed == ["03_plain"]
    assert states == {"01_a": "cached", "02_b": "cached", "03_plain": "ok", "04_extra": "cached"}


def test_changed_source_reexecutes_only_it(book: dict[str, Path]) -> None:
    _run(book)
    nb = nbformat.read(book["src"] / "02_b.ipynb", as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell("y = 2"))
    nbformat.write(nb, book["src"] / "02_b.ipynb")
    assert _run(book)[0] == ["02_b"]


def test_changed_package_module_reexecutes_exactly_its_importers(book: dict[str, Path]) -> None:
    _run(book)
    (book["pkg"] / "cache_mod_a.py").write_text("VALUE = 10\n")
    assert _run(book)[0] == ["01_a"]
    (book["pkg"] / "cache_mod_b.py").write_text("VALUE = 20\n")
    assert _run(book)[0] == ["02_b"]


def test_changed_data_or_lost_output_reexecutes(book: dict[str, Path]) -> None:
    _run(book)
    (book["data"] / "dataset.h5").write_bytes(b"other data, other size")
    assert _run(book)[0] == ["01_a", "02_b", "03_plain"]
    (book["runs"] / "r/notebooks/02_b.ipynb").unlink()
    assert _run(book)[0] == ["02_b"]


def test_new_benchmark_record_reexecutes_only_the_page_reading_them(
        book: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    """The scaling page reads benchmarks/results (its bench_dir parameter, empty by default):
    a new record must not leave it showing "no record yet" from its cached execution."""
    from moehelpers.book import exec_cache

    nb = nbformat.read(book["src"] / "03_plain.ipynb", as_version=4)
    nb.cells[0].source += '\nbench_dir: str = ""  # benchmark records'
    nbformat.write(nb, book["src"] / "03_plain.ipynb")
    monkeypatch.setattr(exec_cache, "repo_root", lambda: book["root"])
    results = book["root"] / "benchmarks" / "results"
    results.mkdir(parents=True)
    _run(book)
    assert _run(book)[0] == []
    (results / "ridge_path.json").write_text('{"benchmark": "ridge_path"}')
    assert _run(book)[0] == ["03_plain"]
    assert _run(book)[0] == []
    (results / "ridge_path.json").write_text('{"benchmark": "ridge_path", "new": 1}')
    assert _run(book)[0] == ["03_plain"]


def test_failed_notebook_is_never_reused(book: dict[str, Path]) -> None:
    _notebook(book["src"] / "05_fails.ipynb", book["log"], "raise RuntimeError('deliberate')")
    _run(book)
    executed, states = _run(book)
    assert executed == ["05_fails"] and states["05_fails"] == "failed"


def test_interrupted_run_resumes_with_the_unfinished_notebooks(
        book: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    import papermill

    real = papermill.execute_notebook

    def interrupted(src: str, dst: str, **kw: object) -> object:
        if "02_b" in src:
            raise KeyboardInterrupt  # Ctrl-C (or a kill) while 02 runs
        return real(src, dst, **kw)

    monkeypatch.setattr(papermill, "execute_notebook", interrupted)
    with pytest.raises(KeyboardInterrupt):
        _run(book)
    manifest = json.loads((book["runs"] / "r" / "run.json").read_text())
    assert [n["status"] for n in manifest["notebooks"]] == ["ok", "running"]
    monkeypatch.setattr(papermill, "execute_notebook", real)
    executed, states = _run(book)
    assert executed == ["02_b", "03_plain"]
    assert states == {"01_a": "cached", "02_b": "ok", "03_plain": "ok"}


def test_cli_force_reaches_the_runner(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[bool] = []

    class Summary:
        ok = True

        def to_text(self) -> str:
            return "run"

    def fake(*args: object, force: bool = False, **kw: object) -> Summary:
        seen.append(force)
        return Summary()

    monkeypatch.setattr("moehelpers.book.runner.execute_run", fake)
    assert cli.main(["run", "--name", "x", "--force"]) == 0
    assert cli.main(["run", "--name", "x"]) == 0
    assert seen == [True, False]
