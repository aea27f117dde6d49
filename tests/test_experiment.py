"""experiment.resplit: new train/val/test draws from the pooled stars."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import random_spectraset

from moehelpers.data.splits import SPLITS, Splits, bin_pixels, noisy_splits, resplit
from moehelpers.errors import InvalidParameterError


def _splits() -> Splits:
    sets = {s: random_spectraset(n, 16, seed=k, with_mask=True)
            for k, (s, n) in enumerate((("train", 30), ("val", 10), ("test", 12)))}
    return Splits(**sets, identity={"generator": {"test": 1}})


def test_resplit_draws_new_disjoint_splits_from_the_pool() -> None:
    old = _splits()
    pool_flux = np.concatenate([old[s].flux for s in SPLITS])
    pool_logg = np.concatenate([old[s].y for s in SPLITS])
    new = resplit(old, 123)
    assert new.sizes() == old.sizes()
    seen = np.concatenate([new[s].meta["pooled_index"] for s in SPLITS])
    assert np.array_equal(np.sort(seen), np.arange(52))
    for s in SPLITS:
        idx = new[s].meta["pooled_index"]
        np.testing.assert_array_equal(new[s].flux, pool_flux[idx])
        np.testing.assert_array_equal(new[s].y, pool_logg[idx])
        assert new[s].mask is not None and new[s].labels.index.tolist() == list(range(len(idx)))
    assert new.identity["resplit"] == {"seed": 123, "sizes": old.sizes()}
    assert new.identity["generator"] == {"test": 1}
    again = resplit(old, 123)
    assert all(np.array_equal(again[s].flux, new[s].flux) for s in SPLITS)
    other = resplit(old, 124)
    assert not np.array_equal(other.train.flux, new.train.flux)
    assert noisy_splits(new, 0.5, 1)["test"].shape == new.test.flux.shape


def test_resplit_sizes_are_checked() -> None:
    old = _splits()
    small = resplit(old, 1, n_train=20, n_val=5, n_test=5)
    assert small.sizes() == {"train": 20, "val": 5, "test": 5}
    with pytest.raises(InvalidParameterError, match="52 pooled"):
        resplit(old, 1, n_train=50)
    with pytest.raises(InvalidParameterError, match="seed"):
        resplit(old, -1)


def test_bin_pixels_averages_adjacent_pixels() -> None:
    X = np.arange(14, dtype=np.float32).reshape(2, 7)
    out = bin_pixels(X, 3)
    assert out.dtype == np.float32 and out.shape == (2, 3)
    np.testing.assert_allclose(out[0], [1.0, 4.0, 6.0])  # last group holds one pixel
    np.testing.assert_allclose(out[1], [8.0, 11.0, 13.0])
    assert bin_pixels(X, 1) is X
    with pytest.raises(InvalidParameterError, match="factor"):
        bin_pixels(X, 0)


def test_pool_levels_stacks_the_frozen_noisy_copies_level_after_level() -> None:
    from moehelpers.data.splits import pool_levels

    splits = _splits()
    X, y, labels = pool_levels(splits, [0.0, 0.5, 2.0], 7)
    assert set(X) == {"train", "val"} and X["train"].dtype == np.float32
    n = len(splits.train)
    assert X["train"].shape == (3 * n, splits.train.n_pixels)
    for k, lv in enumerate([0.0, 0.5, 2.0]):
        noisy = noisy_splits(splits, lv, 7)
        assert np.array_equal(X["train"][k * n:(k + 1) * n], noisy["train"])
        assert np.array_equal(X["val"][k * 10:(k + 1) * 10], noisy["val"])
    assert np.array_equal(y["val"], np.tile(splits.val.y, 3))
    assert labels["train"]["noise"].tolist() == [0.0] * n + [0.5] * n + [2.0] * n
    assert np.array_equal(labels["train"]["T_eff"].to_numpy()[n:2 * n],
                          splits.train.labels["T_eff"].to_numpy())
    X, _, _ = pool_levels(splits, [1.0], 7, which=("test",))
    assert list(X) == ["test"]
