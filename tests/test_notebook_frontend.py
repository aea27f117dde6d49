"""The notebook front end: parameters checked inside the notebook, one noise parameter everywhere.

Plain papermill (no runner) must get the runner's checks: a bad value fails in the first code
cell with an :class:`InvalidParameterError` naming the parameter and its limit, and an unknown
name is refused instead of papermill's "Passed unknown parameter" warning.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from moehelpers.book import notebook, parameters
from moehelpers.book.runner import check_parameters, list_notebooks, notebook_parameters
from moehelpers.errors import InvalidParameterError


# ------------------------------------------------------------------ the one checker
@pytest.mark.parametrize(("name", "value", "declared", "needle"), [
    ("noise_level", -0.5, "float", "'noise_level' must be ≥ 0"),
    ("noise_levels", [0.1, -1.0], "list[float]", "'noise_levels[1]' must be ≥ 0"),
    ("alphas", [1.0, 0.0], "list[float]", "> 0"),
    ("n_train", 0, "int", "'n_train' must be ≥ 1"),
    ("seed", -3, "int", "'seed' must be ≥ 0"),
    ("n_boot", 0, "int", "'n_boot' must be ≥ 1"),
    ("noise_level", float("nan"), "float", "finite"),
    ("n_train", 1.5, "int", "must be int"),
    ("show_grid", 1, "bool", "must be bool"),
    ("n_train", True, "int", "must be int"),
])
def test_bad_values_name_the_parameter_and_its_limit(name, value, declared, needle):
    with pytest.raises(InvalidParameterError) as err:
        parameters.check_value(name, value, declared)
    assert needle in str(err.value)


def test_good_values_are_coerced_not_changed():
    assert parameters.check_value("noise_level", 1, "float") == 1.0
    assert isinstance(parameters.check_value("noise_level", 1, "float"), float)
    assert parameters.check_value("noise_levels", [0, 0.5], "list[float]") == [0.0, 0.5]
    assert parameters.check_value("data_path", "", "str") == ""
    assert parameters.check_value("compare_run", None, "str|None") is None
    assert parameters.check_value("seed", 42, "int") == 42


def test_unknown_names_suggest_close_matches():
    declared = {"noise_level": {"type": "float"}, "n_train": {"type": "int"}}
    with pytest.raises(InvalidParameterError, match="Did you mean 'noise_level'") as err:
        parameters.check_values(declared, {"noise_levle": 0.3}, "nb")
    assert "n_train, noise_level" in str(err.value)


def test_runner_and_notebook_use_the_same_checker():
    nb = next(p for p in list_notebooks() if p.stem.startswith("02_"))
    with pytest.raises(InvalidParameterError, match="'noise_level' must be ≥ 0"):
        check_parameters(nb, {"noise_level": -0.5})
    ns = _namespace(nb, {"noise_level": -0.5})
    with pytest.raises(InvalidParameterError, match="'noise_level' must be ≥ 0"):
        notebook.start("MVP-1.0", ns, plots=False)


# ------------------------------------------------------------------ notebook.start
def _namespace(nb: Path, injected: dict) -> dict:
    """The kernel namespace after the parameters cell and papermill's injected cell ran."""
    cell = next(c for c in nbformat.read(nb, as_version=4).cells
                if "parameters" in c.metadata.get("tags", []))
    src = "# Parameters\n" + "".join(f"{k} = {v!r}\n" for k, v in injected.items())
    ns: dict = {"_ih": ["", cell.source, src]}
    exec(compile(cell.source, "parameters", "exec"), ns)  # annotations land in __annotations__
    exec(compile(src, "injected", "exec"), ns)
    return ns


def test_start_refuses_an_injected_unknown_name():
    nb = next(p for p in list_notebooks() if p.stem.startswith("02_"))
    ns = _namespace(nb, {"noise_levels": [0.35]})  # 02 is a single-level notebook
    with pytest.raises(InvalidParameterError, match=r"Unknown parameter 'noise_levels'.*"
                                                    "Did you mean 'noise_level'"):
        notebook.start("MVP-1.0", ns, plots=False)


def test_a_passed_noise_level_joins_the_list_of_a_multi_level_notebook():
    nb = next(p for p in list_notebooks() if p.stem.startswith("04_"))
    default = notebook_parameters(nb)["expert_noise_levels"]["default"]
    ctx = notebook.start("MVP-2.0", _namespace(nb, {"noise_level": 0.35}), plots=False)
    assert 0.35 in ctx.params["expert_noise_levels"]
    assert ctx.params["expert_noise_levels"] == sorted(ctx.params["expert_noise_levels"])
    # at its defaults the list is left as declared
    ctx = notebook.start("MVP-2.0", _namespace(nb, {}), plots=False)
    assert str(ctx.params["expert_noise_levels"]) == default
    assert ctx.injected == []


def test_start_writes_coerced_values_back_and_records_need_a_headline(tmp_path, monkeypatch):
    nb = next(p for p in list_notebooks() if p.stem.startswith("02_"))
    ns = _namespace(nb, {"noise_level": 1, "run_name": "t"})
    ctx = notebook.start("MVP-1.0", ns, plots=False)
    assert isinstance(ns["noise_level"], float) and ctx.params["noise_level"] == 1.0
    monkeypatch.setenv("MOE_RUNS_DIR", str(tmp_path))
    with pytest.raises(TypeError):  # headline is a required keyword
        ctx.record(metrics={})  # type: ignore[call-arg]
    with pytest.raises(InvalidParameterError, match="dataset"):
        ctx.record(metrics={}, headline=[])


@pytest.mark.parametrize("nb", list_notebooks(), ids=lambda p: p.stem)
def test_every_notebook_declares_noise_level_and_starts_in_its_first_code_cell(nb):
    assert "noise_level" in notebook_parameters(nb)
    cells = [c for c in nbformat.read(nb, as_version=4).cells if c.cell_type == "code"]
    first = next(i for i, c in enumerate(cells) if "parameters" in c.metadata.get("tags", []))
    assert "notebook.start(" in cells[first + 1].source


# ------------------------------------------------------------------ plain papermill
def _papermill(nb: Path, out: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "papermill", str(nb), str(out), *args,
                           "--cwd", str(nb.parent), "--no-progress-bar"],
                          capture_output=True, text=True, timeout=600)


#: Plain papermill processes run at once by :func:`bad_value_runs` (most of each run is the
#: kernel's start-up, which waits as much as it computes).
CONCURRENT_PAPERMILL = 3


@pytest.fixture(scope="module")
def bad_value_runs(tmp_path_factory: pytest.TempPathFactory
                   ) -> dict[str, tuple[subprocess.CompletedProcess, Path]]:
    """Every notebook under plain papermill with ``noise_level = -0.5``, a few at a time;
    stem → (finished process, executed copy)."""
    from concurrent.futures import ThreadPoolExecutor

    root = tmp_path_factory.mktemp("bad_value")

    def one(nb: Path) -> tuple[str, tuple[subprocess.CompletedProcess, Path]]:
        out = root / f"{nb.stem}.ipynb"
        return nb.stem, (_papermill(nb, out, "-p", "noise_level", "-0.5"), out)

    with ThreadPoolExecutor(CONCURRENT_PAPERMILL) as pool:
        return dict(pool.map(one, list_notebooks()))


@pytest.mark.parametrize("nb", list_notebooks(), ids=lambda p: p.stem)
def test_plain_papermill_with_a_bad_value_fails_in_the_first_code_cell(nb, bad_value_runs):
    res, out = bad_value_runs[nb.stem]
    assert res.returncode != 0
    executed = nbformat.read(out, as_version=4)
    code = [c for c in executed.cells if c.cell_type == "code"]
    errors = [i for i, c in enumerate(code)
              if any(o.get("output_type") == "error" for o in c.get("outputs", []))]
    injected = next(i for i, c in enumerate(code)
                    if "injected-parameters" in c.metadata.get("tags", []))
    assert errors == [injected + 1], "the check must fail in the first code cell"
    err = next(o for o in code[errors[0]].outputs if o.get("output_type") == "error")
    assert err["ename"] == "InvalidParameterError"
    assert "'noise_level' must be ≥ 0" in err["evalue"]


SMALL = {"n_train": 300, "n_val": 100, "n_test": 100, "n_boot": 20, "min_bin_train": 20,
         "min_bin_val": 5}


@pytest.mark.parametrize("stem", ["02_mvp1_piecewise_ridge", "01_mvp0_global_ridge",
                                  "04_mvp2_noise_experts"])
def test_plain_papermill_at_a_new_noise_level_writes_records_at_it(stem, tiny_data, tmp_path):
    nb = next(p for p in list_notebooks() if p.stem == stem)
    declared = notebook_parameters(nb)
    args = ["-p", "noise_level", "0.35", "-p", "data_path", str(tiny_data),
            "-p", "run_name", "plain"]
    for k, v in SMALL.items():
        if k in declared:
            args += ["-p", k, str(v)]
    if "noise_levels" in declared:
        args += ["-y", json.dumps({"noise_levels": [0.0, 1.0]})]
    if "expert_noise_levels" in declared:
        args += ["-y", json.dumps({"expert_noise_levels": [0.0, 1.0]})]
    env_runs = tmp_path / "runs"
    res = subprocess.run([sys.executable, "-m", "papermill", str(nb), str(tmp_path / "o.ipynb"),
                          *args, "--cwd", str(nb.parent), "--no-progress-bar"],
                         capture_output=True, text=True, timeout=600,
                         env={**os.environ, "MOE_RUNS_DIR": str(env_runs)})
    assert res.returncode == 0, res.stderr[-3000:]
    (rec_path,) = (env_runs / "plain" / "records").glob("*.json")
    rec = json.loads(rec_path.read_text())
    assert rec["params"]["noise_level"] == 0.35
    from moehelpers.records.store import load_record, table

    head = table(load_record("plain", rec["mvp_id"], env_runs), "headline")
    levels = set(head["noise_level"].round(6))
    assert 0.35 in levels, levels


def test_flux_kind_reaches_the_record_and_changes_the_data(tiny_data, tmp_path):
    """``-p flux_kind distorted`` with plain papermill: the record names the distortion, and the
    models see other spectra (a different test R² than the physical run on the same stars)."""
    nb = next(p for p in list_notebooks() if p.stem == "01_mvp0_global_ridge")
    from moehelpers.records.store import load_record, table

    r2 = {}
    for kind in ("physical", "distorted"):
        args = ["-p", "data_path", str(tiny_data), "-p", "run_name", kind, "-p", "n_boot", "20",
                "-p", "flux_kind", kind, "-p", "distortion_amplitude", "0.2",
                "-y", json.dumps({"noise_levels": [0.2]})]
        for k in ("n_train", "n_val", "n_test"):
            args += ["-p", k, str(SMALL[k])]
        res = subprocess.run([sys.executable, "-m", "papermill", str(nb),
                              str(tmp_path / f"{kind}.ipynb"), *args, "--cwd", str(nb.parent),
                              "--no-progress-bar"], capture_output=True, text=True, timeout=600,
                             env={**os.environ, "MOE_RUNS_DIR": str(tmp_path / "runs")})
        assert res.returncode == 0, res.stderr[-3000:]
        rec = load_record(kind, "MVP-0", tmp_path / "runs")
        r2[kind] = float(table(rec, "headline")["r2"].iloc[0])
        if kind == "distorted":
            assert rec["dataset"]["flux_kind"] == {"kind": "distorted", "amplitude": 0.2,
                                                   "order": 3, "seed": 0}
        else:
            assert "flux_kind" not in rec["dataset"]
    assert r2["physical"] != r2["distorted"]
