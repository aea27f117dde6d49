"""ConditionalRidge: one Ridge on [x, m·x, m²·x] solved from weighted Gram blocks."""

from __future__ import annotations

import numpy as np
import pytest

from moehelpers.engine.ridge import RidgeRegressor, RidgeStats
from moehelpers.errors import InvalidParameterError, ShapeMismatchError
from moehelpers.models.piecewise import ConditionalRidge, moment_stats

ALPHAS = [1e-3, 1e-1, 10.0]


def _data(n: int, p: int = 6, seed: int = 0):
    rng = np.random.default_rng(seed)
    X = (1.0 + 0.1 * rng.normal(size=(n, p))).astype(np.float32)  # flux-like: offset ≫ spread
    m = rng.uniform(-2.5, 0.5, n)
    w = np.random.default_rng(123).normal(size=(3, p))  # the same relation in every split
    y = 2.5 + X @ w[0] + m * (X @ w[1]) + 0.3 * m**2 * (X @ w[2]) + 0.5 * rng.normal(size=n)
    return X, y, m


def _expanded(X, ms, order):
    X = np.asarray(X, dtype=np.float64)
    return np.hstack([X * (ms**k)[:, None] for k in range(order + 1)])


@pytest.mark.parametrize("order", [0, 1, 2])
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_equals_ridge_on_explicit_features(order: int, fit_intercept: bool) -> None:
    X, y, m = _data(400)
    Xv, yv, mv = _data(150, seed=1)
    model = ConditionalRidge(order, ALPHAS, fit_intercept=fit_intercept, chunk_size=64)
    model.fit(X, y, m, Xv, yv, mv)
    ms, msv = model.scale(m), model.scale(mv)
    assert abs(ms.mean()) < 1e-12 and abs(ms.std() - 1) < 1e-12  # standardised on train
    ref = RidgeRegressor(ALPHAS, fit_intercept=fit_intercept, solver="primal")
    ref.fit(_expanded(X, ms, order), y, _expanded(Xv, msv, order), yv)
    assert model.alpha_ == ref.alpha_
    np.testing.assert_allclose(model.val_scores_, ref.val_scores_, rtol=0, atol=1e-8)
    np.testing.assert_allclose(model.coef_, ref.coef_, rtol=0, atol=1e-8)
    assert abs(model.intercept_ - ref.intercept_) < 1e-8
    np.testing.assert_allclose(model.predict(Xv, mv), ref.predict(_expanded(Xv, msv, order)),
                               rtol=0, atol=1e-8)
    assert model.coef_blocks_.shape == (order + 1, X.shape[1])


@pytest.mark.parametrize("search", ["grid", "walk"])
def test_dual_solve_from_rows_equals_the_moment_fit(search: str) -> None:
    """Fewer rows (50) than features (3 × 40): fit_moments(train=...) and fit() take the dual
    system; both give the primal model, α and validation scores."""
    rng = np.random.default_rng(5)
    X, m = rng.normal(size=(50, 40)), rng.uniform(-2.5, 0.5, 50)
    y = X[:, 0] + m * X[:, 1] + 0.1 * rng.normal(size=50)
    Xv, mv = rng.normal(size=(30, 40)), rng.uniform(-2.5, 0.5, 30)
    yv = Xv[:, 0] + mv * Xv[:, 1]
    alphas = [1e-3, 1e-2, 1e-1, 1.0, 10.0]
    moments = moment_stats(X, y, (m - m.mean()) / m.std(), 4)
    primal = ConditionalRidge(2, alphas, alpha_search=search).fit_moments(
        moments, m.mean(), m.std(), Xv, yv, mv)
    for model in (ConditionalRidge(2, alphas, alpha_search=search).fit_moments(
                      moments, m.mean(), m.std(), Xv, yv, mv, train=(X, y, m)),
                  ConditionalRidge(2, alphas, alpha_search=search).fit(X, y, m, Xv, yv, mv),
                  ConditionalRidge(2, alphas, alpha_search=search, solver="dual").fit(
                      X, y, m, Xv, yv, mv)):
        assert model.alpha_ == primal.alpha_
        np.testing.assert_allclose(model.val_scores_, primal.val_scores_, atol=1e-9)
        np.testing.assert_allclose(model.predict(Xv, mv), primal.predict(Xv, mv), atol=1e-8)


def test_order_zero_is_plain_ridge_and_m_is_ignored() -> None:
    X, y, m = _data(300)
    Xv, yv, mv = _data(100, seed=1)
    model = ConditionalRidge(0, ALPHAS).fit(X, y, m, Xv, yv, mv)
    ref = RidgeRegressor(ALPHAS).fit(X, y, Xv, yv)
    np.testing.assert_allclose(model.coef_, ref.coef_, atol=1e-8)
    np.testing.assert_allclose(model.predict(Xv, mv), ref.predict(Xv), atol=1e-8)
    np.testing.assert_allclose(model.predict(Xv, mv + 5), ref.predict(Xv), atol=1e-8)


def test_shared_moments_and_base_statistics_give_the_same_fit() -> None:
    X, y, m = _data(300)
    Xv, yv, mv = _data(100, seed=1)
    full = ConditionalRidge(2, ALPHAS).fit(X, y, m, Xv, yv, mv)
    ms = full.scale(m)
    base = RidgeStats.from_data(X, y)  # e.g. the global model's statistics
    moments = moment_stats(X, y, ms, 4, base=base)
    assert moments[0] is base and all(np.array_equal(s.shift, base.shift) for s in moments[1:])
    for order in (1, 2):
        a = ConditionalRidge(order, ALPHAS).fit_moments(moments, full.m_mean_, full.m_scale_,
                                                        Xv, yv, mv)
        b = ConditionalRidge(order, ALPHAS).fit(X, y, m, Xv, yv, mv)
        np.testing.assert_allclose(a.coef_, b.coef_, atol=1e-8)
    # raw m (no standardisation) spans the same functions: near-exact fit at tiny α
    raw = ConditionalRidge(2, 1e-8, standardize=False).fit(X, y, m)
    assert raw.m_mean_ == 0.0 and raw.m_scale_ == 1.0


def test_conditional_ridge_rejects_bad_input() -> None:
    X, y, m = _data(50)
    with pytest.raises(InvalidParameterError, match="order"):
        ConditionalRidge(3, 1.0).fit(X, y, m)
    with pytest.raises(InvalidParameterError, match="validation"):
        ConditionalRidge(1, ALPHAS).fit(X, y, m)
    with pytest.raises(ShapeMismatchError, match="one per spectrum"):
        ConditionalRidge(1, 1.0).fit(X, y, m[:-1])
    with pytest.raises(InvalidParameterError, match="constant"):
        ConditionalRidge(1, 1.0).fit(X, y, np.zeros(50))
    with pytest.raises(InvalidParameterError, match="needs 5 moment"):
        ConditionalRidge(2, 1.0).fit_moments(moment_stats(X, y, m, 2), 0.0, 1.0)


@pytest.mark.parametrize("order", [1, 2])
def test_alpha_walk_finds_the_grid_choice_with_fewer_solves(order: int) -> None:
    X, y, m = _data(400)
    Xv, yv, mv = _data(150, seed=1)
    alphas = np.logspace(-4, 4, 9)[::-1]  # unsorted on purpose
    grid = ConditionalRidge(order, alphas).fit(X, y, m, Xv, yv, mv)
    walk = ConditionalRidge(order, alphas, alpha_search="walk").fit(X, y, m, Xv, yv, mv)
    assert walk.alpha_ == grid.alpha_
    np.testing.assert_allclose(walk.coef_, grid.coef_, atol=1e-10)
    visited = np.isfinite(walk.val_scores_)
    assert 3 <= visited.sum() < alphas.size
    np.testing.assert_allclose(walk.val_scores_[visited], grid.val_scores_[visited], atol=1e-12)
    with pytest.raises(InvalidParameterError, match="alpha_search"):
        ConditionalRidge(order, alphas, alpha_search="nope").fit(X, y, m, Xv, yv, mv)


def test_standardized_moments_standardise_on_the_given_stars() -> None:
    from moehelpers.models.conditional import standardized_moments

    rng = np.random.default_rng(0)
    X, m = rng.normal(size=(200, 3)), rng.uniform(-2, 0.5, 200)
    y = X @ [1.0, 2.0, 0.0] + m * X[:, 2]
    base = RidgeStats.from_data(X, y)
    moments, mean, sd = standardized_moments(X, y, m, 2, base=base)
    assert mean == pytest.approx(m.mean()) and sd == pytest.approx(m.std())
    ref = moment_stats(X, y, (m - mean) / sd, 2, base=base)
    assert len(moments) == 3 and moments[0] is base
    for a, b in zip(moments, ref, strict=True):
        np.testing.assert_allclose(a.gram, b.gram)


def test_fit_orders_fits_every_source_and_order_with_one_baseline() -> None:
    from moehelpers.models.conditional import fit_orders

    X, y, m = _data(300)
    Xv, yv, mv = _data(100, seed=1)
    rng = np.random.default_rng(5)
    noisy = {"train": m + 0.3 * rng.normal(size=m.size), "val": mv + 0.3 * rng.normal(size=mv.size)}
    Xs, ys = {"train": X, "val": Xv}, {"train": y, "val": yv}
    sources = {"true": {"train": m, "val": mv}, "pred": noisy}
    models = fit_orders(sources, Xs, ys, [0, 1, 2], ALPHAS, alpha_search="grid",
                        base=RidgeStats.from_data(X, y))
    assert list(models) == [("true", 0), ("true", 1), ("true", 2), ("pred", 1), ("pred", 2)]
    for (source, order), model in models.items():
        direct = ConditionalRidge(order, ALPHAS, alpha_search="grid").fit(
            X, y, sources[source]["train"], Xv, yv, sources[source]["val"])
        assert model.order == order and model.alpha_ == direct.alpha_
        np.testing.assert_allclose(model.coef_, direct.coef_, atol=1e-8)
    assert not np.allclose(models[("true", 1)].coef_, models[("pred", 1)].coef_)
