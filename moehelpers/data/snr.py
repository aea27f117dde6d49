"""Noise level and SNR estimated from the noisy flux alone (framework document §5.3).

A deployed model sees a spectrum, not its noise level. These estimators take the *noisy
flux* and nothing else: the per-pixel error array encodes log g through its wavelength
structure (REFERENCE.md §2, the leak), so every public function here accepts one 2-D flux
array, refuses a :class:`~moehelpers.data.spectra.SpectraSet` (which carries the error array) and
has no argument through which an error array could enter.

- :func:`der_snr` — DER_SNR (Stoehr et al. 2008): signal = median flux, noise =
  ``1.482602 / √6 · median |2fᵢ − fᵢ₋₂ − fᵢ₊₂|``, vectorised over stars.
- :func:`noise_features` — robust flux statistics: log DER noise in wavelength segments,
  log quantiles of the high-pass residual ``|2fᵢ − fᵢ₋₂ − fᵢ₊₂|``, the log median flux.
- :class:`NoiseLevelEstimator` — maps a spectrum to its noise level: ``method="der_snr"``
  is a quadratic in DER_SNR's noise-to-signal ratio fitted on training spectra;
  ``method="learned"`` is a Ridge on the quadratic expansion of :func:`noise_features`
  fitted on training spectra, α chosen on validation spectra and the output calibrated on
  them by a straight line. Both maps are continuous (levels between the training levels
  get in-between estimates) and clipped at 0.

Notes
-----
The noise level is the multiplier of the error array; a star's actual noise is that level
times its own error scale, which the flux alone does not reveal (the flux is normalised).
The estimators therefore carry an irreducible star-to-star scatter around the level; the
DER noise-to-signal ratio itself is an unbiased per-star measure of the noise actually there.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.linear_model import Ridge
from sklearn.preprocessing import PolynomialFeatures, StandardScaler
from sklearn.utils.validation import check_is_fitted

from moehelpers._validation import check_choice, refuse_spectra_set
from moehelpers.errors import InvalidParameterError, ShapeMismatchError
from moehelpers.metrics import r2

__all__ = ["DER_CONSTANT", "NoiseLevelEstimator", "der_noise", "der_snr", "noise_features"]

#: 1.482602 / √6: turns the median absolute second difference into a Gaussian σ.
DER_CONSTANT: float = 1.482602 / np.sqrt(6.0)
_CHUNK = 2048  # rows per float64 chunk
_QUANTILES = (0.25, 0.5, 0.75, 0.9)
_TINY = 1e-12


def _flux(flux: Any) -> np.ndarray:
    """The flux as a 2-D array; a spectra set (which carries the error array) is refused."""
    refuse_spectra_set(flux, "an input of a noise estimator")
    x = np.asarray(flux)
    if x.ndim != 2:
        raise ShapeMismatchError(f"flux must be 2-D (n_stars, n_pixels); got shape {x.shape}.")
    if x.shape[1] < 5:
        raise ShapeMismatchError(f"flux needs at least 5 pixels per star for the second "
                                 f"difference; got {x.shape[1]}.")
    return x


def _second_diff(x: np.ndarray) -> np.ndarray:
    """``|2fᵢ − fᵢ₋₂ − fᵢ₊₂|`` for i = 2 … P−3, float64."""
    x = np.asarray(x, dtype=np.float64)
    return np.abs(2.0 * x[:, 2:-2] - x[:, :-4] - x[:, 4:])


def der_noise(flux: Any, /) -> np.ndarray:
    """DER_SNR noise estimate per star: ``1.482602/√6 · median|2fᵢ − fᵢ₋₂ − fᵢ₊₂|``."""
    x = _flux(flux)
    out = np.empty(x.shape[0])
    for i in range(0, x.shape[0], _CHUNK):
        out[i:i + _CHUNK] = DER_CONSTANT * np.median(_second_diff(x[i:i + _CHUNK]), axis=1)
    return out


def der_snr(flux: Any, /) -> np.ndarray:
    """DER_SNR (Stoehr et al. 2008) per star: median flux / DER noise.

    Exactly noiseless, perfectly smooth spectra give ``inf``.
    """
    x = _flux(flux)
    signal = np.concatenate([np.median(np.asarray(x[i:i + _CHUNK], dtype=np.float64), axis=1)
                             for i in range(0, x.shape[0], _CHUNK)])
    noise = der_noise(x)
    with np.errstate(divide="ignore"):
        return np.where(noise > 0, signal / np.where(noise > 0, noise, 1.0), np.inf)


def noise_features(flux: Any, /, n_segments: int = 8) -> np.ndarray:
    """Robust noise statistics of each spectrum, from the flux alone.

    Columns: log DER noise in ``n_segments`` equal pixel segments; log quantiles
    (25, 50, 75, 90%) of the whole-spectrum residual ``|2fᵢ − fᵢ₋₂ − fᵢ₊₂|``; log median
    flux. Shape (n_stars, n_segments + 5).
    """
    x = _flux(flux)
    if isinstance(n_segments, bool) or not isinstance(n_segments, int | np.integer) \
            or not 1 <= n_segments <= (x.shape[1] - 4) // 5:
        raise InvalidParameterError(f"n_segments must be an integer in 1 … "
                                    f"{(x.shape[1] - 4) // 5}; got {n_segments!r}.")
    out = np.empty((x.shape[0], n_segments + len(_QUANTILES) + 1))
    for i in range(0, x.shape[0], _CHUNK):
        xc = np.asarray(x[i:i + _CHUNK], dtype=np.float64)
        d = _second_diff(xc)
        segs = np.array_split(d, n_segments, axis=1)
        rows = slice(i, i + xc.shape[0])
        out[rows, :n_segments] = np.stack(
            [DER_CONSTANT * np.median(s, axis=1) for s in segs], axis=1)
        out[rows, n_segments:-1] = np.quantile(d, _QUANTILES, axis=1).T
        out[rows, -1] = np.abs(np.median(xc, axis=1))
    return np.log(out + _TINY)


def _levels(level: Any, n: int) -> np.ndarray:
    y = np.asarray(level, dtype=np.float64).ravel()
    if y.size == 1:
        y = np.full(n, float(y[0]))
    if y.shape[0] != n:
        raise ShapeMismatchError(f"{y.shape[0]} noise levels for {n} spectra; give one per "
                                 "spectrum (or one for all).")
    if not np.isfinite(y).all() or (y < 0).any():
        raise InvalidParameterError("noise levels must be finite and ≥ 0.")
    return y


class NoiseLevelEstimator(BaseEstimator):
    """Noise level of a spectrum estimated from its noisy flux alone.

    Parameters
    ----------
    method : {"learned", "der_snr"}, default="learned"
        ``"der_snr"``: least-squares quadratic in DER_SNR's noise-to-signal ratio (1/SNR),
        fitted on the training spectra. ``"learned"``: Ridge on the degree-2 expansion of the
        standardised :func:`noise_features`, fitted on the training spectra, α chosen on the
        validation spectra, then a straight-line calibration fitted on the validation
        predictions. Estimates are clipped at 0.
    alphas : sequence of float > 0, default=(1e-3, …, 1e3)
        Ridge α grid of ``"learned"``.
    n_segments : int, default=8
        Wavelength segments of :func:`noise_features`.

    Attributes
    ----------
    calibration_ : ndarray or None
        Polynomial coefficients (highest power first) of the final map.
    alpha_ : float
        Chosen α (``"learned"``; NaN for ``"der_snr"``).
    val_r2_ : float
        Validation R² of the estimated level (NaN without validation data).
    n_features_in_ : int
        Pixels per spectrum.
    """

    def __init__(self, method: str = "learned",
                 alphas: Sequence[float] = (1e-3, 1e-2, 1e-1, 1.0, 10.0, 100.0, 1e3),
                 n_segments: int = 8) -> None:
        self.method = method
        self.alphas = alphas
        self.n_segments = n_segments

    def features(self, flux: Any, /) -> np.ndarray:
        """The estimator's inputs for ``flux`` (small: a few numbers per star)."""
        if self.method == "der_snr":
            with np.errstate(divide="ignore"):
                return (1.0 / der_snr(flux))[:, None]  # noise-to-signal; 0 when noiseless
        return noise_features(flux, n_segments=self.n_segments)

    def fit(self, flux: Any, level: Any, flux_val: Any = None, level_val: Any = None, /
            ) -> NoiseLevelEstimator:
        """Fit on training ``flux`` with its known noise ``level`` (one or one per star)."""
        f_val = None if flux_val is None else self.features(flux_val)
        self.n_features_in_ = _flux(flux).shape[1]
        return self.fit_features(self.features(flux), level, f_val, level_val)

    def fit_features(self, feats: Any, level: Any, feats_val: Any = None,
                     level_val: Any = None, /) -> NoiseLevelEstimator:
        """Fit on precomputed :meth:`features` (e.g. pooled over noise levels chunk by chunk)."""
        check_choice("method", self.method, ("learned", "der_snr"))
        f = np.asarray(feats, dtype=np.float64)
        y = _levels(level, f.shape[0])
        has_val = feats_val is not None and level_val is not None
        if (feats_val is None) != (level_val is None):
            raise InvalidParameterError("Pass validation features and levels together, or "
                                        "neither.")
        fv = np.asarray(feats_val, dtype=np.float64) if has_val else None
        yv = _levels(level_val, fv.shape[0]) if has_val else None
        self.alpha_ = float("nan")
        if self.method == "der_snr":
            self.calibration_ = np.polyfit(f[:, 0], y, 2)
            self.val_r2_ = float(r2(yv, self._predict(fv))) if has_val else float("nan")
            return self
        self.scaler_ = StandardScaler().fit(f)
        self.poly_ = PolynomialFeatures(2, include_bias=False).fit(self.scaler_.transform(f))
        z = self.poly_.transform(self.scaler_.transform(f))
        alphas = [float(a) for a in np.atleast_1d(self.alphas)]
        if len(alphas) > 1 and not has_val:
            raise InvalidParameterError(f"{len(alphas)} alphas but no validation data: α is "
                                        "chosen on validation only. Pass validation data or "
                                        "one alpha.")
        zv = self.poly_.transform(self.scaler_.transform(fv)) if has_val else None
        best = None
        for a in alphas:
            model = Ridge(alpha=a).fit(z, y)
            score = float(r2(yv, model.predict(zv))) if has_val else 0.0
            if best is None or score > best[0]:
                best = (score, a, model)
        _, self.alpha_, self.ridge_ = best
        self.calibration_ = None
        if has_val:
            self.calibration_ = np.polyfit(self.ridge_.predict(zv), yv, 1)
            self.val_r2_ = float(r2(yv, self._predict(fv)))
        else:
            self.val_r2_ = float("nan")
        return self

    def _predict(self, f: np.ndarray) -> np.ndarray:
        if self.method == "der_snr":
            return np.maximum(np.polyval(self.calibration_, f[:, 0]), 0.0)
        raw = self.ridge_.predict(self.poly_.transform(self.scaler_.transform(f)))
        cal = self.calibration_
        return np.maximum(raw if cal is None else np.polyval(cal, raw), 0.0)

    def predict_features(self, feats: Any, /) -> np.ndarray:
        """Estimated noise level (≥ 0) from precomputed :meth:`features`."""
        check_is_fitted(self, "calibration_" if self.method == "der_snr" else "ridge_")
        return self._predict(np.asarray(feats, dtype=np.float64))

    def predict(self, flux: Any, /) -> np.ndarray:
        """Estimated noise level (≥ 0) of each spectrum in ``flux``."""
        return self.predict_features(self.features(flux))

    def fit_levels(self, feats: Sequence[Any], feats_val: Sequence[Any],
                   levels: Sequence[float], /) -> NoiseLevelEstimator:
        """Fit on :meth:`features` computed level by level (the noise-level studies' pooling).

        Parameters
        ----------
        feats, feats_val : sequence of array-like
            Block ``k`` holds the training / validation features of spectra noised at
            ``levels[k]`` (blocks may differ in length).
        levels : sequence of float
            The noise level of each block.

        Returns
        -------
        NoiseLevelEstimator
            ``self``, fitted on the stacked blocks, each row labelled with its block's level.
        """
        if not len(feats) == len(feats_val) == len(levels):
            raise ShapeMismatchError(f"{len(feats)} training and {len(feats_val)} validation "
                                     f"feature blocks for {len(levels)} levels; give one block "
                                     "per level.")
        lv = np.asarray(levels, dtype=np.float64)
        return self.fit_features(np.vstack(feats), np.repeat(lv, [len(f) for f in feats]),
                                 np.vstack(feats_val),
                                 np.repeat(lv, [len(f) for f in feats_val]))
