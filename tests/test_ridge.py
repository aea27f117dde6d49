"""Tests of the Ridge engine: statistics, α paths against scikit-learn, the estimator."""

from __future__ import annotations

import doctest

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import Ridge
from sklearn.utils.estimator_checks import parametrize_with_checks

import moehelpers.engine.ridge as ridge_mod
from moehelpers.engine.linalg import solve_cholesky_primal
from moehelpers.engine.ridge import (
    DEFAULT_ALPHAS,
    RidgePath,
    RidgeRegressor,
    RidgeStats,
    grouped_ridge_paths,
    grouped_stats,
    ridge_path,
    ridge_path_from_stats,
    ridge_path_select,
)
from moehelpers.errors import (
    BinTooSmallError,
    InvalidParameterError,
    MoEHelpersError,
    NonFiniteDataError,
    ShapeMismatchError,
)
from moehelpers.metrics import r2


def spectra(n: int, p: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Spectrum-like float32 data: continuum ≈ 1, 30 absorption lines driven by 3 labels
    (strongly correlated pixels, ill-conditioned Gram), white noise 0.01; y = 2nd label."""
    rng = np.random.default_rng(seed)
    labels = rng.normal(size=(n, 3))
    wave = np.linspace(0.0, 1.0, p)
    lines = np.exp(-(((wave[None, :] - rng.random((30, 1))) / 0.01) ** 2))
    depth = 0.3 + 0.05 * labels @ rng.normal(size=(3, 30))
    flux = 1.0 - depth @ lines + rng.normal(scale=0.01, size=(n, p))
    y = labels[:, 1] + 0.1 * rng.normal(size=n)
    return flux.astype(np.float32), y


SHAPES = {"n>P primal": (300, 120), "n<P dual": (80, 200)}


@pytest.fixture(scope="module", params=list(SHAPES), ids=list(SHAPES))
def split(request):
    n, p = SHAPES[request.param]
    X, y = spectra(n + 100, p)
    return X[:n], y[:n], X[n:], y[n:]


# --------------------------------------------------------------------------- statistics
def test_stats_match_direct_sums():
    X, y = spectra(57, 9, seed=1)
    w = np.random.default_rng(2).normal(size=57)  # signed: moment Grams of conditional models
    stats = RidgeStats.from_data(X, y, w, chunk_size=7)
    x64 = X.astype(np.float64)
    gram, xty, yy = stats.uncentered()
    np.testing.assert_allclose(gram, (x64 * w[:, None]).T @ x64, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(xty, x64.T @ (w * y), rtol=1e-10, atol=1e-12)
    assert yy == pytest.approx(w @ y**2)
    assert stats.n == pytest.approx(w.sum())
    np.testing.assert_allclose(stats.mean_x, w @ x64 / w.sum(), rtol=1e-10)


def test_moment_grams_give_conditional_design_normal_equations():
    """[x, m·x] needs no materialised design: its Gram blocks are Σ mᵏ x xᵀ, k = 0, 1, 2."""
    X, y = spectra(45, 5, seed=12)
    m = np.random.default_rng(13).uniform(-2.0, 0.5, size=45)  # [M/H]: signed weights
    g0, b0, _ = RidgeStats.from_data(X, y).uncentered()
    g1, b1, _ = RidgeStats.from_data(X, y, m).uncentered()
    g2, _, _ = RidgeStats.from_data(X, y, m**2).uncentered()
    z = np.hstack([X, m[:, None] * X]).astype(np.float64)
    np.testing.assert_allclose(np.block([[g0, g1], [g1, g2]]), z.T @ z, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(np.concatenate([b0, b1]), z.T @ y, rtol=1e-10, atol=1e-12)


def test_streamed_hdf5_dataset(tmp_path):
    h5py = pytest.importorskip("h5py")
    X, y = spectra(64, 7, seed=14)
    groups = np.arange(64) % 3
    with h5py.File(tmp_path / "shard.h5", "w") as f:
        f["flux"] = X
    with h5py.File(tmp_path / "shard.h5", "r") as f:
        streamed = RidgeStats.from_data(f["flux"], y, chunk_size=10)
        per_group = grouped_stats(f["flux"], y, groups, 3, chunk_size=5)
    ref = RidgeStats.from_data(X, y)
    np.testing.assert_allclose(streamed.centered()[0], ref.centered()[0], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(sum(per_group).centered()[1], ref.centered()[1], rtol=1e-9)


def test_centered_gram_is_centered_data_gram():
    X, y = spectra(40, 6, seed=3)
    gram_c, xty_c, syy_c = RidgeStats.from_data(X, y, chunk_size=9).centered()
    xc = X.astype(np.float64) - X.astype(np.float64).mean(axis=0)
    yc = y - y.mean()
    np.testing.assert_allclose(gram_c, xc.T @ xc, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(xty_c, xc.T @ yc, rtol=1e-9, atol=1e-12)
    assert syy_c == pytest.approx(yc @ yc)


def test_grouped_stats_sum_to_global_and_equal_per_group():
    X, y = spectra(90, 8, seed=4)
    groups = np.random.default_rng(5).integers(0, 4, size=90)
    per_group = grouped_stats(X, y, groups, 4, chunk_size=6)
    total, whole = sum(per_group), RidgeStats.from_data(X, y)  # whole has another shift
    for a, b in zip(total.centered(), whole.centered(), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)
    for g, stats in enumerate(per_group):
        ref = RidgeStats.from_data(X[groups == g], y[groups == g])
        np.testing.assert_allclose(stats.centered()[0], ref.centered()[0], rtol=1e-9, atol=1e-12)
        assert stats.n == (groups == g).sum()


def test_accumulate_is_all_or_nothing():
    X, y = spectra(30, 5)
    stats = RidgeStats.from_data(X[:10], y[:10])
    before = stats.copy()
    bad = X[10:].copy()
    bad[7, 2] = np.nan
    with pytest.raises(NonFiniteDataError, match="row 7"):
        stats.accumulate(bad, y[10:], chunk_size=4)
    np.testing.assert_array_equal(stats.gram, before.gram)
    assert stats.n == before.n


def test_empty_stats_give_clear_error():
    with pytest.raises(BinTooSmallError, match="merge"):
        ridge_path_from_stats(RidgeStats(4), [1.0])


# --------------------------------------------------------------------------- paths vs sklearn
@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("method", ["eigen", "cholesky"])
def test_path_matches_sklearn(split, fit_intercept, method):
    X, y, Xv, yv = split
    path = ridge_path(X, y, DEFAULT_ALPHAS, fit_intercept=fit_intercept, method=method)
    assert path.solver == ("dual" if X.shape[0] < X.shape[1] else "primal")
    preds = path.predict(Xv)
    for i, alpha in enumerate(DEFAULT_ALPHAS):
        # float64 reference: sklearn would otherwise solve in float32
        ref = Ridge(alpha=alpha, fit_intercept=fit_intercept, solver="svd")
        ref_pred = ref.fit(X.astype(np.float64), y).predict(Xv.astype(np.float64))
        if alpha >= 1e-2:
            np.testing.assert_allclose(preds[:, i], ref_pred, rtol=1e-6, atol=0)
        assert r2(yv, preds[:, i]) == pytest.approx(r2(yv, ref_pred), abs=1e-6)


def test_primal_and_dual_agree():
    X, y = spectra(60, 90, seed=6)
    a = ridge_path(X, y, [1e-2, 1.0, 1e2], solver="primal")
    b = ridge_path(X, y, [1e-2, 1.0, 1e2], solver="dual")
    np.testing.assert_allclose(a.coefs, b.coefs, rtol=1e-6, atol=1e-10)
    np.testing.assert_allclose(a.intercepts, b.intercepts, rtol=1e-8)


@pytest.mark.parametrize("solver", ["primal", "dual"])
def test_sample_weight_matches_sklearn(solver):
    X, y = spectra(70, 40, seed=7)
    w = np.random.default_rng(8).uniform(0.1, 3.0, size=70)
    path = ridge_path(X, y, [0.1, 10.0], solver=solver, sample_weight=w)
    for i, alpha in enumerate([0.1, 10.0]):
        ref = Ridge(alpha=alpha).fit(X.astype(np.float64), y, sample_weight=w)
        np.testing.assert_allclose(path.coefs[i], ref.coef_, rtol=1e-6, atol=1e-9)
        assert path.intercepts[i] == pytest.approx(ref.intercept_, rel=1e-8)


def test_grouped_paths_equal_separate_fits():
    X, y = spectra(150, 30, seed=9)
    groups = np.repeat([0, 1, 2], [100, 25, 25])  # one primal group, two dual groups
    alphas = [1e-2, 1.0]
    glob, per_group = grouped_ridge_paths(X, y, groups, 3, alphas, chunk_size=16)
    np.testing.assert_allclose(glob.coefs, ridge_path(X, y, alphas).coefs, rtol=1e-7, atol=1e-10)
    assert [p.solver for p in per_group] == ["primal", "dual", "dual"]
    for g, path in enumerate(per_group):
        ref = ridge_path(X[groups == g], y[groups == g], alphas, solver="primal")
        np.testing.assert_allclose(path.coefs, ref.coefs, rtol=1e-6, atol=1e-9)
        np.testing.assert_allclose(path.intercepts, ref.intercepts, rtol=1e-8)
    with pytest.raises(BinTooSmallError, match=r"\[3\]"):
        grouped_ridge_paths(X, y, groups, 4, alphas)


# --------------------------------------------------------------------------- α selection
def test_select_picks_best_validation_r2(split):
    X, y, Xv, yv = split
    sel = ridge_path_select(X, y, Xv, yv, DEFAULT_ALPHAS)
    scores = [
        r2(yv, Ridge(alpha=a).fit(X.astype(np.float64), y).predict(Xv)) for a in DEFAULT_ALPHAS
    ]
    np.testing.assert_allclose(sel.val_scores, scores, atol=1e-6)
    assert sel.alpha == DEFAULT_ALPHAS[int(np.argmax(scores))]
    from_stats = ridge_path_select(RidgeStats.from_data(X, y), None, Xv, yv, DEFAULT_ALPHAS)
    if X.shape[0] > X.shape[1]:
        assert from_stats.alpha == sel.alpha


def test_ties_go_to_larger_alpha():
    coefs = np.ones((3, 2))
    path = RidgePath(np.array([0.1, 10.0, 1.0]), coefs, np.zeros(3), "primal", "eigen")
    X = np.random.default_rng(0).normal(size=(20, 2))
    assert path.select(X, X.sum(axis=1) + 0.1).alpha == 10.0


def test_select_rejects_constant_validation_target():
    X, y = spectra(40, 5)
    with pytest.raises(InvalidParameterError, match="distinct"):
        ridge_path_select(X, y, X[:5], np.ones(5), [1.0, 2.0])


# --------------------------------------------------------------------------- estimator
def test_estimator_matches_path_and_stats(split):
    X, y, Xv, yv = split
    model = RidgeRegressor(alphas=DEFAULT_ALPHAS).fit(X, y, X_val=Xv, y_val=yv)
    sel = ridge_path_select(X, y, Xv, yv, DEFAULT_ALPHAS)
    assert model.alpha_ == sel.alpha
    np.testing.assert_allclose(model.predict(Xv), Xv @ sel.coef + sel.intercept, rtol=1e-10)
    assert model.n_features_in_ == X.shape[1]
    assert model.val_scores_.shape == (len(DEFAULT_ALPHAS),)
    streamed = RidgeRegressor(alphas=DEFAULT_ALPHAS).fit_stats(
        RidgeStats.from_data(X, y, chunk_size=32), X_val=Xv, y_val=yv
    )
    np.testing.assert_allclose(streamed.predict(Xv), model.predict(Xv), rtol=1e-6)


def test_fit_stats_with_fewer_rows_than_features_solves_the_dual_from_the_rows(
        monkeypatch: pytest.MonkeyPatch):
    """train=(X, y) beside the statistics: n = 40 < P = 120 takes the 40 × 40 kernel (the
    primal path is never called) and gives the primal model; rows not the statistics' own
    are refused."""
    X, y = spectra(40, 120)
    Xv, yv = spectra(30, 120, seed=1)
    stats = RidgeStats.from_data(X, y, chunk_size=16)
    primal = RidgeRegressor(alphas=DEFAULT_ALPHAS).fit_stats(stats, Xv, yv)

    def refuse(*args, **kwargs):
        raise AssertionError("the primal system was solved")

    monkeypatch.setattr(ridge_mod, "ridge_path_from_stats", refuse)
    dual = RidgeRegressor(alphas=DEFAULT_ALPHAS).fit_stats(stats, Xv, yv, train=(X, y))
    assert dual.alpha_ == primal.alpha_
    np.testing.assert_allclose(dual.val_scores_, primal.val_scores_, atol=1e-9)
    np.testing.assert_allclose(dual.predict(Xv), primal.predict(Xv), rtol=1e-8, atol=1e-10)
    with pytest.raises(ShapeMismatchError, match="40 rows"):
        RidgeRegressor(alphas=DEFAULT_ALPHAS).fit_stats(stats, Xv, yv, train=(Xv, yv))
    monkeypatch.undo()
    big = RidgeStats.from_data(*spectra(200, 20))  # n > P: primal even with the rows
    monkeypatch.setattr(ridge_mod, "ridge_path", refuse)
    RidgeRegressor(alphas=1.0).fit_stats(big, train=spectra(200, 20))


def test_multiple_alphas_without_validation_is_refused():
    X, y = spectra(30, 4)
    with pytest.raises(InvalidParameterError, match="validation"):
        RidgeRegressor(alphas=[1.0, 10.0]).fit(X, y)
    with pytest.raises(InvalidParameterError, match="validation"):
        RidgeRegressor().fit_stats(RidgeStats.from_data(X, y))
    model = RidgeRegressor(alphas=3.0).fit(X, y)
    assert model.alpha_ == 3.0 and model.val_scores_ is None
    with pytest.raises(InvalidParameterError, match="both X_val and y_val"):
        RidgeRegressor(alphas=3.0).fit(X, y, X_val=X)


def test_predict_before_fit_and_params():
    with pytest.raises(NotFittedError):
        RidgeRegressor().predict(np.ones((2, 3)))
    model = RidgeRegressor(alphas=[1.0], fit_intercept=False)
    assert model.get_params()["fit_intercept"] is False
    assert clone(model.set_params(solver="dual")).solver == "dual"


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        ({"alphas": [1.0, -2.0]}, InvalidParameterError, r"> 0; got \[1.0, -2.0\]"),
        ({"alphas": [np.nan]}, InvalidParameterError, "finite"),
        ({"solver": "svd"}, InvalidParameterError, "solver must be one of"),
        ({"method": "qr"}, InvalidParameterError, "method must be one of"),
        ({"chunk_size": 0}, InvalidParameterError, "chunk_size"),
    ],
)
def test_bad_parameters_have_clear_messages(kwargs, exc, match):
    X, y = spectra(20, 30)
    with pytest.raises(exc, match=match):
        RidgeRegressor(**{"alphas": 1.0, "solver": "primal", **kwargs}).fit(X, y)


def test_bad_data_have_clear_messages():
    X, y = spectra(20, 4)
    model = RidgeRegressor(alphas=1.0)
    with pytest.raises(ShapeMismatchError, match="2-D"):
        model.fit(X[0], y[:1])
    with pytest.raises(ShapeMismatchError, match="one value per row"):
        model.fit(X, y[:-1])
    bad = X.copy()
    bad[3, 1] = np.inf
    with pytest.raises(NonFiniteDataError, match="row 3"):
        model.fit(bad, y)
    with pytest.raises(ShapeMismatchError, match="expecting 4 features"):
        model.fit(X, y).predict(X[:, :3])
    with pytest.raises(MoEHelpersError):
        model.fit(X, y, sample_weight=-np.ones(20))


def test_float32_input_stays_accurate():
    X, y = spectra(200, 50, seed=11)
    a = ridge_path(X, y, [1e-3]).coefs
    b = ridge_path(X.astype(np.float64), y, [1e-3]).coefs
    np.testing.assert_array_equal(a, b)  # float32 → float64 conversion is exact


@parametrize_with_checks([RidgeRegressor(alphas=1.0)])
def test_sklearn_estimator_contract(estimator, check):
    check(estimator)


def test_docstring_examples():
    assert doctest.testmod(ridge_mod, optionflags=doctest.ELLIPSIS).failed == 0


@pytest.mark.parametrize("shape", list(SHAPES.values()), ids=list(SHAPES))
def test_mixed_precision_paths_match_float64(shape):
    """Float32 factorisations refined to float64 give the float64 path; float32 products
    stay close; the default is float64 throughout."""
    n, p = shape
    X, y = spectra(n + 60, p, seed=21)
    groups = np.arange(n) % 3
    alphas = [1e-3, 1e-1, 10.0]
    ref_g, ref_b = grouped_ridge_paths(X[:n], y[:n], groups, 3, alphas)
    for precision, rtol in (("mixed", 1e-7), ("float32", 1e-2)):
        glob, per = grouped_ridge_paths(X[:n], y[:n], groups, 3, alphas, precision=precision)
        for a, b in zip([glob, *per], [ref_g, *ref_b], strict=True):
            pa, pb = a.predict(X[n:]), b.predict(X[n:])
            err = np.max(np.abs(pa - pb), axis=0) / np.max(np.abs(pb), axis=0)
            assert err.max() < rtol, (precision, err)
    with pytest.raises(MoEHelpersError):
        grouped_ridge_paths(X[:n], y[:n], groups, 3, alphas, precision="half")


def test_mixed_cholesky_falls_back_to_float64_when_refinement_stalls():
    """κ·2⁻²⁴ ≫ 1 at the smallest α: float32 cannot refine there, the float64 answer comes."""
    rng = np.random.default_rng(5)
    q, _ = np.linalg.qr(rng.standard_normal((40, 40)))
    a = (q * np.logspace(6, -3, 40)) @ q.T
    b = rng.standard_normal(40)
    alphas = np.array([1e-9, 1e-2, 1e3])
    got = solve_cholesky_primal(a, b, alphas, "mixed")
    ref = solve_cholesky_primal(a, b, alphas)
    np.testing.assert_allclose(got, ref, rtol=1e-8, atol=0)


@pytest.mark.parametrize("m, block", [(1, 512), (7, 3), (511, 512), (512, 512), (513, 512),
                                      (1100, 256)])
def test_symmetrize_upper_mirrors_the_upper_triangle_exactly(m, block) -> None:
    from moehelpers.engine.linalg import symmetrize_upper

    rng = np.random.default_rng(m)
    a = np.asfortranarray(rng.standard_normal((m, m)))
    got = symmetrize_upper(a, block=block)
    np.testing.assert_array_equal(got, np.triu(a) + np.triu(a, 1).T)  # bit for bit
    np.testing.assert_array_equal(got, got.T)
    a[np.tril_indices(m, -1)] = np.nan  # the lower part of the input is never read
    np.testing.assert_array_equal(symmetrize_upper(a, block=block), got)
