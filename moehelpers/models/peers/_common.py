"""Shared pieces of the peer models: input checks, label scaling, batched Levenberg–Marquardt.

The χ² fits of :class:`~moehelpers.models.peers.cannon.CannonModel` and
:class:`~moehelpers.models.peers.emulator.EmulatorFit` are the same problem: for every test
star n find labels ℓ minimising ``χ²_n(ℓ) = Σ_λ C_nλ (x_nλ − f_λ(ℓ))²`` for a differentiable
flux model f with Jacobian J. :func:`batched_lm` solves all stars at once (one 3×3 system per
star and iteration), from several starts, keeping each star's lowest χ².
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import pandas as pd

from moehelpers._validation import check_x, refuse_spectra_set
from moehelpers.errors import (
    InvalidErrorArrayError,
    InvalidParameterError,
    MissingDependencyError,
    MissingLabelError,
    NonFiniteDataError,
    ShapeMismatchError,
)

__all__ = [
    "LABELS",
    "FitResult",
    "batched_lm",
    "bin_ivar",
    "check_flux_ivar",
    "check_labels",
    "chi2_fit",
    "require_torch",
    "torch_device",
    "torch_threads",
]

#: Label columns every peer model fits, in this order.
LABELS = ("T_eff", "log_g", "M_H")

# Scaled-label units: a step larger than this many training standard deviations in one LM
# iteration is clipped (the polynomial and the MLP are only trusted near the training set).
_MAX_STEP = 1.0


def require_torch() -> Any:
    """The ``torch`` module, or :class:`MissingDependencyError` naming the install command."""
    try:
        return importlib.import_module("torch")
    except ImportError as exc:
        raise MissingDependencyError(
            "PyTorch is not installed, and the emulator fit and the CNN peer models need it. "
            "Install the pinned CPU build with `pip install -r requirements.txt` "
            "(torch==2.13.0), or leave those peer models out (models=('cannon',)).") from exc


def torch_device(device: str) -> str:
    """``"auto"`` → CUDA when ``torch.cuda.is_available()``, else CPU; others as given."""
    torch = require_torch()
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if str(device).startswith("cuda") and not torch.cuda.is_available():
        raise InvalidParameterError(f"device {device!r} requested but CUDA is not available; "
                                    "use device='auto' or 'cpu'.")
    return str(device)


@contextmanager
def torch_threads(torch: Any, n_threads: int | None) -> Iterator[None]:
    """Let torch use ``n_threads`` CPU threads inside the block (``None``: leave it as is).

    On a machine busier than its cores, torch's default thread pool oversubscribes them:
    measured here (2 cores, ~10 runnable processes), one small-MLP step took 19 ms with one
    thread and 370 ms with two.
    """
    if n_threads is None:
        yield
        return
    if isinstance(n_threads, bool) or not isinstance(n_threads, int) or n_threads < 1:
        raise InvalidParameterError(f"n_threads must be None or an integer ≥ 1; got "
                                    f"{n_threads!r}.")
    old = torch.get_num_threads()
    torch.set_num_threads(n_threads)
    try:
        yield
    finally:
        torch.set_num_threads(old)


def check_labels(labels: Any, n: int, name: str = "labels") -> np.ndarray:
    """(n, 3) float64 labels (Teff, log g, [M/H]) from a DataFrame or an array."""
    if isinstance(labels, pd.DataFrame):
        missing = [c for c in LABELS if c not in labels.columns]
        if missing:
            raise MissingLabelError(f"{name} lacks column(s) {missing}; found "
                                    f"{list(labels.columns)}. Pass the labels table of the split.")
        arr = labels[list(LABELS)].to_numpy(dtype=np.float64)
    else:
        arr = np.asarray(labels, dtype=np.float64)
    if arr.ndim != 2 or arr.shape != (n, len(LABELS)):
        raise ShapeMismatchError(f"{name} must have shape ({n}, 3) (Teff, log g, [M/H] per star, "
                                 f"one row per spectrum); got {arr.shape}.")
    if not np.isfinite(arr).all():
        raise NonFiniteDataError(f"{name} contains NaN or inf; drop those stars first.")
    return arr


def check_flux_ivar(flux: Any, ivar: Any, *, n_pixels: int | None = None,
                    name: str = "flux") -> tuple[np.ndarray, np.ndarray]:
    """Noisy flux (n, P) and its inverse variance (n, P): finite, same shape, ivar ≥ 0.

    ``ivar = 0`` marks a pixel without information (masked); ``ivar`` must be finite
    (noiseless flux has no finite inverse variance: give the fit noisy flux).
    """
    refuse_spectra_set(flux, "an input of a peer model (pass its noisy flux)")
    refuse_spectra_set(ivar, "an input of a peer model (pass 1/σ² of the noisy flux)")
    x = np.asarray(check_x(flux, n_features=n_pixels, name=name), dtype=np.float64)
    w = np.asarray(ivar, dtype=np.float64)
    if w.shape != x.shape:
        raise ShapeMismatchError(f"ivar must have the shape of {name} {x.shape}; got {w.shape}. "
                                 "Pass 1/(noise_level·error)² of the same spectra.")
    if not np.isfinite(w).all():
        raise NonFiniteDataError("ivar contains NaN or inf; noiseless pixels have no finite "
                                 "inverse variance: fit noisy flux, or set ivar=0 to mask a pixel.")
    if (w < 0).any():
        raise InvalidErrorArrayError(f"ivar has {int((w < 0).sum())} negative entries; inverse "
                                     "variances are ≥ 0 (0 masks a pixel).")
    if not (w > 0).any(axis=1).all():
        raise InvalidErrorArrayError("some spectra have ivar = 0 at every pixel; drop them.")
    return x, w


def bin_ivar(error: np.ndarray, factor: int) -> np.ndarray:
    """Inverse variance of the mean of ``factor`` adjacent pixels (matches ``bin_pixels``).

    The mean of k independent pixels has variance ``Σσ²/k²``; the last group may be shorter.
    """
    e2 = np.square(np.asarray(error, dtype=np.float32))  # float32: the input is float32 anyway
    if factor == 1:
        return 1.0 / e2.astype(np.float64)
    starts = np.arange(0, e2.shape[1], factor)
    counts = np.diff(np.append(starts, e2.shape[1])).astype(np.float64)
    return counts**2 / np.add.reduceat(e2, starts, axis=1).astype(np.float64)


class FitResult:
    """Per-star χ² fit: labels (n, 3), covariance (n, 3, 3), χ², start that won, iterations."""

    def __init__(self, labels: np.ndarray, cov: np.ndarray, chi2: np.ndarray,
                 start: np.ndarray, n_iter: int) -> None:
        self.labels = labels
        self.cov = cov
        self.chi2 = chi2
        self.start = start
        self.n_iter = n_iter

    @property
    def sigma(self) -> np.ndarray:
        """Stated 1σ per label, sqrt of the covariance diagonal, (n, 3)."""
        return np.sqrt(np.clip(np.diagonal(self.cov, axis1=1, axis2=2), 0, None))


ModelFn = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]


def _lm(model: ModelFn, x: np.ndarray, c: np.ndarray, z0: np.ndarray, lo: np.ndarray,
        hi: np.ndarray, n_iter: int, tol: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """One LM run from ``z0`` for every star; returns z, χ², JᵀCJ, iterations used."""
    z = np.clip(z0.astype(np.float64, copy=True), lo, hi)
    f, jac = model(z)
    r = x - f
    chi2 = np.einsum("np,np->n", c * r, r)
    lam = np.full(z.shape[0], 1e-3)
    eye = np.eye(z.shape[1])
    it = 0
    for it in range(1, n_iter + 1):  # noqa: B007 (the count is returned)
        cj = c[:, :, None] * jac
        hess = np.matmul(cj.transpose(0, 2, 1), jac)
        grad = np.matmul(cj.transpose(0, 2, 1), r[:, :, None])[..., 0]
        diag = np.diagonal(hess, axis1=1, axis2=2)
        damped = hess + lam[:, None, None] * (diag[:, :, None] * eye + 1e-9 * eye)
        step = np.linalg.solve(damped, grad[..., None])[..., 0]
        step = np.clip(step, -_MAX_STEP, _MAX_STEP)
        z_new = np.clip(z + step, lo, hi)
        f_new, jac_new = model(z_new)
        r_new = x - f_new
        chi2_new = np.einsum("np,np->n", c * r_new, r_new)
        better = chi2_new < chi2
        gain = np.where(better, chi2 - chi2_new, 0.0)
        z = np.where(better[:, None], z_new, z)
        r = np.where(better[:, None], r_new, r)
        jac = np.where(better[:, None, None], jac_new, jac)
        chi2 = np.where(better, chi2_new, chi2)
        lam = np.clip(np.where(better, lam / 10, lam * 10), 1e-9, 1e9)
        # done: an accepted step gained almost nothing, or steps keep failing at high damping
        small = gain <= tol * np.maximum(chi2, 1.0)
        tiny = np.abs(step).max(axis=1) < 1e-8
        if np.all((better & small) | (~better & (lam >= 1e2)) | tiny):
            break
    cj = c[:, :, None] * jac
    return z, chi2, np.matmul(cj.transpose(0, 2, 1), jac), it


def batched_lm(model: ModelFn, x: np.ndarray, c: np.ndarray, starts: list[np.ndarray], *,
               lo: np.ndarray, hi: np.ndarray, n_iter: int = 30, tol: float = 1e-7,
               chunk: int = 512) -> FitResult:
    """Levenberg–Marquardt χ² fit of every star from several starts, lowest χ² kept.

    Parameters
    ----------
    model : callable
        ``model(z)`` for labels z (m, k) returns flux (m, P) and Jacobian (m, P, k).
    x, c : ndarray of shape (n, P)
        Spectra and per-pixel weights (inverse variances) of the χ².
    starts : list of ndarray of shape (n, k)
        Starting labels; each star keeps the solution with the lowest χ².
    lo, hi : ndarray of shape (k,)
        Box the labels are kept in (steps are clipped to it).
    n_iter, tol : iterations cap; stop when no star's χ² improves by more than tol·χ².
    chunk : stars solved together (bounds the (chunk, P, k) Jacobian in memory).

    Returns
    -------
    FitResult
        Labels, covariance ``(JᵀCJ)⁻¹`` at the solution (same units as z), χ², index of the
        winning start, largest iteration count used.
    """
    n, k = x.shape[0], starts[0].shape[1]
    best_z = np.empty((n, k))
    best_chi2 = np.full(n, np.inf)
    best_h = np.empty((n, k, k))
    which = np.zeros(n, dtype=np.int64)
    used = 0
    for s0 in range(0, n, chunk):
        sl = slice(s0, min(n, s0 + chunk))
        for i, z0 in enumerate(starts):
            z, chi2, hess, it = _lm(model, x[sl], c[sl], z0[sl], lo, hi, n_iter, tol)
            used = max(used, it)
            win = chi2 < best_chi2[sl]
            idx = np.flatnonzero(win) + s0
            best_z[idx], best_chi2[idx], best_h[idx], which[idx] = z[win], chi2[win], hess[win], i
    eye = np.eye(k)
    cov = np.linalg.inv(best_h + 1e-12 * eye)
    return FitResult(best_z, cov, best_chi2, which, used)


def chi2_fit(model: Any, flux: Any, ivar: Any, init: Any = None) -> FitResult:
    """Per-star χ² fit of a fitted label → flux model (Cannon, emulator), physical units.

    ``model`` provides ``_model`` (scaled labels → flux, Jacobian), ``s2_`` (extra variance
    per pixel), the label scaling (``label_centre_``, ``label_scale_``, bounds ``z_lo_``,
    ``z_hi_``), the training labels ``train_z_`` and its median ``z_median_``, and
    ``n_random_starts``, ``n_iter``, ``seed``. Starts: the training median, ``init`` when given
    (e.g. Ridge predictions), and random training labels; the lowest χ² wins.
    """
    model._check_fitted()
    x, w = check_flux_ivar(flux, ivar, n_pixels=model.n_features_in_)
    m = w > 0
    c = m / np.where(m, 1.0 / np.where(m, w, 1.0) + model.s2_, 1.0)
    n = x.shape[0]
    starts = [np.broadcast_to(model.z_median_, (n, 3))]
    if init is not None:
        starts.append((check_labels(init, n, "init") - model.label_centre_) / model.label_scale_)
    rng = np.random.default_rng(model.seed)
    for _ in range(int(model.n_random_starts)):
        starts.append(model.train_z_[rng.integers(0, model.train_z_.shape[0], n)])
    res = batched_lm(model._model, x, c, starts, lo=model.z_lo_, hi=model.z_hi_,
                     n_iter=int(model.n_iter))
    sc = model.label_scale_
    return FitResult(res.labels * sc + model.label_centre_, res.cov * np.outer(sc, sc),
                     res.chi2, res.start, res.n_iter)
