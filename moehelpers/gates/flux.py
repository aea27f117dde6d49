"""Learned gate (MVP-4.0): a classifier of the label bin from the *noisy flux* alone.

Features are the first principal components of the noisy training flux (PCA fitted on the
training stars, optionally on a random subset of them), standardised; the classifier is a
multinomial logistic regression. The API takes the flux and nothing else: the per-pixel
error array encodes log g through its wavelength structure (REFERENCE.md §2, the leak), so
it must never become a gate feature. :meth:`FluxBinClassifier.fit` and ``predict`` accept a
single 2-D flux array, refuse a :class:`~moehelpers.data.spectra.SpectraSet` (which carries the
error array) and have no further data argument.

:func:`bin_representatives` turns predicted bins into label values (the interval mid-points)
so the routed stars can go through :func:`moehelpers.gates.pseudo.compare_gates` like a pseudo gate.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from moehelpers._validation import refuse_spectra_set
from moehelpers.errors import InvalidParameterError, ShapeMismatchError
from moehelpers.models.bins import AxisBins

__all__ = ["FluxBinClassifier", "bin_representatives"]

_CHUNK = 4096  # rows per projection chunk


def _flux(flux: Any) -> np.ndarray:
    refuse_spectra_set(flux, "a gate feature")
    x = np.asarray(flux)
    if x.ndim != 2:
        raise ShapeMismatchError(f"flux must be 2-D (n_stars, n_pixels); got shape {x.shape}.")
    return x


class FluxBinClassifier:
    """PCA of the noisy flux → standardised scores → multinomial logistic regression.

    Parameters
    ----------
    n_components : int, default=20
        Principal components of the training flux used as gate features.
    C : float, default=1.0
        Inverse L2 strength of the logistic regression.
    max_pca_rows : int or None, default=None
        Fit the PCA on at most this many random training rows (all when None).
    seed : int, default=0
        Seed of the PCA subset and of the randomized SVD.

    Attributes
    ----------
    classes_ : ndarray of the bin ids seen in training
    n_features_in_ : int
    """

    def __init__(self, n_components: int = 20, C: float = 1.0, *,
                 max_pca_rows: int | None = None, seed: int = 0) -> None:
        if not isinstance(n_components, int | np.integer) or n_components < 1:
            raise InvalidParameterError(f"n_components must be an integer ≥ 1; got "
                                        f"{n_components!r}.")
        self.n_components = int(n_components)
        self.C = float(C)
        self.max_pca_rows = max_pca_rows
        self.seed = int(seed)

    def fit(self, flux: Any, bins: Any, /) -> FluxBinClassifier:
        """Fit on noisy training ``flux`` and the bin id of each star (ids ≥ 0)."""
        x = _flux(flux)
        b = np.asarray(bins)
        if b.shape != (x.shape[0],):
            raise ShapeMismatchError(f"bins must have shape ({x.shape[0]},); got {b.shape}.")
        if (b < 0).any():
            raise InvalidParameterError("bins must be ≥ 0: leave uncovered stars out.")
        rng = np.random.default_rng(self.seed)
        rows = np.arange(x.shape[0])
        if self.max_pca_rows is not None and x.shape[0] > self.max_pca_rows:
            rows = np.sort(rng.choice(x.shape[0], int(self.max_pca_rows), replace=False))
        k = min(self.n_components, rows.size, x.shape[1])
        self.pca_ = PCA(k, svd_solver="randomized", random_state=self.seed).fit(
            np.asarray(x[rows], dtype=np.float64))
        z = self._scores(x)
        self.scaler_ = StandardScaler().fit(z)
        self.clf_ = LogisticRegression(C=self.C, max_iter=2000).fit(self.scaler_.transform(z), b)
        self.classes_ = self.clf_.classes_
        self.n_features_in_ = x.shape[1]
        return self

    def _scores(self, x: np.ndarray) -> np.ndarray:
        """PCA scores, projected in row chunks (no full-size float64 copy of the flux)."""
        return np.concatenate([self.pca_.transform(np.asarray(x[i:i + _CHUNK], dtype=np.float64))
                               for i in range(0, x.shape[0], _CHUNK)]) if x.shape[0] else \
            np.empty((0, self.pca_.n_components_))

    def features(self, flux: Any, /) -> np.ndarray:
        """Standardised PCA scores of ``flux`` (the gate features)."""
        x = _flux(flux)
        if x.shape[1] != self.n_features_in_:
            raise ShapeMismatchError(f"flux has {x.shape[1]} pixels; fitted on "
                                     f"{self.n_features_in_}.")
        return self.scaler_.transform(self._scores(x))

    def predict_proba(self, flux: Any, /) -> np.ndarray:
        """Probability of each bin in ``classes_`` order."""
        return self.clf_.predict_proba(self.features(flux))

    def predict(self, flux: Any, /) -> np.ndarray:
        """Most probable bin id per star."""
        return self.clf_.predict(self.features(flux))


def bin_representatives(axis: AxisBins, bins: Any) -> np.ndarray:
    """Mid-point of each bin's interval (NaN for −1), a label value routed to that bin."""
    mids = np.array([(iv.lo + iv.hi) / 2 for iv in axis.intervals])
    b = np.asarray(bins, dtype=np.int64)
    return np.where(b >= 0, mids[np.clip(b, 0, None)], np.nan)
