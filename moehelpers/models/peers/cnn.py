"""A StarNet-style CNN (Fabbro et al. 2018): 1-D convolutions + dense layers, noisy flux → log g.

Training draws **fresh noise every epoch**: ``fit`` takes the noiseless training flux, its
error array and the noise level, and each mini-batch sees ``flux + level · error · N(0, 1)``
drawn anew (seeded, so a run is reproducible). The error array is used only to draw that
noise; it is never an input of the network (it leaks log g, REFERENCE.md §2).

Optional pixel binning (``bin_factor``) averages adjacent pixels of the noisy flux. During
training the noise is drawn at the binned resolution with ``σ_bin = sqrt(Σσ²)/k``, which has
exactly the distribution of binning a noisy spectrum drawn per pixel, at 1/k of the cost.

Network: ``Conv1d(1, c1, k) → ReLU → Conv1d(c1, c2, k) → ReLU → MaxPool(pool) → Linear(·, d1)
→ ReLU → Linear(d1, d2) → ReLU → Linear(d2, 1)`` on the flux standardised by the training
mean spectrum; the target is standardised log g; Adam, early stopping on a frozen noisy
validation set (best state restored). CPU by default, CUDA when ``torch.cuda.is_available()``
(``device="auto"``). PyTorch is imported lazily.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from moehelpers._validation import check_x, check_xy
from moehelpers.data.splits import bin_pixels
from moehelpers.errors import InvalidErrorArrayError, InvalidParameterError, ShapeMismatchError
from moehelpers.models.peers._common import require_torch, torch_device, torch_threads

__all__ = ["CNNRegressor"]


def _bin_error(error: np.ndarray, factor: int) -> np.ndarray:
    """1σ of the mean of ``factor`` adjacent pixels, float32 (matches ``bin_pixels``)."""
    e2 = np.asarray(error, dtype=np.float64) ** 2
    if factor == 1:
        return np.sqrt(e2).astype(np.float32)
    starts = np.arange(0, e2.shape[1], factor)
    counts = np.diff(np.append(starts, e2.shape[1])).astype(np.float64)
    return (np.sqrt(np.add.reduceat(e2, starts, axis=1)) / counts).astype(np.float32)


class CNNRegressor:
    """StarNet-style 1-D CNN for log g from noisy flux, trained with fresh noise per epoch.

    Parameters
    ----------
    bin_factor : int, default=1
        Average this many adjacent pixels first.
    channels : tuple of int, default=(4, 16)
    kernel : int, default=7
        Odd, so that ``padding='same'`` needs no copy (StarNet used 8).
    pool : int, default=4
    dense : tuple of int, default=(128, 64)
    lr : float, default=1e-3
    weight_decay : float, default=0.0
    batch_size : int, default=256
    max_epochs : int, default=30
    patience : int, default=5
    seed : int, default=0
        Seeds weights, shuffling and the noise draws.
    device : str, default="auto"
    n_threads : int, optional
        CPU threads torch may use in ``fit``/``predict`` (``None``: torch's own setting).

    Attributes
    ----------
    device_ : str
    history_ : list of dict (epoch, train_mse, val_mse)
    best_epoch_, n_epochs_ : int
    y_mean_, y_std_ : float
    flux_mean_ : ndarray of shape (n_binned_pixels,)
    flux_scale_ : float
    n_features_in_ : int
        Pixels before binning.
    """

    def __init__(self, *, bin_factor: int = 1, channels: tuple[int, int] = (4, 16),
                 kernel: int = 7, pool: int = 4, dense: tuple[int, int] = (128, 64),
                 lr: float = 1e-3, weight_decay: float = 0.0, batch_size: int = 256,
                 max_epochs: int = 30, patience: int = 5, seed: int = 0,
                 device: str = "auto", n_threads: int | None = None) -> None:
        self.bin_factor = bin_factor
        self.channels = channels
        self.kernel = kernel
        self.pool = pool
        self.dense = dense
        self.lr = lr
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.patience = patience
        self.seed = seed
        self.device = device
        self.n_threads = n_threads

    def _check_params(self) -> None:
        for name in ("bin_factor", "kernel", "pool", "batch_size", "max_epochs", "patience"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int | np.integer) or v < 1:
                raise InvalidParameterError(f"{name} must be an integer ≥ 1; got {v!r}.")
        for name in ("channels", "dense"):
            v = tuple(getattr(self, name))
            if len(v) != 2 or any(not isinstance(c, int | np.integer) or c < 1 for c in v):
                raise InvalidParameterError(f"{name} must be two integers ≥ 1; got {v!r}.")

    def _build(self, torch: Any, n_in: int) -> Any:
        nn = torch.nn
        c1, c2 = (int(c) for c in self.channels)
        d1, d2 = (int(d) for d in self.dense)
        k, pool = int(self.kernel), int(self.pool)
        n_out = n_in // pool
        if n_out < 1:
            raise InvalidParameterError(f"{n_in} (binned) pixels are fewer than pool={pool}; "
                                        "lower bin_factor or pool.")
        return nn.Sequential(
            nn.Unflatten(1, (1, n_in)),
            nn.Conv1d(1, c1, k, padding="same"), nn.ReLU(),
            nn.Conv1d(c1, c2, k, padding="same"), nn.ReLU(),
            nn.MaxPool1d(pool), nn.Flatten(),
            nn.Linear(c2 * n_out, d1), nn.ReLU(), nn.Linear(d1, d2), nn.ReLU(),
            nn.Linear(d2, 1))

    def fit(self, flux: Any, error: Any, y: Any, noise_level: float, *, val_flux: Any,
            val_y: Any) -> CNNRegressor:
        """Train with fresh noise per epoch; early stopping on the frozen noisy validation set.

        Parameters
        ----------
        flux : ndarray of shape (n_stars, n_pixels)
            **Noiseless** training flux.
        error : ndarray of shape (n_stars, n_pixels)
            1σ per pixel at noise level 1; only used to draw the training noise.
        y : ndarray of shape (n_stars,)
            log g.
        noise_level : float ≥ 0
        val_flux : ndarray of shape (n_val, n_pixels)
            Noisy validation flux (frozen), ``val_y`` its log g.
        """
        self._check_params()
        x, y, _ = check_xy(flux, y, None, name="flux")
        err = np.asarray(check_x(error, name="error"))
        if err.shape != x.shape:
            raise ShapeMismatchError(f"error must have the shape of flux {x.shape}; got "
                                     f"{err.shape}.")
        if not (err > 0).all():
            raise InvalidErrorArrayError("error must be > 0 at every pixel (1σ at noise 1).")
        if isinstance(noise_level, bool) or not (isinstance(noise_level, int | float)
                                                 and np.isfinite(noise_level)
                                                 and noise_level >= 0):
            raise InvalidParameterError(f"noise_level must be a finite number ≥ 0; got "
                                        f"{noise_level!r}.")
        xv, yv, _ = check_xy(val_flux, val_y, None, n_features=x.shape[1], name="val_flux")
        torch = require_torch()
        self.device_ = torch_device(self.device)
        with torch_threads(torch, self.n_threads):
            self._train(torch, x, err, y, float(noise_level), xv, yv)
        return self

    def _train(self, torch: Any, x: np.ndarray, err: np.ndarray, y: np.ndarray,
               noise_level: float, xv: np.ndarray, yv: np.ndarray) -> None:
        dev = self.device_
        torch.manual_seed(int(self.seed))
        k = int(self.bin_factor)
        xb = bin_pixels(x.astype(np.float32), k)
        eb = _bin_error(err, k) * np.float32(noise_level)
        self.n_features_in_ = x.shape[1]
        self.flux_mean_ = xb.mean(axis=0)
        self.flux_scale_ = float(max(np.std(xb - self.flux_mean_), 1e-3))
        self.y_mean_, self.y_std_ = float(y.mean()), float(max(y.std(), 1e-12))
        net = self._build(torch, xb.shape[1]).to(dev)
        opt = torch.optim.Adam(net.parameters(), lr=float(self.lr),
                               weight_decay=float(self.weight_decay))

        def tens(a: np.ndarray) -> Any:
            return torch.as_tensor(np.ascontiguousarray(a, dtype=np.float32), device=dev)

        xt, et = tens(xb), tens(eb)
        mu, sc = tens(self.flux_mean_), self.flux_scale_
        yt = tens((y - self.y_mean_) / self.y_std_)
        xvt = (tens(bin_pixels(xv.astype(np.float32), k)) - mu) / sc
        yvt = tens((yv - self.y_mean_) / self.y_std_)
        gen = torch.Generator().manual_seed(int(self.seed))
        ngen = torch.Generator(device=dev).manual_seed(int(self.seed) + 1)
        n, bs = xt.shape[0], int(self.batch_size)
        best, best_state, bad = np.inf, None, 0
        self.history_ = []
        for epoch in range(int(self.max_epochs)):
            net.train()
            perm = torch.randperm(n, generator=gen).to(dev)
            total = 0.0
            for s0 in range(0, n, bs):
                idx = perm[s0:s0 + bs]
                noise = torch.randn(idx.numel(), xt.shape[1], generator=ngen, device=dev)
                xin = (xt[idx] + noise * et[idx] - mu) / sc
                loss = torch.mean((net(xin)[:, 0] - yt[idx]) ** 2)
                opt.zero_grad()
                loss.backward()
                opt.step()
                total += float(loss.detach()) * idx.numel()
            val_mse = self._eval(torch, net, xvt, yvt)
            self.history_.append({"epoch": epoch, "train_mse": total / n, "val_mse": val_mse})
            if val_mse < best:
                best, bad, self.best_epoch_ = val_mse, 0, epoch
                best_state = {kk: t.detach().clone() for kk, t in net.state_dict().items()}
            else:
                bad += 1
                if bad >= int(self.patience):
                    break
        self.n_epochs_ = len(self.history_)
        net.load_state_dict(best_state)
        net.eval()
        self.net_ = net

    @staticmethod
    def _eval(torch: Any, net: Any, x: Any, y: Any) -> float:
        net.eval()
        with torch.no_grad():
            pred = torch.cat([net(x[s:s + 1024])[:, 0] for s in range(0, x.shape[0], 1024)])
        return float(torch.mean((pred - y) ** 2))

    def predict(self, flux: Any) -> np.ndarray:
        """log g (n_stars,) of noisy spectra (not a spectra set; no error array)."""
        if not hasattr(self, "net_"):
            raise InvalidParameterError("This CNNRegressor is not fitted yet; call fit first.")
        x = check_x(flux, n_features=self.n_features_in_, name="flux")
        torch = require_torch()
        xb = bin_pixels(np.asarray(x, dtype=np.float32), int(self.bin_factor))
        xt = (torch.as_tensor(xb, device=self.device_)
              - torch.as_tensor(self.flux_mean_, device=self.device_)) / self.flux_scale_
        with torch.no_grad(), torch_threads(torch, self.n_threads):
            out = torch.cat([self.net_(xt[s:s + 1024])[:, 0]
                             for s in range(0, xt.shape[0], 1024)])
        return out.cpu().double().numpy() * self.y_std_ + self.y_mean_
