"""Bin schemes: edges, coverage, numbering, small-bin handling."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from moehelpers.errors import BinTooSmallError, InvalidParameterError, MissingLabelError
from moehelpers.models.bins import (
    merge_sparse_bins,
    mh_only,
    physical_3x3,
    quantile_scheme,
    resolve_small_bins,
    teff_only,
)


def _labels(teff, mh) -> pd.DataFrame:
    return pd.DataFrame({"T_eff": np.asarray(teff, float), "M_H": np.asarray(mh, float)})


def test_physical_edges_follow_the_document() -> None:
    # Teff [3750,4500) [4500,5250) [5250,6000]; [M/H] [-2,-1) [-1,0] (0,0.5]
    s = physical_3x3()
    teff = [3750, 4499.9, 4500, 5250, 6000, 6000.1, 3749.9, 5000, 5000, 5000, 5000, 5000]
    mh = [-2.0, -2.0, -1.0, 0.0, 0.5, 0.0, 0.0, -1.0, 0.0, 1e-9, 0.5, -2.0001]
    got = s.assign(_labels(teff, mh)).tolist()
    assert got == [0, 0, 4, 7, 8, -1, -1, 4, 4, 5, 5, -1]
    assert s.n_bins == 9 and s.shape == (3, 3)
    assert s.bin_names()[0] == "T_eff [3750, 4500) × M_H [-2, -1)"
    assert s.bin_names()[4] == "T_eff [4500, 5250) × M_H [-1, 0]"


def test_coverage_matches_the_label_box() -> None:
    # labels uniform over Teff 3750-6000, [M/H] -2.5..0.5: covered fraction = 2.5/3
    rng = np.random.default_rng(0)
    lab = _labels(rng.uniform(3750, 6000, 200_000), rng.uniform(-2.5, 0.5, 200_000))
    covered = np.mean(physical_3x3().assign(lab) >= 0)
    assert covered == pytest.approx(2.5 / 3, abs=0.005)
    assert np.mean(teff_only().assign(lab) >= 0) == 1.0
    assert np.mean(mh_only().assign(lab) >= 0) == pytest.approx(2.5 / 3, abs=0.005)


def test_counts_table_includes_uncovered() -> None:
    s = mh_only()
    ids = s.assign(_labels([4000] * 5, [-1.5, -0.5, 0.2, 0.3, -3.0]))
    table = s.counts(ids)
    assert table["count"].tolist() == [1, 1, 2, 1]
    assert table["name"].iloc[-1] == "uncovered"


def test_missing_column_is_named() -> None:
    with pytest.raises(MissingLabelError, match="M_H"):
        physical_3x3().assign(pd.DataFrame({"T_eff": [4000.0]}))


def test_small_bins_merge_into_a_neighbour_and_say_so() -> None:
    s = physical_3x3()
    counts = np.array([500, 500, 500, 20, 500, 500, 500, 500, 500])
    ids = np.repeat(np.arange(9), counts)
    plan = resolve_small_bins(s, ids, min_count=100)
    assert plan.n_experts == 8
    assert plan.expert_of_bin[3] in {plan.expert_of_bin[k] for k in s.neighbours(3)}
    assert any("merged" in line and "20 stars" in line for line in plan.statement)
    fallback = resolve_small_bins(s, ids, min_count=100, strategy="fallback")
    assert fallback.expert_of_bin[3] == -1 and fallback.n_experts == 8
    assert fallback.experts(np.array([3, -1, 0])).tolist() == [-1, -1, 0]
    with pytest.raises(BinTooSmallError, match="20"):
        resolve_small_bins(s, ids, min_count=100, strategy="raise")
    ok = resolve_small_bins(s, ids, min_count=10)
    assert ok.n_experts == 9 and "one expert per bin" in ok.statement[0]


def test_quantile_bins_cover_everything_and_reject_impossible_k() -> None:
    v = np.random.default_rng(1).normal(size=1000)
    s = quantile_scheme(v, 4)
    ids = s.assign({"M_H": np.concatenate([v, [-50.0, 50.0]])})
    assert ids.min() == 0 and ids.max() == 3
    assert np.all(np.abs(np.bincount(ids[:1000]) - 250) <= 1)
    with pytest.raises(InvalidParameterError, match="larger than"):
        quantile_scheme(np.array([0.0, 0.0, 1.0]), 3)
    with pytest.raises(InvalidParameterError):
        quantile_scheme(v, 0)


def test_sparse_quantile_bins_merge_with_the_smaller_neighbour() -> None:
    train = np.random.default_rng(2).uniform(-2.5, 0.5, 5000)
    s = quantile_scheme(train, 5)
    edges = [iv.hi for iv in s.axes[0].intervals[:-1]]
    # test stars: 40, 10, 40, 25, 50 per quantile bin
    test = np.concatenate([np.full(n, (lo + hi) / 2) for n, lo, hi in zip(
        (40, 10, 40, 25, 50), [-2.5, *edges], [*edges, 0.5], strict=True)])
    merged, statement = merge_sparse_bins(s, {"M_H": test}, min_count=30)
    # bin 1 (10) joins bin 0 (40 < 40 on tie → lower); then bin 3 (25) joins bin 2 (40 < 50)
    assert merged.n_bins == 3 and len(statement) == 2
    counts = np.bincount(merged.assign({"M_H": test}))
    assert counts.tolist() == [50, 65, 50] and counts.min() >= 30
    assert "10 stars < 30" in statement[0] and "25 stars < 30" in statement[1]
    # 100% coverage kept: outer edges stay infinite, every value lands in a bin
    assert merged.assign({"M_H": np.array([-99.0, 99.0, *edges])}).min() == 0
    iv = merged.axes[0].intervals
    assert np.isneginf(iv[0].lo) and np.isposinf(iv[-1].hi)
    assert all(a.hi == b.lo for a, b in itertools.pairwise(iv))
    # bins whose edges were untouched keep the same stars
    before, after = s.assign({"M_H": train}), merged.assign({"M_H": train})
    assert np.array_equal(after == 2, before == 4)


def test_sparse_bin_merging_edge_cases() -> None:
    s = quantile_scheme(np.linspace(-2, 0.5, 100), 3)
    same, statement = merge_sparse_bins(s, {"M_H": np.linspace(-2, 0.5, 100)}, 30)
    assert same is s and "no merging" in statement[0]
    one, _ = merge_sparse_bins(s, {"M_H": np.zeros(5)}, 30)  # too few stars overall
    assert one.n_bins == 1 and one.assign({"M_H": np.array([-9.0, 9.0])}).tolist() == [0, 0]
    with pytest.raises(InvalidParameterError, match="one-axis"):
        merge_sparse_bins(physical_3x3(), _labels([4000], [0.0]), 30)
    with pytest.raises(InvalidParameterError, match="min_count"):
        merge_sparse_bins(s, {"M_H": np.zeros(5)}, -1)
    with pytest.raises(MissingLabelError):
        merge_sparse_bins(s, {"T_eff": np.zeros(5)}, 30)
