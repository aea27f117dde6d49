"""Tests of :mod:`moehelpers.evaluation.ceiling`: Jacobian, Fisher, marginal bound, R² ceiling.

Toy cases with closed-form answers (a grid linear or cubic in the labels, a Gaussian line)
check the arithmetic; a Monte-Carlo least-squares fit checks that the marginal bound — not
the conditional one — is the attainable variance; the committed grid checks the Jacobian
of the median-normalised flux against finite differences.
"""

from __future__ import annotations

import numpy as np
import pytest

from moehelpers.book.ceiling_compare import ceiling_r2, ceiling_table
from moehelpers.data.grid import DEFAULT_GRID_PATH, SpectralGrid, lagrange_stencil
from moehelpers.errors import InvalidParameterError, ShapeMismatchError
from moehelpers.evaluation.ceiling import (
    LABEL_SCALE,
    Ceiling,
    compute_ceiling,
    fisher,
    flux_jacobian,
    lagrange_derivative,
    marginal_bound,
    r2_ceiling,
)
from moehelpers.records import store as results

TEFF = np.array([3750.0, 4000.0, 4500.0, 4750.0, 5250.0, 6000.0])
LOGG = np.array([1.0, 1.5, 2.5, 3.0, 4.0, 5.0])
MH = np.array([-2.5, -2.0, -1.0, -0.5, 0.0, 0.5])


def _grid(fn, n_pixels: int = 12) -> SpectralGrid:
    """In-memory grid with flux_norm = fn(Teff/kK, log g, [M/H]) and a flat continuum."""
    tt, gg, mm = np.meshgrid(TEFF, LOGG, MH, indexing="ij")
    flux = fn(tt[..., None] / 1000.0, gg[..., None], mm[..., None], np.arange(n_pixels))
    return SpectralGrid(wave=np.linspace(7100.0, 8850.0, n_pixels), teff=TEFF, logg=LOGG,
                        mh=MH, flux_norm=flux.astype(np.float32),
                        log10_cont=np.zeros(flux.shape))


def _labels(n: int, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.uniform(3800, 5900, n), rng.uniform(1.1, 4.9, n), rng.uniform(-2.4, 0.4, n)]


# ----------------------------------------------------------------------------- Jacobian
def test_lagrange_derivative_matches_finite_differences() -> None:
    x = np.array([3760.0, 4100.0, 4600.0, 5100.0, 5990.0])
    start, w, dw = lagrange_derivative(TEFF, x)
    s0, w0 = lagrange_stencil(TEFF, x)
    assert np.array_equal(start, s0) and np.allclose(w, w0)
    h = 1e-3
    # keep the stencil fixed: evaluate the same Lagrange polynomials at x ± h
    nodes = TEFF[start[:, None] + np.arange(4)]

    def weights(z):
        out = np.ones((z.size, 4))
        for j in range(4):
            for k in range(4):
                if k != j:
                    out[:, j] *= (z - nodes[:, k]) / (nodes[:, j] - nodes[:, k])
        return out

    fd = (weights(x + h) - weights(x - h)) / (2 * h)
    assert np.allclose(dw, fd, rtol=1e-6, atol=1e-10)
    assert np.allclose(dw.sum(axis=1), 0.0, atol=1e-12)  # weights sum to 1 everywhere


def test_jacobian_exact_for_a_cubic_grid() -> None:
    """Cubic Lagrange reproduces a per-axis cubic, so its derivative is the exact one."""
    rng = np.random.default_rng(3)
    c = rng.normal(0, 0.05, (4, 12))

    def fn(t, g, m, p):
        return 1.0 + c[0] * t**3 + c[1] * g**2 * m + c[2] * m**3 + c[3] * t * g

    grid = _grid(fn)
    t, g, m = _labels(40)
    flux, jac = flux_jacobian(grid, t, g, m, kind="normalized")
    tk = (t / 1000.0)[:, None]
    g, m = g[:, None], m[:, None]
    exact = np.stack([3 * c[0] * tk**2 + c[3] * g, 2 * c[1] * g * m + c[3] * tk,
                      c[1] * g**2 + 3 * c[2] * m**2], axis=-1)
    assert np.allclose(flux, fn(tk, g, m, 0), atol=1e-5)  # float32 node spectra
    assert np.allclose(jac, exact, atol=2e-5)


@pytest.mark.skipif(not DEFAULT_GRID_PATH.is_file(), reason="committed grid absent")
def test_jacobian_of_real_grid_matches_central_differences() -> None:
    grid = SpectralGrid.load()
    labels = _labels(30, seed=5)
    # median_window=1: the derivative of the exact median (middle two pixels)
    for kind, ok_share in (("normalized", 1.0), ("physical", 0.8)):
        _, jac = flux_jacobian(grid, *labels, kind=kind, median_window=1)
        for q, h in enumerate((0.05, 5e-5, 5e-5)):
            up = [v + h * (i == q) for i, v in enumerate(labels)]
            dn = [v - h * (i == q) for i, v in enumerate(labels)]
            fd = (flux_jacobian(grid, *up, kind=kind)[0]
                  - flux_jacobian(grid, *dn, kind=kind)[0]) / (2 * h) * LABEL_SCALE[q]
            rel = np.abs(fd - jac[..., q]).max(axis=1) / np.abs(jac[..., q]).max(axis=1)
            # "physical": the median pixel may switch inside ±h (a kink), rarely
            assert np.mean(rel < 1e-4) >= ok_share, (kind, q, np.sort(rel)[-5:])


# ----------------------------------------------------------------------------- Fisher
def test_linear_gaussian_model_closed_form_and_monte_carlo() -> None:
    """f = c + A θ: F = Aᵀ Σ⁻¹ A, and least squares attains the *marginal* bound."""
    rng = np.random.default_rng(7)
    a = rng.normal(0, 0.05, (12, 3))
    a[:, 2] = 0.8 * a[:, 1] + 0.2 * a[:, 2]  # correlated log g / [M/H] columns

    def fn(t, g, m, p):
        return 1.0 + a[p, 0] * t + a[p, 1] * g + a[p, 2] * m

    grid = _grid(fn)
    theta = np.array([[4800.0], [2.7], [-1.1]])
    _, jac = flux_jacobian(grid, *theta, kind="normalized")
    sigma = rng.uniform(0.01, 0.03, 12)
    F, nbad = fisher(jac, sigma)
    exact = a.T @ np.diag(1 / sigma**2) @ a
    assert nbad[0] == 0
    assert np.allclose(F[0], exact, rtol=1e-4)
    marg, cond = marginal_bound(F)
    assert marg[0] == pytest.approx(np.linalg.inv(exact)[1, 1], rel=1e-4)
    assert cond[0] == pytest.approx(1 / exact[1, 1], rel=1e-4)
    assert marg[0] > 1.5 * cond[0]  # the correlation matters
    # weighted least squares on 4000 noisy copies: variance of log g ≈ marginal bound
    x = rng.normal(0, 1, (4000, 12)) * sigma
    aw = a / sigma[:, None]
    est = np.linalg.lstsq(aw, (x / sigma).T, rcond=None)[0]
    assert np.var(est[1]) == pytest.approx(marg[0], rel=0.08)


def test_gaussian_line_fisher_matches_closed_form() -> None:
    """Depth d and width w of a Gaussian absorption line, densely sampled."""
    d, w, step, sig = 0.4, 1.3, 0.01, 0.02
    x = np.arange(-15, 15, step)
    g = np.exp(-(x**2) / (2 * w**2))
    jac = np.stack([-g, -d * g * x**2 / w**3], axis=-1)[None]
    F, _ = fisher(jac, np.full(x.size, sig))
    k = 1 / (step * sig**2)
    # ∫g² = √π w, ∫g² x⁴/w⁶ = (3/4)√π / w, ∫g² x²/w³ = √π / 2
    exact = k * np.sqrt(np.pi) * np.array([[w, d / 2], [d / 2, 0.75 * d**2 / w]])
    assert np.allclose(F[0], exact, rtol=1e-6)
    marg, cond = marginal_bound(F, index=1)
    assert marg[0] == pytest.approx(np.linalg.inv(exact)[1, 1], rel=1e-6)
    assert cond[0] == pytest.approx(1 / exact[1, 1], rel=1e-6)


def test_marginal_never_below_conditional_and_scale_invariant() -> None:
    rng = np.random.default_rng(11)
    b = rng.normal(size=(200, 3, 3))
    F = b @ b.transpose(0, 2, 1) + 1e-3 * np.eye(3)
    marg, cond = marginal_bound(F)
    assert np.all(marg >= cond * (1 - 1e-12))
    assert np.allclose(marg, np.linalg.inv(F)[:, 1, 1], rtol=1e-8)
    # rescaling a nuisance (Teff in K instead of kK: F_tt × 1e-6) leaves the log g bound
    s = np.diag([1e-3, 1.0, 1e3])
    marg2, _ = marginal_bound(s @ F @ s)
    assert np.allclose(marg2, marg, rtol=1e-7)
    # uncorrelated parameters: marginal = conditional
    diag = np.eye(3)[None] * np.array([2.0, 5.0, 3.0])[None, :, None]
    m, c = marginal_bound(diag)
    assert m[0] == pytest.approx(c[0]) == pytest.approx(0.2)


def test_bound_scales_as_noise_level_squared() -> None:
    rng = np.random.default_rng(2)
    jac = rng.normal(size=(5, 50, 3))
    sigma = rng.uniform(0.5, 2.0, (5, 50))
    m1, c1 = marginal_bound(fisher(jac, sigma)[0])
    for level in (0.05, 0.2, 1.0, 3.0):
        m, c = marginal_bound(fisher(jac, level * sigma)[0])
        assert np.allclose(m, level**2 * m1) and np.allclose(c, level**2 * c1)
    cl = Ceiling(labels=None, crlb1=m1, cond1=c1, fisher1=fisher(jac, sigma)[0],
                 flux_residual=0.0, n_bad_pixels=np.zeros(5))
    assert np.allclose(cl.crlb(0.2), 0.04 * m1)
    with pytest.raises(InvalidParameterError):
        cl.crlb(-1.0)


def test_bad_pixels_carry_no_information() -> None:
    rng = np.random.default_rng(4)
    jac = rng.normal(size=(1, 20, 3))
    sigma = rng.uniform(0.5, 2.0, (1, 20))
    bad = sigma.copy()
    bad[0, [2, 5, 7, 9]] = [0.0, np.inf, np.nan, -1.0]
    jbad = jac.copy()
    jbad[0, 11, 0] = np.nan
    F, nbad = fisher(jbad, bad)
    keep = np.setdiff1d(np.arange(20), [2, 5, 7, 9, 11])
    ref, _ = fisher(jac[:, keep], sigma[:, keep])
    assert nbad[0] == 5 and np.all(np.isfinite(F)) and np.allclose(F, ref)


def test_unidentified_log_g_gets_infinite_bound() -> None:
    F = np.array([[[4.0, 0.0, 1.0], [0.0, 0.0, 0.0], [1.0, 0.0, 2.0]]])
    assert np.isinf(marginal_bound(F)[0][0]) and np.isinf(marginal_bound(F)[1][0])
    # log g information entirely shared with [M/H] (identical Jacobian columns)
    col = np.array([1.0, 2.0, 3.0])
    jac = np.stack([np.array([1.0, 0.0, 0.0]), col, col], axis=-1)[None]
    F2, _ = fisher(jac, np.ones(3))
    assert np.isinf(marginal_bound(F2)[0][0])
    assert np.isfinite(marginal_bound(F2)[1][0])
    # an uninformative nuisance does not make the log g bound infinite
    F3 = np.array([[[0.0, 0.0, 0.0], [0.0, 4.0, 1.0], [0.0, 1.0, 2.0]]])
    assert marginal_bound(F3)[0][0] == pytest.approx(np.linalg.inv(F3[0, 1:, 1:])[0, 0])


def test_r2_ceiling_definitions() -> None:
    y = np.array([1.0, 2.0, 3.0, 4.0, 5.0])  # Var = 2
    crlb = np.array([0.1, 0.1, 0.1, 0.1, 4.1])
    out = r2_ceiling(crlb, y)
    assert out["var_y"] == pytest.approx(2.0)
    assert out["r2_max_set"] == pytest.approx(1 - 0.9 / 2)  # mean CRLB 0.9
    assert out["r2_max_median"] == pytest.approx(1 - 0.1 / 2)
    with pytest.raises(ShapeMismatchError):
        r2_ceiling(crlb[:3], y)


# ----------------------------------------------------------------------------- datasets
@pytest.mark.skipif(not DEFAULT_GRID_PATH.is_file(), reason="committed grid absent")
def test_compute_ceiling_on_sampler_data(tmp_path) -> None:
    from moehelpers.data.sampler import make_dataset

    grid = SpectralGrid.load()
    ds = make_dataset(40, 3, grid=grid)
    c = compute_ceiling(ds, grid)
    assert c.flux_residual < 1e-5  # the stored flux is the interpolant we differentiate
    assert np.all(np.isfinite(c.crlb1)) and np.all(c.crlb1 >= c.cond1 * (1 - 1e-9))
    assert np.all(c.free1 >= c.crlb1 * (1 - 1e-9))  # a free scale only loses information
    # the median-derivative window only changes the pixels' common scale direction
    c1 = compute_ceiling(ds, grid, median_window=1)
    assert np.allclose(c1.free1, c.free1, rtol=1e-6)
    assert not np.allclose(c1.cond1, c.cond1)
    tab = c.summary([0.1, 0.2, 1.0], n_boot=50, seed=1)
    assert np.all(np.diff(tab["r2_max_set"]) < 0)  # more noise, lower ceiling
    assert np.all(tab["r2_bayes_set"] >= tab["r2_max_set"] - 1e-12)
    assert np.all(tab["r2_cond_set"] >= tab["r2_max_set"] - 1e-12)
    assert np.all(tab["r2_free_scale_set"] <= tab["r2_max_set"] + 1e-12)
    assert np.all((tab["r2_bayes_set"] > 0) & (tab["r2_bayes_set"] < 1))
    assert np.all((tab["r2_max_set_lo"] <= tab["r2_max_set"])
                  & (tab["r2_max_set"] <= tab["r2_max_set_hi"]))
    ps = c.per_star(0.2)
    assert np.allclose(ps["snr"], ds.snr_l2(0.2))
    # the stars' SNR and bound: σ_CRLB · SNR does not depend on the noise level
    ps1 = c.per_star(1.0)
    assert np.allclose(ps["sigma_crlb"] * ps["snr"], ps1["sigma_crlb"] * ps1["snr"])
    # the record round trip used by the hub page
    results.record("BEYOND-ceiling", run="t", params={"seed": 1},
                   dataset={"generator": {"n": 40}}, metrics={}, tables={"by_noise": tab},
                   runs_dir=tmp_path)
    assert ceiling_r2(0.2, "t", tmp_path) == pytest.approx(tab["r2_max_set"].iloc[1])
    assert ceiling_r2(0.2, "t", tmp_path, which="r2_bayes_set") == pytest.approx(
        tab["r2_bayes_set"].iloc[1])
    assert np.isnan(ceiling_r2(0.7, "t", tmp_path))
    assert np.isnan(ceiling_r2(0.2, "absent", tmp_path)) and ceiling_table("x", tmp_path) is None


# ----------------------------------------------------------------------------- comparison
def _write(tmp_path, mvp_id, tables, params=None, metrics=None, headline=None):
    from moehelpers.records import registry

    entry = registry.mvp(mvp_id)  # a record must judge every hypothesis its MVP tests
    verdicts = [results.verdict(h, 1.0, 0.0, tests=h) for h in (entry.hypotheses if entry
                                                                 else ())]
    return results.record(mvp_id, run="r", params={"seed": 1, **(params or {})},
                          dataset={"generator": {"n": 1}}, metrics=metrics or {},
                          tables=tables, verdicts=verdicts, runs_dir=tmp_path,
                          headline=headline)


def test_recorded_r2_and_fraction_of_ceiling(tmp_path) -> None:
    import json

    import pandas as pd

    from moehelpers.book.ceiling_compare import fraction_of_ceiling, recorded_r2
    from moehelpers.records.store import headline_row as row

    models, status = recorded_r2("r", tmp_path)  # nothing run yet: no exception
    assert models.empty and set(status["status"]) == {"not run yet"}
    _write(tmp_path, "MVP-0", {"headline": pd.DataFrame(
        [row("global Ridge", 0.2, 0.6, (0.5, 0.7)), row("global Ridge", 1.0, 0.3, (0.2, 0.4))])})
    _write(tmp_path, "MVP-1.0", {"headline": pd.DataFrame(  # covered stars: not comparable
        [row("piecewise Ridge", 0.2, 0.9, subset="covered test stars")])})
    _write(tmp_path, "MVP-3.2", {"headline": pd.DataFrame(
        [row("conditional, true [M/H]", 0.2, 0.8, labels_given="Teff/[M/H]"),
         row("conditional, predicted [M/H]", 0.2, 0.7)])})
    _write(tmp_path, "MVP-4.0", {"headline": pd.DataFrame(  # given the answer: left out
        [row("oracle log g gate", 0.2, 0.95, labels_given="log g"),
         row("pseudo log g gate", 0.2, 0.55)])})
    path = _write(tmp_path, "MVP-2.0", {"headline": pd.DataFrame([row("mixed", 0.2, 0.5)])})
    raw = json.loads(path.read_text())
    raw["metrics"]["typed_by_hand"] = 1.0  # content no longer matches its hash
    path.write_text(json.dumps(raw))
    models, status = recorded_r2("r", tmp_path)
    st = dict(zip(status["mvp_id"], status["status"], strict=True))
    assert st["MVP-0"] == "ok: 2 models" and st["MVP-3.2"] == "ok: 2 models"
    assert st["MVP-1.0"] == "no model on all test stars" and st["MVP-4.0"] == "ok: 1 models"
    assert st["MVP-2.0"].startswith("unreadable") and st["MVP-6.0"] == "not run yet"
    assert len(models) == 5 and "oracle log g gate" not in set(models["model"])
    ceil = pd.DataFrame({"noise_level": [0.2, 1.0], "r2_max_set": [0.8, -0.5],
                         "r2_cond_set": [0.9, 0.1], "r2_bayes_set": [0.85, 0.6]})
    out = fraction_of_ceiling(models, ceil).set_index(["mvp_id", "model", "noise_level"])
    assert out.loc[("MVP-0", "global Ridge", 0.2), "fraction"] == pytest.approx(0.6 / 0.8)
    assert out.loc[("MVP-0", "global Ridge", 0.2), "r2_lo"] == pytest.approx(0.5)
    assert np.isnan(out.loc[("MVP-0", "global Ridge", 1.0), "fraction"])  # ceiling ≤ 0
    assert out.loc[("MVP-0", "global Ridge", 1.0), "fraction_bayes"] == pytest.approx(0.5)
    oracle = out.loc[("MVP-3.2", "conditional, true [M/H]", 0.2)]
    assert oracle["uses_true_labels"] and oracle["fraction"] == pytest.approx(0.8 / 0.9)
    deploy = out.loc[("MVP-3.2", "conditional, predicted [M/H]", 0.2)]
    assert not deploy["uses_true_labels"] and deploy["fraction"] == pytest.approx(0.7 / 0.8)
    # no ceiling record: NaN, not an error
    assert fraction_of_ceiling(models, run="r", runs_dir=tmp_path)["fraction"].isna().all()


def test_headline_labels_given_is_validated(tmp_path) -> None:
    from moehelpers.errors import InvalidParameterError
    from moehelpers.records.store import headline_from_r2, headline_per_level, headline_row

    with pytest.raises(InvalidParameterError, match="labels_given"):
        _write(tmp_path, "MVP-0", {}, headline=[headline_row("x", 0.2, 0.5,
                                                             labels_given="true labels")])
    rows = headline_from_r2({"9 bins": {"oracle": 0.8, "pseudo": 0.7}, "global": 0.6}, 0.2,
                            {"9 bins · oracle": "Teff/[M/H]"})
    assert [r["labels_given"] for r in rows] == ["Teff/[M/H]", "none", "none"]
    with pytest.raises(InvalidParameterError, match="not among"):  # a renamed model
        headline_from_r2({"9 bins": {"oracle": 0.8}}, 0.2, {"9 bins · oracle gate": "log g"})
    with pytest.raises(InvalidParameterError, match="not among"):
        headline_per_level([0.1, 0.2], {"a": [0.5, 0.4]}, {"b": "Teff/[M/H]"})
    rows = headline_per_level([0.1, 0.2], {"a": [0.5, 0.4], "b": [0.6, 0.5]},
                              {"b": "Teff/[M/H]"})
    assert [r["labels_given"] for r in rows] == ["none", "none", "Teff/[M/H]", "Teff/[M/H]"]


def test_ml_fit_recovers_labels_on_a_linear_grid() -> None:
    from moehelpers.evaluation.ceiling_mc import ml_fit

    rng = np.random.default_rng(8)
    a = rng.normal(0, 0.05, (12, 3))

    def fn(t, g, m, p):
        return 1.0 + a[p, 0] * t + a[p, 1] * g + a[p, 2] * m

    grid = _grid(fn)
    truth = np.array([[4700.0, 3.1, -0.8], [5200.0, 1.9, -1.7]])
    x, _ = flux_jacobian(grid, *truth.T, kind="normalized")
    start = truth + np.array([150.0, 0.4, -0.3])
    fit = ml_fit(grid, x, np.full(12, 0.01), start, kind="normalized", n_iter=3)
    assert np.allclose(fit, truth, atol=1e-3)


def test_best_recorded_and_with_recorded(tmp_path) -> None:
    import pandas as pd

    from moehelpers.book.ceiling_compare import best_recorded, with_recorded
    from moehelpers.evaluation.ceiling import CEILING_MODEL
    from moehelpers.evaluation.ceiling_mc import ML_GRID_MODEL
    from moehelpers.records.store import headline_row as row

    assert best_recorded("r", [0.2], tmp_path).empty  # nothing recorded: empty, no error
    _write(tmp_path, "MVP-0", {"headline": pd.DataFrame([row("global Ridge", 0.2, 0.75)])})
    _write(tmp_path, "MVP-3.2", {"headline": pd.DataFrame(
        [row("conditional, true [M/H]", 0.2, 0.82, (0.8, 0.84), labels_given="Teff/[M/H]"),
         row("conditional, predicted [M/H]", 0.2, 0.79, (0.77, 0.81)),
         row("global Ridge (same stars)", 0.2, 0.99)])})  # a baseline: never "best MoE"
    _write(tmp_path, "MVP-6.0", {"headline": pd.DataFrame([row("learned gate", 0.2, 0.78)])})
    _write(tmp_path, "BEYOND-peers", {"headline": pd.DataFrame(
        [row("cnn", 0.2, 0.95), row(ML_GRID_MODEL, 0.2, 0.97)])})  # not MoE experiments
    _write(tmp_path, "BEYOND-ceiling", {"by_noise": pd.DataFrame(
        {"noise_level": [0.2], "r2_max_set": [0.9], "r2_max_set_lo": [0.88],
         "r2_max_set_hi": [0.92], "r2_cond_set": [0.95], "r2_bayes_set": [0.91],
         "r2_max_median": [0.9]})})
    best = best_recorded("r", [0.2, 0.5], tmp_path).set_index("model")
    dep = best.loc["best MoE/conditional (deployable)"]
    assert dep["r2"] == pytest.approx(0.79) and dep["source"] == (
        "conditional, predicted [M/H] (MVP-3.2)")
    assert dep["share_of_ceiling"] == pytest.approx(0.79 / 0.9)
    orc = best.loc["best MoE/conditional (oracle: true Teff/[M/H])"]
    assert orc["r2_lo"] == pytest.approx(0.8) and orc["share_of_ceiling"] == pytest.approx(
        0.82 / 0.95)  # an oracle is measured against the conditional ceiling
    assert best.loc[CEILING_MODEL, "r2"] == pytest.approx(0.9) and len(best) == 3  # no 0.5
    scores = pd.DataFrame([{"model": "global Ridge", "noise_level": 0.2, "r2": 0.7},
                           {"model": "cnn", "noise_level": 0.2, "r2": 0.72}])
    table, has_ceiling = with_recorded(scores, "r", tmp_path)
    assert has_ceiling and list(table["source"][:2]) == ["fitted here"] * 2
    assert table.loc[1, "share_of_ceiling"] == pytest.approx(0.72 / 0.9)
    rec = table[table["source"] != "fitted here"].set_index("model")
    assert rec.loc["best MoE/conditional (deployable)", "delta_r2"] == pytest.approx(0.09)
    assert np.isnan(rec.loc[CEILING_MODEL, "delta_r2"])
    table, has_ceiling = with_recorded(scores, "other", tmp_path)  # an empty run
    assert not has_ceiling and table["share_of_ceiling"].isna().all() and len(table) == 2


@pytest.mark.skipif(not DEFAULT_GRID_PATH.is_file(), reason="committed grid absent")
def test_ml_grid_fit_recovers_labels_with_honest_sigma() -> None:
    from moehelpers.data.sampler import make_dataset
    from moehelpers.errors import ShapeMismatchError
    from moehelpers.evaluation.ceiling_mc import ml_grid_fit

    grid = SpectralGrid.load()
    ds = make_dataset(60, 11, grid=grid)
    true = ds.labels[["T_eff", "log_g", "M_H"]].to_numpy()
    sigma = 1e-4 * ds.error.astype(np.float64)  # nearly noiseless: the fit must find the truth
    fit, sig = ml_grid_fit(grid, ds.noisy(1e-4, seed=2), sigma)
    assert np.abs(fit[:, 1] - true[:, 1]).max() < 0.01
    assert np.abs(fit[:, 0] - true[:, 0]).max() < 5.0
    level = 0.2  # the stated σ is honest: pulls of unit width
    fit, sig = ml_grid_fit(grid, ds.noisy(level, seed=3), level * ds.error.astype(np.float64))
    pull = (fit[:, 1] - true[:, 1]) / sig[:, 1]
    assert 0.6 < 1.4826 * np.median(np.abs(pull - np.median(pull))) < 1.5
    c = compute_ceiling(ds, grid)
    assert np.median(sig[:, 1] / (level * np.sqrt(c.crlb1))) == pytest.approx(1.0, rel=0.2)
    with pytest.raises(ShapeMismatchError, match="pixels"):
        ml_grid_fit(grid, ds.flux[:, :100], sigma[:, :100])


def test_at_levels_matches_levels_to_1e6_and_leaves_missing_ones_nan():
    import pandas as pd

    from moehelpers.book.ceiling_compare import at_levels

    tab = pd.DataFrame({"noise_level": [0.1, 0.2 + 1e-9, 0.5], "r2_max_set": [0.95, 0.9, 0.7]})
    got = at_levels(tab, "r2_max_set", [0.2, 0.5, 1.0, 0.1000004])
    assert got[:2] == [0.9, 0.7] and np.isnan(got[2]) and got[3] == 0.95


def test_fisher_of_a_clean_star_does_not_depend_on_its_batch() -> None:
    # the all-pixels-valid fast path and the masked path give the same bits for a clean star
    rng = np.random.default_rng(5)
    jac = rng.normal(size=(2, 30, 3))
    sigma = rng.uniform(0.5, 2.0, (2, 30))
    alone, nbad_alone = fisher(jac[:1], sigma[:1])
    sigma[1, 4] = 0.0  # the second star has a bad pixel: the batch takes the masked path
    both, nbad = fisher(jac, sigma)
    assert np.array_equal(both[0], alone[0]) and nbad_alone[0] == 0 and list(nbad) == [0, 1]
    # σ so small that 1/σ² overflows carries no weight either (not an infinite Fisher matrix)
    tiny = sigma[:1].copy()
    tiny[0, 4] = 1e-200
    F, nb = fisher(jac[:1], tiny)
    assert nb[0] == 1 and np.all(np.isfinite(F))
