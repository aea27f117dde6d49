"""Piecewise Ridge: known per-bin truth, equality with plain Ridge fits, routing, contract."""

from __future__ import annotations

import doctest
import itertools

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

import moehelpers.models.piecewise as moe_mod
from moehelpers.engine.ridge import RidgeRegressor, RidgeStats
from moehelpers.errors import (
    BinTooSmallError,
    InvalidParameterError,
    MissingLabelError,
    ShapeMismatchError,
)
from moehelpers.metrics import r2
from moehelpers.models.bins import mh_only, physical_3x3, teff_only
from moehelpers.models.piecewise import PiecewiseRidge, fit_together

ALPHAS = [1e-3, 1e-2, 1e-1, 1.0, 10.0, 100.0]


def piecewise_data(n: int, p: int, seed: int, *, noise: float = 0.05,
                   mh: tuple[float, float] = (-2.5, 0.5)) -> tuple:
    """Labels over the study's box; y is linear in X with a different (w, b) in every
    physical bin, and yet another for uncovered stars."""
    rng = np.random.default_rng(seed)
    labels = pd.DataFrame({"T_eff": rng.uniform(3750, 6000, n), "M_H": rng.uniform(*mh, n)})
    X = rng.normal(size=(n, p)).astype(np.float32)
    bins = physical_3x3().assign(labels)
    w = rng.normal(size=(10, p))
    b = rng.normal(size=10)
    k = np.where(bins >= 0, bins, 9)
    y = np.einsum("ij,ij->i", X, w[k]) + b[k] + noise * rng.normal(size=n)
    return X, y, labels


def split(n_train: int, n_val: int, n_test: int, p: int, seed: int = 0, **kw) -> list:
    X, y, lab = piecewise_data(n_train + n_val + n_test, p, seed, **kw)
    cuts = np.cumsum([0, n_train, n_val, n_test])
    return [(X[a:b], y[a:b], lab.iloc[a:b].reset_index(drop=True))
            for a, b in itertools.pairwise(cuts)]


@pytest.fixture(scope="module")
def data() -> list:
    return split(4000, 1200, 1500, p=20)


@pytest.fixture(scope="module")
def fitted(data: list) -> PiecewiseRidge:
    (X, y, lab), (Xv, yv, labv), _ = data
    return PiecewiseRidge(alphas=ALPHAS).fit(X, y, lab, Xv, yv, labv)


def test_known_piecewise_truth_beats_global_by_a_wide_margin(data, fitted) -> None:
    _, _, (Xt, yt, labt) = data
    covered = fitted.route(labt) >= 0
    pred = fitted.predict(Xt, labt)
    r2_moe = r2(yt[covered], pred[covered])
    r2_glob = r2(yt[covered], fitted.global_.predict(Xt[covered]))
    assert r2_moe > 0.99
    assert r2_moe - r2_glob > 0.3
    assert len(fitted.experts_) == 9 and fitted.alpha_source_ == ["bin"] * 9


def test_experts_equal_plain_ridge_fits_on_their_rows(data, fitted) -> None:
    (X, y, lab), (Xv, _, _), _ = data
    ids = fitted.route(lab)
    for k, expert in enumerate(fitted.experts_):
        rows = ids == k
        ref = RidgeRegressor(alphas=expert.alpha_).fit(X[rows], y[rows])
        np.testing.assert_allclose(expert.coef_, ref.coef_, rtol=1e-8, atol=1e-10)
        np.testing.assert_allclose(expert.predict(Xv), ref.predict(Xv), rtol=1e-8, atol=1e-8)


def test_dual_experts_equal_plain_ridge_fits() -> None:
    """Bins with fewer stars than pixels are solved in dual form, still equal to Ridge."""
    (X, y, lab), (Xv, yv, labv), _ = split(600, 400, 10, p=90, seed=3)
    m = PiecewiseRidge(alphas=ALPHAS, min_bin_train=20, min_bin_val=20).fit(
        X, y, lab, Xv, yv, labv)
    ids = m.route(lab)
    assert all(e.solver_ == "dual" for e in m.experts_)
    for k, expert in enumerate(m.experts_):
        ref = RidgeRegressor(alphas=expert.alpha_).fit(X[ids == k], y[ids == k])
        np.testing.assert_allclose(expert.predict(Xv), ref.predict(Xv), rtol=1e-8, atol=1e-8)


def test_global_part_equals_a_plain_ridge(data, fitted) -> None:
    (X, y, _), (Xv, yv, _), (Xt, _, _) = data
    ref = RidgeRegressor(alphas=ALPHAS).fit(X, y, Xv, yv)
    assert fitted.global_.alpha_ == ref.alpha_
    np.testing.assert_allclose(fitted.global_.coef_, ref.coef_, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(fitted.global_.predict(Xt), ref.predict(Xt), rtol=1e-8)
    np.testing.assert_allclose(fitted.global_.val_scores_, ref.val_scores_, rtol=1e-8)


def test_uncovered_stars_get_the_fallback_or_nan(data, fitted) -> None:
    (X, y, lab), (Xv, yv, labv), (Xt, _, labt) = data
    out = fitted.route(labt) < 0
    assert 0 < out.sum() < out.size
    np.testing.assert_array_equal(out, physical_3x3().assign(labt) < 0)
    pred = fitted.predict(Xt, labt)
    np.testing.assert_allclose(pred[out], fitted.global_.predict(Xt[out]))
    strict = clone(fitted).set_params(fallback=False).fit(X, y, lab, Xv, yv, labv)
    pred_strict = strict.predict(Xt, labt)
    assert np.isnan(pred_strict[out]).all() and np.isfinite(pred_strict[~out]).all()
    np.testing.assert_allclose(pred_strict[~out], pred[~out])


def test_counts_cover_every_star(data, fitted) -> None:
    (X, _, _), (Xv, _, _), _ = data
    c = fitted.counts_
    assert c["n_train"].sum() == X.shape[0] and c["n_val"].sum() == Xv.shape[0]
    assert c["bin"].tolist() == [*range(9), -1] and c["expert"].iloc[-1] == -1


def _thin_bin(n: int = 3000, bin_id: int = 3, keep: int = 30, seed: int = 5) -> tuple:
    X, y, lab = piecewise_data(n, 10, seed, mh=(-2.0, 0.5))
    ids = physical_3x3().assign(lab)
    drop = np.flatnonzero(ids == bin_id)[keep:]
    mask = np.ones(n, bool)
    mask[drop] = False
    return X[mask], y[mask], lab[mask].reset_index(drop=True)


def test_small_bin_merge_is_stated() -> None:
    X, y, lab = _thin_bin()
    m = PiecewiseRidge(alphas=1.0, min_bin_train=100).fit(X, y, lab)
    assert len(m.experts_) == 8
    assert any("merged" in s and "30 stars < 100" in s for s in m.bin_plan_.statement)
    assert "T_eff [4500, 5250) × M_H [-2, -1)" in " ".join(m.expert_names_)
    assert m.bin_plan_.expert_of_bin[3] >= 0 and (m.route(lab) >= 0).all()


def test_small_bin_fallback_is_stated_and_uses_the_global_model() -> None:
    X, y, lab = _thin_bin()
    m = PiecewiseRidge(alphas=1.0, min_bin_train=100, small_bins="fallback").fit(X, y, lab)
    assert len(m.experts_) == 8
    assert any("predicted by the global model" in s for s in m.bin_plan_.statement)
    thin = physical_3x3().assign(lab) == 3
    assert (m.route(lab)[thin] == -1).all()
    np.testing.assert_allclose(m.predict(X, lab)[thin], m.global_.predict(X[thin]))
    with pytest.raises(BinTooSmallError, match="30"):
        PiecewiseRidge(alphas=1.0, small_bins="raise").fit(X, y, lab)


def test_small_validation_bins_take_the_global_alpha() -> None:
    (X, y, lab), (Xv, yv, labv), _ = split(3000, 150, 10, p=10, seed=7)
    m = PiecewiseRidge(alphas=ALPHAS, min_bin_val=25).fit(X, y, lab, Xv, yv, labv)
    n_val = m.counts_.set_index("bin")["n_val"]
    small = [k for k in range(9) if n_val[k] < 25]
    assert small, "the split should leave some bins with few validation stars"
    for k in range(9):
        expected = "global" if k in small else "bin"
        assert m.alpha_source_[k] == expected
    assert all(m.alpha_per_expert_[k] == m.global_.alpha_ for k in small)
    assert sum("validation stars < 25" in s for s in m.bin_plan_.statement) == len(small)


def test_fit_together_shares_one_pass_and_the_global_model(data) -> None:
    (X, y, lab), (Xv, yv, labv), (Xt, _, labt) = data
    models = [PiecewiseRidge(s, ALPHAS) for s in (physical_3x3(), mh_only(), teff_only())]
    fit_together(models, X, y, lab, Xv, yv, labv)
    assert models[0].global_ is models[1].global_ is models[2].global_
    for m in models:
        alone = clone(m).fit(X, y, lab, Xv, yv, labv)
        np.testing.assert_array_equal(alone.alpha_per_expert_, m.alpha_per_expert_)
        np.testing.assert_allclose(alone.predict(Xt, labt), m.predict(Xt, labt), rtol=1e-8)
    assert len(models[1].experts_) == 3 and len(models[2].experts_) == 3
    assert (models[2].route(labt) >= 0).all()  # Teff-only covers the whole Teff box


def test_fit_together_reuses_given_global_stats(monkeypatch: pytest.MonkeyPatch) -> None:
    """Dual experts + a primal global model: given statistics mean no new pass over X."""
    (X, y, lab), (Xv, yv, labv), (Xt, _, labt) = split(900, 300, 100, p=120, seed=3)
    reference = fit_together([PiecewiseRidge(physical_3x3(), ALPHAS, min_bin_train=20)],
                             X, y, lab, Xv, yv, labv)[0]
    stats = RidgeStats.from_data(X, y)

    def no_pass(*args, **kwargs):
        raise AssertionError("grouped_stats must not run when global_stats are given")

    monkeypatch.setattr(moe_mod, "grouped_stats", no_pass)
    model = fit_together([PiecewiseRidge(physical_3x3(), ALPHAS, min_bin_train=20)],
                         X, y, lab, Xv, yv, labv, global_stats=stats)[0]
    np.testing.assert_allclose(model.predict(Xt, labt), reference.predict(Xt, labt), rtol=1e-8)
    assert model.global_.alpha_ == reference.global_.alpha_
    with pytest.raises(InvalidParameterError, match="global_stats"):
        fit_together([PiecewiseRidge(physical_3x3(), ALPHAS, min_bin_train=20)],
                     X[:-1], y[:-1], lab.iloc[:-1], Xv, yv, labv, global_stats=stats)


def test_contract() -> None:
    (X, y, lab), (Xv, yv, labv), _ = split(600, 200, 10, p=8, seed=1)
    m = PiecewiseRidge(alphas=ALPHAS, min_bin_train=20)
    with pytest.raises(NotFittedError):
        m.predict(X, lab)
    with pytest.raises(NotFittedError):
        m.route(lab)
    with pytest.raises(MissingLabelError, match="M_H"):
        m.fit(X, y, lab.rename(columns={"M_H": "feh"}), Xv, yv, labv)
    with pytest.raises(InvalidParameterError, match="validation"):
        m.fit(X, y, lab)
    with pytest.raises(InvalidParameterError, match="together"):
        m.fit(X, y, lab, Xv, yv)
    with pytest.raises(ShapeMismatchError, match="labels"):
        m.fit(X, y, lab.iloc[:-1], Xv, yv, labv)
    with pytest.raises(InvalidParameterError, match="small_bins"):
        clone(m).set_params(small_bins="drop").fit(X, y, lab, Xv, yv, labv)
    with pytest.raises(InvalidParameterError, match="solver"):
        clone(m).set_params(solver="qr").fit(X, y, lab, Xv, yv, labv)
    with pytest.raises(InvalidParameterError, match="scheme"):
        clone(m).set_params(scheme="3x3").fit(X, y, lab, Xv, yv, labv)
    assert m.fit(X, y, lab, Xv, yv, labv) is m
    assert m.n_features_in_ == 8 and m.get_params()["min_bin_train"] == 20
    with pytest.raises(MissingLabelError, match="T_eff"):
        m.predict(X, lab.drop(columns="T_eff"))
    with pytest.raises(ShapeMismatchError, match="features"):
        m.predict(X[:, :5], lab)
    with pytest.raises(ShapeMismatchError, match="rows"):
        m.predict(X[:5], lab)


def test_docstring_examples() -> None:
    assert doctest.testmod(moe_mod).failed == 0
