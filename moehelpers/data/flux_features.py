"""Gate features from the *noisy flux* alone: physical windows, PCA and a noise estimate.

A gate (a classifier of the label bin, a softmax mixture, the gating network of an NN-MoE)
must see only what a deployed pipeline sees: the observed, noisy spectrum. The per-pixel
error array is **never** a feature: it encodes log g through its wavelength structure
(REFERENCE.md §2, Ridge on the error vector alone reaches R² ≈ 0.99). The API makes that
impossible rather than merely discouraged:

* every function and method takes one 2-D flux array and nothing else (positional only);
* a :class:`~moehelpers.data.spectra.SpectraSet` or any object carrying ``error`` / ``flux``
  attributes is refused (:func:`check_gate_flux`);
* the flux must look median-normalised (the BOSZ convention: the median of a spectrum is 1);
  an error array (all positive, typical values ≪ 1) fails that test and is refused with a
  message naming the leak;
* the only noise information is an aggregate computed *from the flux itself*
  (:func:`moehelpers.data.snr.der_noise`, the DER_SNR estimator of Stoehr et al. 2008: the robust scatter of
  second differences), which is as available to a real observer as the flux is.

Features (:class:`GateFeatures`)
--------------------------------
For each line window of :data:`GATE_WINDOWS` (Ca II 8498/8542/8662, Na I 8183/8195,
Mg I 8806) with a **local continuum** ``c`` = median flux of two side bands just outside
the window:

* ``mean``: the mean flux in the window over ``c``;
* ``depth``: ``1 − mean(core)/c``, the core being the central ``±core_half_width`` Å (a
  mean, not a minimum: the minimum of a noisy window is biased by the noise);
* ``ew``: equivalent width ``Σ (1 − f/c) Δλ`` over the window, in Å.

Plus ``n_components`` principal components of the noisy training flux (fitted on train, on
at most ``max_pca_rows`` random rows), plus two aggregates: the log of the DER_SNR noise
estimate and of the median flux. :meth:`GateFeatures.transform` returns the raw features;
standardise them in the model (the gates of :mod:`moehelpers.gates.learned` do).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.decomposition import PCA

from moehelpers._validation import refuse_spectra_set
from moehelpers.errors import InvalidParameterError, NonFiniteDataError, ShapeMismatchError
from moehelpers.data.snr import der_noise
from moehelpers.data.windows import PHYSICAL_WINDOWS, Window, window_mask

__all__ = ["GATE_WINDOWS", "GateFeatures", "check_gate_flux", "window_features"]

#: The line windows of the gate (REFERENCE.md §6 and issue 6): Ca II triplet, Na I doublet,
#: Mg I 8806.
GATE_WINDOWS: tuple[Window, ...] = tuple(
    w for w in PHYSICAL_WINDOWS if w.species in ("Ca II", "Na I", "Mg I"))

_CHUNK = 4096  # rows per float64 chunk
_MEDIAN_RANGE = (0.3, 3.0)  # typical row median of median-normalised (noisy) flux


def check_gate_flux(flux: Any, /) -> np.ndarray:
    """The flux array itself, validated as a gate input; refuses anything error-like.

    Raises
    ------
    InvalidParameterError
        For a spectra set (it carries the error array), or an array that does not look
        median-normalised (e.g. the error array, whose values are all positive and ≪ 1).
    ShapeMismatchError, NonFiniteDataError
        For a non-2-D or non-finite array.
    """
    refuse_spectra_set(flux, "a gate feature")
    x = np.asarray(flux)
    if x.ndim != 2 or x.shape[0] == 0 or x.shape[1] < 3:
        raise ShapeMismatchError(f"flux must be 2-D (n_stars ≥ 1, n_pixels ≥ 3); got shape "
                                 f"{x.shape}.")
    if not np.issubdtype(x.dtype, np.number):
        raise InvalidParameterError(f"flux must be numeric; got dtype {x.dtype}.")
    rows = x[:: max(1, x.shape[0] // 256)]  # a cheap sample of rows
    if not np.all(np.isfinite(rows)):
        raise NonFiniteDataError("flux contains NaN or inf; mask or repair those pixels first.")
    med = float(np.median(np.median(rows, axis=1)))
    if not _MEDIAN_RANGE[0] <= med <= _MEDIAN_RANGE[1]:
        looks_like_error = bool(np.all(rows > 0)) and med < _MEDIAN_RANGE[0]
        raise InvalidParameterError(
            f"gate features expect median-normalised flux (typical spectrum median ≈ 1); got "
            f"a typical median of {med:.3g}."
            + (" This looks like an error array: the error vector leaks log g and is never a "
               "gate feature." if looks_like_error else
               " Divide each spectrum by its median first."))
    return x


class _WindowIndex:
    """Pixel indices of one window: the window, its core and its continuum side bands."""

    def __init__(self, wave: np.ndarray, win: Window, side_width: float, gap: float,
                 core_half_width: float) -> None:
        self.name = win.name
        self.inside = np.flatnonzero(window_mask(wave, win))
        core = Window(win.name, win.species, win.centre, core_half_width)
        self.core = np.flatnonzero(window_mask(wave, core))
        lo = (wave >= win.lo - gap - side_width) & (wave < win.lo - gap)
        hi = (wave > win.hi + gap) & (wave <= win.hi + gap + side_width)
        self.side = np.flatnonzero(lo | hi)
        if self.inside.size < 2 or self.core.size < 1 or self.side.size < 2:
            raise InvalidParameterError(
                f"window {win.name!r} has {self.inside.size} pixels, {self.core.size} core "
                f"pixels and {self.side.size} continuum pixels on this wavelength grid; use a "
                "grid that covers it or drop the window.")
        dl = np.gradient(wave)
        self.dlam = dl[self.inside]


def window_features(flux: Any, /, wave: Any, windows: Sequence[Window] = GATE_WINDOWS, *,
                    side_width: float = 5.0, gap: float = 1.0,
                    core_half_width: float = 1.0) -> tuple[np.ndarray, list[str]]:
    """Mean, depth and equivalent width of each window against a local continuum.

    Parameters
    ----------
    flux : array of shape (n_stars, n_pixels)
        Noisy, median-normalised flux (never the error array; see the module notes).
    wave : array of shape (n_pixels,), Å
    windows : the line windows (default :data:`GATE_WINDOWS`)
    side_width : width (Å) of each continuum side band
    gap : distance (Å) between the window edge and its side bands
    core_half_width : half width (Å) of the line core used for ``depth``

    Returns
    -------
    (features of shape (n_stars, 3·n_windows), names)
    """
    x = check_gate_flux(flux)
    w = np.asarray(wave, dtype=float)
    if w.shape != (x.shape[1],):
        raise ShapeMismatchError(f"wave has shape {w.shape}; flux has {x.shape[1]} pixels.")
    idx = [_WindowIndex(w, win, side_width, gap, core_half_width) for win in windows]
    names = [f"{i.name} {kind}" for i in idx for kind in ("mean", "depth", "ew")]
    out = np.empty((x.shape[0], 3 * len(idx)))
    for start in range(0, x.shape[0], _CHUNK):
        f = np.asarray(x[start:start + _CHUNK], dtype=np.float64)
        cols = []
        for i in idx:
            c = np.median(f[:, i.side], axis=1)
            c = np.where(np.abs(c) > 1e-6, c, 1e-6)
            rel = f[:, i.inside] / c[:, None]
            cols += [rel.mean(axis=1), 1.0 - f[:, i.core].mean(axis=1) / c,
                     (1.0 - rel) @ i.dlam]
        out[start:start + f.shape[0]] = np.column_stack(cols)
    return out, names


class GateFeatures:
    """Window features + PCA scores + flux-based noise aggregates of the noisy flux.

    Parameters
    ----------
    wave : array of shape (n_pixels,)
        Wavelength grid (Å) of the flux.
    n_components : int ≥ 0, default=10
        Principal components of the noisy training flux (0: none).
    windows : sequence of Window, default=GATE_WINDOWS
    noise_stats : bool, default=True
        Append log DER_SNR noise and log median flux (aggregates of the flux itself).
    max_pca_rows : int or None, default=8000
        Fit the PCA on at most this many random training rows.
    seed : int, default=0
        Seed of the PCA row subset and of the randomized SVD.

    Attributes
    ----------
    pca_ : PCA or None
    feature_names_ : list of str
    n_features_in_ : int (pixels)
    n_features_out_ : int

    Notes
    -----
    ``fit`` and ``transform`` take the flux as their only data argument (positional-only):
    there is no way to hand them an error array or a spectra set (see the module notes).
    """

    def __init__(self, wave: Any, n_components: int = 10, *,
                 windows: Sequence[Window] = GATE_WINDOWS, noise_stats: bool = True,
                 max_pca_rows: int | None = 8000, seed: int = 0) -> None:
        self.wave = wave
        self.n_components = n_components
        self.windows = windows
        self.noise_stats = noise_stats
        self.max_pca_rows = max_pca_rows
        self.seed = seed

    def fit(self, flux: Any, /) -> GateFeatures:
        """Fit the PCA on the noisy training flux (the window features need no fitting)."""
        if isinstance(self.n_components, bool) or not isinstance(
                self.n_components, int | np.integer) or self.n_components < 0:
            raise InvalidParameterError(f"n_components must be an integer ≥ 0; got "
                                        f"{self.n_components!r}.")
        x = check_gate_flux(flux)
        w = np.asarray(self.wave, dtype=float)
        if w.shape != (x.shape[1],):
            raise ShapeMismatchError(f"wave has shape {w.shape}; flux has {x.shape[1]} "
                                     "pixels.")
        self.pca_ = None
        if self.n_components > 0:
            rng = np.random.default_rng(self.seed)
            rows = np.arange(x.shape[0])
            if self.max_pca_rows is not None and x.shape[0] > self.max_pca_rows:
                rows = np.sort(rng.choice(x.shape[0], int(self.max_pca_rows), replace=False))
            k = min(int(self.n_components), rows.size, x.shape[1])
            self.pca_ = PCA(k, svd_solver="randomized", random_state=self.seed).fit(
                np.asarray(x[rows], dtype=np.float64))
        names = window_features(x[:1], w, self.windows)[1] if self.windows else []
        k = 0 if self.pca_ is None else self.pca_.n_components_
        self.feature_names_ = names + [f"PC{i + 1}" for i in range(k)] + (
            ["log noise (DER_SNR)", "log median flux"] if self.noise_stats else [])
        self.n_features_in_ = x.shape[1]
        self.n_features_out_ = len(self.feature_names_)
        return self

    def transform(self, flux: Any, /) -> np.ndarray:
        """Features of shape (n_stars, n_features_out_), in ``feature_names_`` order."""
        if not hasattr(self, "feature_names_"):
            raise InvalidParameterError("GateFeatures is not fitted; call fit(train_flux).")
        x = check_gate_flux(flux)
        if x.shape[1] != self.n_features_in_:
            raise ShapeMismatchError(f"flux has {x.shape[1]} pixels; fitted on "
                                     f"{self.n_features_in_}.")
        parts = [window_features(x, self.wave, self.windows)[0]] if self.windows else []
        if self.pca_ is not None:
            parts.append(np.concatenate([
                self.pca_.transform(np.asarray(x[i:i + _CHUNK], dtype=np.float64))
                for i in range(0, x.shape[0], _CHUNK)]))
        if self.noise_stats:
            med = np.concatenate([np.median(x[i:i + _CHUNK], axis=1)
                                  for i in range(0, x.shape[0], _CHUNK)]).astype(np.float64)
            parts.append(np.column_stack([np.log(np.maximum(der_noise(x), 1e-12)),
                                          np.log(np.maximum(np.abs(med), 1e-12))]))
        return np.column_stack(parts)

    def fit_transform(self, flux: Any, /) -> np.ndarray:
        """``fit(flux).transform(flux)``."""
        return self.fit(flux).transform(flux)
