"""ModulatedRidge: one Ridge on [x, z₁·x, …, z_K·x] solved from weighted Gram blocks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import Ridge

from moehelpers import metrics
from moehelpers.engine.ridge import RidgeRegressor, RidgeStats
from moehelpers.errors import InvalidParameterError, MissingLabelError, ShapeMismatchError
from moehelpers.models.conditional import ConditionalRidge
from moehelpers.models.modulated import (
    ModulatedRidge,
    ModulatorScaling,
    gram_monomials,
    modulated_stats,
    term_exponents,
)

ALPHAS = [1e-3, 1e-1, 10.0]
PP = ["m", "t", "m*t", "m^2", "t^2"]  # Conditional Ridge++ (MVP-7.2)


def _data(n: int, p: int = 5, seed: int = 0):
    rng = np.random.default_rng(seed)
    X = (1.0 + 0.1 * rng.normal(size=(n, p))).astype(np.float32)  # flux-like: offset ≫ spread
    Z = pd.DataFrame({"t": rng.uniform(4000, 6500, n), "m": rng.uniform(-2.5, 0.5, n),
                      "junk": rng.normal(size=n)})
    m = (Z["m"].to_numpy() + 1) / 0.9
    t = (Z["t"].to_numpy() - 5250) / 700
    w = np.random.default_rng(123).normal(size=(4, p))  # the same relation in every split
    y = (2.5 + X @ w[0] + m * (X @ w[1]) + m * t * (X @ w[2]) + 0.3 * t**2 * (X @ w[3])
         + 0.3 * rng.normal(size=n))
    return X, y, Z


def _wide(X, Z, model):
    """The explicit design [x, z₁·x, …] that the model never builds."""
    zv = model._zvals(Z, X.shape[0])
    X = np.asarray(X, dtype=np.float64)
    return np.hstack([X * zv[:, [k]] for k in range(zv.shape[1])])


@pytest.mark.parametrize("terms", [["m"], ["m", "t"], ["m", "t", "m*t"], PP])
@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("solver", ["primal", "dual"])
def test_equals_sklearn_ridge_on_the_explicit_wide_design(terms, fit_intercept, solver) -> None:
    X, y, Z = _data(500)
    model = ModulatedRidge(terms, 0.5, fit_intercept=fit_intercept, chunk_size=64,
                           solver=solver).fit(X, y, Z)
    V = model.scaling_.transform(Z)
    np.testing.assert_allclose(V.mean(axis=0), 0, atol=1e-12)  # standardised on train
    np.testing.assert_allclose(V.std(axis=0), 1, atol=1e-12)
    assert model.scaling_.names == tuple(dict.fromkeys(c for t in terms for c in "mt" if c in t))
    ref = Ridge(alpha=0.5, fit_intercept=fit_intercept, solver="cholesky", tol=1e-14)
    ref.fit(_wide(X, Z, model), y)
    np.testing.assert_allclose(model.coef_, ref.coef_, rtol=0, atol=1e-8)
    assert abs(model.intercept_ - float(ref.intercept_)) < 1e-8
    Xv, _, Zv = _data(100, seed=1)
    np.testing.assert_allclose(model.predict(Xv, Zv), ref.predict(_wide(Xv, Zv, model)),
                               rtol=0, atol=1e-8)
    assert model.coef_blocks_.shape == (len(terms) + 1, X.shape[1])


@pytest.mark.parametrize("search", ["grid", "walk"])
@pytest.mark.parametrize("solver", ["primal", "dual"])
def test_alpha_on_validation_matches_the_explicit_design(search: str, solver: str) -> None:
    X, y, Z = _data(400)
    Xv, yv, Zv = _data(150, seed=1)
    alphas = [1e-4, 1e-3, 1e-2, 1e-1, 1.0, 10.0, 100.0]
    model = ModulatedRidge(PP, alphas, alpha_search=search, solver=solver).fit(X, y, Z, Xv, yv,
                                                                               Zv)
    ref = RidgeRegressor(alphas, solver="primal").fit(_wide(X, Z, model), y,
                                                      _wide(Xv, Zv, model), yv)
    assert model.alpha_ == ref.alpha_
    seen = ~np.isnan(model.val_scores_)
    np.testing.assert_allclose(model.val_scores_[seen], ref.val_scores_[seen], atol=1e-8)
    np.testing.assert_allclose(model.coef_, ref.coef_, rtol=0, atol=1e-8)
    if search == "walk":
        assert seen.sum() < len(alphas)


def test_fewer_rows_than_features_solve_the_dual_system_and_give_the_same_model(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """n = 40 rows, (5+1)·30 = 180 features: "auto" solves the 40 × 40 kernel system, from
    fit() and from fit_stats(train=...), and the model equals the primal one."""
    X, y, Z = _data(40, p=30)
    Xv, yv, Zv = _data(60, p=30, seed=1)
    alphas = [1e-3, 1e-1, 10.0, 1e3]
    primal = ModulatedRidge(PP, alphas, solver="primal").fit(X, y, Z, Xv, yv, Zv)
    scaling = ModulatorScaling.fit(Z, names=("m", "t"))
    stats = modulated_stats(X, y, scaling.transform(Z), gram_monomials(term_exponents(PP,
                                                                                      "mt")))

    def refuse(*args, **kwargs):
        raise AssertionError("the primal system was solved")

    monkeypatch.setattr(ModulatedRidge, "_solve", refuse)
    for model in (ModulatedRidge(PP, alphas).fit(X, y, Z, Xv, yv, Zv),
                  ModulatedRidge(PP, alphas).fit_stats(stats, scaling, Xv, yv, Zv,
                                                       train=(X, y, Z))):
        assert model.alpha_ == primal.alpha_
        np.testing.assert_allclose(model.val_scores_, primal.val_scores_, atol=1e-9)
        np.testing.assert_allclose(model.coef_, primal.coef_, rtol=0,
                                   atol=1e-8 * np.abs(primal.coef_).max())
        np.testing.assert_allclose(model.predict(Xv, Zv), primal.predict(Xv, Zv), atol=1e-8)
    monkeypatch.undo()
    # without rows fit_stats stays primal; a forced dual without rows, or rows that are not
    # the statistics' own, are refused
    ModulatedRidge(PP, alphas).fit_stats(stats, scaling, Xv, yv, Zv)
    with pytest.raises(InvalidParameterError, match="needs the training rows"):
        ModulatedRidge(PP, alphas, solver="dual").fit_stats(stats, scaling, Xv, yv, Zv)
    with pytest.raises(ShapeMismatchError, match="40"):
        ModulatedRidge(PP, alphas).fit_stats(stats, scaling, Xv, yv, Zv, train=(Xv, yv, Zv))
    with pytest.raises(InvalidParameterError, match="solver"):
        ModulatedRidge(PP, alphas, solver="kernel").fit(X, y, Z, Xv, yv, Zv)


def test_walk_starts_where_asked() -> None:
    X, y, Z = _data(400)
    Xv, yv, Zv = _data(150, seed=1)
    alphas = np.logspace(-4, 4, 9)
    grid = ModulatedRidge(["m"], alphas).fit(X, y, Z, Xv, yv, Zv)
    walk = ModulatedRidge(["m"], alphas, alpha_search="walk",
                          alpha_start=grid.alpha_).fit(X, y, Z, Xv, yv, Zv)
    assert walk.alpha_ == grid.alpha_
    assert np.sum(~np.isnan(walk.val_scores_)) <= 3  # started at the optimum: 3 solves


@pytest.mark.parametrize("order", [1, 2])
def test_one_modulator_equals_conditional_ridge(order: int) -> None:
    X, y, Z = _data(400)
    Xv, yv, Zv = _data(150, seed=1)
    terms = ["M_H", "M_H^2"][:order]
    Zr, Zvr = Z.rename(columns={"m": "M_H"}), Zv.rename(columns={"m": "M_H"})
    model = ModulatedRidge(terms, ALPHAS).fit(X, y, Zr, Xv, yv, Zvr)
    cond = ConditionalRidge(order, ALPHAS).fit(X, y, Z["m"], Xv, yv, Zv["m"])
    assert model.alpha_ == cond.alpha_
    np.testing.assert_allclose(model.coef_, cond.coef_, rtol=0, atol=1e-9)
    np.testing.assert_allclose(model.predict(Xv, Zvr), cond.predict(Xv, Zv["m"]), atol=1e-9)


def test_arrays_mappings_and_terms_none() -> None:
    X, y, Z = _data(300)
    by_frame = ModulatedRidge(None, 1.0).fit(X, y, Z[["m", "t"]])
    by_array = ModulatedRidge(None, 1.0).fit(X, y, Z[["m", "t"]].to_numpy())
    by_terms = ModulatedRidge(["m", "t"], 1.0).fit(X, y, {c: Z[c] for c in Z})
    np.testing.assert_allclose(by_frame.coef_, by_array.coef_, atol=1e-10)
    np.testing.assert_allclose(by_frame.coef_, by_terms.coef_, atol=1e-10)
    assert by_array.terms_ == ["z0", "z1"] and by_terms.terms_ == ["m", "t"]
    shuffled = Z[["junk", "t", "m"]]  # column order and extra columns do not matter
    np.testing.assert_allclose(by_terms.predict(X, shuffled), by_frame.predict(X, Z), atol=1e-10)


def test_shared_statistics_give_the_same_fit_and_are_deduplicated() -> None:
    X, y, Z = _data(300)
    Xv, yv, Zv = _data(100, seed=1)
    exps = term_exponents(PP, ["m", "t"])
    monos = gram_monomials(exps)
    assert len(monos) == 15  # 21 pairs, 15 distinct monomials m^i t^j
    assert gram_monomials(term_exponents(["m", "t"], ["m", "t"])) == sorted(
        [(0, 0), (1, 0), (0, 1), (2, 0), (1, 1), (0, 2)])
    scaling = ModulatorScaling.fit(Z[["m", "t"]])
    V = scaling.transform(Z)
    base = RidgeStats.from_data(X, y)
    small = modulated_stats(X, y, V, gram_monomials(exps[:2]), base=base)
    assert small[(0, 0)] is base  # reused, not recomputed
    stats = modulated_stats(X, y, V, monos, cache=small)
    assert stats[(1, 0)] is small[(1, 0)] and len(stats) == 15
    for terms in (["m", "t"], PP):
        shared = ModulatedRidge(terms, ALPHAS).fit_stats(stats, scaling, Xv, yv, Zv)
        alone = ModulatedRidge(terms, ALPHAS).fit(X, y, Z, Xv, yv, Zv)
        np.testing.assert_allclose(shared.coef_, alone.coef_, atol=1e-9)


def test_recovers_a_modulated_relation() -> None:
    X, y, Z = _data(4000, seed=3)
    Xv, yv, Zv = _data(500, seed=4)
    r2 = {tuple(t): ModulatedRidge(t, ALPHAS).fit(X, y, Z, Xv, yv, Zv).score(Xv, yv, Zv)
          for t in (["m"], ["m", "t", "m*t"], PP)}
    model = ModulatedRidge(PP, ALPHAS).fit(X, y, Z, Xv, yv, Zv)
    assert r2[tuple(PP)] == pytest.approx(metrics.r2(yv, model.predict(Xv, Zv)))
    assert r2[tuple(PP)] > r2[("m", "t", "m*t")] > r2[("m",)]


def test_errors_name_the_problem() -> None:
    X, y, Z = _data(200)
    Xv, yv, _ = _data(50, seed=1)
    with pytest.raises(InvalidParameterError, match="factor"):
        ModulatedRidge(["m*q^"], 1.0).fit(X, y, Z)
    with pytest.raises(MissingLabelError, match="not in Z"):
        ModulatedRidge(["m", "feh"], 1.0).fit(X, y, Z)
    with pytest.raises(InvalidParameterError, match="repeat"):
        ModulatedRidge(["m*t", "t*m"], 1.0).fit(X, y, Z)
    with pytest.raises(InvalidParameterError, match="validation"):
        ModulatedRidge(["m"], ALPHAS).fit(X, y, Z)
    with pytest.raises(InvalidParameterError, match="together"):
        ModulatedRidge(["m"], ALPHAS).fit(X, y, Z, Xv, yv)
    with pytest.raises(InvalidParameterError, match="constant"):
        ModulatedRidge(["c"], 1.0).fit(X, y, {"c": np.ones(200)})
    bad = Z.copy()
    bad.loc[3, "m"] = np.nan
    with pytest.raises(InvalidParameterError, match="NaN"):
        ModulatedRidge(["m"], 1.0).fit(X, y, bad)
    with pytest.raises(ShapeMismatchError, match="rows"):
        ModulatedRidge(["m"], 1.0).fit(X, y, Z).predict(X[:10], Z)
    scaling = ModulatorScaling.fit(Z[["m", "t"]])
    stats = modulated_stats(X, y, scaling.transform(Z), [(0, 0), (1, 0), (2, 0)])
    with pytest.raises(InvalidParameterError, match="missing"):
        ModulatedRidge(["m", "t"], 1.0).fit_stats(stats, scaling)


def test_step_helpers_parse_share_statistics_and_walk_alpha() -> None:
    from moehelpers.models.modulated import (
        fit_steps,
        label_modulators,
        parse_steps,
        step_monomials,
        step_name,
        step_stats,
    )

    steps = parse_steps(["m", " m, t ,", "m, t, m*t, m^2, t^2"])
    assert steps == [["m"], ["m", "t"], PP]
    assert step_name(steps[1]) == "[x, m·x, t·x]"
    assert step_monomials(steps, ["m", "t"]) == gram_monomials(term_exponents(PP, ["m", "t"]))
    labels = pd.DataFrame({"M_H": [-1.0, 0.0], "T_eff": [5000.0, 6000.0], "log_g": [2.0, 4.0]})
    z = label_modulators(labels)
    assert list(z.columns) == ["m", "t"] and z["t"].tolist() == [5000.0, 6000.0]
    X, y, Z = _data(300)
    Xv, yv, Zv = _data(100, seed=1)
    Z, Zv = Z[["m", "t"]], Zv[["m", "t"]]
    base = RidgeStats.from_data(X, y)
    stats, scaling, monos = step_stats(steps, X, y, Z, base=base)
    assert stats[(0, 0)] is base and len(monos) == 15 and set(monos) <= set(stats)
    models, seconds = fit_steps(steps, stats, scaling, Xv, yv, Zv, ALPHAS, alpha_start=10.0)
    assert len(models) == len(seconds) == 3 and all(s >= 0 for s in seconds)
    for terms, model in zip(steps, models, strict=True):
        alone = ModulatedRidge(terms, ALPHAS, alpha_search="walk",
                               alpha_start=model.alpha_start).fit(X, y, Z, Xv, yv, Zv)
        assert alone.alpha_ == model.alpha_
        np.testing.assert_allclose(model.coef_, alone.coef_, atol=1e-9)
    assert models[0].alpha_start == 10.0
    assert [m.alpha_start for m in models[1:]] == [m.alpha_ for m in models[:-1]]
