"""Summary helpers of the rigorous protocol (MVP-1.1) and their book table / figures."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from moehelpers.book import plots, report
from moehelpers.evaluation import per_bin
from moehelpers.metrics import PairedBootstrapResult


def _cmp(diff: float, a: float = 0.8) -> PairedBootstrapResult:
    return PairedBootstrapResult(
        metric="r2", difference=diff, score_a=a, score_b=a - diff, ci_low=diff - 0.01,
        ci_high=diff + 0.01, ci=0.95, frac_le_zero=0.0, n=50, n_boot=20, seed=0,
        index_digest="x", distribution=np.linspace(diff - 0.02, diff + 0.02, 20))


def _seed(seed: int, diff: float, ablation: bool) -> per_bin.SeedResult:
    comps = {"nine_bin": _cmp(diff), "fallback": _cmp(diff / 2)}
    if ablation:
        comps.update(mh_only=_cmp(diff * 0.75), teff_only=_cmp(diff * 0.25))
    return per_bin.SeedResult(
        seed=seed, sizes={"train": 10, "val": 5, "test": 60}, n_covered=50,
        r2_global_all=0.7, r2_moe_covered=0.8, delta_misaligned=0.1, comparisons=comps,
        alphas={"global": [1.0]}, plan={}, seconds=0.0, counts=pd.DataFrame())


def test_rigorous_summary_first_seed_and_means_over_seeds() -> None:
    runs = [_seed(1, 0.04, True), _seed(2, 0.02, False), _seed(3, 0.06, True)]
    ours = per_bin.rigorous_summary(runs)
    assert ours["delta_r2"] == 0.04 and ours["delta_lo"] == 0.03
    assert ours["delta_fallback"] == 0.02 and ours["delta_misaligned"] == 0.1
    assert math.isclose(ours["seeds_mean"], 0.04)
    assert math.isclose(ours["seeds_sd"], 0.02)
    # ablations: mean over the two seeds where they were fitted only
    assert math.isclose(ours["delta_mh_only"], 0.0375)
    assert math.isclose(ours["share_mh_only"], 0.75)
    assert math.isclose(ours["share_teff_only"], 0.25)
    assert set(per_bin.rigorous_labels(3, 2)) == set(ours)
    assert math.isnan(per_bin.rigorous_summary(runs[:1])["seeds_sd"])


def test_interior_share_counts_strictly_inside_the_grid() -> None:
    grid = [1e-3, 1e-1, 10.0]
    assert per_bin.interior_share({"a": [1e-1, 10.0], "b": [1e-1, 1e-3]}, grid) == 0.5
    assert per_bin.interior_share({"a": [1e-1]}, grid) == 1.0


def test_ours_vs_reference_keeps_label_order() -> None:
    t = report.ours_vs_reference({"b": 2, "a": 1}, {"a": 10, "b": 20, "c": 30},
                                 {"b": "B", "a": "A"}, "ref")
    assert list(t.columns) == ["quantity", "ours", "ref"]
    assert t["quantity"].tolist() == ["B", "A"] and t["ref"].tolist() == [20, 10]


def test_rigorous_figures() -> None:
    runs = [_seed(1, 0.04, True), _seed(2, 0.02, False)]
    ref = {"delta_lo": 0.01, "delta_hi": 0.05, "seeds_mean": np.nan, "seeds_sd": np.nan,
           "delta_r2": 0.03, "delta_mh_only": 0.02, "delta_teff_only": 0.01,
           "delta_fallback": 0.02}
    fig = plots.bootstrap_delta(runs[0].comparisons["nine_bin"], ref, "orig", 1, 20)
    assert len(fig.layout.shapes) == 4  # three lines and the reference band
    fig = plots.delta_per_seed(per_bin.seed_table(runs), 0.03, ref, "orig")
    assert len(fig.data) == 2 and len(fig.layout.shapes) == 2  # no band: reference NaN
    fig = plots.ablation_bars(runs[0], ref, "orig")
    assert list(fig.data[0].y) == [0.04, 0.03, 0.01, 0.02]
    assert list(fig.data[1].y) == [0.03, 0.02, 0.01, 0.02]


def test_piecewise_summary_rows_beside_the_reference() -> None:
    ref = {"mvp0.coverage": 0.9, "mvp0.r2_all": 0.5, "mvp0.r2_covered": 0.6,
           "mvp1.r2_moe": 0.7, "mvp1.delta_r2": 0.1, "mvp1.delta_r2_ci": (0.05, 0.15)}
    t = per_bin.piecewise_summary(np.array([True, True, False, True]), 0.55, _cmp(0.04), ref,
                                  "orig")
    assert list(t.columns) == ["quantity", "ours", "orig"] and len(t) == 7
    assert t["ours"].tolist()[:2] == [0.75, 0.55]
    assert t["ours"].tolist()[4:] == [0.04, 0.03, 0.05]
    assert t["orig"].tolist()[-2:] == [0.05, 0.15]
    assert per_bin.interior_share([1e-1, 1e-3], [1e-3, 1e-1, 10.0]) == 0.5


def test_quantile_and_routing_figures() -> None:
    by_k = pd.DataFrame({"K": [2, 3], "delta_r2": [0.01, 0.02], "delta_r2_lo": [0.0, 0.01],
                         "delta_r2_hi": [0.02, 0.03]})
    fig = plots.delta_by_k(by_k, {2: 0.01, 3: -0.01}, 0.015, "orig")
    assert len(fig.data) == 2 and list(fig.data[1].x) == [2, 3]
    bins = pd.DataFrame({"K": [2, 2, 3], "name": ["a", "b", "c"], "delta_r2": [0.1, 0.2, 0.3]})
    fig = plots.per_bin_delta_by_k(bins, [2, 3])
    assert [len(t.x) for t in fig.data] == [2, 1]
    conf = pd.DataFrame([[3, 1], [0, 0]], index=["lo", "hi"], columns=["lo", "hi"])
    fig = plots.routing_confusion(conf, "K2")
    np.testing.assert_allclose(np.asarray(fig.data[0].z, dtype=float), [[0.75, 0.25], [0, 0]])


class _Grid:
    """Stand-in for SpectralGrid: flux = Teff/1000 + log g at every pixel."""

    wave = np.linspace(8000.0, 8700.0, 8)

    def spectra(self, teff, logg, mh, kind="normalized"):
        return np.full((1, self.wave.size), teff / 1000 + logg + mh)


def test_data_page_figures() -> None:
    fig = plots.grid_spectra(_Grid(), [4000.0, 5000.0], offset=1.0)
    assert [float(t.y[0]) for t in fig.data] == [9.5, 9.5]  # 8.5 + 1 offset, 9.5 + 0
    fig = plots.grid_zoom(_Grid(), 8100, 8400, [("a", 5000.0, 2.0, 0.0)], "t")
    assert all(8100 <= x <= 8400 for x in fig.data[0].x) and len(fig.data[0].x) == 4
    labels = pd.DataFrame({"T_eff": [1.0, 2.0], "M_H": [0.0, 1.0]})
    fig = plots.label_histograms(labels, ("T_eff", "log_g", "M_H"))
    assert [t.x.tolist() for t in fig.data] == [[1.0, 2.0], [0.0, 1.0]]
