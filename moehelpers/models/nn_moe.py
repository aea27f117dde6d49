"""A restrained neural mixture of experts in PyTorch (MVP-6.1).

:class:`NNMoERegressor` is the model of the framework document (§2.2 MVP-6.1): a gating
network reads a spectral summary (gate features of the noisy flux, optionally with meta
labels) and outputs weights ``α₁ … α_K``; K experts (linear or a small MLP) read the
spectrum (its leading principal components); the prediction is ``Σₖ αₖ ŷₖ``. The loss is the
MSE of the standardised target plus ``entropy_weight`` × the mean entropy of the gate
weights (a positive weight makes the gate decisive, a negative one spreads it). Optional
**hard-group pre-training**: for ``pretrain_epochs`` the gate learns to classify given group
ids (e.g. [M/H] bins) and each expert fits its own group's stars; then everything trains
jointly. With ``n_experts=1`` the gate is constant and the model is a plain global MLP
(or linear model): the baseline of the same code.

Training: Adam on mini-batches, early stopping on the validation MSE (``patience`` epochs;
the best state is restored), labels standardised on the training stars, every seed fixed
(``torch.manual_seed``, a seeded shuffling generator, deterministic algorithms), a progress
bar (tqdm when installed), ``device="auto"`` = CUDA when available, else CPU.

PyTorch is imported lazily: importing this module never needs it; fitting without it raises
:class:`~moehelpers.errors.MissingDependencyError` with the install command.
"""

from __future__ import annotations

import importlib
import math
from typing import Any

import numpy as np

from moehelpers.errors import InvalidParameterError, MissingDependencyError, ShapeMismatchError

__all__ = ["NNMoERegressor", "require_torch", "resolve_device", "spectral_inputs"]

_EXPERTS = ("linear", "mlp")


def require_torch() -> Any:
    """The ``torch`` module, or a clear error saying how to install it."""
    try:
        return importlib.import_module("torch")
    except ImportError as exc:
        raise MissingDependencyError(
            "PyTorch is not installed, and the NN-MoE notebook (MVP-6.1) needs it. Install "
            "the pinned CPU build with `pip install -r requirements.txt` (torch==2.13.0), or "
            "leave the NN notebooks out of the run.") from exc


def resolve_device(device: str = "auto") -> str:
    """``"auto"`` → ``"cuda"`` when a GPU is visible, else ``"cpu"``; other names as given."""
    torch = require_torch()
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise InvalidParameterError(f"device {device!r} requested but CUDA is not available; "
                                    "use device='auto' or 'cpu'.")
    return device


def _progress(total: int, enabled: bool, desc: str) -> Any:
    """A tqdm bar when tqdm is installed and ``enabled``, else a silent stand-in."""
    if enabled:
        try:
            from tqdm import tqdm  # plain text: no widget dependency in notebooks
            return tqdm(total=total, desc=desc, leave=False, mininterval=1.0)
        except ImportError:
            pass

    class _Plain:
        def update(self, n: int = 1) -> None:
            pass

        def set_postfix(self, **kw: Any) -> None:
            pass

        def close(self) -> None:
            pass

    return _Plain()


def _build(torch: Any, d_x: int, d_g: int, k: int, expert: str, expert_hidden: int,
           gate_hidden: int) -> Any:
    nn = torch.nn

    class MoE(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.gate = nn.Sequential(nn.Linear(d_g, gate_hidden), nn.ReLU(),
                                      nn.Linear(gate_hidden, k))
            if expert == "linear":
                self.experts = nn.Linear(d_x, k)
            else:
                self.experts = nn.ModuleList([
                    nn.Sequential(nn.Linear(d_x, expert_hidden), nn.ReLU(),
                                  nn.Linear(expert_hidden, expert_hidden), nn.ReLU(),
                                  nn.Linear(expert_hidden, 1)) for _ in range(k)])

        def forward(self, x: Any, g: Any) -> tuple[Any, Any]:
            logits = self.gate(g)
            if isinstance(self.experts, nn.Linear):
                yk = self.experts(x)
            else:
                yk = torch.cat([e(x) for e in self.experts], dim=1)
            return logits, yk

    return MoE()


class NNMoERegressor:
    """Gating network + K experts, ``ŷ = Σ αₖ ŷₖ`` (see the module notes).

    Parameters
    ----------
    n_experts : int ≥ 1, default=3
    expert : {"linear", "mlp"}, default="mlp"
    expert_hidden : int, default=64
        Width of the two hidden layers of an MLP expert.
    gate_hidden : int, default=32
        Width of the gate's hidden layer.
    entropy_weight : float, default=0.01
        Weight of the mean gate entropy in the loss.
    lr, weight_decay : Adam settings (defaults 1e-3, 1e-5)
    batch_size : int, default=256
    max_epochs : int, default=60
    patience : int, default=8
        Stop after this many epochs without a better validation MSE.
    pretrain_epochs : int, default=0
        Hard-group pre-training epochs (needs ``groups`` in ``fit``).
    seed : int, default=0
    device : str, default="auto"
    progress : bool, default=True

    Attributes
    ----------
    device_ : str
    history_ : list of dict (epoch, train_loss, val_mse)
    best_epoch_ : int
    n_epochs_ : int
    y_mean_, y_std_ : target standardisation
    """

    def __init__(self, n_experts: int = 3, *, expert: str = "mlp", expert_hidden: int = 64,
                 gate_hidden: int = 32, entropy_weight: float = 0.01, lr: float = 1e-3,
                 weight_decay: float = 1e-5, batch_size: int = 256, max_epochs: int = 60,
                 patience: int = 8, pretrain_epochs: int = 0, seed: int = 0,
                 device: str = "auto", progress: bool = True) -> None:
        self.n_experts = n_experts
        self.expert = expert
        self.expert_hidden = expert_hidden
        self.gate_hidden = gate_hidden
        self.entropy_weight = entropy_weight
        self.lr = lr
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.patience = patience
        self.pretrain_epochs = pretrain_epochs
        self.seed = seed
        self.device = device
        self.progress = progress

    # ------------------------------------------------------------------ checks
    def _check(self) -> None:
        for name, low in (("n_experts", 1), ("expert_hidden", 1), ("gate_hidden", 1),
                          ("batch_size", 1), ("max_epochs", 1), ("patience", 1),
                          ("pretrain_epochs", 0)):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int | np.integer) or v < low:
                raise InvalidParameterError(f"{name} must be an integer ≥ {low}; got {v!r}.")
        if self.expert not in _EXPERTS:
            raise InvalidParameterError(f"expert must be one of {_EXPERTS}; got "
                                        f"{self.expert!r}.")
        if not (self.lr > 0 and math.isfinite(self.lr)):
            raise InvalidParameterError(f"lr must be > 0; got {self.lr!r}.")

    @staticmethod
    def _arrays(X: Any, G: Any, y: Any | None) -> tuple[np.ndarray, np.ndarray, Any]:
        x, g = np.asarray(X, dtype=np.float32), np.asarray(G, dtype=np.float32)
        if x.ndim != 2 or g.ndim != 2 or x.shape[0] != g.shape[0]:
            raise ShapeMismatchError(f"X and gate inputs must be 2-D with the same rows; got "
                                     f"{x.shape} and {g.shape}.")
        if y is not None:
            y = np.asarray(y, dtype=np.float32)
            if y.shape != (x.shape[0],):
                raise ShapeMismatchError(f"y must have shape ({x.shape[0]},); got {y.shape}.")
        if not (np.isfinite(x).all() and np.isfinite(g).all()):
            raise InvalidParameterError("inputs contain NaN or inf.")
        return x, g, y

    # ------------------------------------------------------------------ fitting
    def fit(self, X: Any, G: Any, y: Any, X_val: Any, G_val: Any, y_val: Any, *,
            groups: Any = None) -> NNMoERegressor:
        """Fit on expert inputs ``X``, gate inputs ``G`` and targets ``y``; early stopping on
        ``(X_val, G_val, y_val)``. ``groups``: group id per training star (0 … K−1) for the
        hard pre-training. Inputs should be standardised (e.g. PCA scores / features)."""
        self._check()
        torch = require_torch()
        x, g, t = self._arrays(X, G, y)
        xv, gv, tv = self._arrays(X_val, G_val, y_val)
        if xv.shape[1] != x.shape[1] or gv.shape[1] != g.shape[1]:
            raise ShapeMismatchError("validation inputs have other widths than training ones.")
        k = int(self.n_experts)
        if self.pretrain_epochs and groups is None:
            raise InvalidParameterError("pretrain_epochs > 0 needs groups (one id per star).")
        if groups is not None:
            groups = np.asarray(groups, dtype=np.int64)
            if groups.shape != t.shape or groups.min() < 0 or groups.max() >= k:
                raise InvalidParameterError(f"groups must be {t.size} ids in [0, {k}).")
        self.device_ = resolve_device(self.device)
        torch.manual_seed(int(self.seed))
        torch.use_deterministic_algorithms(True, warn_only=True)
        self.y_mean_, self.y_std_ = float(t.mean()), float(t.std()) or 1.0
        dev = self.device_
        tx, tg = torch.from_numpy(x).to(dev), torch.from_numpy(g).to(dev)
        ty = torch.from_numpy((t - self.y_mean_) / self.y_std_).to(dev)
        vx, vg = torch.from_numpy(xv).to(dev), torch.from_numpy(gv).to(dev)
        vy = torch.from_numpy((tv - self.y_mean_) / self.y_std_).to(dev)
        tgrp = None if groups is None else torch.from_numpy(groups).to(dev)
        self.model_ = _build(torch, x.shape[1], g.shape[1], k, self.expert,
                             int(self.expert_hidden), int(self.gate_hidden)).to(dev)
        opt = torch.optim.Adam(self.model_.parameters(), lr=float(self.lr),
                               weight_decay=float(self.weight_decay))
        gen = torch.Generator().manual_seed(int(self.seed))
        n, bs = x.shape[0], int(self.batch_size)
        total = int(self.pretrain_epochs) + int(self.max_epochs)
        bar = _progress(total, bool(self.progress), f"NN-MoE K={k}")
        self.history_, best, best_state, wait = [], math.inf, None, 0
        for epoch in range(total):
            pre = epoch < self.pretrain_epochs
            self.model_.train()
            order = torch.randperm(n, generator=gen).to(dev)
            loss_sum = 0.0
            for start in range(0, n, bs):
                idx = order[start:start + bs]
                logits, yk = self.model_(tx[idx], tg[idx])
                if pre:
                    grp = tgrp[idx]
                    own = yk.gather(1, grp[:, None])[:, 0]
                    loss = torch.nn.functional.cross_entropy(logits, grp) + \
                        torch.mean((own - ty[idx]) ** 2)
                else:
                    logp = torch.log_softmax(logits, dim=1)
                    p = logp.exp()
                    pred = (p * yk).sum(dim=1)
                    entropy = -(p * logp).sum(dim=1).mean()
                    loss = torch.mean((pred - ty[idx]) ** 2) + self.entropy_weight * entropy
                opt.zero_grad()
                loss.backward()
                opt.step()
                loss_sum += float(loss.detach()) * idx.numel()
            val = float(torch.mean((self._forward(vx, vg) - vy) ** 2))
            self.history_.append({"epoch": epoch + 1, "pretrain": pre,
                                  "train_loss": loss_sum / n, "val_mse": val})
            bar.update(1)
            bar.set_postfix(val_mse=f"{val:.4f}")
            if pre:
                continue
            if val < best - 1e-6:
                best, wait, self.best_epoch_ = val, 0, epoch + 1
                best_state = {kk: v.detach().clone() for kk, v in
                              self.model_.state_dict().items()}
            else:
                wait += 1
                if wait >= self.patience:
                    break
        bar.close()
        if best_state is not None:
            self.model_.load_state_dict(best_state)
        self.n_epochs_ = len(self.history_)
        self.n_features_in_, self.n_gate_features_in_ = x.shape[1], g.shape[1]
        return self

    # ------------------------------------------------------------------ fitted state
    _HISTORY = ("epoch", "pretrain", "train_loss", "val_mse")

    def state_arrays(self) -> dict[str, np.ndarray]:
        """The fitted state as named numeric arrays: the network's weights (the restored
        best epoch), the target scaling, the input widths and the training history.

        :meth:`load_state_arrays` on an estimator with the same parameters restores a model
        whose predictions equal this one's bit for bit (e.g. through a store entry).
        """
        if not hasattr(self, "model_"):
            raise InvalidParameterError("NNMoERegressor is not fitted; call fit first.")
        out = {f"param:{k}": v.detach().cpu().numpy().copy()
               for k, v in self.model_.state_dict().items()}
        out["y_scale"] = np.array([self.y_mean_, self.y_std_], dtype=np.float64)
        out["widths"] = np.array([self.n_features_in_, self.n_gate_features_in_,
                                  getattr(self, "best_epoch_", 0)], dtype=np.int64)
        for h in self._HISTORY:
            out[f"history:{h}"] = np.array([row[h] for row in self.history_])
        return out

    def load_state_arrays(self, arrays: Any) -> NNMoERegressor:
        """Set the fitted state from :meth:`state_arrays` of a model with these parameters.

        Raises
        ------
        InvalidParameterError
            If the arrays do not describe this architecture (another ``n_experts``,
            ``expert`` or hidden width): refit instead.
        """
        self._check()
        torch = require_torch()
        missing = [k for k in ("y_scale", "widths", *(f"history:{h}" for h in self._HISTORY))
                   if k not in arrays]
        if missing:
            raise InvalidParameterError(f"state arrays lack {missing}; pass what state_arrays "
                                        "returned.")
        d_x, d_g, best = (int(v) for v in arrays["widths"])
        self.device_ = resolve_device(self.device)
        model = _build(torch, d_x, d_g, int(self.n_experts), self.expert,
                       int(self.expert_hidden), int(self.gate_hidden))
        state = {k[len("param:"):]: torch.from_numpy(np.array(v)) for k, v in arrays.items()
                 if k.startswith("param:")}
        try:
            model.load_state_dict(state)
        except RuntimeError as exc:
            raise InvalidParameterError(
                f"the stored weights do not fit this NNMoERegressor's architecture ({exc}); "
                "fit it instead.") from exc
        self.model_ = model.to(self.device_)
        self.y_mean_, self.y_std_ = (float(v) for v in arrays["y_scale"])
        columns = [np.asarray(arrays[f"history:{h}"]).tolist() for h in self._HISTORY]
        self.history_ = [dict(zip(self._HISTORY, row, strict=True))
                         for row in zip(*columns, strict=True)]
        if best:
            self.best_epoch_ = best
        self.n_epochs_ = len(self.history_)
        self.n_features_in_, self.n_gate_features_in_ = d_x, d_g
        return self

    def _forward(self, x: Any, g: Any) -> Any:
        torch = require_torch()
        self.model_.eval()
        with torch.no_grad():
            logits, yk = self.model_(x, g)
            return (torch.softmax(logits, dim=1) * yk).sum(dim=1)

    def _tensors(self, X: Any, G: Any) -> tuple[Any, Any]:
        if not hasattr(self, "model_"):
            raise InvalidParameterError("NNMoERegressor is not fitted; call fit first.")
        torch = require_torch()
        x, g, _ = self._arrays(X, G, None)
        if x.shape[1] != self.n_features_in_ or g.shape[1] != self.n_gate_features_in_:
            raise ShapeMismatchError(f"inputs of widths {x.shape[1]}, {g.shape[1]}; fitted on "
                                     f"{self.n_features_in_}, {self.n_gate_features_in_}.")
        return torch.from_numpy(x).to(self.device_), torch.from_numpy(g).to(self.device_)

    def predict(self, X: Any, G: Any) -> np.ndarray:
        """``Σ αₖ ŷₖ`` in the target's units, shape (n,)."""
        out = self._forward(*self._tensors(X, G))
        return out.cpu().numpy().astype(np.float64) * self.y_std_ + self.y_mean_

    def gate_weights(self, X: Any, G: Any) -> np.ndarray:
        """Gate weights α, shape (n, n_experts)."""
        torch = require_torch()
        _, g = self._tensors(X, G)
        self.model_.eval()
        with torch.no_grad():
            return torch.softmax(self.model_.gate(g), dim=1).cpu().numpy().astype(np.float64)


def spectral_inputs(flux: dict[str, Any], wave: Any, *, n_components: int = 64,
                    gate_components: int = 10, max_pca_rows: int | None = 8000,
                    seed: int = 0) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray],
                                            list[str]]:
    """Standardised NN inputs per split from the noisy flux only.

    Returns ``(X, G, gate_names)``: expert inputs ``X[split]`` (``n_components`` principal
    components of the noisy flux) and gate inputs ``G[split]``
    (:class:`~moehelpers.data.flux_features.GateFeatures`: windows, ``gate_components`` PCs, noise
    aggregates), every transform fitted on ``flux["train"]`` only (PCA and standardisation).
    """
    from sklearn.preprocessing import StandardScaler

    from moehelpers.data.flux_features import GateFeatures

    if "train" not in flux:
        raise InvalidParameterError("flux must hold a 'train' split (transforms are fitted "
                                    "on it).")
    pca = GateFeatures(wave, n_components, windows=(), noise_stats=False,
                       max_pca_rows=max_pca_rows, seed=seed).fit(flux["train"])
    gate = GateFeatures(wave, gate_components, max_pca_rows=max_pca_rows,
                        seed=seed).fit(flux["train"])
    X = {s: pca.transform(f) for s, f in flux.items()}
    G = {s: gate.transform(f) for s, f in flux.items()}
    sx, sg = StandardScaler().fit(X["train"]), StandardScaler().fit(G["train"])
    return ({s: sx.transform(v) for s, v in X.items()},
            {s: sg.transform(v) for s, v in G.items()}, list(gate.feature_names_))
