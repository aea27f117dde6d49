"""Tests of the kernel ledger (moehelpers.engine.ledger): what it counts, and that counting
changes nothing."""

from __future__ import annotations

import doctest

import numpy as np
import pytest

from moehelpers.engine import ledger
from moehelpers.engine.ridge import RidgeStats, grouped_ridge_paths, ridge_path


def data(n: int = 600, p: int = 48, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = (1.0 + 0.05 * rng.standard_normal((n, p))).astype(np.float32)
    return X, X[:, :5].sum(axis=1).astype(np.float64) + 0.01 * rng.standard_normal(n)


def test_gram_updates_are_counted_chunk_by_chunk():
    X, y = data(n=1000, p=40)
    with ledger.kernel_ledger() as book:
        RidgeStats.from_data(X, y, chunk_size=300)
    gram = book.tallies["gram64"]
    assert gram.calls == 4  # 300 + 300 + 300 + 100 rows
    assert gram.flops == ledger.syrk_flops(1000, 40)
    assert gram.seconds > 0
    assert set(book.tallies) == {"gram64"}


@pytest.mark.parametrize(("method", "kind", "per_alpha"), [("cholesky", "cholesky64", True),
                                                          ("eigen", "eigh", False)])
def test_primal_solves_are_counted(method, kind, per_alpha):
    X, y = data()
    alphas = [1e-2, 1.0, 100.0]
    with ledger.kernel_ledger() as book:
        ridge_path(X, y, alphas, solver="primal", method=method)
    tally = book.tallies[kind]
    p = X.shape[1]
    if per_alpha:
        assert tally.calls == len(alphas)
        assert tally.flops == pytest.approx(len(alphas) * ledger.cholesky_flops(p))
    else:
        assert tally.calls == 1
        assert tally.flops == ledger.eigh_flops(p)
    assert book.tallies["gram64"].flops == ledger.syrk_flops(*X.shape)


def test_dual_kernel_counts_n_squared_p():
    X, y = data(n=30, p=200)
    with ledger.kernel_ledger() as book:
        ridge_path(X, y, [0.1, 1.0], solver="dual", method="cholesky")
    assert book.tallies["gram64"].flops == ledger.syrk_flops(200, 30)  # K = XXᵀ: P·n²
    assert book.tallies["cholesky64"].calls == 2
    assert book.tallies["cholesky64"].flops == pytest.approx(2 * ledger.cholesky_flops(30))


def test_float32_kernels_have_their_own_kinds():
    X, y = data(n=2000, p=32)
    groups = np.repeat([0, 1], 1000)
    with ledger.kernel_ledger() as book:
        grouped_ridge_paths(X, y, groups, 2, [1e-1, 1.0], method="cholesky", precision="float32")
    assert book.tallies["gram32"].flops == ledger.syrk_flops(*X.shape)
    assert "gram64" not in book.tallies
    assert book.tallies["cholesky32"].calls >= 2  # at least one float32 factorisation per α


def test_counting_changes_no_result_and_closed_ledgers_count_nothing():
    X, y = data()
    plain = ridge_path(X, y, [1e-3, 1.0], solver="primal")
    with ledger.kernel_ledger() as outer:
        with ledger.kernel_ledger() as inner:
            counted = ridge_path(X, y, [1e-3, 1.0], solver="primal")
        ridge_path(X, y, [1e-3, 1.0], solver="primal")
    ridge_path(X, y, [1e-3, 1.0], solver="primal")  # no ledger open: counted nowhere
    np.testing.assert_array_equal(plain.coefs, counted.coefs)
    np.testing.assert_array_equal(plain.intercepts, counted.intercepts)
    assert inner.tallies["cholesky64"].calls == 2
    assert outer.tallies["cholesky64"].calls == 4  # nested: the outer one counts both fits
    assert not ledger._OPEN


def test_a_failing_block_still_closes_the_ledger():
    with pytest.raises(RuntimeError), ledger.kernel_ledger() as book:
        with ledger.kernel("eigh", 10.0):
            raise RuntimeError("boom")
    assert not ledger._OPEN
    assert book.tallies["eigh"].calls == 1  # the time spent before the failure is counted


def test_unknown_kind_is_refused_and_rates_are_nan_without_time():
    book = ledger.KernelLedger()
    with pytest.raises(ValueError, match="unknown kernel kind 'gemm'"):
        book.add("gemm", 1.0, 1.0)
    assert np.isnan(ledger.Tally(calls=1, flops=5.0).gflops_per_second)
    book.add("gram64", 4e9, 2.0)
    assert book.to_dict()["gram64"] == {"calls": 1, "flops": 4e9, "seconds": 2.0,
                                        "gflops_per_second": 2.0}
    assert book.seconds == 2.0


def test_doctest():
    assert doctest.testmod(ledger).failed == 0
