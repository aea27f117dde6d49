"""Piecewise fits share their Ridge paths through the active statistics store.

A hit must give the fit a cold computation gives, bit for bit, and anything that changes
the numbers (data, targets, grouping, α grid, settings, BLAS) must miss.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from sklearn.base import clone
from test_moe import ALPHAS, split

from moehelpers.engine import store as store_mod
from moehelpers.engine.ridge import RidgeRegressor, RidgeStats
from moehelpers.engine.store import (
    SharedRows,
    StatsStore,
    active_store,
    cached_ridge_fit,
    cached_stats_path,
    fit_from_stats,
    set_active_store,
    shared_ridge_fit,
    shared_stats,
    using_store,
)
from moehelpers.errors import InvalidParameterError, ShapeMismatchError
from moehelpers.models import modulated as modulated_mod
from moehelpers.models import piecewise as moe_mod
from moehelpers.models.bins import mh_only, physical_3x3, teff_only
from moehelpers.models.piecewise import PiecewiseRidge, fit_together


@pytest.fixture(scope="module")
def data() -> list:
    # 600 training stars, 40 pixels: most bins primal, the smallest dual (fewer stars than
    # pixels, min_bin_train=20 keeps them), so both kinds of path go through the store
    return split(600, 300, 200, p=40, seed=5)


def fitted_state(m: PiecewiseRidge) -> list:
    return [m.global_.coef_, m.global_.intercept_, m.alpha_per_expert_,
            *[e.coef_ for e in m.experts_], *[e.intercept_ for e in m.experts_],
            *[e.coef_path_ for e in m.experts_]]


def assert_identical(a: PiecewiseRidge, b: PiecewiseRidge, Xt, labt) -> None:
    for u, v in zip(fitted_state(a), fitted_state(b), strict=True):
        np.testing.assert_array_equal(u, v)
    np.testing.assert_array_equal(a.predict(Xt, labt), b.predict(Xt, labt))
    assert a.bin_plan_.statement == b.bin_plan_.statement


def models(**kw) -> list[PiecewiseRidge]:
    return [PiecewiseRidge(s, ALPHAS, min_bin_train=20, **kw)
            for s in (physical_3x3(), mh_only(), teff_only())]


def test_only_notebook_start_switches_the_store_on(tmp_path) -> None:
    """A fresh interpreter importing the package routes nothing through a store; a notebook
    (notebook.start) does, into $MOE_STATS_DIR; MOE_STATS_CACHE=off keeps it off."""
    code = textwrap.dedent("""
        import moehelpers.models.piecewise
        from moehelpers.book import notebook
        from moehelpers.engine.store import active_store
        before = active_store()
        noise_level: float = 0.2
        notebook.start("MVP-0", globals(), plots=False)
        after = active_store()
        print(before is None, None if after is None else str(after.root))
    """)
    env = {**os.environ, "MOE_STATS_DIR": str(tmp_path / "stats")}
    on = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                        check=True).stdout.split()
    assert on == ["True", str(tmp_path / "stats")]
    env["MOE_STATS_CACHE"] = "off"
    off = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True).stdout.split()
    assert off == ["True", "None"]
    with pytest.raises(InvalidParameterError, match="StatsStore or None"):
        set_active_store("data/cache")  # type: ignore[arg-type]


def test_hit_is_bit_identical_and_skips_the_statistics_pass(data, tmp_path, monkeypatch):
    (X, y, lab), (Xv, yv, labv), (Xt, _, labt) = data
    cold = fit_together(models(), X, y, lab, Xv, yv, labv)
    assert any(e.solver_ == "dual" for m in cold for e in m.experts_)
    assert any(e.solver_ == "primal" for m in cold for e in m.experts_)
    store = StatsStore(tmp_path)
    with using_store(store):
        first = fit_together(models(), X, y, lab, Xv, yv, labv)
        assert store.hits == 0 and store.misses > 0
        written = store.misses

        def no_pass(*args, **kwargs):
            raise AssertionError("a full hit must not read X again")

        monkeypatch.setattr(moe_mod, "grouped_stats", no_pass)
        second = fit_together(models(), X, y, lab, Xv, yv, labv)
    assert active_store() is None  # the block restores the previous (none)
    assert store.hits == written and store.misses == written
    for c, f, s in zip(cold, first, second, strict=True):
        assert_identical(c, f, Xt, labt)
        assert_identical(c, s, Xt, labt)
    assert second[0].global_ is second[1].global_  # still one shared global model


def test_single_model_fit_uses_the_store(data, tmp_path):
    (X, y, lab), (Xv, yv, labv), (Xt, _, labt) = data
    store = StatsStore(tmp_path)
    with using_store(store):
        a = PiecewiseRidge(physical_3x3(), ALPHAS, min_bin_train=20).fit(X, y, lab, Xv, yv, labv)
        b = clone(a).fit(X, y, lab, Xv, yv, labv)
    assert store.hits == store.misses == len(a.experts_) + 1
    assert_identical(a, b, Xt, labt)


@pytest.mark.parametrize("change", ["flux", "target", "scheme", "alphas", "intercept",
                                    "chunk", "numerics"])
def test_anything_that_changes_the_numbers_misses(data, tmp_path, monkeypatch, change):
    (X, y, lab), (Xv, yv, labv), (Xt, _, labt) = data
    store = StatsStore(tmp_path)
    with using_store(store):
        fit_together(models(), X, y, lab, Xv, yv, labv)
    before, missed = store.hits, store.misses
    X2, y2, kw, ms = X, y, {}, None
    if change == "flux":
        X2 = X.copy()
        X2[7, 3] += np.float32(1e-3)
    elif change == "target":
        y2 = y.copy()
        y2[11] += 1e-9
    elif change == "scheme":  # the same 3×3 model fitted alone: another refinement
        ms = [PiecewiseRidge(physical_3x3(), ALPHAS, min_bin_train=20)]
    elif change == "alphas":
        ms = [PiecewiseRidge(s, [*ALPHAS, 1e3], min_bin_train=20)
              for s in (physical_3x3(), mh_only(), teff_only())]
    elif change == "intercept":
        kw = {"fit_intercept": False}
    elif change == "chunk":
        kw = {"chunk_size": 64}
    else:
        monkeypatch.setattr(store_mod, "numerics_signature", lambda: "another-blas-8-threads")
    ms = ms or models(**kw)
    with using_store(store):
        got = fit_together(ms, X2, y2, lab, Xv, yv, labv)
    assert store.misses > missed
    if change in ("scheme", "chunk"):  # a dual path reads the rows, not grouped chunks
        assert store.hits - before <= sum(e.solver_ == "dual" for m in got for e in m.experts_)
    else:
        assert store.hits == before
    reference = fit_together([clone(m) for m in ms], X2, y2, lab, Xv, yv, labv)
    for a, b in zip(got, reference, strict=True):
        assert_identical(a, b, Xt, labt)


def test_corrupt_path_entry_is_recomputed(data, tmp_path):
    (X, y, lab), (Xv, yv, labv), (Xt, _, labt) = data
    store = StatsStore(tmp_path)
    with using_store(store):
        first = fit_together(models(), X, y, lab, Xv, yv, labv)
    for entry in sorted(tmp_path.glob("*.npz")):
        raw = bytearray(entry.read_bytes())
        raw[len(raw) // 2] ^= 0xFF
        entry.write_bytes(bytes(raw))
    with using_store(store):
        again = fit_together(models(), X, y, lab, Xv, yv, labv)
    assert store.discarded > 0
    for a, b in zip(first, again, strict=True):
        assert_identical(a, b, Xt, labt)


def _stats_state(s) -> list:
    return [s.n, s.sum_y, s.sum_yy, s.sum_u, s.xty, s.gram, s._shift0()]


def test_shared_stats_equal_from_data_and_are_read_back_by_content(data, tmp_path):
    (X, y, _), _, _ = data
    direct = RidgeStats.from_data(X, y)
    no_store = shared_stats(X, y)
    store = StatsStore(tmp_path)
    with using_store(store):
        miss, hit = shared_stats(X, y), shared_stats(X, y)
        other = shared_stats(X, y[::-1].copy())  # other targets: another entry
    assert (store.misses, store.hits) == (2, 1)
    for got in (no_store, miss, hit):
        for a, b in zip(_stats_state(direct), _stats_state(got), strict=True):
            np.testing.assert_array_equal(a, b)
    assert not np.array_equal(other.xty, direct.xty)


def test_global_path_from_given_statistics_is_shared(data, tmp_path):
    (X, y, lab), (Xv, yv, labv), (Xt, _, labt) = data
    stats = RidgeStats.from_data(X, y)
    reference = fit_together(models(), X, y, lab, Xv, yv, labv, global_stats=stats)
    store = StatsStore(tmp_path)
    with using_store(store):
        first = fit_together(models(), X, y, lab, Xv, yv, labv, global_stats=stats)
        n_paths = store.misses
        second = fit_together(models(), X, y, lab, Xv, yv, labv, global_stats=stats)
        assert (store.hits, store.misses) == (n_paths, n_paths)  # the global path included
        changed = stats.copy()
        changed.sum_yy += 1.0
        fit_together(models(), X, y, lab, Xv, yv, labv, global_stats=changed)
    assert store.misses == n_paths + 1  # only the global path of the changed statistics
    for r, f, s in zip(reference, first, second, strict=True):
        assert_identical(r, f, Xt, labt)
        assert_identical(r, s, Xt, labt)


# ------------------------------------------------------- a fit together with its Gram
@pytest.mark.parametrize("n_rows", [300, 30])  # primal (more rows than pixels) and dual
def test_shared_ridge_fit_equals_a_direct_fit_and_from_data(data, tmp_path, n_rows):
    (X, y, _), (Xv, yv, _), (Xt, _, _) = data
    X, y = X[:n_rows], y[:n_rows]
    direct = RidgeRegressor(ALPHAS).fit(X, y, Xv, yv)
    stats_direct = RidgeStats.from_data(X, y)
    store = StatsStore(tmp_path)
    got = [shared_ridge_fit(X, y, Xv, yv, ALPHAS)]  # no active store
    with using_store(store):
        got += [shared_ridge_fit(X, y, Xv, yv, ALPHAS) for _ in range(2)]
    assert (store.misses, store.hits) == (2, 2)  # path and Gram, then both read back
    for model, stats in got:
        assert (model.alpha_, model.solver_) == (direct.alpha_, direct.solver_)
        np.testing.assert_array_equal(model.coef_path_, direct.coef_path_)
        np.testing.assert_array_equal(model.predict(Xt), direct.predict(Xt))
        for a, b in zip(_stats_state(stats_direct), _stats_state(stats), strict=True):
            np.testing.assert_array_equal(a, b)


def test_shared_ridge_fit_reads_what_cached_ridge_fit_and_shared_stats_stored(data, tmp_path):
    (X, y, _), (Xv, yv, _), _ = data
    store = StatsStore(tmp_path)
    first = cached_ridge_fit(X, y, Xv, yv, ALPHAS, store=store)  # stores the path and Gram
    assert store.misses == 2
    with using_store(store):
        model, stats = shared_ridge_fit(X, y, Xv, yv, ALPHAS)
        again = shared_stats(X, y)
    assert (store.misses, store.hits) == (2, 3)
    np.testing.assert_array_equal(model.coef_path_, first.coef_path_)
    np.testing.assert_array_equal(stats.gram, again.gram)


def test_noise_experts_reuse_the_global_ridge_of_each_level(tmp_path):
    """MVP-2's expert at a level is MVP-0's global Ridge there: with the store active the
    experts and the pooled model's Grams are read, and the model is the one computed cold."""
    from test_noise_experts import _splits

    from moehelpers.data.splits import noisy_splits
    from moehelpers.models.noise_experts import NoiseExperts

    splits, levels, seed = _splits(n_train=120, n_val=60, n_test=40, p=30, seed=2), \
        [0.0, 0.5, 1.0], 11
    cold = NoiseExperts(levels, alphas=ALPHAS, seed=seed).fit(splits)
    store = StatsStore(tmp_path)
    for level in levels:  # what notebook 01 does at each level
        noisy = noisy_splits(splits, level, seed, which=("train", "val"))
        cached_ridge_fit(noisy["train"], splits.train.y, noisy["val"], splits.val.y, ALPHAS,
                         store=store)
    assert store.misses == 2 * len(levels)
    with using_store(store):
        warm = NoiseExperts(levels, alphas=ALPHAS, seed=seed).fit(splits)
    # every expert's path and Gram read; the pooled model's path solved once and stored
    assert (store.misses, store.hits) == (2 * len(levels) + 1, 2 * len(levels))
    with using_store(store):
        again = NoiseExperts(levels, alphas=ALPHAS, seed=seed).fit(splits)
    assert (store.misses, store.hits) == (2 * len(levels) + 1, 4 * len(levels) + 1)
    np.testing.assert_array_equal(again.mixed_.coef_path_, cold.mixed_.coef_path_)
    for a, b in zip([*cold.experts_, cold.mixed_], [*warm.experts_, warm.mixed_], strict=True):
        np.testing.assert_array_equal(a.coef_path_, b.coef_path_)
        np.testing.assert_array_equal(a.intercept_path_, b.intercept_path_)
        assert a.alpha_ == b.alpha_
    test = noisy_splits(splits, 0.5, seed + 1, which=("test",))["test"]
    np.testing.assert_array_equal(cold.predict(test, 0.5), warm.predict(test, 0.5))


# ------------------------------------------------ weighted statistics (moment Grams)
def assert_stats_equal(a: RidgeStats, b: RidgeStats) -> None:
    for u, v in zip(_stats_state(a), _stats_state(b), strict=True):
        np.testing.assert_array_equal(u, v)


def test_shared_rows_weighted_stats_equal_from_data_and_miss_on_any_change(data, tmp_path):
    (X, y, lab), _, _ = data
    m = lab["M_H"].to_numpy()
    w = (m - m.mean()) / m.std()
    shift = np.asarray(X[:50], dtype=np.float64).mean(axis=0)
    direct = RidgeStats.from_data(X, y, w, shift=shift)
    assert_stats_equal(direct, SharedRows(X, y).stats(w, shift=shift))  # no store active
    store = StatsStore(tmp_path)
    with using_store(store):
        rows = SharedRows(X, y)
        miss, hit = rows.stats(w, shift=shift), rows.stats(w, shift=shift)
        assert (store.misses, store.hits) == (1, 1)
        for got in (miss, hit):
            assert_stats_equal(direct, got)
        w2 = w.copy()
        w2[7] = np.nextafter(w2[7], 10.0)  # one weight, one ulp
        other_shift = shift.copy()
        other_shift[0] += 1e-9
        rows.stats(w2, shift=shift)
        rows.stats(w, shift=other_shift)
        rows.stats(w)  # the default shift
        rows.stats(shift=shift)  # unweighted, with this shift: not shared_stats's entry
        shared_stats(X, y)
    assert (store.misses, store.hits) == (6, 1)


def test_moment_grams_are_shared_between_entry_points(data, tmp_path):
    """The conditional Ridge (standardized_moments) and the NN-MoE meta-gate (moment_stats of
    the same standardised [M/H]) form the same moment Grams: the second reads them."""
    from moehelpers.models.conditional import moment_stats, standardized_moments

    (X, y, lab), _, _ = data
    m = lab["M_H"].to_numpy()
    cold, _, _ = standardized_moments(X, y, m, 4)
    store = StatsStore(tmp_path)
    with using_store(store):
        base = shared_stats(X, y)
        first, mean, sd = standardized_moments(X, y, m, 4, base=base)
        n_miss = store.misses
        again = moment_stats(X, y, (m - mean) / sd, 2, base=shared_stats(X, y))
    assert n_miss == 1 + 4 and store.misses == n_miss  # the Gram, then powers 1..4 once
    for a, b in zip([*first[:3], *cold[:3]], [*again, *again], strict=True):
        for u, v in zip(_stats_state(a), _stats_state(b), strict=True):
            np.testing.assert_allclose(u, v, rtol=1e-12, atol=0)
    for a, b in zip(first, again, strict=False):  # the stored ones: bit for bit
        np.testing.assert_array_equal(a.gram, b.gram)


@pytest.mark.parametrize("alpha_search", ["walk", "grid"])
def test_conditional_solves_are_read_back_by_a_rerun(data, tmp_path, alpha_search):
    """The (K+1)·P block systems of a conditional Ridge: with the store active a refit reads
    every solve (and every moment Gram) and gives the cold model bit for bit."""
    from moehelpers.models.conditional import ConditionalRidge

    (X, y, lab), (Xv, yv, labv), (Xt, _, labt) = data
    m, mv, mt = (d["M_H"].to_numpy() for d in (lab, labv, labt))
    grid = [1e-3, 1e-2, 1e-1, 1.0, 10.0]

    def fit() -> ConditionalRidge:
        return ConditionalRidge(2, grid, alpha_search=alpha_search).fit(X, y, m, Xv, yv, mv)

    cold = fit()
    store = StatsStore(tmp_path)
    with using_store(store):
        first = fit()
        n_miss = store.misses
        real_blocks = modulated_mod._blocks

        def no_assembly(*a, **k):
            raise AssertionError("the block system was assembled although every solve was "
                                 "stored")

        modulated_mod._blocks = no_assembly
        try:
            second = fit()  # keyed by the statistics: the system is never built
        finally:
            modulated_mod._blocks = real_blocks
    assert n_miss > 5 and store.misses == n_miss  # moment Grams (powers 0..4) and solves
    assert store.hits == n_miss
    for model in (first, second):
        assert model.alpha_ == cold.alpha_
        np.testing.assert_array_equal(model.coef_, cold.coef_)
        np.testing.assert_array_equal(model.val_scores_, cold.val_scores_)
        np.testing.assert_array_equal(model.predict(Xt, mt), cold.predict(Xt, mt))
    other = ConditionalRidge(2, [*grid[:-1], 11.0], alpha_search=alpha_search)
    with using_store(store):
        other.fit(X, y, m, Xv, yv, mv)  # the same systems, another α: a new solve
    assert store.misses > n_miss


@pytest.mark.parametrize("change", ["statistic", "intercept", "code"])
def test_block_solutions_miss_when_what_the_system_is_built_from_changes(data, tmp_path,
                                                                       monkeypatch, change):
    from moehelpers.engine import fitted
    from moehelpers.models.conditional import ConditionalRidge, standardized_moments

    (X, y, lab), (Xv, yv, labv), _ = data
    m, mv = lab["M_H"].to_numpy(), labv["M_H"].to_numpy()
    grid = [1e-2, 1.0]
    stats, mean, sd = standardized_moments(X, y, m, 2)
    store = StatsStore(tmp_path)
    with using_store(store):
        ConditionalRidge(1, grid).fit_moments(stats, mean, sd, Xv, yv, mv)
        solved = store.misses
        kw = {}
        if change == "statistic":
            stats = [s.copy() for s in stats]
            stats[2].xty[0] = np.nextafter(stats[2].xty[0], np.inf)  # a weighted Σxy, one ulp
        elif change == "intercept":
            kw["fit_intercept"] = False
        else:
            monkeypatch.setattr(fitted, "code_fingerprint", lambda: "edited")
            monkeypatch.setattr(modulated_mod, "code_fingerprint", lambda: "edited")
        changed = ConditionalRidge(1, grid, **kw).fit_moments(stats, mean, sd, Xv, yv, mv)
    assert store.misses == 2 * solved  # every solve again
    direct = ConditionalRidge(1, grid, **kw).fit_moments(stats, mean, sd, Xv, yv, mv)
    np.testing.assert_array_equal(changed.coef_, direct.coef_)


def test_statistics_of_few_rows_are_computed_not_stored(data, tmp_path, monkeypatch):
    """Below SharedRows.min_rows a pass is cheaper than reading the entry back: nothing is
    written, the values are from_data's, and the path entry (small) is still kept."""
    (X, y, _), (Xv, yv, _), _ = data
    monkeypatch.setattr(SharedRows, "min_rows", len(X) + 1)
    assert SharedRows.min_rows > 0
    store = StatsStore(tmp_path)
    with using_store(store):
        stats = shared_stats(X, y)
        model, again = shared_ridge_fit(X, y, Xv, yv, ALPHAS)
    assert_stats_equal(stats, RidgeStats.from_data(X, y))
    assert_stats_equal(again, stats)
    np.testing.assert_array_equal(model.coef_path_,
                                  RidgeRegressor(ALPHAS).fit(X, y, Xv, yv).coef_path_)
    assert store.misses == 1  # the path only
    monkeypatch.setattr(SharedRows, "min_rows", len(X))
    with using_store(store):
        shared_stats(X, y)
    assert store.misses == 2  # as many rows as min_rows: stored


def test_min_rows_default_keeps_full_splits_and_drops_small_ones(monkeypatch):
    monkeypatch.undo()  # the class value, not the tests' 0 (conftest)
    assert SharedRows.min_rows > 1000  # a few hundred rows: computed again, not read
    assert SharedRows.min_rows <= 4096  # 32k-star splits and 12k-star levels: stored


# ------------------------------------------- paths solved from statistics a caller formed
def _assert_same_fit(a: RidgeRegressor, b: RidgeRegressor, Xt) -> None:
    assert (a.alpha_, a.solver_, a.method_) == (b.alpha_, b.solver_, b.method_)
    np.testing.assert_array_equal(a.coef_path_, b.coef_path_)
    np.testing.assert_array_equal(a.intercept_path_, b.intercept_path_)
    np.testing.assert_array_equal(a.val_scores_, b.val_scores_)
    np.testing.assert_array_equal(a.predict(Xt), b.predict(Xt))


def test_fit_from_stats_equals_fit_stats_on_miss_and_hit(data, tmp_path):
    (X, y, _), (Xv, yv, _), (Xt, _, _) = data
    stats = RidgeStats.from_data(X, y)
    direct = RidgeRegressor(ALPHAS).fit_stats(stats, Xv, yv)
    plain = fit_from_stats(RidgeRegressor(ALPHAS), stats, Xv, yv)  # no active store
    assert not list(tmp_path.iterdir())
    store = StatsStore(tmp_path)
    with using_store(store):
        miss = fit_from_stats(RidgeRegressor(ALPHAS), stats, Xv, yv)
        hit = fit_from_stats(RidgeRegressor(ALPHAS), stats, Xv, yv, train=(X, y))
    assert (store.misses, store.hits) == (1, 1)
    for model in (plain, miss, hit):
        _assert_same_fit(model, direct, Xt)


def test_fit_from_stats_solves_the_dual_and_refuses_what_fit_stats_refuses(data, tmp_path):
    (X, y, _), (Xv, yv, _), (Xt, _, _) = data
    X, y = X[:30], y[:30]  # fewer rows than the 40 pixels: the dual system from the rows
    stats = RidgeStats.from_data(X, y)
    direct = RidgeRegressor(ALPHAS).fit_stats(stats, Xv, yv, train=(X, y))
    store = StatsStore(tmp_path)
    with using_store(store):
        got = fit_from_stats(RidgeRegressor(ALPHAS), stats, Xv, yv, train=(X, y))
        assert got.solver_ == "dual" and store.misses == store.hits == 0
        _assert_same_fit(got, direct, Xt)
        with pytest.raises(ShapeMismatchError, match="statistics were accumulated"):
            fit_from_stats(RidgeRegressor(ALPHAS), stats, Xv, yv, train=(X[:20], y[:20]))
        with pytest.raises(InvalidParameterError, match="needs the training rows"):
            fit_from_stats(RidgeRegressor(ALPHAS, solver="dual"), stats, Xv, yv)
        with pytest.raises(InvalidParameterError, match="validation"):
            fit_from_stats(RidgeRegressor(ALPHAS), stats)
    assert store.misses == 0


@pytest.mark.parametrize("change", ["gram", "target", "alphas", "intercept", "method"])
def test_cached_stats_path_misses_on_anything_that_changes_the_path(data, tmp_path, change):
    (X, y, _), _, _ = data
    stats = RidgeStats.from_data(X, y)
    store = StatsStore(tmp_path)
    cached_stats_path(stats, ALPHAS, store=store)
    other, kw = stats.copy(), {}
    if change == "gram":
        other._upper[3, 5] = np.nextafter(other._upper[3, 5], np.inf)  # one entry, one ulp
    elif change == "target":
        other.xty[0] += 1e-12
    elif change == "alphas":
        kw["alphas"] = (*ALPHAS[:-1], np.nextafter(ALPHAS[-1], 0))
    elif change == "intercept":
        kw["fit_intercept"] = False
    else:
        kw["method"] = "eigen"
    grid = kw.pop("alphas", ALPHAS)
    path = cached_stats_path(other, grid, store=store, **kw)
    assert (store.misses, store.hits) == (2, 0)
    direct = store_mod.ridge_path_from_stats(other, grid, **kw)
    np.testing.assert_array_equal(path.coefs, direct.coefs)
    np.testing.assert_array_equal(path.intercepts, direct.intercepts)


def test_piecewise_global_path_and_cached_stats_path_share_an_entry(data, tmp_path):
    (X, y, lab), (Xv, yv, labv), _ = data
    stats = RidgeStats.from_data(X, y)
    store = StatsStore(tmp_path)
    with using_store(store):
        fit_together(models(), X, y, lab, Xv, yv, labv, global_stats=stats)
        hits = store.hits
        cached_stats_path(stats, ALPHAS)
    assert store.hits == hits + 1


def test_label_predictors_and_noise_conditioning_read_their_paths_on_a_rerun(tmp_path):
    """The pseudo gate's label predictors (retargeted Grams) and the noise-conditioned
    model's experts and mixed model solve their paths once; a rerun equals the cold fit."""
    from test_noise_experts import _splits

    from moehelpers.gates.pseudo import label_predictor
    from moehelpers.models.noise_conditioning import NoiseConditionedRidge

    splits = _splits(n_train=160, n_val=60, n_test=40, p=30, seed=4)
    X, m = splits.train.flux, splits.train.labels["M_H"].to_numpy()
    Xv, mv = splits.val.flux, splits.val.labels["M_H"].to_numpy()
    stats = RidgeStats.from_data(X, splits.train.y)
    levels = [0.1, 0.5, 1.0]
    cold_m = label_predictor(stats, X, m, Xv, mv, ALPHAS)
    cold_nc = NoiseConditionedRidge(levels, alphas=ALPHAS, seed=3, orders=[1],
                                    estimator=None).fit(splits)
    store = StatsStore(tmp_path)
    runs = []
    for _ in range(2):
        with using_store(store):
            before = store.misses
            runs.append((label_predictor(stats, X, m, Xv, mv, ALPHAS),
                         NoiseConditionedRidge(levels, alphas=ALPHAS, seed=3, orders=[1],
                                               estimator=None).fit(splits)))
            new = store.misses - before
        if len(runs) == 1:
            assert new >= 2 + len(levels)  # the predictor, every expert and the mixed model
        else:
            assert new == 0
    for pred, nc in runs:
        _assert_same_fit(pred, cold_m, splits.test.flux)
        for a, b in zip([*cold_nc.experts_, cold_nc.mixed_], [*nc.experts_, nc.mixed_],
                        strict=True):
            _assert_same_fit(a, b, splits.test.flux)
