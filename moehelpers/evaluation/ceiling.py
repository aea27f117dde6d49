"""Fisher / Cramér–Rao ceiling on log g from the embedded grid's interpolant.

What is bounded
---------------
A test spectrum is ``x = f(θ) + L · e · ε`` with ``θ = (Teff, log g, [M/H])``, ``f`` the
noiseless flux the sampler stored (the grid interpolant, median-normalised for datasets of
kind ``"physical"``, continuum-normalised for ``"normalized"``), ``e`` the star's stored error
array (1σ at noise level 1), ``L`` the noise level and ``ε ~ N(0, 1)`` per pixel — exactly
:meth:`moehelpers.data.spectra.SpectraSet.noisy`. With ``σ = L · e`` known, the Fisher matrix is
``F = Jᵀ diag(1/σ²) J`` with ``J = ∂f/∂θ`` (P × 3), so ``F(L) = F(1) / L²``.

The bound on log g **marginalised** over Teff and [M/H] (which a model must infer too) is
``[F⁻¹]_gg = 1 / (F_gg − F_go F_oo⁻¹ F_og)`` (Schur complement); the **conditional** bound
``1 / F_gg`` (Teff and [M/H] known) is never larger.

From bound to R²
----------------
``R² = 1 − MSE / Var(y)`` on a test set (``Var`` with ddof 0, as :func:`sklearn.metrics.
r2_score`). An unbiased estimator has ``MSE_i ≥ CRLB_i`` for every star, hence

* **set-level ceiling** ``R²_max = 1 − mean_i(CRLB_i) / Var(y)``: the R² of an efficient
  unbiased estimator on that test set; the number to compare with a model's test R².
* **per-star ceiling** ``R²_max,i = 1 − CRLB_i / Var(y)``: the R² a test set would reach if
  every star were as informative as star i; its median describes the typical star. Since
  the mean of CRLB is dominated by the least informative stars, median ≥ set-level as a rule.

Caveats (stated in the notebook): the bound holds for unbiased estimators; a biased one
(e.g. Ridge shrinking to the mean) can beat it where ``CRLB_i`` is not small against
``Var(y)`` — there ``R²_max`` can even be negative while predicting the mean gives 0.
For that regime :meth:`Ceiling.bayes_bound` adds prior information ``Λ = diag(1/Var(label))``
of the set's own label spread: ``[(F_i + Λ)⁻¹]_gg`` is the posterior variance of a locally
linear-Gaussian model with a Gaussian prior of that spread (the Van Trees form with a
Gaussian prior). The labels are drawn uniformly, so this is an approximate ceiling for
shrinking estimators, not a strict bound; it is ≤ Var(y), so its R² lies in [0, 1]. The
error array is treated as known and carries no information; the labels are the only
unknowns (no α, no microturbulence freedom, no continuum error); the interpolant is taken
as the truth (it is, for these synthetic data). The cubic-Lagrange interpolant has
derivative jumps where its stencil changes; the derivative used is that of the stencil the
interpolation itself uses at that label. The median normalisation of ``"physical"`` data is
a rough function of the labels on tiny scales (the median pixel switches); its slope is
taken as the mean derivative of the pixels nearest the median (:data:`MEDIAN_WINDOW`), and
:attr:`Ceiling.free1` gives the conservative bound with a free overall scale instead.

Labels are scaled (Teff in kK) and the Fisher matrix is equilibrated before it is solved.
Pixels whose error is zero, negative or non-finite, or whose flux or Jacobian is not finite,
carry no information here (weight 0) and are counted in ``n_bad_pixels``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from threadpoolctl import threadpool_limits

from moehelpers.data.flux_kind import DISTORTION_ORDER, continuum_basis
from moehelpers.data.grid import SpectralGrid, lagrange_stencil
from moehelpers.errors import InvalidParameterError, ShapeMismatchError

#: Model names of the ceiling's headline rows (the hub's figures and fraction table use them).
CEILING_MODEL = "Fisher ceiling R²_max (set level)"
BAYES_CEILING_MODEL = "shrinkage ceiling (approx.)"

__all__ = [
    "BAYES_CEILING_MODEL", "CEILING_ID", "CEILING_MODEL", "LABEL_NAMES", "LABEL_SCALE",
    "MEDIAN_WINDOW", "Ceiling", "compute_ceiling", "dataset_kind", "fisher", "flux_jacobian",
    "flux_kind_ceilings", "lagrange_derivative", "marginal_bound", "marginal_fisher",
    "r2_ceiling", "stored_flux_kind", "window_sensitivity",
]

#: Record id of the ceiling notebook (``runs/<run>/records/BEYOND-ceiling.json``).
CEILING_ID = "BEYOND-ceiling"
LABEL_NAMES = ("T_eff", "log_g", "M_H")
#: Units in which the Jacobian and Fisher matrix are expressed: Teff in kK, dex, dex.
LABEL_SCALE = np.array([1000.0, 1.0, 1.0])
_G = 1  # index of log g
#: Order statistics on each side of the median whose derivatives give ∂median/∂θ.
MEDIAN_WINDOW = 64
_CHUNK = 512


# --------------------------------------------------------------------------- Jacobian
def lagrange_derivative(axis: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray,
                                                                    np.ndarray]:
    """Stencil, cubic Lagrange weights and their derivatives ``dw/dx`` along one axis.

    Same stencil as :func:`moehelpers.data.grid.lagrange_stencil`; the derivative of
    ``w_j(x) = Π_{k≠j} (x − x_k)/(x_j − x_k)`` is ``Σ_{k≠j} 1/(x_j − x_k) Π_{l≠j,k} …``.
    """
    axis = np.asarray(axis, dtype=np.float64)
    x = np.asarray(x, dtype=np.float64)
    start, weights = lagrange_stencil(axis, x)
    m = weights.shape[1]
    deriv = np.zeros_like(weights)
    if m == 1:
        return start, weights, deriv
    nodes = axis[start[:, None] + np.arange(m)]
    for j in range(m):
        for k in range(m):
            if k == j:
                continue
            term = 1.0 / (nodes[:, j] - nodes[:, k])
            for ell in range(m):
                if ell not in (j, k):
                    term = term * (x - nodes[:, ell]) / (nodes[:, j] - nodes[:, ell])
            deriv[:, j] += term
    return start, weights, deriv


def _grid_flux_jacobian(grid: SpectralGrid, labels: list[np.ndarray], kind: str
                        ) -> tuple[np.ndarray, np.ndarray]:
    """Interpolated flux (N, P) and ∂flux/∂label (N, P, 3) in physical label units.

    The products per stencil cell are small ((4·rows, 64) by (64, P)): BLAS threads cost more
    than they give there (measured 4× slower with two threads on a loaded two-core machine),
    so they run on one thread.
    """
    with threadpool_limits(limits=1, user_api="blas"):
        return _grid_flux_jacobian_1(grid, labels, kind)


def _grid_flux_jacobian_1(grid: SpectralGrid, labels: list[np.ndarray], kind: str
                          ) -> tuple[np.ndarray, np.ndarray]:
    p = grid.wave.size
    axes = [grid.teff, grid.logg, grid.mh]
    sten = [lagrange_derivative(a, v) for a, v in zip(axes, labels, strict=True)]
    (s0, w0, d0), (s1, w1, d1), (s2, w2, d2) = sten
    m0, m1, m2 = w0.shape[1], w1.shape[1], w2.shape[1]
    key = (s0 * grid.logg.size + s1) * grid.mh.size + s2
    order = np.argsort(key, kind="stable")
    cuts = np.flatnonzero(np.diff(key[order])) + 1
    flux = np.empty((key.size, p))
    jac = np.empty((3, key.size, p))  # label-major: each derivative written contiguously
    for cell in np.split(order, cuts):
        i0, i1, i2 = s0[cell[0]], s1[cell[0]], s2[cell[0]]
        sub = (slice(i0, i0 + m0), slice(i1, i1 + m1), slice(i2, i2 + m2))
        fn = grid.flux_norm[sub].reshape(-1, p).astype(np.float64)
        lc = grid.log10_cont[sub].reshape(-1, p)
        for rows in np.array_split(cell, -(-cell.size // _CHUNK)):
            a, b, c = w0[rows], w1[rows], w2[rows]
            da, db, dc = d0[rows], d1[rows], d2[rows]
            # value and three derivatives stacked: one product per cell reads its nodes once
            ws = np.concatenate([np.einsum("ni,nj,nk->nijk", *t).reshape(rows.size, -1)
                                 for t in ((a, b, c), (da, b, c), (a, db, c), (a, b, dc))])
            norm = (ws @ fn).reshape(4, rows.size, p)
            if kind == "normalized":
                flux[rows] = norm[0]
                jac[:, rows] = norm[1:]
                continue
            lcs = (ws @ lc).reshape(4, rows.size, p)
            cont = np.power(10.0, lcs[0])
            flux[rows] = norm[0] * cont
            jac[:, rows] = cont * (norm[1:] + norm[0] * np.log(10.0) * lcs[1:])
    return flux, np.moveaxis(jac, 0, -1)


def flux_jacobian(grid: SpectralGrid, teff: ArrayLike, logg: ArrayLike, mh: ArrayLike, *,
                  kind: str = "physical", median_window: int = MEDIAN_WINDOW
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Noiseless flux as the sampler stores it and its Jacobian w.r.t. the labels.

    Parameters
    ----------
    grid : SpectralGrid
    teff, logg, mh : array_like of shape (N,)
        Labels (K, dex, dex), inside the grid.
    kind : {"physical", "normalized"}, default="physical"
        The dataset's kind (``meta["kind"]`` of a sampler dataset): ``"physical"`` divides
        the physical flux by its median per star; ``"normalized"`` is the
        continuum-normalised flux.
    median_window : int, default=MEDIAN_WINDOW
        Half-width, in order statistics, of the pixels whose derivatives are averaged to
        give the derivative of the median. The median of 4096 pixel values switches pixel
        under label changes far smaller than any noise-limited uncertainty, and pixels of
        equal value have very different derivatives, so the exact (one-pixel) derivative is
        a rough, locally meaningless slope; the slope of the median over the scale of the
        uncertainty is the average derivative of the pixels near the median value (the
        derivative of a quantile, ``E[∂p/∂θ | p = median]``). Checked by maximum-likelihood
        Monte-Carlo fits in notebook 16 and tests/test_ceiling.py.

    Returns
    -------
    flux : ndarray of shape (N, P), float64
    jac : ndarray of shape (N, P, 3), float64
        ``∂flux/∂(Teff/kK, log g, [M/H])`` (scaled by :data:`LABEL_SCALE`).
    """
    if kind not in ("physical", "normalized"):
        raise InvalidParameterError(f"kind must be 'physical' or 'normalized'; got {kind!r}.")
    labels = [v.ravel() for v in np.broadcast_arrays(
        *(np.atleast_1d(np.asarray(v, float)) for v in (teff, logg, mh)))]
    grid._check_range(labels)
    flux, jac = _grid_flux_jacobian(grid, labels, kind)
    if kind == "physical":
        p = flux.shape[1]
        rows = np.arange(flux.shape[0])[:, None]
        med = np.median(flux, axis=1)
        w = max(1, min(int(median_window), p // 2))
        near = np.argsort(flux, axis=1)[:, p // 2 - w:p // 2 + w]
        dmed = jac[rows, near, :].mean(axis=1)  # (N, 3)
        _divide_by_median(flux, jac, med, dmed)
    jac *= LABEL_SCALE
    return flux, jac


def _divide_by_median(flux: np.ndarray, jac: np.ndarray, med: np.ndarray,
                      dmed: np.ndarray) -> None:
    """``flux /= med`` and ``jac = jac / med − flux · dmed / med²``, both in place.

    One label at a time, so no (N, P, 3) temporaries; the same operations as the
    out-of-place expression, so the same bits (``benchmarks/ml_fit.py`` checks both).
    """
    jac /= med[:, None, None]
    coef = dmed / med[:, None] ** 2
    for k in range(jac.shape[2]):
        jac[:, :, k] -= flux * coef[:, k, None]
    flux /= med[:, None]


# --------------------------------------------------------------------------- Fisher
def fisher(jac: np.ndarray, sigma: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Fisher matrices ``F_i = J_iᵀ diag(1/σ_i²) J_i`` for Gaussian noise of known σ.

    Parameters
    ----------
    jac : ndarray of shape (N, P, K)
    sigma : ndarray of shape (N, P) or (P,)
        Per-pixel 1σ. Pixels with σ ≤ 0, non-finite σ, or a non-finite Jacobian carry no
        information (weight 0).

    Returns
    -------
    F : ndarray of shape (N, K, K)
    n_bad : ndarray of shape (N,), int
        Pixels given weight 0 per star.
    """
    jac = np.asarray(jac, dtype=np.float64)
    sigma = np.broadcast_to(np.asarray(sigma, dtype=np.float64), jac.shape[:2])
    if jac.ndim != 3:
        raise ShapeMismatchError(f"jac must be (N, P, K); got shape {jac.shape}.")
    with np.errstate(divide="ignore", invalid="ignore"):
        w = 1.0 / sigma**2
    if np.isfinite(jac).all() and (sigma > 0).all() and np.isfinite(w).all():
        # every pixel counts (the usual case): no masked copies of the (N, P, K) Jacobian;
        # the same product, so the same bits as the masked path
        return np.einsum("npk,np,npl->nkl", jac, w, jac), np.zeros(jac.shape[0], dtype=np.int64)
    return _fisher_masked(jac, sigma, w)


def _fisher_masked(jac: np.ndarray, sigma: np.ndarray, w: np.ndarray
                   ) -> tuple[np.ndarray, np.ndarray]:
    """:func:`fisher` with weight 0 for every bad pixel (also ``benchmarks/ml_fit.py``)."""
    bad = ~np.isfinite(w) | (sigma <= 0) | ~np.isfinite(sigma) | ~np.isfinite(jac).all(axis=2)
    w = np.where(bad, 0.0, w)
    jz = np.where(bad[..., None], 0.0, jac)
    return np.einsum("npk,np,npl->nkl", jz, w, jz), bad.sum(axis=1)


def marginal_bound(F: np.ndarray, index: int = _G, *, rcond: float = 1e-12
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Marginal ``[F⁻¹]_jj`` and conditional ``1/F_jj`` Cramér–Rao bounds of parameter ``index``.

    The matrix is equilibrated (``D F D`` with ``D = diag(F_kk^-1/2)``) and the Schur
    complement ``F_jj − F_jo F_oo⁺ F_oj`` is formed with a pseudo-inverse of the
    equilibrated nuisance block (nuisance directions without information do not make the
    bound infinite). A parameter with no information (``F_jj = 0``) or whose information is
    all shared with the nuisances (Schur complement ≤ ``rcond``·F_jj) gets ``inf``.

    Returns
    -------
    marginal, conditional : ndarray of shape (N,)
        Variances in the scaled label units (dex² for log g).
    """
    F = np.asarray(F, dtype=np.float64)
    if F.ndim == 2:
        F = F[None]
    k = F.shape[-1]
    if F.shape[-2] != k or not 0 <= index < k:
        raise ShapeMismatchError(f"F must be (N, K, K) with index < K; got {F.shape}, {index}.")
    diag = np.einsum("nkk->nk", F)
    with np.errstate(divide="ignore"):
        d = np.where(diag > 0, 1.0 / np.sqrt(np.where(diag > 0, diag, 1.0)), 0.0)
    Fs = F * d[:, :, None] * d[:, None, :]
    others = [q for q in range(k) if q != index]
    Foo = Fs[:, others][:, :, others]
    fgo = Fs[:, index, others]
    schur = Fs[:, index, index] - np.einsum("ni,nij,nj->n", fgo,
                                            np.linalg.pinv(Foo, rcond=1e-10, hermitian=True), fgo)
    fjj = diag[:, index]
    with np.errstate(divide="ignore"):
        conditional = np.where(fjj > 0, 1.0 / np.where(fjj > 0, fjj, 1.0), np.inf)
        ok = (fjj > 0) & (schur > rcond)
        marginal = np.where(ok, conditional / np.where(ok, schur, 1.0), np.inf)
    return marginal, conditional


def marginal_fisher(F: np.ndarray, k: int) -> np.ndarray:
    """Fisher matrix of the first ``k`` parameters with the others marginalised.

    ``F_ll − F_ln F_nn⁺ F_nl`` per star, formed on the equilibrated matrix (as
    :func:`marginal_bound`) so that nuisances of very different scale do not lose digits.
    """
    F = np.asarray(F, dtype=np.float64)
    if F.ndim != 3 or F.shape[1] != F.shape[2] or not 0 < k <= F.shape[1]:
        raise ShapeMismatchError(f"F must be (N, K, K) with 0 < k ≤ K; got {F.shape}, {k}.")
    diag = np.einsum("nkk->nk", F)
    d = np.where(diag > 0, 1.0 / np.sqrt(np.where(diag > 0, diag, 1.0)), 0.0)
    Fs = F * d[:, :, None] * d[:, None, :]
    fln = Fs[:, :k, k:]
    eff = Fs[:, :k, :k] - fln @ np.linalg.pinv(Fs[:, k:, k:], rcond=1e-10, hermitian=True) \
        @ np.swapaxes(fln, 1, 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        undo = np.where(d[:, :k] > 0, 1.0 / np.where(d[:, :k] > 0, d[:, :k], 1.0), 0.0)
    return eff * undo[:, :, None] * undo[:, None, :]


def r2_ceiling(crlb: np.ndarray, y: np.ndarray) -> dict[str, float]:
    """Set-level and per-star R² ceilings from per-star bounds (see the module docstring).

    Returns ``{"r2_max_set", "r2_max_median", "crlb_mean", "crlb_median", "var_y"}``.
    """
    crlb = np.asarray(crlb, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if crlb.shape != y.shape or y.size < 2:
        raise ShapeMismatchError(f"crlb and y must have one equal shape with ≥ 2 stars; got "
                                 f"{crlb.shape} and {y.shape}.")
    var = float(np.var(y))
    return {"r2_max_set": 1.0 - float(np.mean(crlb)) / var,
            "r2_max_median": float(np.median(1.0 - crlb / var)),
            "crlb_mean": float(np.mean(crlb)), "crlb_median": float(np.median(crlb)),
            "var_y": var}


# --------------------------------------------------------------------------- datasets
@dataclass
class Ceiling:
    """Per-star log g bounds of one set of spectra at noise level 1.

    Attributes
    ----------
    labels : DataFrame
        ``T_eff, log_g, M_H`` and ``snr`` (L2 SNR at noise level 1) per star.
    crlb1, cond1 : ndarray of shape (N,)
        Marginal and conditional log g bounds (dex²) at noise level 1; at level L multiply
        by L².
    fisher1 : ndarray of shape (N, 3, 3)
        Fisher matrices at noise level 1 (labels in kK, dex, dex).
    flux_residual : float
        max |stored flux − recomputed flux| (0 when not checked): the interpolant is the
        same that made the data.
    n_bad_pixels : ndarray of shape (N,)
    free1 : ndarray of shape (N,), optional
        Marginal bound at noise level 1 when the flux scale is a free nuisance parameter
        (median normalisation treated as unknown): never below ``crlb1``; the conservative
        variant, free of the median's derivative.
    free_continuum1 : ndarray of shape (N,), optional
        Marginal bound at noise level 1 when, besides the scale, a multiplicative low-order
        continuum ``exp(Σ_{k=1..K} c_k P_k(x))`` is unknown (``continuum_order = K`` of
        :func:`compute_ceiling`): the ceiling for spectra whose continuum shape cannot be
        trusted (:mod:`moehelpers.data.flux_kind` ``"distorted"``).
    """

    labels: pd.DataFrame
    crlb1: np.ndarray
    cond1: np.ndarray
    fisher1: np.ndarray
    flux_residual: float
    n_bad_pixels: np.ndarray
    free1: np.ndarray | None = None
    free_continuum1: np.ndarray | None = None

    def crlb(self, noise_level: float) -> np.ndarray:
        """Marginal log g bound per star (dex²) at ``noise_level``."""
        if not (np.isfinite(noise_level) and noise_level > 0):
            raise InvalidParameterError(f"noise_level must be > 0; got {noise_level!r}.")
        return self.crlb1 * float(noise_level) ** 2

    def prior_precision(self) -> np.ndarray:
        """``diag(1 / Var(label))`` of this set's labels, in the scaled units (3, 3)."""
        scaled = self.labels[list(LABEL_NAMES)].to_numpy() / LABEL_SCALE
        return np.diag(1.0 / np.var(scaled, axis=0))

    def bayes_bound(self, noise_level: float) -> np.ndarray:
        """Approximate shrinkage bound ``[(F_i/L² + Λ)⁻¹]_gg`` per star (dex²); see module doc."""
        self.crlb(noise_level)  # validates the level
        F = self.fisher1 / float(noise_level) ** 2 + self.prior_precision()
        return marginal_bound(F)[0]

    def per_star(self, noise_level: float) -> pd.DataFrame:
        """One row per star: labels, SNR, σ_CRLB (dex) and per-star R²_max at that level."""
        y = self.labels["log_g"].to_numpy()
        crlb = self.crlb(noise_level)
        out = self.labels.copy()
        out["snr"] = out["snr"] / noise_level
        out["sigma_crlb"] = np.sqrt(crlb)
        out["sigma_cond"] = np.sqrt(self.cond1) * noise_level
        out["r2_max"] = 1.0 - crlb / np.var(y)
        out["r2_max_bayes"] = 1.0 - self.bayes_bound(noise_level) / np.var(y)
        return out

    def summary(self, noise_levels: Sequence[float], *, n_boot: int = 0, seed: int = 0
                ) -> pd.DataFrame:
        """Ceiling per noise level; ``n_boot > 0`` adds a bootstrap CI of ``r2_max_set``.

        The CI is that of the finite test set (stars resampled); labels and bounds are exact.
        """
        y = self.labels["log_g"].to_numpy()
        rows = []
        rng = np.random.default_rng(seed)
        boots = rng.integers(0, y.size, (n_boot, y.size)) if n_boot else None
        for level in noise_levels:
            crlb = self.crlb(level)
            row = {"noise_level": float(level),
                   "snr_l2_median": float(np.median(self.labels["snr"])) / level,
                   **r2_ceiling(crlb, y)}
            row["sigma_crlb_median"] = float(np.sqrt(row.pop("crlb_median")))
            row["r2_cond_set"] = r2_ceiling(self.cond1 * level**2, y)["r2_max_set"]
            if self.free1 is not None:
                row["r2_free_scale_set"] = r2_ceiling(self.free1 * level**2, y)["r2_max_set"]
            if self.free_continuum1 is not None:
                row["r2_free_continuum_set"] = r2_ceiling(self.free_continuum1 * level**2,
                                                          y)["r2_max_set"]
            bayes = r2_ceiling(self.bayes_bound(level), y)
            row["r2_bayes_set"] = bayes["r2_max_set"]
            row["r2_bayes_median"] = bayes["r2_max_median"]
            if boots is not None:
                r2b = 1.0 - crlb[boots].mean(axis=1) / y[boots].var(axis=1)
                row["r2_max_set_lo"], row["r2_max_set_hi"] = np.quantile(r2b, [0.025, 0.975])
            rows.append(row)
        return pd.DataFrame(rows)


    def per_star_levels(self, noise_levels: Sequence[float]) -> pd.DataFrame:
        """:meth:`per_star` at every level, stacked, with a ``noise_level`` column."""
        return pd.concat([self.per_star(lv).assign(noise_level=lv) for lv in noise_levels],
                         ignore_index=True)

    def by_snr(self, noise_levels: Sequence[float], n_bins: int = 8) -> pd.DataFrame:
        """Ceiling per L2-SNR bin, all levels pooled (quantile edges of the pooled SNR).

        Columns ``n, snr_median, sigma_crlb_median, crlb_mean, r2_max_set`` (``Var(y)`` of
        the whole set): each star's bound scales as L² and its SNR as 1/L, so the bins sort
        (star, level) pairs by information.
        """
        per_star = self.per_star_levels(noise_levels)
        edges = np.unique(np.quantile(per_star["snr"], np.linspace(0, 1, n_bins + 1)))
        per_star["snr_bin"] = pd.cut(per_star["snr"], edges, include_lowest=True)
        out = (per_star.groupby("snr_bin", observed=True)
               .agg(n=("snr", "size"), snr_median=("snr", "median"),
                    sigma_crlb_median=("sigma_crlb", "median"),
                    crlb_mean=("sigma_crlb", lambda s: float(np.mean(s**2))))
               .reset_index(drop=True))
        out["r2_max_set"] = 1.0 - out["crlb_mean"] / float(np.var(self.labels["log_g"]))
        return out.astype({"n": "int64"})

    def by_region(self, noise_level: float, scheme: Any) -> pd.DataFrame:
        """Ceiling per bin of ``scheme`` (e.g. the 3×3 physical bins) at ``noise_level``.

        Per bin: ``n``, the median per-star σ_CRLB and the set-level ceiling with the bin's own
        ``Var(y)`` (as the per-bin R² of MVP-1.0); NaN for bins with fewer than 2 stars.
        """
        bins = scheme.assign(self.labels)
        crlb = self.crlb(noise_level)
        y = self.labels["log_g"].to_numpy()
        rows = []
        for b, name in enumerate(scheme.bin_names()):
            idx = np.flatnonzero(bins == b)
            row = {"bin": b, "name": name, "n": idx.size, "sigma_crlb_median": np.nan,
                   "r2_max_set": np.nan}
            if idx.size >= 2:
                row["sigma_crlb_median"] = float(np.sqrt(np.median(crlb[idx])))
                row["r2_max_set"] = r2_ceiling(crlb[idx], y[idx])["r2_max_set"]
            rows.append(row)
        return pd.DataFrame(rows)

    def per_star_noise1(self) -> pd.DataFrame:
        """Labels with σ_CRLB, σ_cond and σ_free-scale at noise level 1 (dex)."""
        out = self.labels.assign(sigma_crlb=np.sqrt(self.crlb1), sigma_cond=np.sqrt(self.cond1))
        if self.free1 is not None:
            out["sigma_free_scale"] = np.sqrt(self.free1)
        return out


def window_sensitivity(spectra: Any, grid: SpectralGrid, windows: Sequence[int],
                       noise_levels: Sequence[float], base: Ceiling, **kwargs: Any
                       ) -> pd.DataFrame:
    """Set-level and median ceiling for each median-slope window (``base`` for the default).

    ``kwargs`` go to :func:`compute_ceiling` (e.g. the continuum settings of ``base``).
    Columns ``noise_level, r2_max_set, r2_max_median, median_window``.
    """
    parts = []
    for w in windows:
        c_w = base if w == MEDIAN_WINDOW else compute_ceiling(
            spectra, grid, median_window=w, check_flux=False, **kwargs)
        s = c_w.summary(noise_levels)
        parts.append(s[["noise_level", "r2_max_set", "r2_max_median"]].assign(median_window=w))
    return pd.concat(parts, ignore_index=True)


def dataset_kind(spectra: Any) -> str:
    """Flux kind of a sampler dataset: ``meta["stored"]["kind"]``, ``meta["kind"]``, else
    ``"physical"``."""
    meta = spectra.meta or {}
    return (meta.get("stored") or {}).get("kind") or meta.get("kind") or "physical"


def compute_ceiling(spectra: Any, grid: SpectralGrid | None = None, *, kind: str | None = None,
                    check_flux: bool = True, chunk: int = 256,
                    median_window: int = MEDIAN_WINDOW, continuum_order: int = 0,
                    marginalise_continuum: bool = False) -> Ceiling:
    """Per-star log g bounds for a :class:`~moehelpers.data.spectra.SpectraSet` drawn from the grid.

    The Jacobian is taken at each star's true labels, with its stored error array as σ
    at noise level 1. ``kind`` defaults to the dataset's ``meta["stored"]["kind"]`` /
    ``meta["kind"]`` (else ``"physical"``). ``check_flux`` records how far the recomputed
    noiseless flux is from the stored one (it should be at float32 rounding).
    ``median_window``: see :func:`flux_jacobian`. ``continuum_order = K > 0`` also gives
    :attr:`Ceiling.free_continuum1`: the flux scale and the Legendre orders 1 … K of a
    multiplicative continuum (``∂f/∂c_k = f · P_k(x)``, ``x`` spanning the wavelengths in
    [−1, 1]) are free nuisance parameters. ``marginalise_continuum=True`` (needs
    ``continuum_order > 0``) makes that the ceiling itself: ``fisher1`` is then the label
    Fisher matrix with the scale and continuum marginalised (Schur complement), and ``crlb1``,
    ``cond1`` and the shrinkage bound follow from it — the ceiling for spectra whose continuum
    shape is unknown (:mod:`moehelpers.data.flux_kind` ``"distorted"``).
    """
    if marginalise_continuum and not continuum_order:
        raise InvalidParameterError(
            "marginalise_continuum=True needs continuum_order > 0 (e.g. "
            "moehelpers.data.flux_kind.DISTORTION_ORDER).")
    if int(continuum_order) != continuum_order or continuum_order < 0:
        raise InvalidParameterError(
            f"continuum_order must be an int ≥ 0; got {continuum_order!r}.")
    continuum_order = int(continuum_order)
    grid = grid if grid is not None else SpectralGrid.load()
    if spectra.flux.shape[1] != grid.wave.size or not np.allclose(spectra.wave, grid.wave):
        raise ShapeMismatchError(
            "The spectra are not on the grid's wavelength pixels; the ceiling needs data "
            "drawn from the grid (moehelpers.data.sampler). Fix: use the embedded dataset.")
    kind = kind or dataset_kind(spectra)
    lab = spectra.labels
    n = len(spectra)
    basis = (continuum_basis(grid.wave, continuum_order) if continuum_order
             else np.empty((grid.wave.size, 0)))
    m = 4 + continuum_order
    F = np.empty((n, m, m))
    nbad = np.zeros(n, dtype=np.int64)
    resid = 0.0
    for start in range(0, n, chunk):
        rows = slice(start, min(start + chunk, n))
        flux, jac = flux_jacobian(grid, *(lab[k].to_numpy()[rows] for k in LABEL_NAMES),
                                  kind=kind, median_window=median_window)
        if check_flux:
            resid = max(resid, float(np.max(np.abs(flux - spectra.flux[rows]))))
        # 4th column: a free overall scale (d flux / d log a = flux); then f · P_k(x)
        cols = [jac, flux[..., None], flux[..., None] * basis[None]]
        F[rows], nbad[rows] = fisher(np.concatenate(cols, axis=-1), spectra.error[rows])
    free = marginal_bound(F[:, :4, :4])[0]
    free_cont = marginal_bound(F)[0] if continuum_order else None
    labels_f = marginal_fisher(F, 3) if marginalise_continuum else F[:, :3, :3]
    marg, cond = marginal_bound(labels_f)
    labels = lab[list(LABEL_NAMES)].reset_index(drop=True).copy()
    labels["snr"] = spectra.snr_l2(1.0)
    return Ceiling(labels, marg, cond, labels_f, resid, nbad, free, free_cont)


# --------------------------------------------------------------- the ceiling page (notebook 16)
def stored_flux_kind(flux_kind: str) -> str:
    """The flux the ceiling is computed on for a page's ``flux_kind``.

    The bound is a property of the noiseless physical (or continuum-normalised) flux: a
    distorted continuum keeps every pixel's SNR, so ``"distorted"`` (like ``"physical"``)
    loads the physical flux and marginalises the continuum instead
    (:func:`flux_kind_ceilings`).

    Returns
    -------
    str
        ``"normalized"`` for ``"normalized"``, else ``"physical"``.
    """
    return "normalized" if flux_kind == "normalized" else "physical"


def flux_kind_ceilings(spectra: Any, grid: SpectralGrid, flux_kind: str
                       ) -> tuple[Ceiling, Ceiling, dict[str, Any]]:
    """The ceiling with the continuum known, and the one for ``flux_kind``.

    For ``flux_kind="distorted"`` the ceiling is the same Fisher information with the
    continuum (Legendre orders 1 … :data:`~moehelpers.data.flux_kind.DISTORTION_ORDER`)
    marginalised; otherwise it is the known-continuum ceiling itself. Both carry the
    free-continuum variant of that order.

    Parameters
    ----------
    spectra : SpectraSet
        Test stars drawn from the grid, flux of :func:`stored_flux_kind`.
    grid : SpectralGrid
        The grid that made them.
    flux_kind : str
        ``"physical"``, ``"normalized"`` or ``"distorted"``.

    Returns
    -------
    known : Ceiling
        Continuum known (checks the stored flux against the interpolant; the
        maximum-likelihood check compares with it).
    ceiling : Ceiling
        The page's ceiling (``known`` unless ``flux_kind="distorted"``).
    continuum : dict
        The continuum keywords of ``ceiling`` for :func:`compute_ceiling` (and
        :func:`window_sensitivity`).
    """
    continuum = {"continuum_order": DISTORTION_ORDER,
                 "marginalise_continuum": flux_kind == "distorted"}
    known = compute_ceiling(spectra, grid, continuum_order=DISTORTION_ORDER)
    ceil = known if flux_kind != "distorted" else compute_ceiling(
        spectra, grid, check_flux=False, **continuum)
    return known, ceil, continuum
