"""Every notebook executed small by papermill, and the book built from the result.

The tiny dataset comes from the committed SME grid when it is present (as in CI), else
from the duck-typed fake grid, so these tests never need the full default dataset.
"""

from __future__ import annotations

import ast
import json
import shutil
from pathlib import Path

import nbformat
import pytest

from moehelpers.book.build import build_book
from moehelpers.book.runner import execute_run, list_notebooks, notebook_parameters
from moehelpers.data.grid import DEFAULT_GRID_PATH
from moehelpers.paths import repo_root
from moehelpers.records import store as results

SIZES = {"n_train": 300, "n_val": 100, "n_test": 100}

#: Small parameters per notebook (on top of SIZES and data_path where declared). The
#: fixtures ``tiny_data`` and ``executed`` (tests/conftest.py) merge them into one run, so a
#: name shared by several notebooks must get the same value everywhere.
TINY: dict[str, dict] = {
    "00_data": {"show_grid": DEFAULT_GRID_PATH.is_file()},  # the grid is committed (CI: True)
    "01_mvp0_global_ridge": {"noise_levels": [0.0, 1.0], "n_boot": 50},
    "02_mvp1_piecewise_ridge": {"n_boot": 50, "min_bin_train": 20, "min_bin_val": 5},
    "03_mvp1_rigorous": {"n_boot": 50, "min_bin_train": 20, "min_bin_val": 5, "seeds": [42, 123]},
    "04_mvp2_noise_experts": {"expert_noise_levels": [0.0, 0.5, 1.0], "n_boot": 50},
    "05_mvp3_quantile_bins": {"n_boot": 50, "min_bin_train": 20, "min_bin_val": 5},
    "06_mvp3_pseudo_gate": {"n_boot": 50, "min_bin_train": 20, "min_bin_val": 5},
    "07_mvp3_conditional_ridge": {"n_boot": 50, "min_bin_train": 20, "min_bin_val": 5,
                                  "fit_on_predicted": True},
    "08_mvp4_logg_gates": {"n_boot": 50, "min_bin_train": 20, "min_bin_val": 5,
                           "gate_components": 5, "gate_pca_rows": 200},
    "09_mvp5_coefficients": {"n_boot": 50, "min_bin_train": 20, "min_bin_val": 5},
    "14_mvp7_noise_conditioning": {"expert_noise_levels": [0.0, 0.5, 1.0], "n_boot": 50,
                                   "estimator_rows": 200, "noise_orders": [1]},
    "17_beyond_combined_gate": {"expert_noise_levels": [0.0, 0.5, 1.0], "n_boot": 50,
                                "estimator_rows": 200, "min_bin_train": 20, "min_bin_val": 5},
    "18_beyond_snr_estimation": {"expert_noise_levels": [0.0, 0.5, 1.0]},
    "12_mvp7_gate_noise": {"n_boot": 50, "min_bin_train": 20, "min_bin_val": 5,
                           "gate_sigmas": [0.0, 0.2, 1.0], "gate_repeats": 3},
    "13_mvp7_conditional_pp": {"n_boot": 50, "min_bin_train": 20, "min_bin_val": 5,
                               "pixel_bin": 16},
    "19_scaling": {"n_stream": 250, "chunk_size": 60, "rows_per_task": 100},
    # noise_levels come from 01's entry ([0.0, 1.0]; level 0 is skipped by the ceiling)
    "16_beyond_ceiling": {"n_boot": 50, "mc_stars": 2, "mc_draws": 20, "mc_iter": 3,
                          "median_windows": [1, 64]},
    "10_mvp6_learned_gate": {"n_boot": 50, "min_bin_train": 20, "min_bin_val": 5,
                             "gate_components": 5, "gate_fraction": 0.3},
    "11_mvp6_nn_moe": {"n_boot": 50, "min_bin_train": 20, "min_bin_val": 5,
                       "gate_components": 5, "n_components": 8, "n_experts_list": [2],
                       "max_epochs": 2, "patience": 2, "pretrain_epochs": 1,
                       "expert_hidden": 8, "gate_hidden": 4},
    "20_beyond_peers": {"noise_levels": [0.0, 1.0], "peer_models": ["cannon", "emulator", "cnn"]},
    "15_mvp7_window_gate": {"n_boot": 50, "min_bin_train": 20, "min_bin_val": 5,
                            "gate_components": 5, "gate_fraction": 0.3},
}


def test_every_notebook_has_tiny_parameters() -> None:
    missing = [nb.stem for nb in list_notebooks() if nb.stem not in TINY]
    assert not missing, f"add tiny parameters for {missing} to TINY"


@pytest.mark.parametrize("nb", list_notebooks(), ids=lambda p: p.stem)
def test_parameters_cell_is_fully_declared(nb: Path) -> None:
    """Every assignment in the parameters cell is typed and understood by papermill."""
    cell = next(c for c in nbformat.read(nb, as_version=4).cells
                if "parameters" in c.metadata.get("tags", []))
    assigned = [n.target.id for n in ast.parse(cell.source).body
                if isinstance(n, ast.AnnAssign)]
    untyped = [n for n in ast.parse(cell.source).body if isinstance(n, ast.Assign)]
    assert not untyped, "parameters must carry type annotations"
    assert sorted(assigned) == sorted(notebook_parameters(nb))
    assert "run_name" in assigned


@pytest.mark.parametrize("nb", list_notebooks(), ids=lambda p: p.stem)
def test_source_notebooks_are_stripped(nb: Path) -> None:
    cells = nbformat.read(nb, as_version=4).cells
    assert not any(c.get("outputs") or c.get("execution_count") for c in cells
                   if c.cell_type == "code")


def test_all_notebooks_execute(executed: dict) -> None:
    summary = executed["summary"]
    failed = {s.notebook: s.error[-500:] for s in summary.failed}
    assert not failed, failed


def test_mvp0_record(executed: dict) -> None:
    rec = results.load_record("tiny", "MVP-0", runs_dir=executed["runs"])
    assert rec["metrics"]["noise_levels"] == [0.0, 1.0]
    r2 = rec["metrics"]["r2"]
    assert all(lo <= r <= hi for r, lo, hi in zip(r2, rec["metrics"]["r2_lo"],
                                                  rec["metrics"]["r2_hi"], strict=True))
    assert rec["params"]["seed"] == 42 and rec["params"]["n_train"] == 300
    assert {"acceptance", "alpha_interior", "monotone"} <= set(rec["verdicts"])
    assert "generator" in rec["dataset"]


def test_mvp2_record(executed: dict) -> None:
    rec = results.load_record("tiny", "MVP-2.0", runs_dir=executed["runs"])
    m = rec["metrics"]
    assert m["expert_noise_levels"] == [0.0, 0.5, 1.0] and len(m["expert_alpha"]) == 3
    cross, mixed = m["r2_cross"], m["r2_mixed"]
    assert len(cross) == 3 and all(len(row) == 3 for row in cross) and len(mixed) == 3
    assert m["r2_matched"] == [cross[k][k] for k in range(3)]
    for d, lo, hi, e, x in zip(m["delta_r2"], m["delta_lo"], m["delta_hi"], m["r2_matched"],
                               mixed, strict=True):
        assert lo <= d <= hi and abs(d - (e - x)) < 1e-12
    assert abs(m["mean_delta_r2"] - sum(m["delta_r2"]) / 3) < 1e-12
    assert m["noise0_expert_at_max"] == cross[0][2] and m["max_expert_at_noise0"] == cross[2][0]
    assert rec["params"]["seed"] == 42 and rec["params"]["boot_seed"] == 0
    assert {"H1.3", "H1.3_ci", "H1.3_every_level", "noise0_cannot_generalise",
            "noise0_fails_completely"} <= set(rec["verdicts"])
    assert rec["verdicts"]["H1.3"]["value"] == m["mean_delta_r2"]
    assert {"by_level", "cross_noise", "generalisation"} <= set(rec["tables"])


def test_rerun_gives_identical_records(executed: dict, tmp_path: Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """Determinism: the same run again gives byte-identical records outside provenance."""
    monkeypatch.setenv("MOE_RUNS_DIR", str(tmp_path))
    chosen = [nb for nb in list_notebooks() if nb.stem[:2] in ("00", "01")]
    declared = set().union(*(notebook_parameters(nb) for nb in chosen))
    params = {k: v for k, v in executed["params"].items() if k in declared}
    again = execute_run("tiny", notebooks=["00", "01"], params=params, progress=False)
    assert again.ok, [s.error for s in again.failed]
    for mvp in ("DATA", "MVP-0"):
        first = (executed["runs"] / "tiny" / "records" / f"{mvp}.json").read_text()
        second = (tmp_path / "tiny" / "records" / f"{mvp}.json").read_text()
        cut = first.index('"provenance"')
        assert first[:cut] == second[:cut]
        assert json.loads(first)["content_hash"] == json.loads(second)["content_hash"]


def test_book_builds_with_interactive_figures(executed: dict, tmp_path: Path) -> None:
    root = tmp_path / "book"
    root.mkdir()
    src = repo_root()
    for name in ("_config.yml", "_toc.yml"):
        shutil.copy(src / name, root / name)
    shutil.copytree(src / "book", root / "book")  # assets too: a cached MathJax is reused
    shutil.copytree(executed["runs"] / "tiny" / "notebooks", root / "runs/default/notebooks")
    index = build_book(root=root)
    html = (root / "_build/html/runs/default/notebooks/01_mvp0_global_ridge.html").read_text()
    assert index.is_file()
    assert html.count('class="plotly-graph-div"') >= 3  # figures survived into the HTML
    assert "_static/plotly.min.js" in html
    assert (root / "_build/html/_static/plotly.min.js").is_file()
    assert "cdn.plot.ly" not in html
    assert 'class="tip admonition"' in html  # the computed verdict box is parsed as MyST
    assert (root / "_build/html/book/_generated/status.html").is_file()
    assert "injected-parameters" not in html and "Parameters" not in html
    toc = json.dumps(str((root / "_build" / "_toc.yml").read_text()))
    assert "01_mvp0_global_ridge" in toc


def test_hub_reads_every_record_the_notebooks_write(executed: dict, tmp_path: Path) -> None:
    """The hub's extractors match the records' real schema (no 'lacks a field' anywhere)."""
    from moehelpers.book.hub import write_hub

    pages = {p.name: p.read_text() for p in write_hub(tmp_path, runs_dir=executed["runs"])}
    assert "Single-run tables describe run `tiny`" in pages["primary.md"]
    broken = {name: text.count("lacks a field") for name, text in pages.items()
              if "lacks a field" in text}
    assert not broken, broken
    rec_ids = {p.stem for p in (executed["runs"] / "tiny" / "records").glob("*.json")}
    tracker = pages["tracker.md"]
    for mvp_id in sorted(rec_ids - {"DATA"}):
        row = next(line for line in tracker.splitlines() if line.startswith(f"| {mvp_id} |"))
        assert "rules hold" in row, row
    assert "*not run yet*" not in pages["questions.md"].split("| Q9 |")[0]


def test_every_hypothesis_with_a_record_has_rules_to_judge_it(executed: dict) -> None:
    """No hypothesis is 'not evaluable' for want of a verdict that names it: each one whose
    experiment has a record finds at least one rule (verdict) testing it, and it is judged
    unless every such rule's value is NaN at these tiny sizes."""
    import numpy as np

    from moehelpers.book.hub_state import NOT_EVALUABLE, evidence, hypothesis_status, load_state
    from moehelpers.records.registry import HYPOTHESES

    state = load_state(repo_root(), runs_dir=executed["runs"], primary="tiny")
    recs = state.runs["tiny"].records
    for h in HYPOTHESES:
        if not any(mvp_id in recs for mvp_id in h.mvps):
            continue
        ev = evidence(h, recs)
        assert ev, f"{h.id}: its experiments {h.mvps} wrote no verdict that tests it"
        status = hypothesis_status(h, recs)[0]
        assert status != NOT_EVALUABLE or all(
            not np.isfinite(e["value"]) for e in ev if e.get("value") is not None), (h.id, ev)
