"""Piecewise Ridge page helpers (book.piecewise_page): MVP-1.0 and MVP-1.1 verdicts, sentences,
record metrics and headlines."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd

from moehelpers.book import piecewise_page as page
from moehelpers.evaluation.per_bin import ABLATIONS, SeedResult
from moehelpers.metrics import PairedBootstrapResult, Scores
from moehelpers.records import references


def _paired(diff: float, lo: float, hi: float, a: float = 0.8, n: int = 50
            ) -> PairedBootstrapResult:
    return PairedBootstrapResult("r2", diff, a, a - diff, lo, hi, 0.95, 0.0, n, 10, 0, "x",
                                 np.zeros(10))


def _model(n_train_min: int = 150, alphas: tuple[float, ...] = (0.1, 1.0)) -> SimpleNamespace:
    counts = pd.DataFrame({"bin": [0, 1, -1], "n_train": [n_train_min, 400, 7]})
    return SimpleNamespace(counts_=counts, global_=SimpleNamespace(alpha_=1.0),
                           alpha_per_expert_=np.array(alphas), experts_=[0, 1])


def _bins(deltas: list[float]) -> pd.DataFrame:
    return pd.DataFrame({"name": [f"bin{i}" for i in range(len(deltas))], "delta_r2": deltas,
                         "r2_expert": [0.9] * len(deltas), "r2_global": [0.8] * len(deltas)})


def test_piecewise_verdicts_names_thresholds_and_outcomes() -> None:
    grid = [1e-3, 1e-2, 1e-1, 1.0, 10.0]
    v = page.piecewise_verdicts(_paired(0.05, 0.01, 0.09), _bins([0.1, 0.02, np.nan]),
                                _model(), grid)
    assert [x["name"] for x in v] == ["H1.2", "H1.2_ci", "H1.1", "Q3", "alpha_interior"]
    assert [x["threshold"] for x in v] == [0.03, 0.0, 1.0, 100, 1.0]
    assert [x["passed"] for x in v] == [True, True, True, True, True]
    v = page.piecewise_verdicts(_paired(0.02, -0.01, 0.05), _bins([0.1, -0.02]),
                                _model(60, (10.0, 1.0)), grid)
    assert [x["passed"] for x in v] == [False, False, False, False, False]
    assert v[2]["value"] == 0.5 and v[3]["value"] == 60
    np.testing.assert_allclose(v[4]["value"], 2 / 3)


def test_piecewise_decision_case_interval_and_weakest_bin() -> None:
    a = page.piecewise_decision(_paired(0.05, 0.01, 0.09), _bins([0.1, -0.02]))
    assert "case A" in a and "includes 0" not in a and "Weakest bin: bin1 (ΔR² -0.020)" in a
    assert references.LABEL in a
    b = page.piecewise_decision(_paired(0.01, -0.01, 0.03), _bins([np.nan]))
    assert "case B" in b and "includes 0" in b and "Weakest bin" not in b


def test_piecewise_metrics_and_headline() -> None:
    overall = _paired(0.05, 0.01, 0.09, a=0.85, n=40)
    m = page.piecewise_metrics(np.array([True, True, False, True]), overall,
                               Scores(0.7, 0.1, 0.2, 4), _model(), _bins([0.1, 0.02]))
    assert m["coverage"] == 0.75 and m["n_covered"] == 40 and m["r2_global_all"] == 0.7
    assert m["r2_moe_covered"] == 0.85 and m["r2_global_covered"] == 0.85 - 0.05
    assert m["alpha_experts"] == [0.1, 1.0] and m["n_experts"] == 2
    assert m["per_bin_delta_r2"] == [0.1, 0.02]
    h = page.piecewise_headline(m, 0.2)
    assert [r["model"] for r in h] == ["global Ridge", "piecewise Ridge, 9 bins"]
    assert [r["r2"] for r in h] == [m["r2_global_covered"], 0.85]
    assert h[1]["reference"] == references.ORIGINAL["mvp1.r2_moe"]
    assert np.isnan(page.piecewise_headline(m, 0.5)[1]["reference"])


def _run(seed: int, diff: float, lo: float) -> SeedResult:
    comps = {"nine_bin": _paired(diff, lo, diff + 0.02, n=30),
             "fallback": _paired(0.04, 0.0, 0.08)}
    return SeedResult(seed, {}, 30, 0.7, 0.8, diff + 0.01, comps,
                      {"nine_bin": [0.1, 1.0]}, {}, 1.0, pd.DataFrame())


def _ours(mh: float, teff: float, mean: float = 0.05, fallback: float = 0.04) -> dict:
    return {"r2_moe": 0.8, "seeds_mean": mean, "seeds_sd": 0.01, "delta_fallback": fallback,
            **{f"share_{n}": np.nan for n in ABLATIONS}, "share_mh_only": mh,
            "share_teff_only": teff}


def test_rigorous_verdicts_names_and_outcomes() -> None:
    runs = [_run(1, 0.05, 0.035), _run(2, 0.06, 0.04)]
    per_seed = pd.DataFrame({"delta_r2": [0.05, 0.06]})
    v = page.rigorous_verdicts(runs, per_seed, _ours(0.8, 0.3), [1e-2, 1e-1, 1.0, 10.0])
    assert [x["name"] for x in v] == ["H1.2", "H1.2_ci", "H1.2_seeds", "seeds_positive",
                                      "fallback", "mh_dominates", "alpha_interior"]
    assert all(x["passed"] for x in v)
    assert "over 2 seeds" in v[2]["rule"]
    v = page.rigorous_verdicts([_run(1, 0.05, 0.02)], pd.DataFrame({"delta_r2": [-0.01]}),
                               _ours(0.2, 0.3, mean=0.01, fallback=0.01), [0.1, 1.0])
    assert [x["passed"] for x in v] == [True, False, False, False, False, False, False]


def test_rigorous_note_metrics_and_headline() -> None:
    runs = [_run(7, 0.05, 0.035), _run(8, 0.06, 0.04)]
    ref = {"setting": "32k", "delta_r2": 0.06, "delta_lo": 0.05, "delta_hi": 0.07,
           "seeds_mean": 0.06, "seeds_sd": 0.005, "share_mh_only": 0.9,
           "share_teff_only": np.nan}
    note = page.rigorous_note(runs, _ours(0.625, 0.3), ref)
    assert "(seed 7, 30 covered stars)" in note and "over 2 seeds" in note
    assert "(0.010 too much)" in note and "[M/H]-only keeps 62% of the gain" in note
    assert "90% and n/a" in note
    per_seed = pd.DataFrame({"delta_r2": [0.05, 0.06], "delta_r2_lo": [0.03, 0.04],
                             "delta_r2_hi": [0.07, 0.08], "delta_fallback": [0.04, 0.05]})
    m = page.rigorous_metrics(runs, per_seed, _ours(0.6, 0.3), [7, 8])
    assert m["n_covered"] == 30 and m["seeds"] == [7, 8] and m["seeds_mean"] == 0.05
    assert m["per_seed_delta_hi"] == [0.07, 0.08] and m["per_seed_delta_fallback"] == [0.04, 0.05]
    assert m["alphas_first_seed"] == {"nine_bin": [0.1, 1.0]}
    (h,) = page.rigorous_headline(m, 0.2)
    assert h["r2"] == 0.8 and h["subset"] == "covered stars"
    assert h["reference"] == references.ORIGINAL["mvp1.r2_moe"]
    assert page.pct(0.5) == "50%" and page.pct(np.nan) == "n/a"
