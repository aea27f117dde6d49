"""Noise model of a fibre-fed spectrograph red arm (7100–8850 Å, R ≈ 5000).

:class:`FibreNoiseModel` turns a noiseless physical spectrum and an i-band AB magnitude into
the per-pixel 1σ error of the flux-calibrated spectrum for one exposure — the ``error``
array of the BOSZ layout (1σ at noise_level 1). The variance per spectral pixel, in
electrons, is

    σ²_e = (S + B_cont + B_OH + D) · t + n_pix · RN²

with S the source, B the sky continuum and OH lines entering the fibre, D the dark current
and RN the read noise, and ``σ_flux = σ_e / g`` with ``g`` the electrons per unit of flux
of that pixel. Dividing by the median of the flux (or by the continuum) expresses it
relative to the normalised flux, as the sampler stores it.

Only :data:`EXPOSURE_S` is calibrated (to the SNR table of REFERENCE.md §2, see
:func:`moehelpers.data.sampler.calibrate_exposure`); every other number is a physical value with
its source in the class docstring.
"""

from __future__ import annotations

import hashlib
import inspect
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
from scipy.optimize import brentq
from scipy.special import erf

from moehelpers.errors import InvalidParameterError, ShapeMismatchError
from moehelpers.paths import repo_root

__all__ = [
    "EXPOSURE_S",
    "NOISE_MODEL_VERSION",
    "FibreNoiseModel",
    "VarianceTerms",
    "exposure_for_median_snr",
    "load_oh_lines",
    "vacuum_to_air",
]

#: Bumped whenever the model's equations or default parameters change (stored in datasets).
NOISE_MODEL_VERSION = "1.0"

#: Exposure time in seconds (the one calibrated constant), chosen so that the median L2 SNR
#: ``‖flux‖ / (‖error‖ · 0.2)`` of stars drawn like the default dataset is 14.6 (REFERENCE.md
#: §2). Derived on the committed SME grid with ``python -m moehelpers.data.sampler calibrate``
#: (:func:`moehelpers.data.sampler.calibrate_exposure`, n=4000, seed=2024), which prints it.
EXPOSURE_S = 558.5

_H_CGS = 6.62607015e-27  # Planck constant, erg s
_AB_ZERO = 48.60  # m_AB = -2.5 log10(f_nu / erg s^-1 cm^-2 Hz^-1) - 48.60
_FWHM_PER_SIGMA = 2.0 * np.sqrt(2.0 * np.log(2.0))

# Absorption coefficient of crystalline silicon at 300 K, cm^-1, by wavelength in nm:
# Green (2008), Sol. Energy Mater. Sol. Cells 92, 1305, Table 1 (rounded).
_SI_ALPHA_NM = np.array([600.0, 650.0, 700.0, 750.0, 800.0, 850.0, 900.0, 950.0, 1000.0])
_SI_ALPHA_CM = np.array([4.14e3, 2.81e3, 1.90e3, 1.30e3, 8.50e2, 5.35e2, 3.06e2, 1.57e2, 6.4e1])

_OH_FILE = "oh_rousselot2000_7000_8950.dat"


def vacuum_to_air(wave_vac: np.ndarray) -> np.ndarray:
    """Vacuum → air wavelengths (Å) with the IAU standard formula (Morton 2000, ApJS 130, 403)."""
    s2 = (1e4 / np.asarray(wave_vac, dtype=np.float64)) ** 2
    n = 1.0 + 8.34254e-5 + 2.406147e-2 / (130.0 - s2) + 1.5998e-4 / (38.9 - s2)
    return wave_vac / n


@cache
def _read_oh_table(path: str) -> tuple[np.ndarray, np.ndarray, str]:
    raw = Path(path).read_bytes()
    table = np.loadtxt(path, comments="#", dtype=np.float64, ndmin=2)
    return table[:, 0], table[:, 1], hashlib.sha256(raw).hexdigest()


def load_oh_lines(path: str | Path | None = None) -> tuple[np.ndarray, np.ndarray, str]:
    """The OH line list: vacuum wavelengths (Å), relative intensities and the file's sha256.

    Parameters
    ----------
    path : str or Path, optional
        Two-column text file; default ``data/noise/oh_rousselot2000_7000_8950.dat``
        (Rousselot et al. 2000, A&A 354, 1134; provenance in ``data/noise/README.md``).
    """
    path = Path(path) if path is not None else repo_root() / "data" / "noise" / _OH_FILE
    if not path.is_file():
        raise InvalidParameterError(
            f"OH line list {str(path)!r} not found. Fix: restore data/noise/{_OH_FILE} from git "
            "or pass oh_path= a two-column file (vacuum wavelength Å, relative intensity)."
        )
    wave, intensity, digest = _read_oh_table(str(path.resolve()))
    return wave.copy(), intensity.copy(), digest


def _pixel_edges(wave: np.ndarray) -> np.ndarray:
    mid = 0.5 * (wave[1:] + wave[:-1])
    return np.concatenate([[wave[0] - (mid[0] - wave[0])], mid, [wave[-1] + (wave[-1] - mid[-1])]])


def _ab_photons(mag: np.ndarray | float, band: tuple[float, float]) -> np.ndarray:
    """Photons s⁻¹ cm⁻² of a flat-f_ν source of AB magnitude ``mag`` in a top-hat band."""
    f_nu = 10.0 ** (-0.4 * (np.asarray(mag, dtype=np.float64) + _AB_ZERO))
    return f_nu / _H_CGS * np.log(band[1] / band[0])


@dataclass(frozen=True)
class VarianceTerms:
    """Exposure-independent pieces of the variance, for many stars at once.

    ``σ_flux(t) = sqrt(rate · t + read_var) / (gain · t)``, all arrays (n_stars, n_pixels).

    Attributes
    ----------
    rate : ndarray
        Electrons per second per pixel: source + sky + dark.
    read_var : ndarray of shape (n_pixels,)
        Read-noise variance per spectral pixel, electrons².
    gain : ndarray
        Electrons per second per unit of the input flux.
    """

    rate: np.ndarray
    read_var: np.ndarray
    gain: np.ndarray

    def error(self, exposure_s: float) -> np.ndarray:
        """1σ in units of the input flux for an exposure of ``exposure_s`` seconds."""
        out = self.rate * exposure_s
        out += self.read_var
        np.sqrt(out, out=out)
        out /= self.gain
        out /= exposure_s
        return out

    def norm_coefficients(self) -> tuple[np.ndarray, np.ndarray]:
        """``(a, b)`` with ``‖σ(t)‖² = a / t + b / t²`` per star, each of shape (n_stars,)."""
        inv_gain2 = 1.0 / self.gain**2
        return np.sum(self.rate * inv_gain2, axis=1), inv_gain2 @ self.read_var


class FibreNoiseModel:
    """Photon, sky, dark and read noise of one fibre on a fibre-fed spectrograph red arm.

    The defaults describe a Subaru/PFS-like medium-resolution red arm observing a point source
    on a moonless Maunakea night. Only ``exposure_s`` is tuned (to reproduce the original
    study's SNR distribution); the rest are physical values.

    Parameters
    ----------
    exposure_s : float, default=EXPOSURE_S
        Exposure time, s (calibrated, see :data:`EXPOSURE_S`).
    collecting_area_m2 : float, default=50.0
        Effective collecting area: Subaru 8.2 m primary (52.8 m²) less the prime-focus
        central obstruction.
    fibre_diameter_arcsec : float, default=1.05
        Fibre core on the sky (PFS: 1.12″ at the field centre to 1.02″ at the edge).
    aperture_fraction : float, default=0.70
        Fraction of the star's light entering the fibre: a Gaussian PSF of 0.8″ FWHM centred
        on a 1.05″ fibre. The sky fills the fibre and is not reduced by it.
    optics_throughput : float, default=0.35
        Atmosphere + telescope + corrector + fibre + spectrograph optics, without detector QE
        (PFS red-arm end-to-end ≈ 0.3 including QE).
    ccd_thickness_um : float, default=40.0
        Depleted silicon thickness; QE(λ) = 1 − exp(−d · α_Si(λ)) with α_Si from Green (2008),
        so the QE falls from ≈ 1.0 at 7100 Å to ≈ 0.75 at 8850 Å, as a deep-depletion CCD's.
    read_noise_e : float, default=3.0
        Read noise per pixel, electrons rms (PFS red-arm CCDs ≈ 3 e⁻).
    dark_e_per_hour : float, default=2.0
        Dark current per pixel, e⁻ h⁻¹ (cooled CCD).
    npix_spatial : int, default=4
        Detector pixels summed across the fibre trace per spectral pixel (read noise and
        dark count once per summed pixel).
    sky_continuum_mag : float, default=22.0
        Sky continuum between the OH lines (zodiacal light, airglow pseudo-continuum,
        scattered starlight), AB mag arcsec⁻², flat in f_ν: ≈ 0.5 R Å⁻¹ near 8000 Å
        (order of magnitude of the ESO sky model, Noll et al. 2012, A&A 543, A92).
    sky_band_mag : float, default=20.3
        Broadband dark-sky brightness in ``band`` (continuum + OH), AB mag arcsec⁻²; sets the
        absolute scale of the relative OH intensities. Maunakea dark sky I ≈ 19.9 Vega
        (CFHT/Krisciunas), I_AB ≈ I_Vega + 0.45 → ≈ 20.3.
    resolution : float, default=5000.0
        Resolving power λ/Δλ of the Gaussian line-spread function applied to the OH lines.
    band : tuple of float, default=(7100.0, 8500.0)
        Top-hat reference band (Å, i-band-like) in which ``mag`` and ``sky_band_mag`` are
        defined; must lie inside the wavelength grid.
    air_wavelengths : bool, default=True
        Whether the spectral grid is in air (SME synthesises in air): the vacuum OH
        wavelengths are then converted to air.
    oh_path : str or Path, optional
        OH line list (default: the vendored Rousselot et al. 2000 subset).

    Examples
    --------
    >>> wave = np.linspace(7100, 8850, 4096)
    >>> model = FibreNoiseModel()
    >>> err = model.error(wave, np.ones((1, 4096)), np.array([21.5]))
    >>> err.shape
    (1, 4096)
    """

    def __init__(
        self,
        exposure_s: float = EXPOSURE_S,
        collecting_area_m2: float = 50.0,
        fibre_diameter_arcsec: float = 1.05,
        aperture_fraction: float = 0.70,
        optics_throughput: float = 0.35,
        ccd_thickness_um: float = 40.0,
        read_noise_e: float = 3.0,
        dark_e_per_hour: float = 2.0,
        npix_spatial: int = 4,
        sky_continuum_mag: float = 22.0,
        sky_band_mag: float = 20.3,
        resolution: float = 5000.0,
        band: tuple[float, float] = (7100.0, 8500.0),
        air_wavelengths: bool = True,
        oh_path: str | Path | None = None,
    ) -> None:
        self.exposure_s = exposure_s
        self.collecting_area_m2 = collecting_area_m2
        self.fibre_diameter_arcsec = fibre_diameter_arcsec
        self.aperture_fraction = aperture_fraction
        self.optics_throughput = optics_throughput
        self.ccd_thickness_um = ccd_thickness_um
        self.read_noise_e = read_noise_e
        self.dark_e_per_hour = dark_e_per_hour
        self.npix_spatial = npix_spatial
        self.sky_continuum_mag = sky_continuum_mag
        self.sky_band_mag = sky_band_mag
        self.resolution = resolution
        self.band = band
        self.air_wavelengths = air_wavelengths
        self.oh_path = oh_path

    # validated on use (scikit-learn style: __init__ only stores)
    _POSITIVE = (
        "exposure_s collecting_area_m2 fibre_diameter_arcsec aperture_fraction "
        "optics_throughput ccd_thickness_um resolution"
    ).split()
    _NON_NEGATIVE = ("read_noise_e", "dark_e_per_hour")

    def get_params(self) -> dict[str, Any]:
        """The constructor parameters (scikit-learn style)."""
        names = list(inspect.signature(type(self).__init__).parameters)[1:]
        return {name: getattr(self, name) for name in names}

    def _validate(self) -> None:
        for name in (*self._POSITIVE, *self._NON_NEGATIVE):
            value, positive = getattr(self, name), name in self._POSITIVE
            if not (np.isfinite(value) and (value > 0 if positive else value >= 0)):
                rule = "> 0" if positive else ">= 0"
                raise InvalidParameterError(
                    f"FibreNoiseModel {name} must be {rule}; got {value!r}."
                )
        if self.aperture_fraction > 1 or self.optics_throughput > 1:
            raise InvalidParameterError(
                "aperture_fraction and optics_throughput are fractions in (0, 1]; got "
                f"{self.aperture_fraction!r} and {self.optics_throughput!r}."
            )
        if int(self.npix_spatial) != self.npix_spatial or self.npix_spatial < 1:
            raise InvalidParameterError(
                f"npix_spatial must be an integer >= 1; got {self.npix_spatial!r}."
            )
        if not self.sky_band_mag < self.sky_continuum_mag:
            raise InvalidParameterError(
                f"sky_band_mag ({self.sky_band_mag}) must be brighter (smaller) than "
                f"sky_continuum_mag ({self.sky_continuum_mag}): the difference is the OH light."
            )
        lo, hi = self.band
        if not 0 < lo < hi:
            raise InvalidParameterError(
                f"band must be (low, high) in Å with 0 < low < high; got {self.band!r}."
            )

    def settings(self) -> dict[str, Any]:
        """JSON-able description: parameters, model version and the OH list checksum."""
        params = {**self.get_params(), "band": [float(b) for b in self.band]}
        params["oh_path"] = None if self.oh_path is None else str(self.oh_path)
        digest = load_oh_lines(self.oh_path)[2]
        return {
            "model": "FibreNoiseModel",
            "version": NOISE_MODEL_VERSION,
            **params,
            "oh_sha256": digest,
        }

    # ------------------------------------------------------------------ components
    def _check_wave(self, wave: np.ndarray) -> np.ndarray:
        wave = np.asarray(wave, dtype=np.float64)
        if wave.ndim != 1 or wave.size < 2 or not np.all(np.diff(wave) > 0):
            raise ShapeMismatchError(
                f"wave must be a strictly increasing 1-D array; got shape {wave.shape}."
            )
        inside = (wave >= self.band[0]) & (wave <= self.band[1])
        if not inside.any():
            raise InvalidParameterError(
                f"The reference band {self.band} Å lies outside the wavelength grid "
                f"[{wave[0]:.1f}, {wave[-1]:.1f}] Å. Fix: pass band= inside the grid."
            )
        return wave

    def throughput(self, wave: np.ndarray) -> np.ndarray:
        """End-to-end throughput for the sky (optics × CCD QE), shape (n_pixels,)."""
        wave = np.asarray(wave, dtype=np.float64)
        log_alpha = np.interp(wave / 10.0, _SI_ALPHA_NM, np.log(_SI_ALPHA_CM))
        qe = -np.expm1(-self.ccd_thickness_um * 1e-4 * np.exp(log_alpha))
        return self.optics_throughput * qe

    def oh_lines(self) -> tuple[np.ndarray, np.ndarray]:
        """OH wavelengths in the grid's medium (Å) and intensities in photons s⁻¹ cm⁻² arcsec⁻².

        The relative intensities are scaled so that the sky continuum plus the OH lines inside
        ``band`` give ``sky_band_mag``.
        """
        self._validate()
        wave_vac, rel, _ = load_oh_lines(self.oh_path)
        wave = vacuum_to_air(wave_vac) if self.air_wavelengths else wave_vac
        in_band = (wave >= self.band[0]) & (wave <= self.band[1])
        oh_photons = _ab_photons(self.sky_band_mag, self.band) - _ab_photons(
            self.sky_continuum_mag, self.band
        )
        return wave, rel * (oh_photons / rel[in_band].sum())

    def sky_photons(self, wave: np.ndarray) -> dict[str, np.ndarray]:
        """Sky photons per pixel above the atmosphere, s⁻¹ cm⁻² arcsec⁻², by component.

        Returns
        -------
        dict
            ``continuum`` and ``oh`` arrays of shape (n_pixels,); the OH lines are Gaussian
            with FWHM λ/R, integrated over the pixel edges.
        """
        wave = self._check_wave(wave)
        edges = _pixel_edges(wave)
        f_nu = 10.0 ** (-0.4 * (self.sky_continuum_mag + _AB_ZERO))
        continuum = f_nu / _H_CGS * np.log(edges[1:] / edges[:-1])
        line_wave, line_flux = self.oh_lines()
        sigma = line_wave / (self.resolution * _FWHM_PER_SIGMA)
        near = (line_wave > edges[0] - 8 * sigma) & (line_wave < edges[-1] + 8 * sigma)
        line_wave, line_flux, sigma = line_wave[near], line_flux[near], sigma[near]
        cdf = 0.5 * erf((edges[None, :] - line_wave[:, None]) / (np.sqrt(2.0) * sigma[:, None]))
        oh = line_flux @ np.diff(cdf, axis=1)
        return {"continuum": continuum, "oh": oh}

    def _per_second(self, wave: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Electrons s⁻¹ per pixel of sky and dark, and detected fraction for a point source."""
        area_cm2 = self.collecting_area_m2 * 1e4
        omega = np.pi * (0.5 * self.fibre_diameter_arcsec) ** 2
        through = self.throughput(wave)
        sky = self.sky_photons(wave)
        sky_e = (sky["continuum"] + sky["oh"]) * omega * area_cm2 * through
        dark_e = np.full(wave.shape, self.npix_spatial * self.dark_e_per_hour / 3600.0)
        return sky_e, dark_e, area_cm2 * through * self.aperture_fraction

    def variance_terms(self, wave: np.ndarray, flux: np.ndarray, mag: np.ndarray) -> VarianceTerms:
        """Exposure-independent variance terms for ``n_stars`` spectra.

        Parameters
        ----------
        wave : ndarray of shape (n_pixels,)
            Wavelengths, Å (air if ``air_wavelengths``).
        flux : ndarray of shape (n_stars, n_pixels)
            Physical flux density f_λ in any unit (not normalised); only its shape matters,
            its scale is set by ``mag``. Must be positive in ``band``.
        mag : ndarray of shape (n_stars,)
            AB magnitude in ``band``.
        """
        self._validate()
        wave = self._check_wave(wave)
        flux = np.asarray(flux, dtype=np.float64)
        mag = np.atleast_1d(np.asarray(mag, dtype=np.float64))
        if flux.ndim != 2 or flux.shape[1] != wave.size or mag.shape != (flux.shape[0],):
            raise ShapeMismatchError(
                f"flux must be (n_stars, {wave.size}) and mag (n_stars,); "
                f"got {flux.shape} and {mag.shape}."
            )
        if not (np.isfinite(flux).all() and np.isfinite(mag).all()):
            raise InvalidParameterError("flux and mag must be finite for the noise model.")
        edges = _pixel_edges(wave)
        weight = wave * np.diff(edges)  # photons ∝ f_λ · λ · Δλ
        in_band = (wave >= self.band[0]) & (wave <= self.band[1])
        band_sum = flux[:, in_band] @ weight[in_band]
        if np.any(band_sum <= 0):
            raise InvalidParameterError("flux must be positive inside the reference band.")
        sky_e, dark_e, detected = self._per_second(wave)
        gain = (_ab_photons(mag, self.band) / band_sum)[:, None] * (weight * detected)[None, :]
        rate = gain * flux
        rate += sky_e + dark_e
        read_var = np.full(wave.shape, self.npix_spatial * self.read_noise_e**2)
        return VarianceTerms(rate=rate, read_var=read_var, gain=gain)

    def error(self, wave: np.ndarray, flux: np.ndarray, mag: np.ndarray) -> np.ndarray:
        """Per-pixel 1σ of ``flux`` (same units) for one exposure; noise_level 1.

        Parameters as in :meth:`variance_terms`. Returns float64 of shape (n_stars, n_pixels).
        """
        return self.variance_terms(wave, flux, mag).error(float(self.exposure_s))

    def electrons(self, wave: np.ndarray, flux: np.ndarray, mag: np.ndarray) -> dict[str, Any]:
        """Electron counts per pixel for one exposure, by component (for diagnostics)."""
        terms = self.variance_terms(wave, flux, mag)
        t = float(self.exposure_s)
        sky_e, dark_e, _ = self._per_second(np.asarray(wave, dtype=np.float64))
        return {
            "source": terms.gain * np.asarray(flux, dtype=np.float64) * t,
            "sky": sky_e * t,
            "dark": dark_e * t,
            "read_var": terms.read_var,
        }


def exposure_for_median_snr(
    a: np.ndarray, b: np.ndarray, flux_norm: np.ndarray, target: float, noise_level: float
) -> float:
    """Exposure (s) at which the median L2 SNR ‖flux‖ / (‖σ‖ · noise_level) equals ``target``.

    With ``σ_j(t)² = rate_j / (g_j² t) + r_j / (g_j² t²)`` the squared error norm of star i
    is ``a_i / t + b_i / t²`` (:meth:`VarianceTerms.norm_coefficients`); its SNR grows
    monotonically with t, so the root is unique.

    Parameters
    ----------
    a, b : ndarray of shape (n_stars,)
        Coefficients of the squared error norm.
    flux_norm : ndarray of shape (n_stars,)
        ‖flux‖ of each star, in the units the variance terms were computed for.
    target : float
        Wanted median L2 SNR at ``noise_level``.
    noise_level : float
        Noise multiplier of the target (0.2 for REFERENCE.md's 14.6).
    """
    if not (target > 0 and noise_level > 0):
        raise InvalidParameterError(
            f"target and noise_level must be > 0; got {target!r}, {noise_level!r}."
        )

    def gap(log_t: float) -> float:
        t = np.exp(log_t)
        return float(np.median(flux_norm / np.sqrt(a / t + b / t**2)) / noise_level - target)

    return float(np.exp(brentq(gap, np.log(1e-3), np.log(1e8), xtol=1e-10)))
