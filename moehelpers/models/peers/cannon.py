"""The Cannon (Ness et al. 2015): a per-pixel polynomial in the labels with intrinsic scatter.

Training. Labels ℓ = (Teff, log g, [M/H]) are centred and scaled on the training stars,
``z = (ℓ − mean) / std``, and every monomial of z up to total degree ``order`` forms the label
vector v(z) (10 terms for order 2: 1, z_k, z_k z_l). Each pixel λ has coefficients θ_λ and an
intrinsic scatter s²_λ, and the flux of star n is modelled as
``x_nλ ~ N(θ_λ · v(z_n), σ²_nλ + s²_λ)``. Pixels are independent, so the fit is vectorised
over pixels: alternately (a) θ_λ by weighted least squares with weights
``1/(σ²_nλ + s²_λ)``, (b) s²_λ maximising the pixel likelihood at fixed θ_λ, by the
fixed-point form of its score equation ``s² = Σ (r² − σ²)/v² / Σ 1/v²`` (v = σ² + s², clipped
at 0).

Test step. For every star, χ²(z) = Σ_λ (x_λ − θ_λ·v(z))² / (σ²_λ + s²_λ) is minimised by a
batched Levenberg–Marquardt with the analytic Jacobian ∂v/∂z of the monomials, started from
the training median and from a supplied guess (e.g. a Ridge prediction), keeping the lowest χ²;
the stated covariance is ``(JᵀCJ)⁻¹`` at the solution.

About the error array: ``ivar = 1/σ²`` is the inverse variance of the noisy flux
(``1/(noise_level · error)²``). It enters only as χ² weights, exactly as a survey pipeline
uses its error spectra, and never as a feature of the model. (The raw error array leaks
log g when used as a feature — REFERENCE.md §2; as weights it changes how much each pixel
counts, which is the information a survey also has.)
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np

from moehelpers.errors import InvalidParameterError
from moehelpers.models.peers._common import (
    LABELS,
    FitResult,
    check_flux_ivar,
    check_labels,
    chi2_fit,
)

__all__ = ["CannonModel", "monomial_exponents"]

# Relative ridge on each pixel's normal equations: only keeps a solve finite when a pixel has
# (almost) no weight; 1e-10 of the trace changes no coefficient measurably.
_RIDGE = 1e-10
# The test-step box extends the training label range by this share of it on each side.
_PAD = 0.1


def monomial_exponents(n_labels: int, order: int) -> np.ndarray:
    """Exponents (T, n_labels) of all monomials of total degree ≤ ``order``, constant first."""
    rows = [e for d in range(order + 1)
            for e in itertools.product(range(d + 1), repeat=n_labels) if sum(e) == d]
    return np.array(sorted(rows, key=lambda e: (sum(e), tuple(-v for v in e))), dtype=np.int64)


def _design(z: np.ndarray, exps: np.ndarray) -> np.ndarray:
    """v(z) for every star, (n, T)."""
    return np.prod(z[:, None, :] ** exps[None, :, :], axis=2)


def _design_jac(z: np.ndarray, exps: np.ndarray) -> np.ndarray:
    """∂v/∂z for every star, (n, T, k)."""
    n, k = z.shape
    out = np.empty((n, exps.shape[0], k))
    for j in range(k):
        e = exps.copy()
        coef = e[:, j].astype(np.float64)
        e[:, j] = np.maximum(e[:, j] - 1, 0)
        out[:, :, j] = coef * _design(z, e)
    return out


class CannonModel:
    """The Cannon: per-pixel label polynomial + intrinsic scatter, χ² label fit per star.

    Parameters
    ----------
    order : int, default=2
        Total degree of the label polynomial.
    n_scatter_iter : int, default=4
        Alternations of (coefficients | scatter) and (scatter | coefficients).
    n_random_starts : int, default=1
        Extra LM starts at the labels of random training stars (besides the training median
        and ``init``).
    n_iter : int, default=30
        LM iterations cap per start.
    pixel_chunk : int, default=512
        Pixels trained together (bounds memory at (n_stars, pixel_chunk) float64).
    seed : int, default=0
        Seed of the random starts.

    Attributes
    ----------
    coef_ : ndarray of shape (n_pixels, n_terms)
        θ_λ for the monomials ``exponents_`` of the scaled labels.
    s2_ : ndarray of shape (n_pixels,)
        Intrinsic scatter s²_λ (flux units squared).
    exponents_ : ndarray of shape (n_terms, 3)
    label_centre_, label_scale_ : ndarray of shape (3,)
        Training mean and standard deviation of (Teff, log g, [M/H]).
    z_median_, z_lo_, z_hi_ : ndarray of shape (3,)
        Training median and the test-step box, in scaled units.
    train_z_ : ndarray of shape (n_stars, 3)
        Scaled training labels (source of the random starts).
    n_features_in_ : int

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> lab = np.column_stack([rng.uniform(4000, 6000, 300), rng.uniform(1, 5, 300),
    ...                        rng.uniform(-2, 0.5, 300)])
    >>> flux = 1 - 0.05 * lab[:, [1]] * np.linspace(0.5, 1.5, 20) + 1e-5 * lab[:, [0]]
    >>> ivar = np.full_like(flux, 1e4)
    >>> model = CannonModel().fit(flux + rng.normal(0, 0.01, flux.shape), lab, ivar)
    >>> bool(np.abs(model.predict(flux[:5], ivar[:5])[:, 1] - lab[:5, 1]).max() < 0.2)
    True
    """

    def __init__(self, order: int = 2, *, n_scatter_iter: int = 4, n_random_starts: int = 1,
                 n_iter: int = 30, pixel_chunk: int = 512, seed: int = 0) -> None:
        self.order = order
        self.n_scatter_iter = n_scatter_iter
        self.n_random_starts = n_random_starts
        self.n_iter = n_iter
        self.pixel_chunk = pixel_chunk
        self.seed = seed

    # ------------------------------------------------------------------ training
    def _check_params(self) -> None:
        for name, low in (("order", 1), ("n_scatter_iter", 1), ("n_random_starts", 0),
                          ("n_iter", 1), ("pixel_chunk", 1)):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int | np.integer) or v < low:
                raise InvalidParameterError(f"{name} must be an integer ≥ {low}; got {v!r}.")

    def fit(self, flux: Any, labels: Any, ivar: Any) -> CannonModel:
        """Fit coefficients and scatter per pixel.

        Parameters
        ----------
        flux : ndarray of shape (n_stars, n_pixels)
            Noisy training flux (not a spectra set).
        labels : DataFrame with T_eff, log_g, M_H, or ndarray of shape (n_stars, 3)
        ivar : ndarray of shape (n_stars, n_pixels)
            Inverse variance of ``flux``, ``1/(noise_level · error)²`` (χ² weights only).
        """
        self._check_params()
        x, w = check_flux_ivar(flux, ivar)
        lab = check_labels(labels, x.shape[0])
        exps = monomial_exponents(len(LABELS), int(self.order))
        if x.shape[0] < 2 * exps.shape[0]:
            raise InvalidParameterError(
                f"{x.shape[0]} training stars for {exps.shape[0]} polynomial terms; give at "
                f"least {2 * exps.shape[0]} stars or lower order.")
        centre, scale = lab.mean(axis=0), lab.std(axis=0)
        if not (scale > 0).all():
            raise InvalidParameterError(
                f"a label is constant in training ({dict(zip(LABELS, scale, strict=True))}); "
                "the Cannon needs spread in every label.")
        z = (lab - centre) / scale
        v = _design(z, exps)
        outer = (v[:, :, None] * v[:, None, :]).reshape(v.shape[0], -1)
        t = exps.shape[0]
        p = x.shape[1]
        self.coef_ = np.empty((p, t))
        self.s2_ = np.zeros(p)
        for s0 in range(0, p, int(self.pixel_chunk)):
            sl = slice(s0, min(p, s0 + int(self.pixel_chunk)))
            self.coef_[sl], self.s2_[sl] = self._fit_pixels(v, outer, x[:, sl], w[:, sl])
        self.exponents_ = exps
        self.label_centre_, self.label_scale_ = centre, scale
        self.z_median_ = np.median(z, axis=0)
        span = z.max(axis=0) - z.min(axis=0)
        self.z_lo_, self.z_hi_ = z.min(axis=0) - _PAD * span, z.max(axis=0) + _PAD * span
        self.train_z_ = z
        self.n_features_in_ = p
        return self

    def _fit_pixels(self, v: np.ndarray, outer: np.ndarray, x: np.ndarray,
                    w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """θ and s² of one block of pixels (all stars)."""
        t = v.shape[1]
        m = w > 0
        sig2 = np.where(m, 1.0 / np.where(m, w, 1.0), 0.0)
        s2 = np.zeros(x.shape[1])
        theta = np.zeros((x.shape[1], t))
        for _ in range(int(self.n_scatter_iter)):
            c = m / np.where(m, sig2 + s2, 1.0)
            a = (outer.T @ c).T.reshape(-1, t, t)
            b = (v.T @ (c * x)).T
            tr = np.trace(a, axis1=1, axis2=2)[:, None, None]
            theta = np.linalg.solve(a + _RIDGE * tr * np.eye(t), b[..., None])[..., 0]
            r2 = (x - v @ theta.T) ** 2
            # fixed point of the score equation of s² (module notes), warm-started from the
            # previous alternation, so a few steps per alternation suffice
            for _ in range(5):
                g = m / np.where(m, sig2 + s2, 1.0) ** 2
                new = np.maximum((g * (r2 - sig2)).sum(axis=0) / g.sum(axis=0), 0.0)
                done = np.allclose(new, s2, rtol=1e-4, atol=1e-12)
                s2 = new
                if done:
                    break
        return theta, s2

    # ------------------------------------------------------------------ model and test step
    def _check_fitted(self) -> None:
        if not hasattr(self, "coef_"):
            raise InvalidParameterError("This CannonModel is not fitted yet; call fit first.")

    def _model(self, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        f = _design(z, self.exponents_) @ self.coef_.T
        jac = np.matmul(self.coef_[None], _design_jac(z, self.exponents_))  # (n, P, k)
        return f, jac

    def flux_at(self, labels: Any) -> np.ndarray:
        """Model flux (n, n_pixels) at labels (n, 3) in physical units."""
        self._check_fitted()
        lab = np.atleast_2d(np.asarray(labels, dtype=np.float64))
        lab = check_labels(lab, lab.shape[0])
        return self._model((lab - self.label_centre_) / self.label_scale_)[0]

    def predict_with_uncertainty(self, flux: Any, ivar: Any, init: Any = None) -> FitResult:
        """Labels, covariance ``(JᵀCJ)⁻¹`` and χ² of every spectrum (physical units).

        Parameters
        ----------
        flux, ivar : ndarray of shape (n_stars, n_pixels)
            Noisy test flux and its inverse variance.
        init : ndarray of shape (n_stars, 3) or DataFrame, optional
            A start per star (e.g. Ridge predictions of the three labels).
        """
        return chi2_fit(self, flux, ivar, init)

    def predict(self, flux: Any, ivar: Any, init: Any = None) -> np.ndarray:
        """Fitted labels (n_stars, 3): Teff, log g, [M/H]."""
        return self.predict_with_uncertainty(flux, ivar, init).labels
