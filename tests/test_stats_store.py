"""The statistics store: keys, hits and misses, integrity checks, crash and race safety."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from moehelpers import paths
from moehelpers.engine import store as store_mod
from moehelpers.engine.ridge import DEFAULT_ALPHAS, RidgeRegressor, RidgeStats, grouped_stats
from moehelpers.engine.store import (
    StatsKey,
    StatsStore,
    array_fingerprint,
    cached_ridge_fit,
    cached_ridge_path,
    cached_ridge_stats,
    file_fingerprint,
)
from moehelpers.errors import InvalidParameterError, MoEHelpersError

REPO = Path(__file__).resolve().parents[1]
BASE = StatsKey(dataset="d" * 64, split="train", rows="all", noise_level=0.2, noise_seed=42,
                binning="none", grouping="none", monomial="1")


def data(n: int = 60, p: int = 7, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return (1.0 + 0.1 * rng.standard_normal((n, p))).astype(np.float32), rng.standard_normal(n)


class Counter:
    def __init__(self, arrays):
        self.arrays, self.calls = arrays, 0

    def __call__(self):
        self.calls += 1
        return self.arrays


def test_stats_dir_honours_env(monkeypatch, tmp_path):
    monkeypatch.setenv("MOE_STATS_DIR", str(tmp_path / "s"))
    assert paths.stats_dir() == tmp_path / "s"
    assert StatsStore().root == tmp_path / "s"
    monkeypatch.delenv("MOE_STATS_DIR")
    assert paths.stats_dir().parts[-3:] == ("data", "cache", "stats")


@pytest.mark.parametrize(
    "change",
    [{"dataset": "e" * 64}, {"split": "val"}, {"rows": "0123"}, {"noise_level": 0.35},
     {"noise_seed": 43}, {"binning": "2px"}, {"grouping": "teff9"}, {"monomial": "M_H^1"},
     {"kind": "other"}, {"extra": (("n_features", "8"),)}, {"noise_level": None}],
)
def test_each_key_component_is_a_miss(tmp_path, change):
    store = StatsStore(tmp_path)
    compute = Counter({"a": np.arange(5.0)})
    store.get_or_compute(BASE, compute)
    store.get_or_compute(dataclasses.replace(BASE, **change), compute)
    assert compute.calls == 2
    assert store.misses == 2 and store.hits == 0
    assert len(list(tmp_path.glob("*.npz"))) == 2  # never collide


def test_same_key_is_a_byte_identical_hit(tmp_path):
    store = StatsStore(tmp_path)
    rng = np.random.default_rng(1)
    arrays = {"g": rng.standard_normal((6, 6)), "n": np.array([3.0]), "i": np.arange(4)}
    compute = Counter(arrays)
    first = store.get_or_compute(BASE, compute)
    again = StatsStore(tmp_path).get_or_compute(dataclasses.replace(BASE), compute)
    assert compute.calls == 1
    for name, a in arrays.items():
        assert first[name].tobytes() == a.tobytes() == again[name].tobytes()
        assert again[name].dtype == a.dtype and again[name].shape == a.shape


def test_splits_noise_levels_seeds_and_datasets_never_mix(tmp_path):
    store = StatsStore(tmp_path)
    keys = [dataclasses.replace(BASE, dataset=d, split=s, noise_level=lv, noise_seed=sd)
            for d in ("a" * 64, "b" * 64) for s in ("train", "val", "test")
            for lv in (0.0, 0.2) for sd in (1, 2)]
    for i, key in enumerate(keys):
        store.put(key, {"v": np.full(3, float(i))})
    assert len({k.digest() for k in keys}) == len(keys)
    for i, key in enumerate(keys):
        np.testing.assert_array_equal(store.get(key)["v"], np.full(3, float(i)))


def test_flipped_byte_is_detected_and_recomputed(tmp_path):
    store = StatsStore(tmp_path)
    arrays = {"g": np.linspace(0.0, 1.0, 4096).reshape(64, 64)}
    store.put(BASE, arrays)
    path = store.path(BASE)
    blob = bytearray(path.read_bytes())
    pos = blob.index(arrays["g"][10].tobytes()[:8]) + 3  # inside the array's data
    blob[pos] ^= 0x01
    path.write_bytes(bytes(blob))
    compute = Counter(arrays)
    out = store.get_or_compute(BASE, compute)
    assert compute.calls == 1 and store.discarded == 1
    assert out["g"].tobytes() == arrays["g"].tobytes()
    assert store.get(BASE) is not None  # the recomputed entry is valid


@pytest.mark.parametrize("damage", ["truncate", "garbage", "empty"])
def test_partial_or_garbage_entry_is_not_trusted(tmp_path, damage):
    store = StatsStore(tmp_path)
    store.put(BASE, {"g": np.arange(1000.0)})
    path = store.path(BASE)
    blob = path.read_bytes()
    path.write_bytes({"truncate": blob[: len(blob) // 2], "garbage": os.urandom(len(blob)),
                      "empty": b""}[damage])
    assert store.get(BASE) is None
    assert not path.exists()  # discarded


def test_entry_under_another_keys_name_is_stale(tmp_path):
    store = StatsStore(tmp_path)
    other = dataclasses.replace(BASE, split="test")
    store.put(other, {"v": np.ones(3)})
    store.path(other).replace(store.path(BASE))  # e.g. a file copied by hand
    assert store.get(BASE) is None and store.discarded == 1


_WRITER = textwrap.dedent("""
    import os, sys, time
    import numpy as np
    sys.path.insert(0, {repo!r})
    from moehelpers.engine import store as st
    key = st.StatsKey(dataset="d" * 64, split="train", noise_level=0.2, noise_seed=42)
    mode = sys.argv[1]
    real_fsync = os.fsync
    def stall(fd):  # the data is written (or half written); hang before the rename
        if mode == "half":
            os.ftruncate(fd, os.fstat(fd).st_size // 2)
        print("stalled", flush=True)
        time.sleep(60)
    os.fsync = stall
    st.StatsStore(sys.argv[2]).put(key, {{"g": np.arange(200_000.0)}})
""")


@pytest.mark.parametrize("mode", ["full", "half"])
def test_writer_killed_mid_write_leaves_nothing_trusted(tmp_path, mode):
    script = tmp_path / "writer.py"
    script.write_text(_WRITER.format(repo=str(REPO)))
    root = tmp_path / "store"
    proc = subprocess.Popen([sys.executable, str(script), mode, str(root)],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "stalled"
    assert list(root.glob(".*.tmp"))  # the temporary file exists ...
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    store = StatsStore(root)
    assert store.get(BASE) is None  # ... but nothing a reader trusts
    compute = Counter({"g": np.arange(3.0)})
    np.testing.assert_array_equal(store.get_or_compute(BASE, compute)["g"], np.arange(3.0))
    assert compute.calls == 1


_RACER = textwrap.dedent("""
    import sys
    import numpy as np
    sys.path.insert(0, {repo!r})
    from moehelpers.engine import store as st
    key = st.StatsKey(dataset="d" * 64, split="train", noise_level=0.2, noise_seed=42)
    s = st.StatsStore(sys.argv[1])
    g = np.arange(300_000.0) * float(sys.argv[2])
    for _ in range(15):
        s.put(key, {{"g": g}})
        assert s.get(key) is not None
""")


def test_concurrent_writers_end_with_one_valid_entry(tmp_path):
    script = tmp_path / "racer.py"
    script.write_text(_RACER.format(repo=str(REPO)))
    root = tmp_path / "store"
    procs = [subprocess.Popen([sys.executable, str(script), str(root), str(f)])
             for f in (1.0, 2.0)]
    assert [p.wait(timeout=120) for p in procs] == [0, 0]
    assert len(list(root.glob("*.npz"))) == 1 and not list(root.glob(".*.tmp"))
    g = StatsStore(root).get(BASE)["g"]
    assert any(np.array_equal(g, np.arange(300_000.0) * f) for f in (1.0, 2.0))


def test_cached_ridge_stats_match_direct_and_hit(tmp_path):
    X, y = data()
    store = StatsStore(tmp_path)
    key = dataclasses.replace(BASE, dataset=array_fingerprint(X, y))
    first = cached_ridge_stats(key, X, y, store=store)
    again = cached_ridge_stats(key, X, y, store=store)
    ref = RidgeStats.from_data(X, y)
    assert store.misses == 1 and store.hits == 1
    for a, b, c in zip(first.centered(), again.centered(), ref.centered(), strict=True):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_allclose(a, c, rtol=1e-12, atol=1e-12)
    assert again.n == 60 and np.allclose(again.mean_x, X.astype(np.float64).mean(axis=0))


def test_cached_grouped_stats_per_group_and_kind_separate(tmp_path):
    X, y = data(seed=3)
    groups = np.arange(60) % 3
    store = StatsStore(tmp_path)
    key = dataclasses.replace(BASE, grouping=array_fingerprint(groups))
    per = cached_ridge_stats(key, X, y, groups, 3, store=store)
    ref = grouped_stats(X, y, groups, 3)
    assert len(per) == 3
    for a, b in zip(per, ref, strict=True):
        np.testing.assert_allclose(a.centered()[0], b.centered()[0], rtol=1e-12, atol=1e-12)
        assert a.n == b.n == 20
    whole = cached_ridge_stats(key, X, y, store=store)  # same key, ungrouped: another entry
    assert store.misses == 2 and whole.n == 60
    with pytest.raises(MoEHelpersError):
        cached_ridge_stats(key, X, y, groups, None, store=store)


def test_file_fingerprint_changes_with_content(tmp_path):
    f = tmp_path / "x.h5"
    f.write_bytes(b"a" * 5000)
    first = file_fingerprint(f)
    time.sleep(0.01)
    f.write_bytes(b"a" * 4999 + b"b")
    assert file_fingerprint(f) != first


def test_put_rejects_reserved_or_empty(tmp_path):
    store = StatsStore(tmp_path)
    with pytest.raises(MoEHelpersError):
        store.put(BASE, {})
    with pytest.raises(MoEHelpersError):
        store.put(BASE, {"__meta__": np.ones(1)})


def test_cached_stats_key_includes_weights_and_chunking(tmp_path):
    X, y = data(seed=5)
    w = np.linspace(0.5, 1.5, 60)
    store = StatsStore(tmp_path)
    plain = cached_ridge_stats(BASE, X, y, store=store)
    weighted = cached_ridge_stats(BASE, X, y, weights=w, store=store)
    cached_ridge_stats(BASE, X, y, store=store, chunk_size=7)
    assert store.misses == 3 and store.hits == 0
    assert plain.n == 60 and weighted.n == pytest.approx(w.sum())


# ------------------------------------------------------------------ stored Ridge paths
def ridge_data(n: int = 120, p: int = 9, seed: int = 0):
    rng = np.random.default_rng(seed)
    X = (1.0 + 0.1 * rng.standard_normal((n, p))).astype(np.float32)
    y = X @ rng.standard_normal(p) + 0.05 * rng.standard_normal(n)
    return X[:80], y[:80], X[80:], y[80:]


def test_cached_ridge_fit_equals_a_direct_fit_on_miss_and_hit(tmp_path):
    X, y, Xv, yv = ridge_data()
    direct = RidgeRegressor(DEFAULT_ALPHAS).fit(X, y, Xv, yv)
    store = StatsStore(tmp_path)
    miss = cached_ridge_fit(X, y, Xv, yv, store=store)
    hit = cached_ridge_fit(X, y, Xv, yv, store=store)
    # the miss keeps the path and the Gram it was solved from; the hit reads the path only
    assert (store.misses, store.hits) == (2, 1)
    assert entry_kinds(tmp_path) == ["ridge_path", "ridge_stats"]
    for model in (miss, hit):
        assert model.alpha_ == direct.alpha_
        np.testing.assert_array_equal(model.coef_path_, direct.coef_path_)
        np.testing.assert_array_equal(model.val_scores_, direct.val_scores_)
        np.testing.assert_array_equal(model.predict(Xv), direct.predict(Xv))
        assert (model.solver_, model.method_) == (direct.solver_, direct.method_)


def entry_kinds(folder) -> list[str]:
    """The ``kind`` of every entry in a store folder, sorted (read from the entries)."""
    kinds = []
    for entry in folder.glob("*.npz"):
        with np.load(entry) as z:
            kinds.append(json.loads(bytes(z[store_mod._META]).decode())["key"]["kind"])
    return sorted(kinds)


@pytest.mark.parametrize(("change", "counts"), [
    ("flux", (4, 0)), ("target", (4, 0)),  # other data: another Gram and another path
    ("alphas", (3, 1)), ("intercept", (3, 1)), ("method", (3, 1)),  # the same Gram reused
])
def test_cached_ridge_path_misses_when_anything_that_determines_it_changes(tmp_path, change,
                                                                           counts):
    X, y, _, _ = ridge_data()
    store = StatsStore(tmp_path)
    cached_ridge_path(X, y, store=store)
    X2, y2 = X.copy(), y.copy()
    kw: dict = {}
    if change == "flux":
        X2[3, 4] = np.nextafter(X2[3, 4], np.float32(2))  # one pixel, one ulp
    elif change == "target":
        y2[0] += 1e-12
    elif change == "alphas":
        kw["alphas"] = (*DEFAULT_ALPHAS[:-1], np.nextafter(DEFAULT_ALPHAS[-1], 0))
    elif change == "intercept":
        kw["fit_intercept"] = False
    else:
        kw["method"] = "eigen"
    path = cached_ridge_path(X2, y2, store=store, **kw)
    assert (store.misses, store.hits) == counts
    assert entry_kinds(tmp_path).count("ridge_path") == 2
    direct = RidgeRegressor(kw.get("alphas", DEFAULT_ALPHAS), fit_intercept=kw.get(
        "fit_intercept", True), method=kw.get("method", "auto")).fit(X2, y2, *ridge_data()[2:])
    np.testing.assert_array_equal(path.coefs, direct.coef_path_)


def test_corrupt_ridge_path_entry_is_recomputed(tmp_path):
    X, y, Xv, yv = ridge_data()
    store = StatsStore(tmp_path)
    first = cached_ridge_fit(X, y, Xv, yv, store=store)
    for entry in tmp_path.glob("*.npz"):  # the path and its Gram
        entry.write_bytes(entry.read_bytes()[:-40])  # truncated by a crash of another writer
    again = cached_ridge_fit(X, y, Xv, yv, store=store)
    assert store.discarded == 2 and store.misses == 4
    np.testing.assert_array_equal(again.coef_, first.coef_)


def test_fit_path_and_cached_fit_refuse_mismatched_settings(tmp_path):
    X, y, Xv, yv = ridge_data()
    path = cached_ridge_path(X, y, store=StatsStore(tmp_path))
    with pytest.raises(InvalidParameterError, match="path was computed for"):
        RidgeRegressor([0.1, 1.0]).fit_path(path, Xv, yv)
    with pytest.raises(InvalidParameterError, match="sample weights"):
        cached_ridge_fit(X, y, Xv, yv, store=StatsStore(tmp_path), solver="dual")
    with pytest.raises(InvalidParameterError, match="validation"):
        RidgeRegressor().fit_path(path)


def test_cached_ridge_fit_without_a_store_uses_the_active_one_or_none(tmp_path, monkeypatch):
    """``store=None`` follows the active store, so ``MOE_STATS_CACHE=off`` (no active store)
    writes nothing, also for MVP-0's and the peers page's global Ridge."""
    from moehelpers.engine.store import using_store

    monkeypatch.setenv("MOE_STATS_DIR", str(tmp_path / "default"))
    X, y, Xv, yv = ridge_data()
    direct = RidgeRegressor(DEFAULT_ALPHAS).fit(X, y, Xv, yv)
    plain = cached_ridge_fit(X, y, Xv, yv)
    assert not (tmp_path / "default").exists()
    active = StatsStore(tmp_path / "active")
    with using_store(active):
        stored = cached_ridge_fit(X, y, Xv, yv)
    assert active.misses == 2 and not (tmp_path / "default").exists()
    for model in (plain, stored):
        np.testing.assert_array_equal(model.coef_path_, direct.coef_path_)


def test_fortran_ordered_arrays_are_stored_as_laid_out(tmp_path):
    """A Gram's upper triangle is Fortran-ordered (as the accumulator keeps it): an entry
    stores it so and hands it back so, with no transposing copy, hit or miss."""
    from moehelpers.engine.store import arrays_sha256, shared_stats, using_store

    rng = np.random.default_rng(3)
    F = np.asfortranarray(rng.standard_normal((5, 7)))
    store = StatsStore(tmp_path)
    key = StatsKey(dataset="d", split="train")
    store.put(key, {"f": F, "c": np.ascontiguousarray(F)})
    got = store.get(key)
    assert got["f"].flags.f_contiguous and not got["f"].flags.c_contiguous
    np.testing.assert_array_equal(got["f"], F)
    np.testing.assert_array_equal(got["c"], F)
    assert arrays_sha256({"f": F}) != arrays_sha256({"f": np.ascontiguousarray(F)})
    X, y, _, _ = ridge_data()
    with using_store(store):
        miss, hit = shared_stats(X, y), shared_stats(X, y)
    for s in (miss, hit):
        assert s._upper.flags.f_contiguous
        np.testing.assert_array_equal(s.gram, RidgeStats.from_data(X, y).gram)
