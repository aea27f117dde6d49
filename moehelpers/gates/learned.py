"""Learned gates over frozen Ridge experts (MVP-6.0).

The experts of a fitted :class:`~moehelpers.models.piecewise.PiecewiseRidge` are frozen; a
gate sees only gate features of the *noisy flux*
(:class:`~moehelpers.data.flux_features.GateFeatures`: the gates take the flux and compute the
features themselves, so the error array can never reach them)
and returns a probability per **option**: the model's experts plus, as the last option, its
global model. Uncovered stars (outside every bin) have the global model as their true
option, so the gate learns to send stars that look uncovered to the global model; every
test star is scored.

* :class:`LogisticGate` (a): multinomial logistic classifier of the true option.
* :class:`MixtureGate` (b): a softmax gate ``p = softmax(W z + b)`` trained to minimise the
  final error ``mean (y − Σₖ pₖ ŷₖ)² + l2·‖W‖²`` (L-BFGS, analytic gradient), started from
  the logistic gate's weights.

Both must be trained on stars the experts did not see (the notebook carves a gate subset
off the training split): on the experts' own training stars the expert predictions are
over-fitted and the mixture would learn the wrong trust. :func:`combine` turns
probabilities into soft (``Σ p ŷ``) or hard (``ŷ`` of the most probable option)
predictions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from scipy.special import log_softmax, softmax
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from moehelpers._validation import check_choice, check_x
from moehelpers.data.flux_features import GateFeatures
from moehelpers.errors import InvalidParameterError, ShapeMismatchError
from moehelpers.models.piecewise import PiecewiseRidge

__all__ = ["GateInputs", "LogisticGate", "MixtureGate", "TrainPart", "combine", "confusion",
           "expert_matrix", "fit_mixture", "gate_rows", "option_names", "score_gate", "score_gates",
           "split_experts_gate", "true_options"]


def expert_matrix(model: PiecewiseRidge, X: Any) -> np.ndarray:
    """Predictions of every expert and (last column) the global model, shape (n, K+1)."""
    X = check_x(X, n_features=model.n_features_in_, owner="expert_matrix")
    coef = np.column_stack([e.coef_ for e in model.experts_] + [model.global_.coef_])
    icpt = np.array([e.intercept_ for e in model.experts_] + [model.global_.intercept_])
    return np.concatenate([np.asarray(X[i:i + 4096], dtype=np.float64) @ coef
                           for i in range(0, X.shape[0], 4096)]) + icpt


def true_options(model: PiecewiseRidge, labels: pd.DataFrame) -> np.ndarray:
    """The option each star belongs to: its bin's expert, or K (global) when uncovered."""
    ids = model.route(labels)
    return np.where(ids >= 0, ids, len(model.experts_))


def option_names(model: PiecewiseRidge) -> list[str]:
    """Names of the options: the experts' bins, then ``"global"``."""
    return [*model.expert_names_, "global"]


def combine(proba: Any, preds: Any, mode: str = "soft") -> np.ndarray:
    """Soft ``Σₖ pₖ ŷₖ`` or hard ``ŷ`` of the most probable option, per star."""
    check_choice("mode", mode, ("soft", "hard"))
    p, e = np.asarray(proba, dtype=float), np.asarray(preds, dtype=float)
    if p.shape != e.shape:
        raise ShapeMismatchError(f"proba {p.shape} and expert predictions {e.shape} differ.")
    if mode == "soft":
        return np.sum(p * e, axis=1)
    return e[np.arange(e.shape[0]), np.argmax(p, axis=1)]


def confusion(true: Any, chosen: Any, names: list[str]) -> pd.DataFrame:
    """Stars per (true option, chosen option); rows true, columns chosen."""
    t, c = np.asarray(true), np.asarray(chosen)
    k = len(names)
    table = np.zeros((k, k), dtype=int)
    np.add.at(table, (t, c), 1)
    return pd.DataFrame(table, index=pd.Index(names, name="true option"),
                        columns=pd.Index(names, name="chosen option"))


def _check_features(features: Any) -> GateFeatures:
    if not isinstance(features, GateFeatures) or not hasattr(features, "feature_names_"):
        raise InvalidParameterError(
            "features must be a fitted moehelpers.data.flux_features.GateFeatures (fitted on noisy "
            "training flux); gates take flux only, never the error array.")
    return features


@dataclass(frozen=True, eq=False)
class GateInputs:
    """Gate features of one set of spectra, transformed once (:meth:`of`).

    The gates take these wherever they take flux: several gates fitted or applied to the
    same stars (a logistic gate and a mixture gate per L2 strength) then transform them
    once instead of once per gate. Only gates built on the same ``features`` accept them.
    """

    features: GateFeatures
    z: np.ndarray

    @classmethod
    def of(cls, features: GateFeatures, flux: Any) -> GateInputs:
        """``features.transform(flux)``, kept with the features that made it."""
        if isinstance(flux, GateInputs):
            _gate_z(features, flux)  # the same features, else the error that says so
            return flux
        return cls(features, _check_features(features).transform(flux))


def _gate_z(features: Any, flux: Any) -> np.ndarray:
    """Gate features of ``flux`` (noisy spectra, or :class:`GateInputs` of these features)."""
    if isinstance(flux, GateInputs):
        if flux.features is not features:
            raise InvalidParameterError(
                "these GateInputs were transformed by other GateFeatures than the gate's; "
                "build them with GateInputs.of(gate.features, flux), or pass the flux.")
        return flux.z
    return _check_features(features).transform(flux)


class LogisticGate:
    """(a) Multinomial logistic classifier of the option, on standardised gate features.

    Parameters
    ----------
    features : GateFeatures (fitted)
    n_options : int
        Number of options (experts + 1 for the global model).
    C : float, default=1.0
        Inverse L2 strength.
    max_iter : int, default=3000

    Attributes
    ----------
    scaler_, clf_ : the fitted scaler and classifier
    """

    def __init__(self, features: GateFeatures, n_options: int, C: float = 1.0, *,
                 max_iter: int = 3000) -> None:
        self.features = features
        self.n_options = n_options
        self.C = C
        self.max_iter = max_iter

    def fit(self, flux: Any, options: Any, /) -> LogisticGate:
        """Fit on the noisy flux of the gate-training stars (or their :class:`GateInputs`)
        and their true options."""
        z = _gate_z(self.features, flux)
        o = np.asarray(options)
        if o.shape != (z.shape[0],) or o.min() < 0 or o.max() >= self.n_options:
            raise InvalidParameterError(
                f"options must be {z.shape[0]} integers in [0, {self.n_options}); got shape "
                f"{o.shape}.")
        self.scaler_ = StandardScaler().fit(z)
        self.clf_ = LogisticRegression(C=self.C, max_iter=self.max_iter).fit(
            self.scaler_.transform(z), o)
        return self

    def logits(self, z_std: np.ndarray) -> np.ndarray:
        """Logits of every option (options never seen in training get −inf)."""
        out = np.full((z_std.shape[0], self.n_options), -np.inf)
        raw = self.clf_.decision_function(z_std)
        if raw.ndim == 1:  # two classes: sklearn returns one column
            raw = np.column_stack([-raw / 2, raw / 2])
        out[:, self.clf_.classes_] = raw
        return out

    def predict_proba(self, flux: Any, /) -> np.ndarray:
        """Probability of each option, shape (n, n_options) (flux or :class:`GateInputs`)."""
        z = self.scaler_.transform(_gate_z(self.features, flux))
        return softmax(self.logits(z), axis=1)


class MixtureGate:
    """(b) Softmax gate trained on the final MSE of ``Σₖ pₖ ŷₖ`` over frozen experts.

    Parameters
    ----------
    features : GateFeatures (fitted)
    l2 : float ≥ 0, default=1e-3
        Penalty on the weights (not the biases), relative to the target variance.
    max_iter : int, default=500
        L-BFGS iterations.
    init : LogisticGate, optional
        Start from its weights (the classifier of the same options); else from zero.

    Attributes
    ----------
    scaler_ : StandardScaler
    coef_ : ndarray of shape (n_features, n_options)
    intercept_ : ndarray of shape (n_options,)
    loss_ : float, the final training objective
    """

    def __init__(self, features: GateFeatures, l2: float = 1e-3, *, max_iter: int = 500,
                 init: LogisticGate | None = None) -> None:
        self.features = features
        self.l2 = l2
        self.max_iter = max_iter
        self.init = init

    def fit(self, flux: Any, expert_preds: Any, y: Any, /) -> MixtureGate:
        """Fit on the gate-training stars: their flux (or :class:`GateInputs`), frozen expert
        predictions, targets."""
        if not float(self.l2) >= 0:
            raise InvalidParameterError(f"l2 must be ≥ 0; got {self.l2!r}.")
        z = _gate_z(self.features, flux)
        e, t = np.asarray(expert_preds, dtype=float), np.asarray(y, dtype=float)
        if e.ndim != 2 or e.shape[0] != z.shape[0] or t.shape != (z.shape[0],):
            raise ShapeMismatchError(
                f"expert_preds must be ({z.shape[0]}, K) and y ({z.shape[0]},); got "
                f"{e.shape} and {t.shape}.")
        self.scaler_ = StandardScaler().fit(z)
        zs = np.column_stack([self.scaler_.transform(z), np.ones(z.shape[0])])
        n, d, k = zs.shape[0], zs.shape[1], e.shape[1]
        scale = float(np.var(t)) or 1.0
        w0 = np.zeros((d, k))
        if self.init is not None:
            if self.init.n_options != k:
                raise ShapeMismatchError(f"init gate has {self.init.n_options} options; "
                                         f"expert_preds has {k} columns.")
            z_init = self.init.scaler_.transform(z)
            w_lin, *_ = np.linalg.lstsq(zs, np.maximum(self.init.logits(z_init), -30.0),
                                        rcond=None)
            w0 = w_lin  # the logistic logits, re-expressed on this gate's scaling
        penal = np.ones((d, 1))
        penal[-1] = 0.0  # no penalty on the biases

        def objective(w_flat: np.ndarray) -> tuple[float, np.ndarray]:
            w = w_flat.reshape(d, k)
            logit = zs @ w
            p = np.exp(log_softmax(logit, axis=1))
            mix = np.sum(p * e, axis=1)
            r = mix - t
            loss = float(r @ r) / (n * scale) + self.l2 * float(np.sum(penal * w * w))
            g_logit = (2.0 / (n * scale)) * r[:, None] * p * (e - mix[:, None])
            grad = zs.T @ g_logit + 2 * self.l2 * penal * w
            return loss, grad.ravel()

        res = minimize(objective, w0.ravel(), jac=True, method="L-BFGS-B",
                       options={"maxiter": int(self.max_iter)})
        w = res.x.reshape(d, k)
        self.coef_, self.intercept_ = w[:-1], w[-1]
        self.loss_ = float(res.fun)
        return self

    def predict_proba(self, flux: Any, /) -> np.ndarray:
        """Mixture weight of each option, shape (n, n_options) (flux or :class:`GateInputs`)."""
        z = self.scaler_.transform(_gate_z(self.features, flux))
        return softmax(z @ self.coef_ + self.intercept_, axis=1)


def score_gate(name: str, y: Any, pred: Any, pred_global: Any, pred_oracle: Any,
               chosen: Any, true: Any, *, n_boot: int, seed: int) -> dict[str, Any]:
    """One table row: R², ΔR² over the global model and retention ρ, both with paired
    bootstrap CIs on the same stars and resamples, and the routing accuracy.

    ``chosen`` / ``true``: the option chosen (argmax for soft gates) and the true option.
    """
    from moehelpers.metrics import paired_bootstrap, retention

    d = paired_bootstrap(y, pred, pred_global, n_boot=n_boot, seed=seed)
    r = retention(y, pred, pred_global, pred_oracle, n_boot=n_boot, seed=seed)
    return {"gate": name, "n": d.n, "r2": d.score_a, "r2_global": d.score_b,
            "delta_r2": d.difference, "delta_r2_lo": d.ci_low, "delta_r2_hi": d.ci_high,
            "retention": r.rho, "retention_lo": r.ci_low, "retention_hi": r.ci_high,
            "routing_accuracy": float(np.mean(np.asarray(chosen) == np.asarray(true)))}


# --- notebooks 10 and 15: the expert / gate split of the training stars, the mixture's L2 ---
@dataclass(frozen=True)
class TrainPart:
    """One part of the training split: flux, targets, labels and the rows they came from."""

    X: Any
    y: np.ndarray
    labels: pd.DataFrame
    rows: np.ndarray


def split_experts_gate(X: Any, y: Any, labels: pd.DataFrame, gate_fraction: float,
                       seed: int) -> tuple[TrainPart, TrainPart]:
    """Hold back a random share of the training stars to train the gates (MVP-6.0, 7.4).

    The experts must not see the gate's stars: on their own training stars the expert
    predictions are over-fitted and a gate would learn the wrong trust.

    Parameters
    ----------
    X : array-like of shape (n, P)
        Noisy training flux.
    y : array-like of shape (n,)
    labels : pandas.DataFrame
        Training labels (n rows).
    gate_fraction : float in (0, 1)
        Share of the stars held back for the gates (``round(fraction · n)`` stars).
    seed : int
        Seed of the permutation.

    Returns
    -------
    experts, gate : TrainPart
        Rows in their original order, labels re-indexed from 0.

    Raises
    ------
    InvalidParameterError
        If ``gate_fraction`` is not in (0, 1).
    """
    y = np.asarray(y)
    return tuple(TrainPart(X[r], y[r], labels.iloc[r].reset_index(drop=True), r)
                 for r in gate_rows(len(y), gate_fraction, seed))


def gate_rows(n: int, gate_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Row indices of the experts' and of the gates' training stars (:func:`split_experts_gate`).

    Parameters
    ----------
    n : int
        Number of training stars.
    gate_fraction : float in (0, 1)
        Share of the gates (``round(gate_fraction · n)`` stars, drawn by a permutation).
    seed : int
        Seed of the permutation.

    Returns
    -------
    rows_e, rows_g : ndarray
        Sorted row indices of the experts' and of the gates' stars.

    Raises
    ------
    InvalidParameterError
        If ``gate_fraction`` is not in (0, 1).
    """
    if not 0 < gate_fraction < 1:
        raise InvalidParameterError(f"gate_fraction must lie in (0, 1); got {gate_fraction!r}.")
    perm = np.random.default_rng(seed).permutation(n)
    n_gate = round(gate_fraction * len(perm))
    return np.sort(perm[n_gate:]), np.sort(perm[:n_gate])


def fit_mixture(features: GateFeatures, l2_grid: Any, init: LogisticGate, flux: Any,
                expert_preds: Any, y: Any, flux_val: Any, expert_preds_val: Any, y_val: Any
                ) -> tuple[MixtureGate, float]:
    """Fit one :class:`MixtureGate` per L2 strength and keep the best on validation R².

    Parameters
    ----------
    features : GateFeatures
        Fitted gate features.
    l2_grid : sequence of float
        L2 strengths tried (ties: the first).
    init : LogisticGate
        Fitted logistic gate the mixtures start from.
    flux, expert_preds, y
        Gate training stars: flux, :func:`expert_matrix` and targets.
    flux_val, expert_preds_val, y_val
        Validation stars.

    Returns
    -------
    gate : MixtureGate
        The chosen gate.
    l2 : float
        Its L2 strength.
    """
    from moehelpers.metrics import r2

    flux, flux_val = GateInputs.of(features, flux), GateInputs.of(features, flux_val)
    fits = {l2: MixtureGate(features, l2, init=init).fit(flux, expert_preds, y)
            for l2 in l2_grid}
    val_r2 = {l2: r2(y_val, combine(f.predict_proba(flux_val), expert_preds_val))
              for l2, f in fits.items()}
    best = max(val_r2, key=val_r2.get)
    return fits[best], best


def score_gates(y: Any, candidates: Any, pred_global: Any, pred_oracle: Any, true: Any, *,
                n_boot: int, seed: int) -> list[dict[str, Any]]:
    """:func:`score_gate` rows for several candidates on the same stars.

    Parameters
    ----------
    y : array-like of shape (n,)
    candidates : mapping of name → (prediction, chosen option or None)
        ``None`` for a model that does not route (a conditional model): its routing
        accuracy is NaN.
    pred_global, pred_oracle : array-like of shape (n,)
    true : array-like of shape (n,)
        True option of every star.
    n_boot, seed : int

    Returns
    -------
    list of dict
    """
    rows = []
    for name, (pred, chosen) in candidates.items():
        row = score_gate(name, y, pred, pred_global, pred_oracle,
                         true if chosen is None else chosen, true, n_boot=n_boot, seed=seed)
        rows.append(row | {"routing_accuracy": np.nan} if chosen is None else row)
    return rows
