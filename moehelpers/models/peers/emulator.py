"""A Payne-style emulator fit (Ting et al. 2019): an MLP labels → flux, then χ² per star.

Training. A small MLP (two SiLU hidden layers) maps the scaled labels
``z = (ℓ − mean)/std`` of ℓ = (Teff, log g, [M/H]) to the flux of every pixel (outputs
standardised per pixel). It is trained by Adam on mean squared error over the training spectra:

* ``train_on="noisy"`` — the noisy training flux, noise and all: the honest case, what a
  survey with only observed spectra of known labels can do;
* ``train_on="noiseless"`` — the noiseless flux: an **upper bound**. Noiseless flux is not
  observable; this is the original Payne's setting (an emulator of synthetic spectra).

After training, a per-pixel emulator scatter s²_λ (the part of the residual that the noise
σ does not explain) is estimated on the validation spectra when given (else on the training
spectra) exactly as for the Cannon, so that the stated uncertainties include model error.

Test step. For every star, ``χ²(z) = Σ_λ (x_λ − f_λ(z))² / (σ²_λ + s²_λ)`` is minimised by the
shared batched Levenberg–Marquardt (:func:`~moehelpers.models.peers._common.batched_lm`) with
the MLP's exact Jacobian ∂f/∂z by forward-mode differentiation (three input tangents pushed
through the layers, in float64 NumPy), from the training median, a supplied guess and random
training labels, lowest χ² kept; stated covariance ``(JᵀCJ)⁻¹``. ``ivar`` enters only as χ²
weights, never as a feature (see :mod:`moehelpers.models.peers.cannon`).

PyTorch is imported lazily; without it ``fit`` raises
:class:`~moehelpers.errors.MissingDependencyError`. With a fixed ``seed`` results are
reproducible on CPU.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from moehelpers._validation import check_choice, check_x
from moehelpers.errors import InvalidParameterError
from moehelpers.models.peers._common import (
    FitResult,
    check_flux_ivar,
    check_labels,
    chi2_fit,
    require_torch,
    torch_device,
    torch_threads,
)

__all__ = ["EmulatorFit", "fit_scatter"]

_PAD = 0.1  # the test-step box extends the training label range by this share on each side


def fit_scatter(resid: np.ndarray, ivar: np.ndarray | None, n_iter: int = 50) -> np.ndarray:
    """Per-pixel s² maximising ``Π N(r | 0, σ² + s²)`` (σ² = 1/ivar; ``None``: σ = 0).

    Fixed point of the score equation ``s² = Σ (r² − σ²)/v² / Σ 1/v²`` with v = σ² + s²,
    clipped at 0; with σ = 0 it is the mean squared residual.
    """
    r2 = np.asarray(resid, dtype=np.float64) ** 2
    if ivar is None:
        return r2.mean(axis=0)
    m = ivar > 0
    sig2 = np.where(m, 1.0 / np.where(m, ivar, 1.0), 0.0)
    s2 = np.zeros(r2.shape[1])
    for _ in range(n_iter):
        g = m / np.where(m, sig2 + s2, 1.0) ** 2
        new = np.maximum((g * (r2 - sig2)).sum(axis=0) / g.sum(axis=0), 0.0)
        if np.allclose(new, s2, rtol=1e-4, atol=1e-12):
            return new
        s2 = new
    return s2


def _silu(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """SiLU and its derivative."""
    sig = 1.0 / (1.0 + np.exp(-a))
    return a * sig, sig * (1.0 + a * (1.0 - sig))


class EmulatorFit:
    """MLP emulator labels → flux trained on the training spectra, then a χ² fit per star.

    Parameters
    ----------
    train_on : {"noisy", "noiseless"}, default="noisy"
        What ``fit`` receives: the noisy training flux (honest) or the noiseless flux (an upper
        bound: noiseless flux is not observable).
    hidden : int, default=128
        Width of both hidden layers.
    lr : float, default=3e-3
    batch_size : int, default=512
    max_epochs : int, default=60
    patience : int, default=8
        Early stopping on the validation MSE (when validation spectra are given).
    n_random_starts : int, default=1
    n_iter : int, default=30
        LM iterations cap per start.
    seed : int, default=0
        Seeds torch (weights, shuffling) and the random starts.
    device : str, default="auto"
        Training device; ``"auto"`` = CUDA when available. The χ² fit runs in NumPy.
    n_threads : int, optional
        CPU threads torch may use while training (``None``: torch's own setting; 1 avoids
        oversubscribing a busy machine).

    Attributes
    ----------
    weights_ : list of (W, b) ndarray pairs (float64), the trained MLP
    flux_mean_, flux_scale_ : ndarray of shape (n_pixels,)
    s2_ : ndarray of shape (n_pixels,)
        Emulator scatter per pixel.
    label_centre_, label_scale_, z_median_, z_lo_, z_hi_, train_z_ : as in CannonModel
    history_ : list of dict (epoch, train_mse, val_mse)
    best_epoch_, device_, n_features_in_
    """

    def __init__(self, train_on: str = "noisy", *, hidden: int = 128, lr: float = 3e-3,
                 batch_size: int = 512, max_epochs: int = 60, patience: int = 8,
                 n_random_starts: int = 1, n_iter: int = 30, seed: int = 0,
                 device: str = "auto", n_threads: int | None = None) -> None:
        self.train_on = train_on
        self.hidden = hidden
        self.lr = lr
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.patience = patience
        self.n_random_starts = n_random_starts
        self.n_iter = n_iter
        self.seed = seed
        self.device = device
        self.n_threads = n_threads

    def _check_params(self) -> None:
        check_choice("train_on", self.train_on, ("noisy", "noiseless"))
        for name in ("hidden", "batch_size", "max_epochs", "patience", "n_iter"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int | np.integer) or v < 1:
                raise InvalidParameterError(f"{name} must be an integer ≥ 1; got {v!r}.")
        if not (isinstance(self.lr, int | float) and self.lr > 0):
            raise InvalidParameterError(f"lr must be a number > 0; got {self.lr!r}.")

    def _inputs(self, flux: Any, labels: Any, ivar: Any, name: str) -> tuple[np.ndarray, ...]:
        if ivar is None:
            if self.train_on == "noisy":
                raise InvalidParameterError(
                    f"train_on='noisy' needs the inverse variance of {name} (for the emulator "
                    "scatter); pass ivar=1/(noise_level·error)², or use train_on='noiseless'.")
            x = np.asarray(check_x(flux, name=name), dtype=np.float64)
            w = None
        else:
            x, w = check_flux_ivar(flux, ivar, name=name)
        return x, check_labels(labels, x.shape[0], f"labels of {name}"), w

    def fit(self, flux: Any, labels: Any, ivar: Any = None, *, val_flux: Any = None,
            val_labels: Any = None, val_ivar: Any = None) -> EmulatorFit:
        """Train the emulator and its per-pixel scatter.

        Parameters
        ----------
        flux : ndarray of shape (n_stars, n_pixels)
            Noisy training flux (``train_on="noisy"``) or noiseless flux (``"noiseless"``).
        labels : DataFrame or ndarray of shape (n_stars, 3)
        ivar : ndarray of shape (n_stars, n_pixels), optional
            Inverse variance of ``flux``; required for ``"noisy"``, ``None`` for noiseless.
        val_flux, val_labels, val_ivar : optional
            Validation spectra of the same kind: early stopping and the scatter estimate.
        """
        self._check_params()
        x, lab, w = self._inputs(flux, labels, ivar, "flux")
        val = None
        if val_flux is not None:
            val = self._inputs(val_flux, val_labels, val_ivar, "val_flux")
            if val[0].shape[1] != x.shape[1]:
                raise InvalidParameterError("val_flux must have the pixels of flux.")
        torch = require_torch()
        self.device_ = torch_device(self.device)
        centre, scale = lab.mean(axis=0), lab.std(axis=0)
        if not (scale > 0).all():
            raise InvalidParameterError("a training label is constant; the emulator needs "
                                        "spread in Teff, log g and [M/H].")
        self.label_centre_, self.label_scale_ = centre, scale
        z = (lab - centre) / scale
        self.flux_mean_ = x.mean(axis=0)
        self.flux_scale_ = np.maximum(x.std(axis=0), 1e-6)
        with torch_threads(torch, self.n_threads):
            self._train(torch, z, x, val)
        self.n_features_in_ = x.shape[1]
        resid_set = val if val is not None else (x, lab, w)
        zr = (resid_set[1] - centre) / scale
        self.s2_ = np.zeros(x.shape[1])
        self.s2_ = fit_scatter(resid_set[0] - self._forward(zr), resid_set[2])
        span = z.max(axis=0) - z.min(axis=0)
        self.z_median_ = np.median(z, axis=0)
        self.z_lo_, self.z_hi_ = z.min(axis=0) - _PAD * span, z.max(axis=0) + _PAD * span
        self.train_z_ = z
        return self

    def _train(self, torch: Any, z: np.ndarray, x: np.ndarray, val: Any) -> None:
        torch.manual_seed(int(self.seed))
        dev = self.device_
        nn = torch.nn
        h, p = int(self.hidden), x.shape[1]
        net = nn.Sequential(nn.Linear(3, h), nn.SiLU(), nn.Linear(h, h), nn.SiLU(),
                            nn.Linear(h, p)).to(dev)
        opt = torch.optim.Adam(net.parameters(), lr=float(self.lr))
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=int(self.max_epochs))

        def tens(a: np.ndarray) -> Any:
            return torch.as_tensor(np.ascontiguousarray(a, dtype=np.float32), device=dev)

        zt, yt = tens(z), tens((x - self.flux_mean_) / self.flux_scale_)
        if val is not None:
            zv = tens((val[1] - self.label_centre_) / self.label_scale_)
            yv = tens((val[0] - self.flux_mean_) / self.flux_scale_)
        gen = torch.Generator().manual_seed(int(self.seed))
        best, best_state, bad = np.inf, None, 0
        self.history_ = []
        n = zt.shape[0]
        for epoch in range(int(self.max_epochs)):
            net.train()
            perm = torch.randperm(n, generator=gen).to(dev)
            total = 0.0
            for s0 in range(0, n, int(self.batch_size)):
                idx = perm[s0:s0 + int(self.batch_size)]
                loss = torch.mean((net(zt[idx]) - yt[idx]) ** 2)
                opt.zero_grad()
                loss.backward()
                opt.step()
                total += float(loss.detach()) * idx.numel()
            sched.step()
            row = {"epoch": epoch, "train_mse": total / n, "val_mse": float("nan")}
            if val is not None:
                net.eval()
                with torch.no_grad():
                    row["val_mse"] = float(torch.mean((net(zv) - yv) ** 2))
            self.history_.append(row)
            score = row["val_mse"] if val is not None else row["train_mse"]
            if score < best:
                best, bad, self.best_epoch_ = score, 0, epoch
                best_state = {k: t.detach().clone() for k, t in net.state_dict().items()}
            else:
                bad += 1
                if val is not None and bad >= int(self.patience):
                    break
        net.load_state_dict(best_state)
        lin = [m for m in net if isinstance(m, nn.Linear)]
        self.weights_ = [(m.weight.detach().cpu().double().numpy(),
                          m.bias.detach().cpu().double().numpy()) for m in lin]

    def _forward(self, z: np.ndarray) -> np.ndarray:
        (w1, b1), (w2, b2), (w3, b3) = self.weights_
        h1 = _silu(z @ w1.T + b1)[0]
        h2 = _silu(h1 @ w2.T + b2)[0]
        return (h2 @ w3.T + b3) * self.flux_scale_ + self.flux_mean_

    def _model(self, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Flux (n, P) and exact Jacobian (n, P, 3) by forward-mode differentiation."""
        (w1, b1), (w2, b2), (w3, b3) = self.weights_
        h1, d1 = _silu(z @ w1.T + b1)
        t1 = d1[:, :, None] * w1[None]  # ∂h1/∂z (n, H, 3)
        h2, d2 = _silu(h1 @ w2.T + b2)
        t2 = d2[:, :, None] * np.matmul(w2[None], t1)
        f = (h2 @ w3.T + b3) * self.flux_scale_ + self.flux_mean_
        jac = np.matmul((w3 * self.flux_scale_[:, None])[None], t2)  # (n, P, 3)
        return f, jac

    def flux_at(self, labels: Any) -> np.ndarray:
        """Emulated flux (n, n_pixels) at labels (n, 3) in physical units."""
        self._check_fitted()
        lab = np.atleast_2d(np.asarray(labels, dtype=np.float64))
        lab = check_labels(lab, lab.shape[0])
        return self._forward((lab - self.label_centre_) / self.label_scale_)

    def _check_fitted(self) -> None:
        if not hasattr(self, "weights_"):
            raise InvalidParameterError("This EmulatorFit is not fitted yet; call fit first.")

    def predict_with_uncertainty(self, flux: Any, ivar: Any, init: Any = None) -> FitResult:
        """Labels, covariance and χ² of every noisy spectrum (physical units); see CannonModel."""
        return chi2_fit(self, flux, ivar, init)

    def predict(self, flux: Any, ivar: Any, init: Any = None) -> np.ndarray:
        """Fitted labels (n_stars, 3): Teff, log g, [M/H]."""
        return self.predict_with_uncertainty(flux, ivar, init).labels
