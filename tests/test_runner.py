"""The papermill runner: parameter checking, failure isolation, run layout."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest

from moehelpers.book.cli import main, parse_param
from moehelpers.book.runner import check_parameters, execute_run, list_notebooks
from moehelpers.errors import InvalidParameterError, RunnerError


def _notebook(path: Path, params_src: str, body: str) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    cell = nbformat.v4.new_code_cell(params_src)
    cell.metadata["tags"] = ["parameters"]
    nb.cells = [nbformat.v4.new_markdown_cell("# test"), cell, nbformat.v4.new_code_cell(body)]
    nbformat.write(nb, path)
    return path


@pytest.fixture
def nb_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "notebooks"
    folder.mkdir()
    monkeypatch.setenv("MOE_RUNS_DIR", str(tmp_path / "runs"))
    _notebook(folder / "01_ok.ipynb",
              'run_name: str = "default"  # run name\nnoise_level: float = 0.2  # noise\n'
              "sizes: list[int] = [1, 2]  # sizes",
              "import json, os, pathlib\n"
              "out = pathlib.Path(os.environ['MOE_RUNS_DIR']) / run_name / 'value.json'\n"
              "out.write_text(json.dumps({'noise': noise_level, 'sizes': sizes}))")
    _notebook(folder / "02_fails.ipynb", 'run_name: str = "default"\n',
              "raise ValueError('deliberate failure')")
    _notebook(folder / "03_after.ipynb", 'run_name: str = "default"\n', "x = 1")
    return folder


def test_notebooks_listed_in_number_order(nb_folder: Path) -> None:
    assert [p.stem for p in list_notebooks(nb_folder)] == ["01_ok", "02_fails", "03_after"]


def test_parameters_are_type_checked(nb_folder: Path) -> None:
    nb = nb_folder / "01_ok.ipynb"
    assert check_parameters(nb, {"noise_level": 1}) == {"noise_level": 1.0}
    assert check_parameters(nb, {"sizes": [3, 4]}) == {"sizes": [3, 4]}
    with pytest.raises(InvalidParameterError, match="must be float"):
        check_parameters(nb, {"noise_level": "0.2; import os"})
    with pytest.raises(InvalidParameterError, match=r"sizes\[1\].*must be int"):
        check_parameters(nb, {"sizes": [1, "x"]})
    with pytest.raises(InvalidParameterError, match=r"Unknown parameter 'nosie_level'.*noise"):
        check_parameters(nb, {"nosie_level": 0.3})


def test_failure_is_isolated_and_reported(nb_folder: Path, tmp_path: Path) -> None:
    summary = execute_run("r1", noise=0.35, folder=nb_folder, progress=False)
    states = {s.notebook: s.status for s in summary.notebooks}
    assert states == {"01_ok": "ok", "02_fails": "failed", "03_after": "ok"}
    assert not summary.ok and "deliberate failure" in summary.failed[0].error
    runs = tmp_path / "runs"
    # the executed copy of the failing notebook keeps the error
    failed_nb = nbformat.read(runs / "r1" / "notebooks" / "02_fails.ipynb", as_version=4)
    errors = [o for c in failed_nb.cells for o in c.get("outputs", []) if o.get("ename")]
    assert errors and errors[0]["ename"] == "ValueError"
    # the noise override reached the notebook that declares it, under the run's own name
    assert json.loads((runs / "r1" / "value.json").read_text())["noise"] == 0.35
    manifest = json.loads((runs / "r1" / "run.json").read_text())
    assert [n["status"] for n in manifest["notebooks"]] == ["ok", "failed", "ok"]
    # parameter cells are hidden from the book
    ok_nb = nbformat.read(runs / "r1" / "notebooks" / "01_ok.ipynb", as_version=4)
    tagged = [c.metadata.get("tags", []) for c in ok_nb.cells]
    assert any("injected-parameters" in t and "remove-cell" in t for t in tagged)


def test_runs_do_not_disturb_each_other(nb_folder: Path, tmp_path: Path) -> None:
    execute_run("a", noise=0.1, notebooks=["01"], folder=nb_folder, progress=False)
    execute_run("b", noise=0.5, notebooks=["01"], folder=nb_folder, progress=False)
    runs = tmp_path / "runs"
    assert json.loads((runs / "a" / "value.json").read_text())["noise"] == 0.1
    assert json.loads((runs / "b" / "value.json").read_text())["noise"] == 0.5


def test_bad_requests_fail_before_anything_runs(nb_folder: Path, tmp_path: Path) -> None:
    with pytest.raises(InvalidParameterError, match="Unknown parameter"):
        execute_run("x", params={"n_trian": 5}, folder=nb_folder, progress=False)
    with pytest.raises(RunnerError, match="Unknown or ambiguous notebook"):
        execute_run("x", notebooks=["99"], folder=nb_folder, progress=False)
    with pytest.raises(InvalidParameterError, match="Invalid run name"):
        execute_run("../escape", folder=nb_folder, progress=False)
    with pytest.raises(InvalidParameterError, match="noise"):
        execute_run("x", noise=-0.1, folder=nb_folder, progress=False)
    assert not (tmp_path / "runs" / "x").exists()


def test_cli_parses_values_and_reports_errors(capsys: pytest.CaptureFixture[str]) -> None:
    assert parse_param("n_train=2000") == ("n_train", 2000)
    assert parse_param("levels=[0.2, 1.0]") == ("levels", [0.2, 1.0])
    assert parse_param("data_path=/x/y.h5") == ("data_path", "/x/y.h5")
    assert main(["run", "--name", "bad name!"]) == 2
    assert "Invalid run name" in capsys.readouterr().err
