"""Noise-conditioned experts (MVP-2.0): pooled statistics, cross-noise matrix, bootstrap."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from moehelpers.data.spectra import SpectraSet
from moehelpers.data.splits import Splits, noisy_splits
from moehelpers.engine.ridge import RidgeRegressor
from moehelpers.errors import InvalidParameterError
from moehelpers.metrics import paired_bootstrap, r2
from moehelpers.models.noise_experts import NoiseExperts, check_levels, compare_matched, cross_noise

ALPHAS = list(np.logspace(-4, 3, 8))


def _spectra(n: int, rng: np.random.Generator, patterns: np.ndarray) -> SpectraSet:
    """log g is exactly recoverable from clean flux only through a faint pixel pattern.

    ``c`` carries ``(log g − 3) + w`` at a useful amplitude; the nuisance ``w`` is revealed
    only by ``b`` at amplitude 0.001, far below the error (0.05): a model trained on clean
    flux leans on ``b`` with huge weights, which amplify noise.
    """
    a, b, c = patterns
    p = a.size
    y = rng.uniform(1.0, 5.0, n)
    z, w = rng.normal(size=(2, n))
    flux = 1 + 0.2 * z[:, None] * a + 0.03 * ((y - 3) + w)[:, None] * c + 0.001 * w[:, None] * b
    error = 0.05 * (1 + 0.2 * rng.random((n, p)))
    labels = pd.DataFrame({"T_eff": rng.uniform(3750, 6000, n), "log_g": y,
                           "M_H": rng.uniform(-2.0, 0.5, n)})
    return SpectraSet(np.linspace(7100.0, 8850.0, p), flux, error, labels)


def _splits(n_train: int = 400, n_val: int = 200, n_test: int = 300, p: int = 40,
            seed: int = 0) -> Splits:
    rng = np.random.default_rng(seed)
    patterns = rng.normal(size=(3, p))
    sets = [_spectra(n, rng, patterns) for n in (n_train, n_val, n_test)]
    return Splits(*sets, identity={})


@pytest.fixture(scope="module")
def fitted() -> tuple[Splits, NoiseExperts]:
    splits = _splits()
    return splits, NoiseExperts([0.0, 0.2, 1.0], alphas=ALPHAS, seed=7).fit(splits)


def test_mixed_from_summed_stats_equals_stacked_fit() -> None:
    splits = _splits(n_train=80, n_val=30, n_test=30, p=12, seed=3)
    levels = [0.0, 0.5, 1.0]
    model = NoiseExperts(levels, alphas=ALPHAS, seed=5).fit(splits)
    noisy = [noisy_splits(splits, lv, 5, which=("train", "val")) for lv in levels]
    x_tr = np.vstack([d["train"] for d in noisy])
    x_val = np.vstack([d["val"] for d in noisy])
    ref = RidgeRegressor(alphas=ALPHAS, solver="primal").fit(
        x_tr, np.tile(splits.train.y, 3), x_val, np.tile(splits.val.y, 3))
    assert model.mixed_.alpha_ == ref.alpha_
    np.testing.assert_allclose(model.mixed_.coef_path_, ref.coef_path_, rtol=0, atol=1e-8)
    np.testing.assert_allclose(model.mixed_.intercept_, ref.intercept_, rtol=0, atol=1e-8)
    np.testing.assert_allclose(model.mixed_.val_scores_, ref.val_scores_, rtol=0, atol=1e-10)
    for k, level in enumerate(levels):  # each expert is a Ridge on its own level only
        exp = RidgeRegressor(alphas=ALPHAS, solver="primal").fit(
            noisy[k]["train"], splits.train.y, noisy[k]["val"], splits.val.y)
        np.testing.assert_allclose(model.expert(level).coef_, exp.coef_, rtol=0, atol=1e-8)
        assert model.expert_alphas_[k] == exp.alpha_


def test_cross_matrix_shape_and_diagonal(fitted: tuple[Splits, NoiseExperts]) -> None:
    splits, model = fitted
    cross = cross_noise(model, splits)
    assert cross.r2.shape == (3, 3) and cross.r2_mixed.shape == (3,)
    assert cross.pred.shape == (3, 3, len(splits.test))
    for k, level in enumerate(model.levels_):
        x = noisy_splits(splits, level, 7, which=("test",))["test"]
        own = r2(splits.test.y, model.expert(level).predict(x))
        assert cross.r2[k, k] == pytest.approx(own, abs=1e-12)
        assert cross.r2_matched[k] == pytest.approx(own, abs=1e-12)
        assert cross.r2_mixed[k] == pytest.approx(r2(splits.test.y, model.predict_mixed(x)))
    table = cross.frame()
    assert list(table["model"]) == ["expert 0", "expert 0.2", "expert 1", "mixed"]
    assert table.shape == (4, 5)


def test_noise0_expert_does_not_generalise(fitted: tuple[Splits, NoiseExperts]) -> None:
    splits, model = fitted
    cross = cross_noise(model, splits)
    assert cross.r2_of(0.0, 0.0) > 0.99  # perfect on clean spectra …
    assert cross.r2_of(0.0, 1.0) < 0  # … useless on noisy ones
    assert cross.r2_of(1.0, 1.0) > cross.r2_of(0.0, 1.0) + 1.0
    assert cross.r2_of(1.0, 0.0) > 0.3  # the high-noise expert still works on clean spectra
    assert model.expert_alphas_[0] < model.expert_alphas_[-1]  # more noise → larger α


def test_unmatched_test_levels_and_comparison(fitted: tuple[Splits, NoiseExperts]) -> None:
    splits, model = fitted
    cross = cross_noise(model, splits, test_levels=[0.2, 0.7])
    assert cross.matched_index().tolist() == [1, -1]
    assert np.isnan(cross.r2_matched[1]) and np.isnan(cross.r2_of(0.0, 0.5))
    cmp = compare_matched(cross, n_boot=100, seed=3)
    assert cmp.table["noise_level"].tolist() == [0.2]

    full = compare_matched(cross_noise(model, splits), n_boot=200, seed=3)
    tab = full.table
    np.testing.assert_allclose(tab["delta_r2"], tab["r2_expert"] - tab["r2_mixed"])
    assert (tab["delta_lo"] <= tab["delta_r2"]).all() and (tab["delta_r2"] <= tab["delta_hi"]).all()
    assert full.mean_delta == pytest.approx(tab["delta_r2"].mean())
    assert full.mean_ci_low <= full.mean_delta <= full.mean_ci_high
    cr = cross_noise(model, splits)
    one = paired_bootstrap(cr.y, cr.pred[2, 2], cr.pred_mixed[2], n_boot=200, seed=3)
    np.testing.assert_allclose(full.distribution[2], one.distribution)  # same resamples


def test_predict_routes_by_noise_level(fitted: tuple[Splits, NoiseExperts]) -> None:
    splits, model = fitted
    x = noisy_splits(splits, 0.2, 7, which=("test",))["test"]
    np.testing.assert_allclose(model.predict(x, 0.15), model.expert(0.2).predict(x))
    per_row = np.where(np.arange(len(x)) % 2 == 0, 0.0, 0.9)
    out = model.predict(x, per_row)
    np.testing.assert_allclose(out[::2], model.expert(0.0).predict(x[::2]))
    np.testing.assert_allclose(out[1::2], model.expert(1.0).predict(x[1::2]))


@pytest.mark.parametrize("bad", [[], [0.1, 0.1], [-0.2, 0.5], [np.nan], "x", None])
def test_bad_levels_raise(bad: object) -> None:
    with pytest.raises(InvalidParameterError):
        check_levels(bad)


def test_missing_expert_raises(fitted: tuple[Splits, NoiseExperts]) -> None:
    _, model = fitted
    with pytest.raises(InvalidParameterError, match="experts exist at"):
        model.expert(0.3)
