"""Tests of metrics, paired bootstrap, aligned comparison and retention."""

from __future__ import annotations

import doctest

import numpy as np
import pytest
from sklearn import metrics as skm

import moehelpers.metrics as metrics_mod
from moehelpers.errors import IndexMismatchError, InvalidParameterError, ShapeMismatchError
from moehelpers.metrics import (
    Predictions,
    align,
    bootstrap_ci,
    bootstrap_indices,
    compare,
    mae,
    paired_bootstrap,
    r2,
    retention,
    rmse,
    scores,
)


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    y = rng.normal(3.0, 1.0, size=500)
    return y, y + rng.normal(0, 0.4, size=500), y + rng.normal(0, 0.6, size=500)


def test_metrics_match_sklearn(data):
    y, a, _ = data
    assert r2(y, a) == pytest.approx(skm.r2_score(y, a), abs=1e-12)
    assert mae(y, a) == pytest.approx(skm.mean_absolute_error(y, a), abs=1e-12)
    assert rmse(y, a) == pytest.approx(np.sqrt(skm.mean_squared_error(y, a)), abs=1e-12)
    s = scores(y, a)
    assert (s.r2, s.mae, s.rmse, s.n) == (r2(y, a), mae(y, a), rmse(y, a), 500)
    cols = np.column_stack([a, y])
    np.testing.assert_allclose(r2(y, cols), [r2(y, a), 1.0])


def test_metric_input_errors():
    with pytest.raises(ShapeMismatchError, match="same n"):
        r2(np.ones(3), np.ones(4))
    with pytest.raises(InvalidParameterError, match="finite"):
        mae(np.ones(3), np.array([1.0, np.nan, 1.0]))
    assert np.isnan(r2(np.ones(3), np.zeros(3)))  # constant y: R² undefined


def test_bootstrap_indices_do_not_depend_on_chunking():
    a = np.concatenate(list(bootstrap_indices(50, 300, seed=3)))
    b = np.random.default_rng(3).integers(0, 50, size=(300, 50))
    assert a.shape == (300, 50)
    np.testing.assert_array_equal(a, b)


def test_identical_models_give_zero_width_interval(data):
    y, a, _ = data
    res = paired_bootstrap(y, a, a.copy(), n_boot=200, seed=1)
    assert res.difference == 0.0 and res.ci_low == 0.0 and res.ci_high == 0.0
    assert res.frac_le_zero == 1.0 and res.n == 500 and res.seed == 1


@pytest.mark.parametrize("metric", ["r2", "mae", "rmse"])
def test_bootstrap_replicates_equal_explicit_resampling(data, metric):
    y, a, b = data
    res = paired_bootstrap(y, a, b, n_boot=20, seed=5, metric=metric)
    fn = {"r2": r2, "mae": mae, "rmse": rmse}[metric]
    idx = np.random.default_rng(5).integers(0, y.size, size=(20, y.size))
    explicit = [fn(y[i], a[i]) - fn(y[i], b[i]) for i in idx]
    np.testing.assert_allclose(res.distribution, explicit, rtol=1e-9, atol=1e-12)
    assert res.difference == pytest.approx(fn(y, a) - fn(y, b))
    single = bootstrap_ci(y, a, n_boot=20, seed=5, metric=metric)
    np.testing.assert_allclose(single.distribution, [fn(y[i], a[i]) for i in idx], rtol=1e-9)


def test_index_restricts_both_models(data):
    y, a, b = data
    mask = y > 3
    res = paired_bootstrap(y, a, b, index=mask, n_boot=50)
    assert res.n == mask.sum()
    assert res.difference == pytest.approx(r2(y[mask], a[mask]) - r2(y[mask], b[mask]))
    same = paired_bootstrap(y, a, b, index=np.flatnonzero(mask), n_boot=50)
    assert same.index_digest == res.index_digest


def test_ci_covers_known_difference_at_nominal_rate():
    """200 simulated test sets; the population ΔR² is σ_b² − σ_a² (Var y = 1)."""
    rng = np.random.default_rng(123)
    n, sd_a, sd_b = 300, 0.5, 0.6
    truth = sd_b**2 - sd_a**2
    covered = 0
    for k in range(200):
        y = rng.normal(size=n)
        a = y + rng.normal(0, sd_a, n)
        b = y + rng.normal(0, sd_b, n) + 0.5 * (a - y)  # correlated errors, as in real models
        truth_k = sd_b**2 + 0.25 * sd_a**2 - sd_a**2  # Var(e_b) − Var(e_a)
        res = paired_bootstrap(y, a, b, n_boot=400, seed=k)
        covered += res.ci_low <= truth_k <= res.ci_high
    assert truth > 0
    assert 0.88 <= covered / 200 <= 0.99


def test_compare_refuses_different_index_sets(data):
    y, a, b = data
    pa = Predictions(np.arange(500), a, "moe")
    pb = Predictions(np.arange(100, 500), b[100:], "global")
    with pytest.raises(IndexMismatchError, match="400 in common"):
        compare(y, pa, pb, n_boot=10)
    res = compare(y, pa.restrict(pb.index), pb, n_boot=50, seed=2)
    ref = paired_bootstrap(y[100:], a[100:], b[100:], n_boot=50, seed=2)
    assert res.difference == pytest.approx(ref.difference)
    shuffled = np.random.default_rng(0).permutation(500)
    res2 = compare(y, pa, Predictions(shuffled, b[shuffled], "global"), n_boot=50, seed=2)
    assert res2.difference == pytest.approx(r2(y, a) - r2(y, b))
    with pytest.raises(IndexMismatchError, match="lack"):
        pb.restrict([0, 1])
    with pytest.raises(InvalidParameterError, match="duplicates"):
        Predictions(np.array([1, 1]), np.zeros(2))


def test_align_accepts_pandas_series(data):
    pd = pytest.importorskip("pandas")
    y, a, _ = data
    ys = pd.Series(y, index=np.arange(1000, 1500))
    yy, (pa,), _ = align(ys, Predictions(np.arange(1000, 1010), a[:10]))
    np.testing.assert_array_equal(yy, y[:10])
    np.testing.assert_array_equal(pa, a[:10])


def test_retention_limits(data):
    y, good, poor = data
    full = retention(y, good, poor, good, n_boot=100, seed=0)
    assert full.rho == pytest.approx(1.0) and full.ci_low == pytest.approx(1.0)
    none = retention(y, poor, poor, good, n_boot=100, seed=0)
    assert none.rho == pytest.approx(0.0) and none.ci_high == pytest.approx(0.0)
    half = np.where(np.arange(y.size) % 2 == 0, good, poor)  # routes half of the stars well
    mid = retention(y, half, poor, good, n_boot=100, seed=0)
    assert 0.2 < mid.rho < 0.8 and mid.ci_low <= mid.rho <= mid.ci_high
    assert not mid.small_gain


def test_retention_flags_vanishing_denominator(data):
    y, a, _ = data
    res = retention(y, a, a, a + 1e-6, n_boot=50)
    assert res.small_gain and np.isnan(res.rho) and res.frac_small_gain == 1.0
    assert np.isnan(res.ci_low)


def test_bootstrap_is_fast_enough_for_10k_stars():
    """1000 resamples × 10k stars × 2 models: vectorised over an index matrix."""
    rng = np.random.default_rng(1)
    y = rng.normal(size=10_000)
    res = paired_bootstrap(y, y + rng.normal(size=y.size), y + rng.normal(size=y.size))
    assert res.distribution.shape == (1000,)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"n_boot": 0}, "n_boot"), ({"metric": "mse"}, "metric"), ({"ci": 1.5}, "ci")],
)
def test_bad_bootstrap_parameters(data, kwargs, match):
    y, a, b = data
    with pytest.raises(InvalidParameterError, match=match):
        paired_bootstrap(y, a, b, **kwargs)


def test_docstring_examples():
    assert doctest.testmod(metrics_mod, optionflags=doctest.ELLIPSIS).failed == 0
