"""Which flux the models see: physical, continuum-normalised, or with a distorted continuum.

The embedded data keep the continuum shape (flux divided by its median, as the original BOSZ
data). A real fibre spectrograph does not deliver that shape reliably: flux calibration and
reddening change the low-order continuum from star to star. The three *flux kinds* test how
much of a conclusion rests on the continuum:

``"physical"``
    The flux as stored (default).
``"normalized"``
    Divided by the true SME continuum of each star (only for data generated from the
    embedded grid, where the continuum is known: :func:`moehelpers.data.splits.load_splits`
    then reads the continuum-normalised default dataset, written once by
    :func:`moehelpers.data.sampler.default_dataset` with ``kind="normalized"``).
``"distorted"``
    The stored flux times a random smooth multiplicative distortion per star,
    ``d(λ) = exp(Σ_{k=1..order} c_k P_k(x))`` with Legendre polynomials ``P_k`` of
    ``x ∈ [−1, 1]`` across the wavelength range and ``c_k ~ N(0, amplitude²)``, then divided
    by its median again (the flux stays median-normalised). The error array gets the same
    factor, so the signal-to-noise ratio of every pixel is unchanged: only the continuum
    shape is lost. With ``amplitude = 0.05`` and ``order = 3``, ``ln d`` has an rms of
    4.1 % over the range (``amplitude · √(Σ 1/(2k+1))``); a 1σ tilt ``c_1 = 0.05`` changes the
    flux by 10 % from 7100 to 8850 Å, what a reddening error ΔE(B−V) ≈ 0.14 does
    (Cardelli et al. 1989, R_V = 3.1) and the size of fibre flux-calibration errors.

The distortion of star ``i`` depends only on ``(seed, split, i)``: coefficients are drawn
row-major, so the first ``k`` stars of a split get the same distortion whatever its size, and
every notebook of a run sees the same distorted stars.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
from numpy.polynomial import legendre

from moehelpers.errors import InvalidParameterError

__all__ = ["DISTORTION_ORDER", "FLUX_KINDS", "check_flux_kind", "continuum_basis", "distort",
           "distortion_factors", "distortion_seed"]

#: The flux kinds a notebook's ``flux_kind`` parameter accepts.
FLUX_KINDS: tuple[str, ...] = ("physical", "normalized", "distorted")

#: Highest Legendre order of the continuum distortion (orders 1 … 3: tilt, bow, S-shape).
DISTORTION_ORDER = 3

_SPLIT_CODE = {"train": 1, "val": 2, "test": 3}


def check_flux_kind(kind: str) -> str:
    """``kind`` if it is one of :data:`FLUX_KINDS`, else InvalidParameterError naming them."""
    if kind not in FLUX_KINDS:
        raise InvalidParameterError(
            f"flux_kind must be one of {', '.join(map(repr, FLUX_KINDS))}; got {kind!r}. "
            "Pass e.g. -p flux_kind=distorted.")
    return kind


def distortion_seed(seed: int, split: str) -> int:
    """Seed of the distortion draw of one split (distinct per split, fixed per ``seed``)."""
    if split not in _SPLIT_CODE:
        raise InvalidParameterError(f"split must be one of {tuple(_SPLIT_CODE)}; got {split!r}.")
    ss = np.random.SeedSequence([int(seed), _SPLIT_CODE[split], 7919])
    return int(ss.generate_state(1, dtype=np.uint32)[0])


def continuum_basis(wave: np.ndarray, order: int) -> np.ndarray:
    """Legendre polynomials ``P_1 … P_order`` of ``x ∈ [−1, 1]`` spanning ``wave``; (P, order)."""
    wave = np.asarray(wave, dtype=np.float64)
    if wave.ndim != 1 or wave.size < 2 or wave[-1] == wave[0]:
        raise InvalidParameterError("wave must be a 1-D grid spanning a range of wavelengths.")
    x = 2.0 * (wave - wave[0]) / (wave[-1] - wave[0]) - 1.0
    return legendre.legvander(x, int(order))[:, 1:]


def distortion_factors(wave: np.ndarray, n: int, *, amplitude: float, seed: int,
                       order: int = DISTORTION_ORDER) -> tuple[np.ndarray, np.ndarray]:
    """Multiplicative continuum distortions of ``n`` stars, before renormalisation.

    Parameters
    ----------
    wave : ndarray of shape (n_pixels,)
        Wavelengths (Å); mapped linearly onto ``[−1, 1]``.
    n : int
        Number of stars.
    amplitude : float
        Standard deviation of every Legendre coefficient ``c_k`` (≥ 0; 0 gives no distortion).
    seed : int
        Seed of the coefficient draw (row-major: star ``i`` gets the same ``c`` for any n > i).
    order : int, default=DISTORTION_ORDER
        Highest Legendre order (≥ 1).

    Returns
    -------
    factors : ndarray of shape (n, n_pixels), float64
        ``exp(Σ_k c_k P_k(x))``.
    coefs : ndarray of shape (n, order)
        The drawn ``c_1 … c_order``.
    """
    amplitude = float(amplitude)
    if not np.isfinite(amplitude) or not 0.0 <= amplitude <= 0.5:
        raise InvalidParameterError(
            f"distortion_amplitude must lie in [0, 0.5] (σ of each Legendre coefficient of "
            f"ln flux); got {amplitude!r}.")
    if int(order) != order or order < 1:
        raise InvalidParameterError(f"distortion order must be an int ≥ 1; got {order!r}.")
    basis = continuum_basis(wave, int(order))
    coefs = np.random.default_rng(seed).normal(0.0, amplitude, size=(int(n), int(order)))
    return np.exp(coefs @ basis.T), coefs


def distort(spectra: Any, split: str, *, amplitude: float, seed: int,
            order: int = DISTORTION_ORDER) -> Any:
    """A copy of a :class:`~moehelpers.data.spectra.SpectraSet` with distorted continua.

    Flux, error and any stored noisy realisation are multiplied by the same per-star factor
    ``d / median(flux · d)``: the flux stays median-normalised and every pixel keeps its
    signal-to-noise ratio. ``meta["flux_kind"]`` records the settings and the measured rms of
    ``ln d`` over the stars.
    """
    factors, _ = distortion_factors(spectra.wave, len(spectra), amplitude=amplitude,
                                    seed=distortion_seed(seed, split), order=order)
    flux = spectra.flux.astype(np.float64) * factors
    factors /= np.median(flux, axis=1, keepdims=True)
    out: dict[str, Any] = {
        "flux": (spectra.flux * factors).astype(np.float32),
        "error": (spectra.error * factors).astype(np.float32),
    }
    if spectra.noisy_stored is not None:
        out["noisy_stored"] = (spectra.noisy_stored * factors).astype(np.float32)
    log_d = np.log(factors)
    log_d -= log_d.mean(axis=1, keepdims=True)
    meta = {**spectra.meta, "flux_kind": {
        "kind": "distorted", "amplitude": float(amplitude), "order": int(order),
        "seed": int(seed), "rms_ln_distortion": float(np.sqrt(np.mean(log_d ** 2)))}}
    return dataclasses.replace(spectra, meta=meta, **out)
