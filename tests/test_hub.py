"""Hub pages generated from records: missing records, verdict-driven status, runs across."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml

from moehelpers.book.build import write_toc
from moehelpers.book.hub import HUB_DIR, conclusions_across_runs, cross_run_table, write_hub
from moehelpers.book.hub_state import hypothesis_status, load_state
from moehelpers.records import store as results
from moehelpers.records.registry import HYPOTHESES, verdict_matches

H23 = next(h for h in HYPOTHESES if h.id == "H2.3")


def _rec(runs: Path, run: str, mvp_id: str, metrics: dict, verdicts: list | None = None,
         params: dict | None = None, tables: dict | None = None,
         headline: list | None = None) -> Path:
    return results.record(mvp_id, run=run, params={"seed": 1, **(params or {})},
                          dataset={"generator": {"test": 1}}, metrics=metrics,
                          verdicts=verdicts or [], tables=tables, runs_dir=runs,
                          headline=headline)


def _mvp0(runs: Path, run: str, noise: float, r2: float, n_train: int = 100) -> None:
    _rec(runs, run, "MVP-0", {"noise_levels": [noise], "r2": [r2], "r2_lo": [r2 - 0.02],
                              "r2_hi": [r2 + 0.02]},
         [results.verdict("monotone", 1.0, 1.0)], {"noise_levels": [noise], "n_train": n_train},
         headline=[results.headline_row("global Ridge", noise, r2, (r2 - 0.02, r2 + 0.02))])


def _fragments(root: Path) -> dict[str, str]:
    return {p.name: p.read_text() for p in write_hub(root)}


def test_no_records_at_all_gives_not_run_rows(tmp_path: Path) -> None:
    pages = _fragments(tmp_path)
    assert (tmp_path / HUB_DIR / "tracker.md").is_file()
    assert pages["hypotheses.md"].count("not run yet") == len(HYPOTHESES)
    assert "| MVP-0 | Global Ridge baseline | Phase 0 | no notebook yet |" in pages["tracker.md"]
    assert "*not run yet*" in pages["questions.md"] and "*not run yet*" in pages["matrix.md"]
    assert "No run has been executed yet" in pages["runs.md"]
    assert "neither branch can be marked" in pages["decision.md"]


def test_partial_and_broken_records_never_crash(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    _mvp0(runs, "default", 0.2, 0.7)
    _rec(runs, "default", "MVP-1.1", {"delta_r2": 0.05},  # lacks most fields
         [results.verdict("H1.2", 0.05, 0.03)])
    (runs / "default" / "records" / "MVP-2.0.json").write_text("{not json")
    pages = _fragments(tmp_path)
    q1 = next(line for line in pages["questions.md"].splitlines() if line.startswith("| Q1 |"))
    assert "lacks a field" in q1 and "delta_lo" in q1
    assert "MVP-2.0.json" in pages["runs.md"]  # the unreadable record is listed
    assert "| MVP-2.0 | Experts per noise level | Phase 2 | no notebook yet |" in (
        pages["tracker.md"])
    assert "0.700 [0.680, 0.720]" in pages["matrix.md"]


@pytest.mark.parametrize(("values", "expected"), [
    ((0.9, 0.05), "supported"), ((0.5, 0.01), "not supported"), ((0.9, 0.01), "partly supported"),
])
def test_hypothesis_status_follows_the_verdicts(tmp_path: Path, values: tuple,
                                                expected: str) -> None:
    runs = tmp_path / "runs"
    share, delta = values
    _rec(runs, "default", "MVP-3.2", {"x": 1.0},
         [results.verdict("H2.3", share, 0.8), results.verdict("Q8", delta, 0.04),
          results.verdict("unrelated", 0.0, 1.0)])
    state = load_state(tmp_path)
    assert hypothesis_status(H23, state.records)[0] == expected
    assert f"{expected} (" in _fragments(tmp_path)["hypotheses.md"]


def test_flipping_one_verdict_flips_the_page(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    _rec(runs, "default", "MVP-3.2", {"x": 1.0}, [results.verdict("H2.3", 0.9, 0.8)])
    assert "| H2.3 |" in _fragments(tmp_path)["hypotheses.md"]
    assert "✓ supported" in _fragments(tmp_path)["hypotheses.md"]
    _rec(runs, "default", "MVP-3.2", {"x": 1.0}, [results.verdict("H2.3", 0.7, 0.8)])
    page = _fragments(tmp_path)["hypotheses.md"]
    line = next(x for x in page.splitlines() if x.startswith("| H2.3 |"))
    assert "✗ not supported (0 of 1 rules hold)" in line


def test_cross_run_table_and_figure_cover_two_runs(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    _mvp0(runs, "default", 0.2, 0.70)
    _mvp0(runs, "n035", 0.35, 0.55, n_train=4000)
    (runs / "n035" / "run.json").write_text(json.dumps({"run": "n035",
                                                        "params": {"noise": 0.35}}))
    long = cross_run_table(load_state(tmp_path))
    assert sorted(long["run"]) == ["default", "n035"]
    assert long.set_index("run").loc["n035", "r2"] == pytest.approx(0.55)
    assert long.set_index("run").loc["n035", "n_train"] == 4000
    page = _fragments(tmp_path)["runs.md"]
    assert "0.20 · default" in page and "0.35 · n035" in page
    assert "| `n035` | 0.35 |" in page
    assert "plotly-graph-div" in page and "```{raw} html" in page


def test_conclusions_across_runs_say_which_hold_on_both(tmp_path: Path) -> None:
    """A physical and a distorted-continuum run: H2.3 agrees, Q8's hypothesis flips."""
    runs = tmp_path / "runs"
    _rec(runs, "default", "MVP-3.2", {"x": 1.0}, [results.verdict("H2.3", 0.9, 0.8)])
    _rec(runs, "distorted", "MVP-3.2", {"x": 1.0}, [results.verdict("H2.3", 0.85, 0.8)])
    _rec(runs, "default", "MVP-1.1", {"x": 1.0}, [results.verdict("H1.2", 0.05, 0.03)])
    _rec(runs, "distorted", "MVP-1.1", {"x": 1.0}, [results.verdict("H1.2", 0.01, 0.03)])
    conc = conclusions_across_runs(load_state(tmp_path)).set_index("hypothesis")
    assert list(conc.columns) == ["default", "distorted", "agree"]
    assert conc.loc["H2.3", "agree"] == "same"
    assert conc.loc["H1.2", "agree"] == "differs"
    assert conc.loc["H1.2", "distorted"] == "not supported"
    assert conc.loc["H1.3", "agree"] == ""  # judged by neither run
    assert conc.loc["H1.3", "distorted"] == "not in this run"  # the run holds other records
    page = _fragments(tmp_path)["runs.md"]
    line = next(x for x in page.splitlines() if x.startswith("| H1.2 |"))
    assert "✓ supported" in line and "✗ not supported" in line and line.endswith("differs |")
    assert "| H1.3 | · not in this run | · not in this run |" in page


def test_unregistered_experiment_joins_through_its_headline_table(tmp_path: Path) -> None:
    head = pd.DataFrame({"model": ["combined gate"], "noise_level": [0.2], "r2": [0.81]})
    _rec(tmp_path / "runs", "default", "BEYOND-1", {"x": 1.0},
         [results.verdict("gain", 0.1, 0.03)], tables={"headline": head})
    pages = _fragments(tmp_path)
    assert "| BEYOND-1 |" in pages["tracker.md"] and "best R² 0.810" in pages["tracker.md"]
    assert "combined gate" in pages["matrix.md"]
    assert "BEYOND-1" in pages["phases.md"]  # the "Beyond" phase row


def test_verdict_names_match_their_hypothesis() -> None:
    assert verdict_matches("H1.2", "H1.2_ci") and verdict_matches("H-A", "H-A1")
    assert verdict_matches("H-A", "H-A2_ci") and not verdict_matches("H1.2", "H1.21")
    assert not verdict_matches("H-A", "H-B") and not verdict_matches("H1.2", "H1.3")


def test_toc_gets_one_part_per_extra_run(tmp_path: Path) -> None:
    (tmp_path / "book").mkdir()
    (tmp_path / "book" / "intro.md").write_text("# Intro\n")
    (tmp_path / "book" / "status.md").write_text("# Status\n")
    toc = {"format": "jb-book", "root": "book/intro", "parts": [
        {"caption": "A", "chapters": [{"file": "runs/default/notebooks/01_x"}]},
        {"caption": "About", "chapters": [{"file": "book/status"}]}]}
    (tmp_path / "_toc.yml").write_text(yaml.safe_dump(toc))
    for run in ("default", "n035"):
        nb = tmp_path / "runs" / run / "notebooks"
        nb.mkdir(parents=True)
        (nb / "01_x.ipynb").write_text("{}")
    (tmp_path / "runs" / "n035" / "run.json").write_text(json.dumps({"params": {"noise": 0.35}}))
    built = yaml.safe_load(write_toc(tmp_path)[0].read_text())
    assert [p["caption"] for p in built["parts"]] == ["A", "Run n035 (noise 0.35)", "About"]
    assert built["parts"][1]["chapters"] == [{"file": "runs/n035/notebooks/01_x"}]


def test_noise_runs_get_their_own_name_by_default() -> None:
    from moehelpers.book.cli import run_name

    assert run_name(None, None) == "default"
    assert run_name(None, 0.35) == "noise0.35"
    assert run_name("mine", 0.35) == "mine"
    assert run_name(None, None, {"flux_kind": "distorted"}) == "distorted"
    assert run_name(None, 0.35, {"flux_kind": "normalized"}) == "noise0.35-normalized"
    assert run_name(None, None, {"flux_kind": "physical"}) == "default"


def test_notebook_link_comes_from_the_run_manifest(tmp_path: Path) -> None:
    """A notebook whose record id is not a literal in its code is linked via run.json."""
    runs = tmp_path / "runs"
    _rec(runs, "default", "CEILING", {"x": 1.0}, [results.verdict("headroom", 0.2, 0.0)])
    nb = runs / "default" / "notebooks"
    nb.mkdir(parents=True)
    (nb / "16_ceiling.ipynb").write_text('{"cells": []}')
    (runs / "default" / "run.json").write_text(json.dumps({"params": {"noise": None},
        "notebooks": [{"notebook": "16_ceiling", "status": "ok", "records": ["CEILING.json"]}]}))
    state = load_state(tmp_path)
    assert state.runs["default"].notebooks["CEILING"] == "runs/default/notebooks/16_ceiling"
    pages = _fragments(tmp_path)
    assert "{doc}`CEILING </runs/default/notebooks/16_ceiling>`" in pages["tracker.md"]
    assert "`1 page </" in pages["runs.md"] and "1 pages" not in pages["runs.md"]


def test_models_are_drawn_as_a_fraction_of_the_fisher_ceiling(tmp_path: Path) -> None:
    from moehelpers.book.hub import ceiling_fractions
    from moehelpers.book.hub_facts import CEILING_MODEL

    runs = tmp_path / "runs"
    _mvp0(runs, "default", 0.2, 0.70)
    by_noise = pd.DataFrame({"noise_level": [0.2, 1.0], "r2_max_set": [0.875, -1.8],
                             "r2_bayes_set": [0.9, 0.5]})
    from moehelpers.evaluation.ceiling import BAYES_CEILING_MODEL

    head = [results.headline_row(CEILING_MODEL, lv, r) for lv, r in ((0.2, 0.875), (1.0, -1.8))]
    head += [results.headline_row(BAYES_CEILING_MODEL, lv, r) for lv, r in ((0.2, 0.9), (1.0, 0.5))]
    _rec(runs, "default", "BEYOND-ceiling", {"x": 1.0}, tables={"by_noise": by_noise},
         headline=head)
    long = cross_run_table(load_state(tmp_path))
    ceil = long[long["model"] == CEILING_MODEL].set_index("noise_level")["r2"]
    assert ceil.loc[0.2] == pytest.approx(0.875)
    frac = ceiling_fractions(long)
    assert list(frac["mvp_id"]) == ["MVP-0"]  # the bounds themselves are not divided
    assert frac["r2"].iloc[0] == pytest.approx(0.70 / 0.875)
    assert frac["r2_lo"].iloc[0] == pytest.approx(0.68 / 0.875)
    page = _fragments(tmp_path)["runs.md"]
    assert "fraction of the Fisher ceiling" in page and "ceiling R²_max" in page
    # no ceiling record: no fraction figure, no crash
    (runs / "default" / "records" / "BEYOND-ceiling.json").unlink()
    assert "fraction of the Fisher ceiling" not in _fragments(tmp_path)["runs.md"]


def test_the_hub_reads_r2_only_from_declared_headlines(tmp_path: Path) -> None:
    """A record without a headline table adds no model: the hub knows no record key."""
    runs = tmp_path / "runs"
    _rec(runs, "default", "MVP-0", {"noise_levels": [0.2], "r2": [0.7], "r2_lo": [0.6],
                                    "r2_hi": [0.8]}, [results.verdict("monotone", 1.0, 1.0)],
         {"noise_levels": [0.2]})
    assert cross_run_table(load_state(tmp_path)).empty
    import inspect

    from moehelpers.book import hub_facts

    assert "_HEADLINES" not in vars(hub_facts)
    assert '"r2_global_covered"' not in inspect.getsource(hub_facts)


# ------------------------------------------------------------------ declared facts
def test_the_hub_reads_only_declared_facts(tmp_path: Path) -> None:
    """An undeclared metric is a bug of the page: it raises past the tolerant readers."""
    from moehelpers.book.hub_facts import m, safe
    from moehelpers.errors import UndeclaredFactError

    path = _rec(tmp_path / "runs", "default", "MVP-1.1",
                {"delta_r2": 0.05, "secret": 1.0}, [results.verdict("H1.2", 0.05, 0.03)])
    rec = results.load_record("default", "MVP-1.1", tmp_path / "runs")
    assert path.is_file() and m(rec, "delta_r2") == 0.05
    with pytest.raises(UndeclaredFactError, match="declares no fact 'secret'"):
        m(rec, "secret")
    with pytest.raises(UndeclaredFactError):
        safe(lambda r: str(m(r, "secret")), rec)
    with pytest.raises(KeyError):  # declared but absent in an old record: a sentence
        m(rec, "seeds_sd")
    assert "lacks a field" in safe(lambda r: str(m(r, "seeds_sd")), rec)


def test_a_record_missing_a_declared_fact_fails_on_write(tmp_path: Path) -> None:
    from moehelpers.errors import InvalidParameterError
    from moehelpers.records.registry import FACTS

    full = {f.name: 0.1 for f in FACTS["MVP-5.0"]}
    results.record("MVP-5.0", run="r", params={"seed": 1}, dataset={"generator": {"t": 1}},
                   metrics=full, verdicts=[], runs_dir=tmp_path, require_facts=True)
    short = {k: v for k, v in full.items() if k != "ca8498_ratio_global"}
    with pytest.raises(InvalidParameterError, match=r"'ca8498_ratio_global'.*Ca II 8498"):
        results.record("MVP-5.0", run="r", params={"seed": 1},
                       dataset={"generator": {"t": 1}}, metrics=short, verdicts=[],
                       runs_dir=tmp_path, require_facts=True)


def test_no_page_reads_record_metrics_behind_the_registry() -> None:
    """Static check of the book layer: metrics are read only through hub_facts.m, and every
    literal fact name the pages pass to m() is declared for some experiment."""
    import re

    from moehelpers.paths import repo_root
    from moehelpers.records.registry import FACTS

    declared = {f.name for facts in FACTS.values() for f in facts}
    book = repo_root() / "moehelpers" / "book"
    for path in book.glob("*.py"):
        src = path.read_text()
        direct = re.findall(r"""\[["']metrics["']\]""", src)
        allowed = 1 if path.name == "hub_facts.py" else 0  # the one read, inside m()
        assert len(direct) == allowed, f"{path.name} reads rec['metrics'] directly"
        for name in re.findall(r"""\bm\(\s*\w+\s*,\s*f?["']([A-Za-z0-9_]+)""", src):
            assert name in declared, f"{path.name} quotes undeclared fact {name!r}"


def test_large_data_check_lists_only_runs_of_100k_stars(tmp_path: Path) -> None:
    from moehelpers.book.hub import large_data_md
    from moehelpers.records import registry

    runs = tmp_path / "runs"
    judged = [results.verdict(h, 1.0, 0.0, tests=h) for h in registry.mvp("MVP-1.1").hypotheses]
    summary = pd.DataFrame({"quantity": ["ΔR², same stars (first seed)"], "ours": [0.051],
                            "original study (BOSZ)": [0.0501]})
    _mvp0(runs, "default", 0.2, 0.7)
    assert "*not run yet*" in "".join(large_data_md(load_state(tmp_path)))
    for run, n in (("default", 32000), ("large-0.2", 100000)):
        _rec(runs, run, "MVP-1.1", {"delta_r2": 0.05}, judged,
             {"n_train": n, "n_test": 10000, "noise_level": 0.2, "seeds": [1, 2]},
             tables={"summary": summary})
    text = "".join(large_data_md(load_state(tmp_path)))
    assert "Run `large-0.2`: 100000 train / 10000 test, noise 0.2, 2 seeds" in text
    assert "Run `default`" not in text and "0.0501" in text and "not run yet" not in text


def test_tracker_conclusion_is_the_declared_facts_with_labels(tmp_path: Path) -> None:
    from moehelpers.book.hub_facts import conclusion
    from moehelpers.records import registry

    runs = tmp_path / "runs"
    judged = [results.verdict(h, 1.0, 0.0, tests=h) for h in registry.mvp("MVP-5.0").hypotheses]
    facts = {"ca8498_ratio_global": 2.5, "topk_share_poor_mean": 0.42,
             "topk_share_rich_mean": 0.31}
    _rec(runs, "default", "MVP-5.0", facts, judged)
    text = conclusion(load_state(tmp_path).records["MVP-5.0"])
    for fact in registry.FACTS["MVP-5.0"]:  # every declared fact, by its registry label
        assert f"{fact.label}: " in text
    assert "2.500" in text and "0.420" in text and text.endswith(f"{len(judged)} of "
                                                                 f"{len(judged)} rules hold")
    _rec(runs, "old", "MVP-5.0", {"ca8498_ratio_global": 2.5}, judged)  # an old record
    old = load_state(tmp_path, primary="old").records["MVP-5.0"]
    assert "lacks a field" in conclusion(old)  # said on the page, never a silent omission
