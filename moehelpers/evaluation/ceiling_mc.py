"""Monte-Carlo check of the Fisher ceiling: maximum-likelihood fits on the real interpolant.

For one star, :func:`ml_logg_spread` draws noisy copies exactly as
:meth:`~moehelpers.data.spectra.SpectraSet.noisy` does (``flux + L · error · N(0, 1)``), fits
(Teff, log g, [M/H]) to each copy by Gauss–Newton weighted least squares (the maximum-
likelihood estimate for Gaussian noise of known σ) on the same grid interpolant, and returns
the spread of the fitted log g. At high SNR the ML estimate is efficient, so its variance
should equal the marginal bound ``[F⁻¹]_gg`` — and exceed the conditional ``1/F_gg``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from moehelpers.data.grid import SpectralGrid
from moehelpers.errors import InvalidParameterError, ShapeMismatchError
from moehelpers.evaluation.ceiling import LABEL_NAMES, LABEL_SCALE, fisher, flux_jacobian

__all__ = ["ML_GRID_MODEL", "mc_check", "ml_fit", "ml_grid_fit", "ml_logg_spread"]

#: Model name of the maximum-likelihood fit with the true grid model (a check of the
#: ceiling, not a deployable model: it is given the exact physics of the data).
ML_GRID_MODEL = "ML fit, true grid model"


def ml_fit(grid: SpectralGrid, x: np.ndarray, sigma: np.ndarray, theta0: np.ndarray, *,
           kind: str = "physical", n_iter: int = 8) -> np.ndarray:
    """Gauss–Newton weighted least-squares labels of spectra ``x`` (N, P), start ``theta0``.

    ``theta0`` is (N, 3) in K, dex, dex; steps are clipped to the grid's bounds.
    Returns the fitted labels (N, 3) in the same units.
    """
    theta = np.array(theta0, dtype=np.float64, copy=True)
    if theta.ndim != 2 or theta.shape[1] != 3 or x.shape[0] != theta.shape[0]:
        raise InvalidParameterError(f"theta0 must be (N, 3) with N = {x.shape[0]} spectra; "
                                    f"got {theta.shape}.")
    lo = np.array([grid.teff[0], grid.logg[0], grid.mh[0]])
    hi = np.array([grid.teff[-1], grid.logg[-1], grid.mh[-1]])
    w = 1.0 / np.asarray(sigma, dtype=np.float64) ** 2
    for _ in range(n_iter):
        flux, jac = flux_jacobian(grid, *theta.T, kind=kind)
        F, _ = fisher(jac, np.broadcast_to(sigma, x.shape))
        grad = np.einsum("npk,np->nk", jac, w * (x - flux))
        step = np.linalg.solve(F, grad[..., None])[..., 0] * LABEL_SCALE
        theta = np.clip(theta + step, lo, hi)
    return theta


def ml_grid_fit(grid: SpectralGrid, x: np.ndarray, sigma: np.ndarray, *,
                kind: str = "physical", n_iter: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """Maximum-likelihood labels of observed spectra with the grid as the exact model.

    The fit every unbiased method is measured against: the data were drawn from this
    interpolant, so the estimate is efficient at high SNR (its spread attains the marginal
    Cramér–Rao bound) and its stated σ should be honest. Each star starts at the grid node
    of smallest χ² (all nodes scored by two matrix products, so no start depends on the true
    labels), then :func:`ml_fit` takes ``n_iter`` Gauss–Newton steps.

    Parameters
    ----------
    grid : SpectralGrid
        The grid the spectra were drawn from (same pixels).
    x : ndarray of shape (N, P)
        Observed (noisy) flux as the sampler stores it.
    sigma : ndarray of shape (N, P)
        Per-pixel 1σ of ``x`` (the error array times the noise level).
    kind : {"physical", "normalized"}, default="physical"
        The dataset's kind (physical: divided by its median per star).
    n_iter : int, default=8

    Returns
    -------
    labels : ndarray of shape (N, 3)
        Fitted (Teff, log g, [M/H]) in K, dex, dex.
    sigma_labels : ndarray of shape (N, 3)
        Stated 1σ of each label, ``sqrt(diag F⁻¹)`` at the fit.

    Raises
    ------
    ShapeMismatchError
        If ``x`` or ``sigma`` is not (N, P) with the grid's P pixels.
    """
    x = np.asarray(x, dtype=np.float64)
    sigma = np.asarray(sigma, dtype=np.float64)
    p = grid.wave.size
    if x.ndim != 2 or x.shape[1] != p or sigma.shape != x.shape:
        raise ShapeMismatchError(
            f"x {x.shape} and sigma {sigma.shape} must both be (n_stars, {p}): the grid's "
            "pixels. Fix: fit spectra drawn from this grid (or skip the true-model fit).")
    if kind not in ("physical", "normalized"):
        raise InvalidParameterError(f"kind must be 'physical' or 'normalized'; got {kind!r}.")
    nodes = grid.node_spectra(kind).reshape(-1, p).astype(np.float64)
    if kind == "physical":
        nodes = nodes / np.median(nodes, axis=1, keepdims=True)
    w = 1.0 / sigma**2
    chi2 = (w * x * x).sum(axis=1)[:, None] - 2.0 * (w * x) @ nodes.T + w @ (nodes**2).T
    axes = np.meshgrid(grid.teff, grid.logg, grid.mh, indexing="ij")
    node_labels = np.stack([a.ravel() for a in axes], axis=1)
    theta = ml_fit(grid, x, sigma, node_labels[np.argmin(chi2, axis=1)], kind=kind,
                   n_iter=n_iter)
    _, jac = flux_jacobian(grid, *theta.T, kind=kind)
    F, _ = fisher(jac, sigma)
    cov = np.linalg.pinv(F, hermitian=True)
    sig = np.sqrt(np.clip(np.diagonal(cov, axis1=1, axis2=2), 0.0, None)) * LABEL_SCALE
    return theta, sig


def ml_logg_spread(grid: SpectralGrid, labels: np.ndarray, flux: np.ndarray,
                   error: np.ndarray, noise_level: float, n_draws: int, seed: int, *,
                   kind: str = "physical", n_iter: int = 8) -> np.ndarray:
    """Variance of the ML log g over ``n_draws`` noisy copies of each star.

    Parameters
    ----------
    labels : ndarray of shape (S, 3)
        True (Teff, log g, [M/H]) of S stars (start of the fits).
    flux, error : ndarray of shape (S, P)
        Stored noiseless flux and 1σ error at noise level 1.
    noise_level : float
    n_draws, seed : int
        Noisy copies per star; seed of ``np.random.default_rng``.
    kind, n_iter : see :func:`ml_fit`.

    Returns
    -------
    ndarray of shape (S,)
        Sample variance (ddof 1) of the fitted log g per star, dex².
    """
    if not (noise_level > 0 and n_draws >= 2):
        raise InvalidParameterError(
            f"need noise_level > 0 and n_draws >= 2; got {noise_level!r}, {n_draws!r}.")
    rng = np.random.default_rng(seed)
    out = np.empty(len(labels))
    for s, (lab, f, e) in enumerate(zip(labels, flux, error, strict=True)):
        sigma = noise_level * np.asarray(e, dtype=np.float64)
        x = f[None, :] + sigma[None, :] * rng.standard_normal((n_draws, f.size))
        fit = ml_fit(grid, x, sigma, np.repeat(np.asarray(lab, float)[None], n_draws, 0),
                     kind=kind, n_iter=n_iter)
        out[s] = np.var(fit[:, 1], ddof=1)
    return out


def mc_check(grid: SpectralGrid, ceiling: Any, spectra: Any, *, n_stars: int, n_draws: int,
             noise_level: float, seed: int, n_iter: int = 8) -> pd.DataFrame:
    """ML variance of log g against the bounds for ``n_stars`` random stars of ``spectra``.

    ``ceiling`` is the :class:`~moehelpers.evaluation.ceiling.Ceiling` of ``spectra`` with the
    continuum known (the ML fit knows it). Stars are drawn with ``default_rng(seed)``; the
    fits use :func:`ml_logg_spread` with the same seed.

    Returns
    -------
    DataFrame
        ``star, T_eff, log_g, M_H, var_ml, crlb, crlb_cond, crlb_free_scale`` and the ratios
        ``ratio`` (to the marginal bound: ≈ 1 when the bound is attained), ``ratio_cond``,
        ``ratio_free_scale``.
    """
    idx = np.random.default_rng(seed).choice(len(spectra), size=min(n_stars, len(spectra)),
                                             replace=False)
    true = spectra.labels[list(LABEL_NAMES)].to_numpy()[idx]
    var_ml = ml_logg_spread(grid, true, spectra.flux[idx].astype(np.float64),
                            spectra.error[idx].astype(np.float64), noise_level, n_draws, seed,
                            n_iter=n_iter)
    out = pd.DataFrame({"star": idx, "T_eff": true[:, 0], "log_g": true[:, 1],
                        "M_H": true[:, 2], "var_ml": var_ml,
                        "crlb": ceiling.crlb(noise_level)[idx],
                        "crlb_cond": ceiling.cond1[idx] * noise_level**2,
                        "crlb_free_scale": ceiling.free1[idx] * noise_level**2})
    out["ratio"] = out["var_ml"] / out["crlb"]
    out["ratio_cond"] = out["var_ml"] / out["crlb_cond"]
    out["ratio_free_scale"] = out["var_ml"] / out["crlb_free_scale"]
    return out
