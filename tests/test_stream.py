"""Streamed statistics over HDF5 shards (engine.stream, models.stream_fit) and their Dask run."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from moehelpers.data import spectra as data
from moehelpers.data.spectra import SpectraSet
from moehelpers.engine.ridge import RidgeRegressor
from moehelpers.engine.stream import (
    NOISE_BLOCK,
    StreamSpec,
    read_labels,
    stream_noisy,
    stream_stats,
)
from moehelpers.errors import InvalidParameterError, MissingLabelError
from moehelpers.models.conditional import ConditionalRidge
from moehelpers.models.noise_experts import NoiseExperts
from moehelpers.models.piecewise import PiecewiseRidge
from moehelpers.models.stream_fit import fit_stream

ALPHAS = [1e-2, 1.0, 100.0]
SEED, LEVEL = 7, 0.3


def _set(n: int, p: int, seed: int) -> SpectraSet:
    """Spectra whose log g is linear in the flux with [M/H]-dependent coefficients."""
    rng = np.random.default_rng(seed)
    flux = (1.1 - 0.5 * rng.random((n, p))).astype(np.float32)
    error = (0.01 + 0.05 * rng.random((n, p))).astype(np.float32)
    mh = rng.uniform(-2.5, 0.75, n)
    w0, w1 = rng.normal(size=p), rng.normal(size=p)
    labels = pd.DataFrame({"T_eff": rng.uniform(3750.0, 6000.0, n),
                           # a physical log g (the loader refuses values outside −1…6)
                           "log_g": 3.0 + 2.0 * np.tanh(0.1 * (flux @ w0 + mh * (flux @ w1) * 0.3)),
                           "M_H": mh})
    return SpectraSet(np.linspace(7100.0, 8850.0, p), flux, error, labels)


@pytest.fixture(scope="module")
def sets(tmp_path_factory) -> tuple[Path, Path, SpectraSet, SpectraSet]:
    """Training shards of 1500, 1300 and 700 rows (sizes not multiples of the noise block)
    and a validation file."""
    root = tmp_path_factory.mktemp("stream")
    train, val = _set(3500, 20, 0), _set(600, 20, 1)
    cuts = [0, 1500, 2800, 3500]
    for i in range(3):
        (root / "train" / f"train_{i}").mkdir(parents=True)
        data.save(train.subset(slice(cuts[i], cuts[i + 1])),
                  root / "train" / f"train_{i}" / "dataset.h5")
    data.save(val, root / "val.h5")
    return root / "train", root / "val.h5", train, val


def _noisy(s: SpectraSet, split: str, level: float = LEVEL, seed: int = SEED) -> np.ndarray:
    return stream_noisy(s.flux, s.error, level, seed, split, 0)


def _close(a: np.ndarray, b: np.ndarray, rtol: float = 1e-6) -> None:
    scale = np.max(np.abs(b))
    assert np.max(np.abs(a - b)) <= rtol * scale, np.max(np.abs(a - b)) / scale


# ------------------------------------------------------------------ noise
def test_noise_of_a_row_does_not_depend_on_chunking() -> None:
    s = _set(3 * NOISE_BLOCK + 17, 8, 3)
    whole = _noisy(s, "train")
    for cuts in ([0, 5, NOISE_BLOCK + 3, 2 * NOISE_BLOCK, len(s)], [0, 999, 2500, len(s)]):
        parts = [stream_noisy(s.flux[a:b], s.error[a:b], LEVEL, SEED, "train", a)
                 for a, b in itertools.pairwise(cuts)]
        np.testing.assert_array_equal(np.concatenate(parts), whole)
    assert not np.array_equal(whole, _noisy(s, "val"))  # distinct per split
    assert not np.array_equal(whole, _noisy(s, "train", seed=SEED + 1))
    np.testing.assert_array_equal(_noisy(s, "train", level=0.0), s.flux)
    # the right statistics: (noisy − flux) / error ~ N(0, level²)
    z = (whole - s.flux) / s.error
    assert abs(z.std() - LEVEL) < 0.01 and abs(z.mean()) < 0.01


def test_statistics_do_not_depend_on_chunk_or_task_size(sets) -> None:
    train_path, _, _, _ = sets
    spec = StreamSpec(noise_levels=(LEVEL,), seed=SEED, chunk_size=4096)
    ref, spec = stream_stats(train_path, spec)
    assert ref.n_rows == 3500
    for chunk, per_task in ((97, None), (1000, 333)):
        other, _ = stream_stats(train_path, StreamSpec(noise_levels=(LEVEL,), seed=SEED,
                                                       chunk_size=chunk, shift=spec.shift),
                                rows_per_task=per_task)
        a, b = ref.total(), other.total()
        np.testing.assert_allclose(a.gram, b.gram, rtol=1e-10, atol=1e-9)
        np.testing.assert_allclose(a.xty, b.xty, rtol=1e-10, atol=1e-9)
        assert a.n == b.n == 3500


def test_stats_are_mergeable_and_sum_to_the_whole(sets) -> None:
    train_path, _, _, _ = sets
    spec = StreamSpec(noise_levels=(LEVEL,), seed=SEED)
    whole, spec = stream_stats(train_path, spec)
    parts = [stream_stats(train_path / f"train_{i}", spec)[0] for i in range(3)]
    # shards have their own row numbering: only the noiseless sums are comparable
    spec0 = StreamSpec(noise_levels=(0.0,), shift=spec.shift)
    whole0 = stream_stats(train_path, spec0)[0]
    summed = sum(stream_stats(train_path / f"train_{i}", spec0)[0] for i in range(3))
    np.testing.assert_allclose(summed.total().gram, whole0.total().gram, rtol=1e-12)
    assert summed.n_rows == whole0.n_rows == sum(p.n_rows for p in parts) == whole.n_rows


# ------------------------------------------------------------------ models == in memory
def test_global_ridge_equals_in_memory_fit(sets) -> None:
    train_path, val_path, train, val = sets
    streamed = fit_stream(RidgeRegressor(alphas=ALPHAS), train_path, val_path,
                          noise_level=LEVEL, seed=SEED, chunk_size=500)
    ref = RidgeRegressor(alphas=ALPHAS).fit(_noisy(train, "train"), train.y,
                                            _noisy(val, "val"), val.y)
    assert streamed.alpha_ == ref.alpha_ and streamed.stream_n_rows_ == 3500
    xv = _noisy(val, "val")
    _close(streamed.predict(xv), ref.predict(xv))


def test_piecewise_equals_in_memory_fit(sets) -> None:
    train_path, val_path, train, val = sets
    kw = dict(alphas=ALPHAS, min_bin_train=50, min_bin_val=10)
    streamed = fit_stream(PiecewiseRidge(**kw), train_path, val_path, noise_level=LEVEL,
                          seed=SEED, chunk_size=700)
    ref = PiecewiseRidge(solver="primal", **kw).fit(
        _noisy(train, "train"), train.y, train.labels, _noisy(val, "val"), val.y, val.labels)
    np.testing.assert_array_equal(streamed.alpha_per_expert_, ref.alpha_per_expert_)
    assert streamed.bin_plan_.statement == ref.bin_plan_.statement
    xv = _noisy(val, "val")
    _close(streamed.predict(xv, val.labels), ref.predict(xv, val.labels))


def test_conditional_equals_in_memory_fit(sets) -> None:
    train_path, val_path, train, val = sets
    streamed = fit_stream(ConditionalRidge(order=2, alphas=ALPHAS), train_path, val_path,
                          noise_level=LEVEL, seed=SEED, chunk_size=640)
    ref = ConditionalRidge(order=2, alphas=ALPHAS).fit(
        _noisy(train, "train"), train.y, train.label("M_H"),
        _noisy(val, "val"), val.y, val.label("M_H"))
    assert streamed.alpha_ == ref.alpha_
    assert streamed.m_mean_ == pytest.approx(ref.m_mean_, rel=1e-12)
    xv = _noisy(val, "val")
    _close(streamed.predict(xv, val.label("M_H")), ref.predict(xv, val.label("M_H")))


def test_noise_experts_equal_in_memory_fits(sets) -> None:
    train_path, val_path, train, val = sets
    levels = (0.0, 0.2, 1.0)
    streamed = fit_stream(NoiseExperts(levels=levels, alphas=ALPHAS, seed=SEED), train_path,
                          val_path, chunk_size=900)
    xs = [_noisy(train, "train", lv) for lv in levels]
    xvs = [_noisy(val, "val", lv) for lv in levels]
    for k in range(len(levels)):
        ref = RidgeRegressor(alphas=ALPHAS).fit(xs[k], train.y, xvs[k], val.y)
        assert streamed.experts_[k].alpha_ == ref.alpha_
        _close(streamed.experts_[k].predict(xvs[k]), ref.predict(xvs[k]))
    mixed = RidgeRegressor(alphas=ALPHAS).fit(np.vstack(xs), np.tile(train.y, 3),
                                              np.vstack(xvs), np.tile(val.y, 3))
    _close(streamed.predict_mixed(xvs[1]), mixed.predict(xvs[1]))


# ------------------------------------------------------------------ Dask
def test_dask_local_cluster_gives_the_same_statistics(sets) -> None:
    distributed = pytest.importorskip("dask.distributed")
    train_path, val_path, train, val = sets
    spec = StreamSpec(noise_levels=(LEVEL,), seed=SEED, chunk_size=300)
    local, spec = stream_stats(train_path, spec)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        remote, _ = stream_stats(train_path, spec, client=client, rows_per_task=400)
        model = fit_stream(RidgeRegressor(alphas=ALPHAS), train_path, val_path,
                           noise_level=LEVEL, seed=SEED, scheduler=cluster.scheduler_address,
                           rows_per_task=1000)
    assert remote.n_rows == local.n_rows == 3500
    np.testing.assert_allclose(remote.total().gram, local.total().gram, rtol=1e-10, atol=1e-9)
    ref = RidgeRegressor(alphas=ALPHAS).fit(_noisy(train, "train"), train.y,
                                            _noisy(val, "val"), val.y)
    xv = _noisy(val, "val")
    _close(model.predict(xv), ref.predict(xv))


# ------------------------------------------------------------------ errors
def test_bad_inputs_name_the_problem(sets) -> None:
    train_path, _, _, _ = sets
    with pytest.raises(InvalidParameterError, match="fit_stream fits"):
        fit_stream(object(), train_path)
    with pytest.raises(InvalidParameterError, match="dual"):
        fit_stream(PiecewiseRidge(alphas=1.0, solver="dual"), train_path)
    with pytest.raises(MissingLabelError, match="teff_missing"):
        fit_stream(RidgeRegressor(alphas=1.0), train_path, target="teff_missing")
    with pytest.raises(InvalidParameterError, match="noise_levels"):
        StreamSpec(noise_levels=(-1.0,))
    with pytest.raises(InvalidParameterError, match="validation"):
        fit_stream(RidgeRegressor(alphas=ALPHAS), train_path)
    assert list(read_labels(train_path, ["M_H"]).shape) == [3500, 1]


def test_cli_fit_stream_writes_a_model_equal_to_the_library_fit(sets, tmp_path, capsys) -> None:
    import json

    import joblib

    from moehelpers.book.cli import main

    train_path, val_path, _, val = sets
    out = tmp_path / "model.joblib"
    rc = main(["fit-stream", "--train", str(train_path), "--val", str(val_path), "--model",
               "conditional", "--order", "1", "--alphas", json.dumps(ALPHAS), "--noise",
               str(LEVEL), "--seed", str(SEED), "--chunk-size", "512", "--out", str(out)])
    assert rc == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["rows"] == 3500 and summary["alpha"] in ALPHAS
    lib = fit_stream(ConditionalRidge(order=1, alphas=ALPHAS), train_path, val_path,
                     noise_level=LEVEL, seed=SEED)
    xv = _noisy(val, "val")
    _close(joblib.load(out).predict(xv, val.label("M_H")), lib.predict(xv, val.label("M_H")))
    assert main(["fit-stream", "--train", str(tmp_path / "nowhere")]) == 2


def test_first_rows_only_and_validation_set_in_memory(sets) -> None:
    """``n_rows`` streams the first rows across a shard boundary; ``val`` may be a set."""
    train_path, _, train, val = sets
    streamed = fit_stream(ConditionalRidge(order=1, alphas=ALPHAS), train_path, val,
                          noise_level=LEVEL, seed=SEED, n_rows=2000, rows_per_task=700)
    x = _noisy(train, "train")[:2000]
    ref = ConditionalRidge(order=1, alphas=ALPHAS).fit(
        x, train.y[:2000], train.label("M_H")[:2000], _noisy(val, "val"), val.y,
        val.label("M_H"))
    assert streamed.stream_n_rows_ == 2000 and streamed.m_scale_ == ref.m_scale_
    xv = _noisy(val, "val")
    _close(streamed.predict(xv, val.label("M_H")), ref.predict(xv, val.label("M_H")))
    with pytest.raises(InvalidParameterError, match="n_rows"):
        fit_stream(RidgeRegressor(alphas=1.0), train_path, n_rows=10**6)
