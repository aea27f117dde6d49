"""Labelled datasets drawn from the spectral grid, with a fibre-spectrograph error model.

:func:`make_dataset` draws labels uniformly in the study's box, interpolates the grid, and
attaches the per-pixel 1σ error at noise_level 1 from :class:`~moehelpers.data.fibre_noise.
FibreNoiseModel`. :func:`default_dataset` writes the train/val/test splits of the book and
reuses them while their settings are unchanged. :func:`calibrate_exposure` re-derives the
noise model's one calibrated constant.

The ``snr`` label is the **L2 SNR at noise_level 1**: ``‖flux‖ / ‖error‖`` of the stored
(normalised) arrays; at another noise level divide it by that level.

Command line::

    python -m moehelpers.data.sampler data [--force]          # the default dataset
    python -m moehelpers.data.sampler calibrate [--n 4000]    # re-derive EXPOSURE_S
    python -m moehelpers.data.sampler snr [--n 4000]          # SNR table of the shipped constant
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from tqdm import tqdm

from moehelpers import __version__
from moehelpers.data.spectra import SpectraSet, load, save
from moehelpers.errors import DataFileNotFoundError, InvalidParameterError, MoEHelpersError
from moehelpers.data.fibre_noise import FibreNoiseModel, exposure_for_median_snr
from moehelpers.paths import default_data_dir

__all__ = [
    "LABEL_BOX",
    "SAMPLER_VERSION",
    "calibrate_exposure",
    "dataset_settings",
    "default_dataset",
    "draw_labels",
    "grid_checksum",
    "make_dataset",
    "snr_table",
    "split_seeds",
]

log = logging.getLogger(__name__)

#: Bumped whenever the drawing or the stored arrays change for the same settings.
SAMPLER_VERSION = "1.0"

#: Uniform ranges of the drawn labels (``mag``: i-band AB magnitude). With the MoE bins'
#: [M/H] edges −2…+0.5, 2.5/3 ≈ 83 % of stars fall inside a bin, as in the original study.
LABEL_BOX: dict[str, tuple[float, float]] = {
    "T_eff": (3750.0, 6000.0),
    "log_g": (1.0, 5.0),
    "M_H": (-2.5, 0.5),
    "mag": (20.5, 22.5),
}
#: Child streams of ``SeedSequence(seed).spawn(5)``, one per quantity, so that changing ``n``
#: keeps the first stars' draws (prefix-stable) and never reshuffles another quantity.
_STREAMS = ("T_eff", "log_g", "M_H", "mag", "noisy")
_KINDS = ("physical", "normalized")
_SPLITS = ("train", "val", "test")
CHUNK_SIZE = 2048  # stars interpolated at once: bounds memory (~0.5 GB of temporaries)
SNR_TARGET = {"noise_level": 0.2, "median_l2_snr": 14.6}  # REFERENCE.md §2


#: Duck type of :class:`moehelpers.data.grid.SpectralGrid`: ``wave`` (n_pixels,) and
#: ``spectra(teff, logg, mh, *, kind) -> (n, n_pixels)``; optional ``path`` or ``sha256``.
GridLike = Any


# --------------------------------------------------------------------------- helpers
def _check_int(value: Any, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise InvalidParameterError(f"{name} must be an integer >= {minimum}; got {value!r}.")
    return int(value)


def _label_box(label_box: Mapping[str, Sequence[float]] | None) -> dict[str, tuple[float, float]]:
    box = dict(LABEL_BOX)
    for key, bounds in (label_box or {}).items():
        if key not in LABEL_BOX:
            raise InvalidParameterError(
                f"label_box key {key!r} is unknown; use some of {list(LABEL_BOX)}."
            )
        lo, hi = (float(b) for b in bounds)
        if not (np.isfinite(lo) and np.isfinite(hi) and lo <= hi):
            raise InvalidParameterError(
                f"label_box[{key!r}] must be (low, high) with low <= high; got {bounds!r}."
            )
        box[key] = (lo, hi)
    return box


def _child_seeds(seed: int) -> dict[str, np.random.SeedSequence]:
    seed = _check_int(seed, "seed", 0)
    return dict(zip(_STREAMS, np.random.SeedSequence(seed).spawn(len(_STREAMS)), strict=True))


def _resolve_grid(grid: GridLike | None) -> GridLike:
    if grid is not None:
        return grid
    try:
        from moehelpers.data.grid import SpectralGrid  # the real grid; imported only when needed
    except ImportError as exc:
        raise DataFileNotFoundError(
            f"The spectral grid module is not available ({exc}). Fix: pass grid= a grid "
            "object, or build the grid with `make grid`."
        ) from exc
    return SpectralGrid.load()


_FILE_DIGESTS: dict[tuple[str, int, int], str] = {}


def grid_checksum(grid: GridLike) -> str:
    """sha256 identifying the grid: its ``sha256`` attribute, else its file, else its arrays."""
    for name in ("sha256", "checksum"):
        value = getattr(grid, name, None)
        value = value() if callable(value) else value
        if isinstance(value, str) and value:
            return value
    path = getattr(grid, "path", None)
    if path is not None and Path(path).is_file():
        stat = Path(path).stat()
        key = (str(Path(path).resolve()), stat.st_size, stat.st_mtime_ns)
        if key not in _FILE_DIGESTS:
            h = hashlib.sha256()
            with open(path, "rb") as fh:
                while block := fh.read(2**20):
                    h.update(block)
            _FILE_DIGESTS[key] = h.hexdigest()
        return _FILE_DIGESTS[key]
    h = hashlib.sha256(type(grid).__qualname__.encode())
    for name in ("wave", "teff", "logg", "mh"):
        h.update(np.ascontiguousarray(getattr(grid, name, np.empty(0)), dtype=np.float64))
    return h.hexdigest()


def draw_labels(
    n: int, seed: int, label_box: Mapping[str, Sequence[float]] | None = None
) -> pd.DataFrame:
    """Uniform labels ``T_eff, log_g, M_H, mag`` plus ``a_M = C_M = redshift = 0``.

    Each quantity has its own child stream of ``SeedSequence(seed)``, so the first ``k`` rows
    of ``draw_labels(n, seed)`` equal ``draw_labels(k, seed)`` for any ``n >= k``.
    """
    n = _check_int(n, "n", 0)
    box, seeds = _label_box(label_box), _child_seeds(seed)
    draws = {key: np.random.default_rng(seeds[key]).uniform(*box[key], size=n) for key in box}
    labels = pd.DataFrame({key: draws[key] for key in ("T_eff", "log_g", "M_H")})
    labels[["a_M", "C_M"]] = 0.0
    labels["mag"], labels["redshift"] = draws["mag"], 0.0
    return labels


def dataset_settings(
    n: int,
    seed: int,
    *,
    grid: GridLike,
    noise_model: FibreNoiseModel,
    label_box: Mapping[str, Sequence[float]] | None = None,
    kind: str = "physical",
    store_noisy: bool = False,
) -> dict[str, Any]:
    """Everything that determines the arrays of :func:`make_dataset` (JSON-able).

    ``settings_sha256`` of this dict decides whether :func:`default_dataset` reuses a file.
    """
    if kind not in _KINDS:
        raise InvalidParameterError(f"kind must be one of {_KINDS}; got {kind!r}.")
    box = _label_box(label_box)
    settings: dict[str, Any] = {
        "sampler_version": SAMPLER_VERSION,
        "n": _check_int(n, "n", 0),
        "seed": _check_int(seed, "seed", 0),
        "seed_streams": "SeedSequence(seed).spawn(5) -> " + ", ".join(_STREAMS),
        "label_box": {k: list(v) for k, v in box.items()},
        "fixed_labels": {"a_M": 0.0, "C_M": 0.0, "redshift": 0.0},
        "kind": kind,
        "noise_model": noise_model.settings(),
        "grid": {"sha256": grid_checksum(grid), "path": str(getattr(grid, "path", "") or "")},
        "snr_label": "L2 SNR at noise_level 1: ||flux|| / ||error|| of the stored arrays",
        "noisy": None,
    }
    if store_noisy:
        noisy_seed = int(_child_seeds(seed)["noisy"].generate_state(1)[0])
        settings["noisy"] = {"noise_level": 1.0, "seed": noisy_seed, "draw": "SpectraSet.noisy"}
    digest = hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()
    generator = {
        "name": "moehelpers.data.sampler.make_dataset",
        "n": n,
        "seed": seed,
        "settings_sha256": digest,
    }
    return {**settings, "settings_sha256": digest, "generator": generator}


def _spectra(grid: GridLike, labels: pd.DataFrame, kind: str) -> np.ndarray:
    args = (labels[k].to_numpy() for k in ("T_eff", "log_g", "M_H"))
    return np.asarray(grid.spectra(*args, kind=kind), dtype=np.float64)


def _chunk_arrays(
    grid: GridLike, labels: pd.DataFrame, kind: str, noise_model: FibreNoiseModel
) -> tuple[np.ndarray, np.ndarray]:
    """Normalised flux and error (float64) of the stars in ``labels``."""
    physical = _spectra(grid, labels, "physical")
    sigma = noise_model.error(grid.wave, physical, labels["mag"].to_numpy())
    if kind == "physical":
        norm = np.median(physical, axis=1, keepdims=True)
    else:
        norm = _spectra(grid, labels, "continuum")
    return physical / norm, sigma / norm


def make_dataset(
    n: int,
    seed: int,
    *,
    grid: GridLike | None = None,
    noise_model: FibreNoiseModel | None = None,
    label_box: Mapping[str, Sequence[float]] | None = None,
    kind: str = "physical",
    store_noisy: bool = False,
    chunk_size: int = CHUNK_SIZE,
    progress: tqdm | None = None,
    meta: Mapping[str, Any] | None = None,
) -> SpectraSet:
    """Draw ``n`` labelled spectra with their error arrays, deterministically from ``seed``.

    Parameters
    ----------
    n : int
        Number of stars.
    seed : int
        Seed of every draw (labels, magnitudes and the optional stored noise).
    grid : SpectralGrid-like, optional
        Object with ``wave`` and ``spectra(teff, logg, mh, *, kind)``; default
        ``SpectralGrid.load()`` (the committed grid).
    noise_model : FibreNoiseModel, optional
        Default ``FibreNoiseModel()`` with the calibrated exposure.
    label_box : mapping, optional
        Overrides of :data:`LABEL_BOX` ranges, e.g. ``{"mag": (21.0, 21.0)}``.
    kind : {"physical", "normalized"}, default="physical"
        ``"physical"``: flux divided by its median per spectrum (the original data's
        convention); ``"normalized"``: physical flux divided by the grid's continuum. The
        error is divided by the same normalisation.
    store_noisy : bool, default=False
        Also store one noisy realisation at noise_level 1 (``noisy_stored``), drawn with
        ``SpectraSet.noisy(1.0, meta["noisy"]["seed"])``.
    chunk_size : int, default=2048
        Stars interpolated at once (bounds memory; does not change the result).
    progress : tqdm, optional
        Progress bar to advance by the stars done.
    meta : mapping, optional
        Extra JSON-able entries for ``meta`` (not part of the settings hash).

    Returns
    -------
    SpectraSet
        Labels ``T_eff, log_g, M_H, a_M, C_M, mag, redshift, snr``; ``meta`` holds the
        settings (seed, n, label box, noise-model settings and version, grid sha256) and
        their ``settings_sha256``.
    """
    grid = _resolve_grid(grid)
    noise_model = noise_model if noise_model is not None else FibreNoiseModel()
    chunk_size = _check_int(chunk_size, "chunk_size", 1)
    settings = dataset_settings(
        n,
        seed,
        grid=grid,
        noise_model=noise_model,
        label_box=label_box,
        kind=kind,
        store_noisy=store_noisy,
    )
    labels = draw_labels(n, seed, label_box)
    wave = np.asarray(grid.wave, dtype=np.float64)
    flux = np.empty((n, wave.size), dtype=np.float32)
    error = np.empty((n, wave.size), dtype=np.float32)
    for start in range(0, n, chunk_size):
        rows = slice(start, min(start + chunk_size, n))
        flux[rows], error[rows] = _chunk_arrays(grid, labels.iloc[rows], kind, noise_model)
        if progress is not None:
            progress.update(rows.stop - rows.start)
    meta = {**settings, **(meta or {}), "moehelpers_version": __version__}
    spectra = SpectraSet(wave, flux, error, labels, meta=meta)
    labels["snr"] = spectra.snr_l2(1.0)  # of the stored float32 arrays
    noisy = spectra.noisy(1.0, settings["noisy"]["seed"]) if store_noisy else None
    return SpectraSet(wave, flux, error, labels, noisy_stored=noisy, meta=meta, _validate=False)


def snr_table(
    spectra: SpectraSet, noise_levels: Sequence[float] = (0.1, 0.2, 0.5, 1.0)
) -> pd.DataFrame:
    """Mean, sd and median of the L2 and per-pixel SNR per noise level (REFERENCE.md §2)."""
    rows = {}
    for level in noise_levels:
        l2, pixel = spectra.snr_l2(level), spectra.snr_pixel(level)
        rows[level] = {
            "l2_mean": l2.mean(),
            "l2_sd": l2.std(ddof=1),
            "l2_median": np.median(l2),
            "pixel_mean": pixel.mean(),
            "pixel_sd": pixel.std(ddof=1),
        }
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("noise_level")


def calibrate_exposure(
    grid: GridLike | None = None,
    n: int = 4000,
    seed: int = 2024,
    *,
    noise_model: FibreNoiseModel | None = None,
    target: float = SNR_TARGET["median_l2_snr"],
    noise_level: float = SNR_TARGET["noise_level"],
    chunk_size: int = CHUNK_SIZE,
) -> float:
    """Exposure time (s) giving median L2 SNR ``target`` at ``noise_level`` on ``grid``.

    Draws ``n`` stars exactly as :func:`make_dataset` does, splits the variance into its
    exposure-independent terms once, and solves ``median_i ‖flux_i‖ / (‖σ_i(t)‖ ·
    noise_level) = target`` for t (monotone in t; see
    :func:`~moehelpers.data.fibre_noise.exposure_for_median_snr`). The L2 SNR does not depend on
    the median normalisation, so the physical flux is used directly. Paste the result into
    :data:`moehelpers.data.fibre_noise.EXPOSURE_S`.
    """
    grid = _resolve_grid(grid)
    model = noise_model if noise_model is not None else FibreNoiseModel()
    labels = draw_labels(n, seed)
    a, b, norms = np.empty(n), np.empty(n), np.empty(n)
    for start in range(0, n, chunk_size):
        rows = slice(start, min(start + chunk_size, n))
        flux = _spectra(grid, labels.iloc[rows], "physical")
        terms = model.variance_terms(grid.wave, flux, labels["mag"].to_numpy()[rows])
        a[rows], b[rows] = terms.norm_coefficients()
        norms[rows] = np.linalg.norm(flux, axis=1)
    return exposure_for_median_snr(a, b, norms, target, noise_level)


# --------------------------------------------------------------------------- default dataset
def split_seeds(seed: int) -> dict[str, int]:
    """One seed per split, from ``SeedSequence(seed).spawn(3)`` (train, val, test)."""
    children = np.random.SeedSequence(_check_int(seed, "seed", 0)).spawn(len(_SPLITS))
    return {name: int(c.generate_state(1)[0]) for name, c in zip(_SPLITS, children, strict=True)}


def _stored_settings_hash(path: Path) -> str | None:
    try:
        return load(path, n=0).meta.get("stored", {}).get("settings_sha256")
    except (MoEHelpersError, OSError) as exc:
        log.info("cannot read settings of %s (%s); it will be rewritten", path, exc)
        return None


def default_dataset(
    root: str | os.PathLike[str] | None = None,
    *,
    n_train: int = 32000,
    n_val: int = 1000,
    n_test: int = 1000,
    seed: int = 42,
    force: bool = False,
    grid: GridLike | None = None,
    noise_model: FibreNoiseModel | None = None,
    progress: bool = True,
    kind: str = "physical",
    compression: str | None = None,
) -> dict[str, Path]:
    """Write (or reuse) ``<root>/{train,val,test}/dataset.h5`` of the book.

    Each split is made by :func:`make_dataset` from its own seed of :func:`split_seeds`
    (recorded in the file's meta with ``parent_seed``); the test split also stores one frozen
    noisy realisation at noise_level 1. A file is reused when its stored ``settings_sha256``
    (sizes, seeds, label box, noise-model settings, grid checksum, versions) matches, else
    rewritten atomically by :func:`moehelpers.data.spectra.save`.

    Parameters
    ----------
    root : path, optional
        Default ``$MOE_DATA_DIR`` or ``<repo>/data/default``.
    n_train, n_val, n_test : int
        Split sizes (the original 32k series: 32,000 / 1,000 / 1,000).
    seed : int, default=42
        Parent seed of the three splits.
    force : bool, default=False
        Rewrite even when the settings match.
    grid, noise_model
        As in :func:`make_dataset`.
    progress : bool, default=True
        Show a tqdm progress bar over the stars generated.
    kind : {"physical", "normalized"}, default="physical"
        As in :func:`make_dataset`; the continuum-normalised variant lives in its own folder
        (:func:`moehelpers.paths.default_data_dir` with ``kind="normalized"``).
    compression : {None, "gzip"}, default=None
        Storage filter of the written files (:func:`moehelpers.data.spectra.save`); it is
        not part of the settings, so a file written with the other filter is reused.

    Returns
    -------
    dict of str to Path
        ``{"train": ..., "val": ..., "test": ...}``.
    """
    root = Path(root) if root is not None else default_data_dir(kind)
    grid = _resolve_grid(grid)
    noise_model = noise_model if noise_model is not None else FibreNoiseModel()
    sizes = {"train": n_train, "val": n_val, "test": n_test}
    seeds = split_seeds(seed)
    paths = {name: root / name / "dataset.h5" for name in _SPLITS}
    todo = []
    for name in _SPLITS:
        digest = dataset_settings(
            sizes[name], seeds[name], grid=grid, noise_model=noise_model, kind=kind,
            store_noisy=name == "test",
        )["settings_sha256"]
        if not force and paths[name].is_file() and _stored_settings_hash(paths[name]) == digest:
            log.info("reusing %s (settings unchanged)", paths[name])
        else:
            todo.append(name)
    total = sum(sizes[name] for name in todo)
    with tqdm(
        total=total, desc="default dataset", unit="star", disable=not progress or not total
    ) as bar:
        for name in todo:
            bar.set_postfix_str(name)
            spectra = make_dataset(
                sizes[name],
                seeds[name],
                grid=grid,
                noise_model=noise_model,
                kind=kind,
                store_noisy=name == "test",
                progress=bar,
                meta={"split": name, "parent_seed": seed},
            )
            paths[name].parent.mkdir(parents=True, exist_ok=True)
            save(spectra, paths[name], compression=compression)
            log.info("wrote %s (%d stars)", paths[name], sizes[name])
    return paths


# --------------------------------------------------------------------------- command line
def main(argv: Sequence[str] | None = None) -> int:
    """``python -m moehelpers.data.sampler {data,calibrate,snr}``; returns the exit code."""
    p = argparse.ArgumentParser(prog="python -m moehelpers.data.sampler", description=__doc__)
    p.formatter_class = argparse.RawDescriptionHelpFormatter
    p.add_argument("command", choices=("data", "calibrate", "snr"))
    p.add_argument("--root", default=None, help="data: output folder (default data/default)")
    p.add_argument("--force", action="store_true", help="data: rewrite even if settings match")
    p.add_argument("--n", type=int, default=4000, help="calibrate/snr: number of stars")
    p.add_argument("--seed", type=int, default=2024, help="calibrate/snr: seed of the draw")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        if args.command == "data":
            for split, path in default_dataset(args.root, force=args.force).items():
                print(f"{split:6s} {path}")
            return 0
        model = FibreNoiseModel()
        if args.command == "calibrate":
            model.exposure_s = calibrate_exposure(n=args.n, seed=args.seed)
            print(f"EXPOSURE_S = {model.exposure_s:.1f}  # paste into moehelpers/data/fibre_noise.py")
        print(snr_table(make_dataset(args.n, args.seed, noise_model=model)).round(2).to_string())
        return 0
    except MoEHelpersError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
