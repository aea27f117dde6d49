"""Peer models (The Cannon, emulator fit, CNN) and evaluate_peers on known-truth toys."""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
import pytest
from threadpoolctl import threadpool_limits

from moehelpers.data.grid import DEFAULT_GRID_PATH
from moehelpers.errors import (
    InvalidErrorArrayError,
    InvalidParameterError,
    MissingDependencyError,
    MissingLabelError,
    NonFiniteDataError,
    ShapeMismatchError,
)
from moehelpers.evaluation.peers import PeerSettings, evaluate_peers, pull_stats
from moehelpers.metrics import paired_bootstrap
from moehelpers.models.peers import (
    CannonModel,
    CNNRegressor,
    EmulatorFit,
    batched_lm,
    bin_ivar,
    monomial_exponents,
)
from moehelpers.models.peers.cannon import _design


def _labels(rng: np.random.Generator, n: int, shrink: float = 0.0) -> np.ndarray:
    """Teff, log g, [M/H] uniform in the study's box (shrunk inwards by ``shrink``)."""
    lo, hi = np.array([3750.0, 1.0, -2.0]), np.array([6000.0, 5.0, 0.5])
    pad = shrink * (hi - lo)
    return rng.uniform(lo + pad, hi - pad, size=(n, 3))


def _quadratic_toy(seed: int, n: int, p: int, extra: float):
    rng = np.random.default_rng(seed)
    lab = _labels(rng, n)
    centre, scale = lab.mean(axis=0), lab.std(axis=0)
    exps = monomial_exponents(3, 2)
    theta = rng.normal(0, 0.03, (p, exps.shape[0]))
    theta[:, 0] = 1.0
    sig = rng.uniform(0.005, 0.02, (n, p))
    flux = _design((lab - centre) / scale, exps) @ theta.T
    noisy = flux + rng.normal(size=(n, p)) * np.sqrt(sig**2 + extra**2)
    return lab, centre, scale, exps, theta, sig, noisy


def test_monomials_of_order_two_are_the_ten_cannon_terms():
    e = monomial_exponents(3, 2)
    assert e.shape == (10, 3) and (e[0] == 0).all()
    assert sorted(map(tuple, e)) == sorted({tuple(r) for r in e})  # unique
    assert e.sum(axis=1).max() == 2 and monomial_exponents(3, 3).shape == (20, 3)


def test_cannon_recovers_the_coefficients_of_an_exactly_quadratic_flux():
    lab, centre, scale, exps, theta, _sig, _ = _quadratic_toy(0, 300, 25, 0.0)
    flux = _design((lab - centre) / scale, exps) @ theta.T
    rng = np.random.default_rng(1)
    noisy = flux + 1e-4 * rng.normal(size=flux.shape)
    model = CannonModel().fit(noisy, lab, np.full_like(flux, 1e8))
    assert np.allclose(model.label_centre_, centre) and np.allclose(model.label_scale_, scale)
    np.testing.assert_allclose(model.coef_, theta, atol=1e-4)
    assert model.s2_.max() < 1e-8  # no extra scatter injected
    np.testing.assert_allclose(model.flux_at(lab[:5]), flux[:5], atol=1e-4)


def test_cannon_recovers_scatter_and_labels_within_their_stated_sigma():
    extra = 0.01
    lab, centre, scale, exps, theta, sig, noisy = _quadratic_toy(2, 600, 40, extra)
    model = CannonModel().fit(noisy, lab, 1.0 / sig**2)
    np.testing.assert_allclose(np.median(model.s2_), extra**2, rtol=0.15)
    rng = np.random.default_rng(3)
    lt = _labels(rng, 400, shrink=0.05)
    st = rng.uniform(0.005, 0.02, (400, 40))
    xt = (_design((lt - centre) / scale, exps) @ theta.T
          + rng.normal(size=st.shape) * np.sqrt(st**2 + extra**2))
    res = model.predict_with_uncertainty(xt, 1.0 / st**2)
    for j in range(3):
        stats = pull_stats(res.labels[:, j] - lt[:, j], res.sigma[:, j])
        assert 0.8 < stats["pull_width"] < 1.25, (j, stats)
        assert abs(stats["pull_median"]) < 0.2, (j, stats)
        assert 0.55 < stats["share_abs_lt_1"] < 0.8, (j, stats)
    # a supplied good start never makes the fit worse (lowest χ² kept per star)
    res2 = model.predict_with_uncertainty(xt, 1.0 / st**2, init=lt)
    assert (res2.chi2 <= res.chi2 + 1e-6).all()


def test_batched_lm_keeps_the_start_with_the_lowest_chi2():
    # f(z) = z² at one "pixel" has two minima ±a; the data pick +a only through a 2nd pixel
    a = 0.7

    def model(z):
        f = np.column_stack([z[:, 0] ** 2, 0.1 * z[:, 0]])
        jac = np.stack([2 * z, 0.1 * np.ones_like(z)], axis=1)
        return f, jac

    x = np.tile([a**2, 0.1 * a], (4, 1))
    c = np.full_like(x, 1e4)
    neg, pos = np.full((4, 1), -1.0), np.full((4, 1), 1.0)
    one = batched_lm(model, x, c, [neg], lo=np.array([-3.0]), hi=np.array([3.0]))
    both = batched_lm(model, x, c, [neg, pos], lo=np.array([-3.0]), hi=np.array([3.0]))
    assert (one.labels[:, 0] < 0).all()
    np.testing.assert_allclose(both.labels[:, 0], a, atol=1e-6)
    assert (both.start == 1).all() and (both.chi2 < one.chi2).all()
    # covariance is (JᵀCJ)⁻¹ at the solution
    np.testing.assert_allclose(both.cov[:, 0, 0], 1 / (1e4 * ((2 * a) ** 2 + 0.01)), rtol=1e-6)


def test_bin_ivar_is_the_inverse_variance_of_the_pixel_mean():
    err = np.array([[1.0, 2.0, 2.0, 3.0, 4.0]])
    np.testing.assert_allclose(bin_ivar(err, 2), 1 / np.array([[5 / 4, 13 / 4, 16.0]]))


def _bad_input_cases(model, flux, lab, ivar):
    with pytest.raises(ShapeMismatchError):
        model.fit(flux, lab, ivar[:, :-1])
    with pytest.raises(ShapeMismatchError):
        model.fit(flux, lab[:-1], ivar)
    bad = flux.copy()
    bad[3, 2] = np.nan
    with pytest.raises(NonFiniteDataError):
        model.fit(bad, lab, ivar)
    neg = ivar.copy()
    neg[0, 0] = -1.0
    with pytest.raises(InvalidErrorArrayError):
        model.fit(flux, lab, neg)
    with pytest.raises(MissingLabelError):
        model.fit(flux, pd.DataFrame(lab, columns=["T_eff", "logg", "M_H"]), ivar)


class _FakeSpectra:
    """Anything carrying ``flux``/``error`` attributes is a spectra set to the leak guard."""

    def __init__(self, flux, error):
        self.flux, self.error = flux, error


def test_cannon_bad_input_raises_our_errors():
    lab, _, _, _, _, sig, noisy = _quadratic_toy(4, 100, 10, 0.0)
    ivar = 1 / sig**2
    _bad_input_cases(CannonModel(), noisy, lab, ivar)
    with pytest.raises(InvalidParameterError, match="not a spectra set"):
        CannonModel().fit(_FakeSpectra(noisy, sig), lab, ivar)
    with pytest.raises(InvalidParameterError, match="not fitted"):
        CannonModel().predict(noisy, ivar)
    with pytest.raises(InvalidParameterError, match="order"):
        CannonModel(order=0).fit(noisy, lab, ivar)
    model = CannonModel().fit(noisy, lab, ivar)
    with pytest.raises(ShapeMismatchError):
        model.predict(noisy[:, :5], ivar[:, :5])
    with pytest.raises(ShapeMismatchError):
        model.predict(noisy, ivar, init=lab[:, :2])


torch = pytest.importorskip("torch")

#: One torch thread: the test machine is shared, and two threads oversubscribe it.
CPU = {"device": "cpu", "n_threads": 1}


def _smooth_toy(seed: int, n: int, p: int = 30, noise: float = 0.01):
    """Flux smooth in the labels: three Gaussian lines whose depths depend on the labels."""
    rng = np.random.default_rng(seed)
    lab = _labels(rng, n, shrink=0.02)
    t = (lab[:, 0] - 4875) / 1125
    g = (lab[:, 1] - 3) / 2
    m = (lab[:, 2] + 0.75) / 1.25
    pix = np.arange(p)
    prof = [np.exp(-0.5 * ((pix - c) / 2.0) ** 2) for c in (6, 15, 24)]
    depth = [0.3 + 0.1 * np.tanh(g), 0.25 + 0.1 * m - 0.05 * t, 0.2 + 0.08 * np.tanh(t + g)]
    flux = 1 - sum(d[:, None] * pr[None] for d, pr in zip(depth, prof, strict=True))
    sig = np.full((n, p), noise)
    return lab, flux, sig, flux + sig * rng.normal(size=flux.shape)


def test_emulator_fits_a_smooth_toy_and_recovers_labels():
    lab, _flux, sig, noisy = _smooth_toy(0, 800)
    vl, _vf, vs, vn = _smooth_toy(1, 150)
    model = EmulatorFit("noisy", hidden=32, max_epochs=80, batch_size=100, lr=1e-2,
                        seed=0, **CPU)
    model.fit(noisy, lab, 1 / sig**2, val_flux=vn, val_labels=vl, val_ivar=1 / vs**2)
    tl, tf, ts, tn = _smooth_toy(2, 200)
    emu_err = np.abs(model.flux_at(tl) - tf)
    assert np.median(emu_err) < 0.005  # emulates the noiseless flux to well below σ = 0.01
    res = model.predict_with_uncertainty(tn, 1 / ts**2)
    err = res.labels - tl
    assert np.median(np.abs(err[:, 1])) < 0.15  # log g in dex, over a 4-dex range
    stats = pull_stats(err[:, 1], res.sigma[:, 1])
    assert 0.6 < stats["pull_width"] < 1.6, stats


def test_emulator_is_reproducible_with_a_seed():
    lab, _flux, sig, noisy = _smooth_toy(0, 200)

    def run(seed):
        model = EmulatorFit(hidden=8, max_epochs=3, batch_size=50, seed=seed, **CPU)
        return model.fit(noisy, lab, 1 / sig**2).predict(noisy[:20], 1 / sig[:20] ** 2)

    np.testing.assert_array_equal(run(0), run(0))
    assert not np.array_equal(run(0), run(1))


def test_emulator_noiseless_needs_no_ivar_and_noisy_does():
    lab, flux, sig, noisy = _smooth_toy(3, 200)
    with pytest.raises(InvalidParameterError, match="ivar"):
        EmulatorFit("noisy", max_epochs=1).fit(noisy, lab)
    model = EmulatorFit("noiseless", hidden=16, max_epochs=3, **CPU).fit(flux, lab)
    assert model.s2_.shape == (flux.shape[1],) and np.isfinite(model.s2_).all()
    with pytest.raises(InvalidParameterError, match="train_on"):
        EmulatorFit("clean").fit(flux, lab)
    _bad_input_cases(EmulatorFit(max_epochs=1, **CPU), noisy, lab, 1 / sig**2)


def _line_toy(seed: int, n: int, p: int = 64):
    """A line whose depth is set by log g, in a flat continuum; error varies by star."""
    rng = np.random.default_rng(seed)
    logg = rng.uniform(1, 5, n)
    pix = np.arange(p)
    prof = np.exp(-0.5 * ((pix - p / 2) / 3.0) ** 2)
    flux = (1 - (0.1 + 0.1 * logg)[:, None] * prof[None]).astype(np.float32)
    err = np.full((n, p), 0.05, dtype=np.float32) * rng.uniform(0.8, 1.2, (n, 1))
    return logg, flux, err


def test_cnn_learns_a_line_depth_better_than_the_mean():
    level = 0.5
    y, flux, err = _line_toy(0, 600)
    yv, fv, ev = _line_toy(1, 150)
    yt, ft, et = _line_toy(2, 200)
    rng = np.random.default_rng(5)
    xv = fv + level * ev * rng.normal(size=fv.shape)
    xt = ft + level * et * rng.normal(size=ft.shape)
    model = CNNRegressor(bin_factor=2, channels=(4, 8), dense=(16, 8), max_epochs=15,
                         patience=5, lr=3e-3, batch_size=64, seed=0, **CPU)
    model.fit(flux, err, y, level, val_flux=xv, val_y=yv)
    pred = model.predict(xt)
    r2 = 1 - np.sum((pred - yt) ** 2) / np.sum((yt - yt.mean()) ** 2)
    assert r2 > 0.6, r2
    assert model.history_[model.best_epoch_]["val_mse"] < 0.5  # standardised: mean model is 1


def test_cnn_is_reproducible_and_redraws_noise():
    y, flux, err = _line_toy(0, 200, 32)

    def run(seed, epochs=2):
        model = CNNRegressor(channels=(2, 4), dense=(8, 4), max_epochs=epochs, patience=5,
                             batch_size=50, seed=seed, **CPU)
        return model.fit(flux, err, y, 0.5, val_flux=flux, val_y=y)

    a, b = run(0), run(0)
    np.testing.assert_array_equal(a.predict(flux), b.predict(flux))
    assert not np.array_equal(a.predict(flux), run(1).predict(flux))


def test_cnn_bad_input_raises_our_errors():
    y, flux, err = _line_toy(0, 50, 16)
    cnn = CNNRegressor(max_epochs=1, **CPU)
    with pytest.raises(ShapeMismatchError):
        cnn.fit(flux, err[:, :-1], y, 0.2, val_flux=flux, val_y=y)
    with pytest.raises(InvalidErrorArrayError):
        cnn.fit(flux, -err, y, 0.2, val_flux=flux, val_y=y)
    with pytest.raises(InvalidParameterError, match="noise_level"):
        cnn.fit(flux, err, y, -1.0, val_flux=flux, val_y=y)
    with pytest.raises(InvalidParameterError, match="not a spectra set"):
        cnn.fit(_FakeSpectra(flux, err), err, y, 0.2, val_flux=flux, val_y=y)
    bad = flux.copy()
    bad[0, 0] = np.inf
    with pytest.raises(NonFiniteDataError):
        cnn.fit(bad, err, y, 0.2, val_flux=flux, val_y=y)
    with pytest.raises(InvalidParameterError, match="not fitted"):
        cnn.predict(flux)


def test_missing_torch_raises_the_clear_error(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setitem(sys.modules, "torch", None)  # `import torch` now fails
    lab, _flux, sig, noisy = _smooth_toy(0, 50)
    with pytest.raises(MissingDependencyError, match=r"pip install -r requirements\.txt"):
        EmulatorFit().fit(noisy, lab, 1 / sig**2)
    y, f, e = _line_toy(0, 50, 16)
    with pytest.raises(MissingDependencyError):
        CNNRegressor().fit(f, e, y, 0.2, val_flux=f, val_y=y)
    CannonModel().fit(noisy, lab, 1 / sig**2)  # the Cannon needs no torch


def _toy_splits(rng: np.random.Generator, level: float, sizes: tuple[int, int, int]) -> dict:
    """split → (labels, noiseless flux, σ at noise level 1, noisy flux at ``level``)."""
    sets = {}
    for s, n, seed in zip(("train", "val", "test"), sizes, (0, 1, 2), strict=True):
        lab, flux, sig, _ = _smooth_toy(seed, n, p=32)
        err = sig * 2.0  # σ at noise level 1
        sets[s] = (lab, flux, err, flux + level * err * rng.normal(size=flux.shape))
    return sets


def test_evaluate_peers_tables_on_a_toy():
    rng = np.random.default_rng(7)
    level = 0.5
    sets = _toy_splits(rng, level, (600, 150, 200))
    y = sets["test"][0][:, 1]
    base = y + rng.normal(0, 0.6, y.size)
    crlb = np.full(y.size, 0.05)
    st = PeerSettings(bin_factor=2, emulator_hidden=16, emulator_epochs=5, cnn_epochs=2,
                      cnn_bin_factor=2,
                      cnn_dense=(16, 8), device="cpu", n_threads=1)
    res = evaluate_peers({s: v[3] for s, v in sets.items()}, sets["train"][1],
                         {s: v[2] for s, v in sets.items()},
                         {s: pd.DataFrame(v[0], columns=["T_eff", "log_g", "M_H"])
                          for s, v in sets.items()}, level, baseline=base, baseline_name="ridge",
                         crlb_sigma=crlb, settings=st, n_boot=200, seed=3)
    sc = res.scores.set_index("model")
    assert list(sc.index) == ["ridge", "cannon", "emulator", "cnn"]
    pb = paired_bootstrap(y, res.predictions["cannon"], base, n_boot=200, seed=3)
    assert sc.loc["cannon", "delta_r2"] == pytest.approx(pb.difference)
    assert sc.loc["cannon", "delta_lo"] == pytest.approx(pb.ci_low)
    assert sc.loc["cannon", "r2"] > sc.loc["ridge", "r2"]  # the baseline is noisy on purpose
    assert len(res.per_bin) == 4 * 9 and set(res.per_bin["bin"]) == set(range(9))
    assert res.per_bin.groupby("model")["n"].sum().max() <= y.size
    assert set(res.pulls["model"]) == {"cannon", "emulator"} and len(res.pulls) == 6
    assert list(res.sigma_vs_crlb["model"]) == ["cannon", "emulator"]
    assert res.settings["init"] == "ridge" and res.settings["bin_factor"] == 2
    with pytest.raises(ShapeMismatchError):
        evaluate_peers({s: v[3] for s, v in sets.items()}, sets["train"][1],
                       {s: v[2] for s, v in sets.items()}, {s: v[0] for s, v in sets.items()},
                       level, baseline=base[:-1], models=("cannon",), settings=st)
    with pytest.raises(InvalidParameterError, match="models"):
        evaluate_peers({}, None, {}, {}, level, baseline=base, models=("payne",))


# ----------------------------------------------------------------------------- the page's steps
def test_settings_named_applies_changes_and_refuses_unknowns():
    from moehelpers.evaluation.peers import FULL, settings_named

    assert settings_named("full") == FULL
    assert settings_named("fast", emulator_train_on="noiseless").emulator_train_on == "noiseless"
    with pytest.raises(InvalidParameterError, match="peer_settings"):
        settings_named("medium")
    with pytest.raises(InvalidParameterError, match="no field"):
        settings_named("fast", cnn_epoch=3)


def test_page_verdicts_pick_the_best_peer_and_judge_pulls():
    from moehelpers.book.peers_page import page_metrics, page_verdicts
    from moehelpers.evaluation.peers import ML_GRID_MODEL

    scores = pd.DataFrame({"model": ["global Ridge", "cannon", "cnn", ML_GRID_MODEL],
                           "noise_level": 0.2, "r2": [0.7, 0.6, 0.72, 0.85],
                           "delta_lo": [np.nan, -0.2, 0.01, 0.1],
                           "share_of_ceiling": [0.78, 0.67, 0.8, 0.94]})
    pulls = pd.DataFrame({"model": ["cannon", ML_GRID_MODEL, "cannon"], "label": "log_g",
                          "noise_level": [0.2, 0.2, 0.5], "pull_width": [2.1, 1.05, 1.2]})
    verdicts, best = page_verdicts(scores, pulls, 0.2, ["cannon", "cnn"])
    by = {v["name"]: v for v in verdicts}
    assert best == "cnn"  # the ML fit with the true model is no peer, though it scores higher
    assert by["peer_beats_ridge"]["passed"] and by["peer_beats_ridge"]["value"] == 0.01
    assert not by["pulls_honest"]["passed"] and by["pulls_honest"]["value"] == 2.1
    assert by["ml_grid_pulls_honest"]["passed"]
    verdicts, _ = page_verdicts(scores, pulls[pulls["model"] != ML_GRID_MODEL], 0.2, ["cnn"])
    assert [v["name"] for v in verdicts] == ["peer_beats_ridge"]  # no χ² fit, no ML row
    with pytest.raises(InvalidParameterError, match="no peer"):
        page_verdicts(scores, pulls, 0.5, ["cannon"])
    m = page_metrics(scores, [0.2, 0.5], 0.2)
    assert m["r2"]["cnn"] == 0.72 and m["share_of_ceiling"][ML_GRID_MODEL] == 0.94


@pytest.mark.skipif(not DEFAULT_GRID_PATH.is_file(), reason="committed grid absent")
def test_evaluate_levels_with_the_true_model_on_grid_spectra(make_spectraset):
    from moehelpers.data.grid import SpectralGrid
    from moehelpers.data.sampler import make_dataset
    from moehelpers.data.splits import Splits, noisy_splits
    from moehelpers.evaluation.peers import ML_GRID_MODEL, evaluate_levels, grid_truth

    grid = SpectralGrid.load()
    splits = Splits(*(make_dataset(n, s, grid=grid) for n, s in ((300, 1), (80, 2), (60, 3))))
    truth, why = grid_truth(splits.test, "physical")
    assert truth is not None and why == "" and truth.kind == "physical"
    assert truth.crlb1_sigma.shape == (60,) and np.all(truth.crlb1_sigma > 0)
    assert grid_truth(splits.test, "distorted") == (None, "the per-star continuum distortion "
                                                    "is not part of the grid model")
    off = make_spectraset(n_samples=5, n_pixels=32)  # not on the grid's pixels
    assert grid_truth(off, "physical")[0] is None
    released = []
    res = evaluate_levels(splits, [0.2, 0.5], noisy=lambda lv: noisy_splits(splits, lv, 7),
                          seed=7, truth=truth, models=["cannon"], n_boot=50, boot_seed=1,
                          release=lambda: released.append(1))
    assert released == [1, 1]
    sc = res.scores.set_index(["noise_level", "model"])
    assert list(res.scores["model"][:3]) == ["global Ridge", "cannon", ML_GRID_MODEL]
    assert sc.loc[(0.2, ML_GRID_MODEL), "r2"] > sc.loc[(0.5, ML_GRID_MODEL), "r2"]
    assert np.isfinite(sc.loc[(0.2, ML_GRID_MODEL), "delta_lo"])  # paired against the Ridge
    assert set(res.pulls["model"]) == {"cannon", ML_GRID_MODEL}
    assert set(res.sigma_vs_crlb["noise_level"]) == {0.2, 0.5}  # the bound comes from truth
    assert set(res.timings["noise_level"]) == {0.2, 0.5}
    assert set(res.seconds_per_model()) == {"ridge init", "cannon", ML_GRID_MODEL}
    with pytest.raises(InvalidParameterError, match="levels"):
        evaluate_levels(splits, [0.0], noisy=lambda lv: {}, seed=7)


def toy_peer_args(seed: int, sizes: tuple[int, int, int], level: float = 0.5
                  ) -> tuple[tuple, np.ndarray]:
    """Positional arguments of ``evaluate_peers`` on a toy, and a noisy baseline."""
    rng = np.random.default_rng(seed)
    sets = _toy_splits(rng, level, sizes)
    base = sets["test"][0][:, 1] + rng.normal(0, 0.6, sizes[2])
    return ({s: v[3] for s, v in sets.items()}, sets["train"][1],
            {s: v[2] for s, v in sets.items()}, {s: v[0] for s, v in sets.items()}, level), base


def test_cnn_beside_the_chi2_fits_gives_the_same_results_as_one_after_another():
    """``overlap_cnn``: the CNN on its own thread changes no number (at the same threads)."""
    args, base = toy_peer_args(11, (400, 100, 120))
    results = []
    for overlap in (True, False):
        st = PeerSettings(bin_factor=2, emulator_hidden=16, emulator_epochs=3, cnn_epochs=2,
                          cnn_bin_factor=2, cnn_dense=(16, 8), device="cpu", n_threads=1,
                          overlap_cnn=overlap)
        # one BLAS thread for both: beside the CNN the χ² fits run on one (threadpool_limits),
        # and another thread count may round the Ridge start differently (``make test``
        # sets one BLAS thread; plain ``pytest`` on two cores failed here before)
        with threadpool_limits(limits=1, user_api="blas"):
            results.append(evaluate_peers(*args, baseline=base, settings=st, n_boot=50,
                                          seed=3))
    together, apart = results
    pd.testing.assert_frame_equal(together.predictions, apart.predictions, check_exact=True)
    pd.testing.assert_frame_equal(together.scores, apart.scores, check_exact=True)
    assert list(together.timings["model"]) == ["ridge init", "cannon", "emulator", "cnn"]
    assert together.settings["overlap_cnn"] and not apart.settings["overlap_cnn"]
