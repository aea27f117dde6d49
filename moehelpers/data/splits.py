"""What every experiment notebook does first: splits, frozen noisy copies, identity.

``load_splits`` gives the train / validation / test :class:`~moehelpers.data.spectra.SpectraSet`
of a dataset (the embedded default, a folder with ``train``/``val``/``test`` entries, or a
single file split by a seeded permutation). ``noisy_splits`` returns the noisy flux of
each split at one noise level; its noise seeds are derived from (seed, split, level), so
the test realisation for a given (dataset, noise level, seed) is always the same — frozen
— and every model in every notebook is scored on identical test spectra.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from moehelpers.data import spectra as _data
from moehelpers.data.flux_kind import check_flux_kind, distort
from moehelpers.errors import DataFileNotFoundError, InvalidParameterError
from moehelpers.paths import default_data_dir, repo_root

__all__ = ["SPLITS", "PooledLevels", "Splits", "bin_pixels", "load_splits", "noise_seed",
           "noisy_splits", "pool_levels", "resplit", "scores_with_ci"]

log = logging.getLogger(__name__)

SPLITS = ("train", "val", "test")
_SPLIT_CODE = {"train": 1, "val": 2, "test": 3}


@dataclass
class Splits:
    """Train, validation and test sets of one dataset plus its identity for records."""

    train: _data.SpectraSet
    val: _data.SpectraSet
    test: _data.SpectraSet
    identity: dict[str, Any] = field(default_factory=dict)

    def __getitem__(self, name: str) -> _data.SpectraSet:
        if name not in SPLITS:
            raise KeyError(f"split must be one of {SPLITS}; got {name!r}")
        return getattr(self, name)

    def sizes(self) -> dict[str, int]:
        """Number of stars per split."""
        return {s: len(self[s]) for s in SPLITS}


def _find_split(root: Path, split: str) -> Path | None:
    """The file or shard folder of one split, or None.

    A split folder counts only when it holds an HDF5 file: a folder left by a killed
    writer (only a hidden temporary file inside) is not mistaken for a finished split.
    """
    for cand in (root / split / "dataset.h5", root / f"{split}.h5"):
        if cand.is_file():
            return cand
    folder = root / split
    if folder.is_dir() and any(folder.glob("[!.]*.h5")):
        return folder
    return None


def _identity(sets: dict[str, _data.SpectraSet], paths: dict[str, Path]) -> dict[str, Any]:
    """Generator settings when the files carry them (our embedded data), else sha256."""
    out: dict[str, Any] = {"splits": {}}
    for split, ss in sets.items():
        stored = ss.meta.get("stored", {}) or {}
        entry: dict[str, Any] = {"n": len(ss)}
        path = paths[split]
        try:
            entry["path"] = path.resolve().relative_to(repo_root()).as_posix()
        except ValueError:
            entry["path"] = str(path)
        if "generator" in stored:
            entry["generator"] = stored["generator"]
        else:
            entry["sha256"] = _data.checksum(path) if path.is_file() else None
        out["splits"][split] = entry
    gens = [e.get("generator") for e in out["splits"].values()]
    if all(g is not None for g in gens):
        out["generator"] = {s: out["splits"][s]["generator"] for s in sets}
    else:
        digest = next((e["sha256"] for e in out["splits"].values() if e.get("sha256")), None)
        if digest:
            out["sha256"] = digest
    return out


def load_splits(
    data_path: str | Path = "",
    *,
    n_train: int | None = None,
    n_val: int | None = None,
    n_test: int | None = None,
    split_seed: int = 0,
    flux_kind: str = "physical",
    distortion_amplitude: float = 0.05,
    distortion_seed: int = 0,
) -> Splits:
    """Load the three splits of a dataset.

    Parameters
    ----------
    data_path : str or Path, default=""
        ``""``: the embedded default dataset (written by ``make data`` if missing).
        A folder with ``train``/``val``/``test`` entries (files, split folders or shard
        folders): each is read, keeping its first ``n_*`` rows. Anything else
        loadable by :func:`moehelpers.data.spectra.load` (one file or a folder of shards): its
        first ``n_train + n_val + n_test`` rows are split by a permutation seeded by
        ``split_seed``.
    n_train, n_val, n_test : int, optional
        Sizes; ``None`` takes all rows of that split (must be given for a single source).
    split_seed : int, default=0
        Seed of the permutation that splits a single source.
    flux_kind : {"physical", "normalized", "distorted"}, default="physical"
        Which flux the models see (:mod:`moehelpers.data.flux_kind`): as stored; divided by
        the true continuum (the embedded data's continuum-normalised twin, written once when
        missing, or a dataset generated with ``kind="normalized"``); or with a random smooth
        continuum distortion per star.
    distortion_amplitude : float, default=0.05
        ``"distorted"`` only: σ of each Legendre coefficient of ``ln`` flux (orders 1–3).
    distortion_seed : int, default=0
        ``"distorted"`` only: seed of the distortions (per split, frozen per star).

    Raises
    ------
    InvalidParameterError
        An unknown ``flux_kind``, or ``"normalized"`` for data whose continuum is unknown.
    """
    flux_kind = check_flux_kind(flux_kind)
    if data_path in ("", None):
        data_kind = "normalized" if flux_kind == "normalized" else "physical"
        root = default_data_dir(data_kind)
        if any(_find_split(root, s) is None for s in SPLITS):
            from moehelpers.data.sampler import default_dataset

            log.info("default %s dataset missing under %s: writing it (make data)",
                     data_kind, root)
            default_dataset(root, kind=data_kind)
    else:
        root = Path(data_path)
        if not root.exists():
            raise DataFileNotFoundError(
                f"data_path {str(root)!r} does not exist. Give a BOSZ HDF5 file, a folder with "
                "train/val/test entries, or '' for the embedded dataset.")
    sizes = {"train": n_train, "val": n_val, "test": n_test}
    found = {s: _find_split(root, s) for s in SPLITS} if root.is_dir() else {}
    started = any(found.values()) or any((root / sp).is_dir() for sp in SPLITS)
    if found and started and not all(found.values()):
        missing = [sp for sp in SPLITS if not found[sp]]
        raise DataFileNotFoundError(
            f"{str(root)!r} has no finished {' / '.join(missing)} split (expected "
            f"<split>/dataset.h5, <split>.h5 or a <split>/ folder of .h5 shards). A write may "
            "have been interrupted: rerun `make data` (embedded data) or rewrite those files.")
    if found and all(found.values()):
        paths = {s: found[s] for s in SPLITS}
        sets = {s: _data.load(p, n=sizes[s]) for s, p in paths.items()}
        split_info: dict[str, Any] = {}
    else:
        if None in sizes.values():
            raise InvalidParameterError(
                f"{str(root)!r} is a single source; give n_train, n_val and n_test so it can be "
                "split (or a folder with train/val/test entries).")
        total = sum(int(v) for v in sizes.values())
        full = _data.load(root, n=total)
        perm = np.random.default_rng(split_seed).permutation(total)
        cut = np.cumsum([0, sizes["train"], sizes["val"], sizes["test"]])
        sets = {s: full.subset(np.sort(perm[cut[i]:cut[i + 1]])) for i, s in enumerate(SPLITS)}
        paths = dict.fromkeys(SPLITS, root)
        split_info = {"split_seed": split_seed}
    sets, kind_info = _apply_flux_kind(sets, root, flux_kind, distortion_amplitude,
                                       distortion_seed)
    return Splits(**sets, identity={**_identity(sets, paths), **split_info, **kind_info})


def _apply_flux_kind(sets: dict[str, _data.SpectraSet], root: Path, flux_kind: str,
                     amplitude: float, seed: int
                     ) -> tuple[dict[str, _data.SpectraSet], dict[str, Any]]:
    """The sets as ``flux_kind`` asks, and the identity entry that records it."""
    if flux_kind == "physical":
        return sets, {}
    if flux_kind == "normalized":
        kinds = {s: (ss.meta.get("stored", {}) or {}).get("kind") for s, ss in sets.items()}
        if any(k != "normalized" for k in kinds.values()):
            raise InvalidParameterError(
                f"flux_kind='normalized' needs continuum-normalised spectra, but {str(root)!r} "
                f"holds {kinds} (the continuum of these stars is unknown). Use data_path='' "
                "(the embedded data's normalised twin is written on first use), a dataset "
                "written by moehelpers.data.sampler.make_dataset(kind='normalized'), or "
                "flux_kind='distorted' to test robustness to the continuum on your own data.")
        return sets, {"flux_kind": {"kind": "normalized"}}
    out = {s: distort(ss, s, amplitude=amplitude, seed=seed) for s, ss in sets.items()}
    info = {k: v for k, v in out["train"].meta["flux_kind"].items()
            if k != "rms_ln_distortion"}
    return out, {"flux_kind": info}


def noise_seed(seed: int, split: str, noise_level: float) -> int:
    """Seed of the noise draw for one (seed, split, noise level); distinct per split."""
    if split not in _SPLIT_CODE:
        raise InvalidParameterError(f"split must be one of {SPLITS}; got {split!r}.")
    level_code = round(float(noise_level) * 1_000_000)
    ss = np.random.SeedSequence([int(seed), _SPLIT_CODE[split], level_code])
    return int(ss.generate_state(1, dtype=np.uint32)[0])


def noisy_splits(splits: Splits, noise_level: float, seed: int, *,
                 which: tuple[str, ...] = SPLITS, clip: bool = False) -> dict[str, np.ndarray]:
    """Noisy flux per split at ``noise_level``: ``{"train": X, "val": X, "test": X}``.

    The same (dataset, ``noise_level``, ``seed``) always gives the same arrays, so the
    test realisation is frozen across models, notebooks and reruns.
    """
    return {s: splits[s].noisy(noise_level, noise_seed(seed, s, noise_level), clip=clip)
            for s in which}


def bin_pixels(X: Any, factor: int) -> np.ndarray:
    """Mean of every ``factor`` adjacent pixels (the last group may be shorter), float32.

    A fixed linear map of the flux, the same for every star and every model: it shrinks the
    width P of the Gram matrices (and of the ``(K+1)·P`` conditional systems) by ``factor``.
    ``factor=1`` returns ``X`` unchanged.
    """
    if isinstance(factor, bool) or not isinstance(factor, int | np.integer) or factor < 1:
        raise InvalidParameterError(f"pixel bin factor must be an integer ≥ 1; got {factor!r}.")
    X = np.asarray(X)
    if X.ndim != 2:
        raise InvalidParameterError(f"X must be 2-D (stars, pixels); got shape {X.shape}.")
    if factor == 1:
        return X
    starts = np.arange(0, X.shape[1], factor)
    counts = np.diff(np.append(starts, X.shape[1])).astype(np.float32)
    return (np.add.reduceat(X.astype(np.float32, copy=False), starts, axis=1)
            / counts).astype(np.float32, copy=False)


def scores_with_ci(y_true: np.ndarray, y_pred: np.ndarray, *, n_boot: int, seed: int,
                   index: np.ndarray | None = None, ci: float = 0.95) -> dict[str, float]:
    """R², MAE, RMSE with percentile bootstrap CIs, as one flat table row.

    All three metrics use the same resampled stars (same ``seed``), and ``index``
    restricts scoring to a subset (e.g. covered stars) explicitly.
    """
    from moehelpers.metrics import bootstrap_ci

    row: dict[str, float] = {}
    for metric in ("r2", "mae", "rmse"):
        res = bootstrap_ci(y_true, y_pred, index=index, n_boot=n_boot, seed=seed,
                           metric=metric, ci=ci)
        row[metric] = res.point
        row[f"{metric}_lo"] = res.ci_low
        row[f"{metric}_hi"] = res.ci_high
        row["n"] = res.n
    return row


def resplit(splits: Splits, seed: int, *, n_train: int | None = None, n_val: int | None = None,
            n_test: int | None = None) -> Splits:
    """New train / validation / test draws from the pooled stars of ``splits``.

    The three splits are pooled (train, then val, then test) and cut by a permutation
    seeded by ``seed``; sizes default to the current ones. Each new split keeps the pooled
    order of its stars; ``meta["pooled_index"]`` gives their positions in the pool. Stored
    noisy realisations are dropped (noise is drawn per seed with :func:`noisy_splits`).

    Parameters
    ----------
    splits : Splits
    seed : int
        Seed of the permutation (e.g. one of the seeds of MVP-1.1).
    n_train, n_val, n_test : int, optional
        New sizes; their sum must not exceed the pool.

    Returns
    -------
    Splits
        ``identity`` is the pool's identity plus ``{"resplit": {"seed", "sizes"}}``.
    """
    from moehelpers.data.spectra import SpectraSet

    sources = [splits[s] for s in SPLITS]
    if any(not np.array_equal(src.wave, sources[0].wave) for src in sources):
        raise InvalidParameterError("The splits have different wavelength grids; they cannot "
                                    "be pooled. Resample them to one grid first.")
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise InvalidParameterError(f"seed must be an integer ≥ 0; got {seed!r}.")
    pool = sum(len(src) for src in sources)
    given = {"train": n_train, "val": n_val, "test": n_test}
    sizes = {s: len(splits[s]) if v is None else int(v) for s, v in given.items()}
    if min(sizes.values()) < 1 or sum(sizes.values()) > pool:
        raise InvalidParameterError(
            f"resplit sizes {sizes} must be ≥ 1 each and sum to at most the {pool} pooled "
            "stars; lower them or load more stars.")
    offsets = np.cumsum([0] + [len(src) for src in sources])
    perm = np.random.default_rng(int(seed)).permutation(pool)
    cut = np.cumsum([0, sizes["train"], sizes["val"], sizes["test"]])
    out = {}
    for i, name in enumerate(SPLITS):
        pos = np.sort(perm[cut[i]:cut[i + 1]])
        which = np.searchsorted(offsets, pos, side="right") - 1
        flux = np.empty((pos.size, sources[0].n_pixels), dtype=np.float32)
        error = np.empty_like(flux)
        with_mask = all(src.mask is not None for src in sources)
        mask = np.empty(flux.shape, dtype=sources[0].mask.dtype) if with_mask else None
        labels = []
        for k, src in enumerate(sources):
            sel = np.flatnonzero(which == k)
            local = pos[sel] - offsets[k]
            flux[sel] = src.flux[local]
            error[sel] = src.error[local]
            if mask is not None:
                mask[sel] = src.mask[local]
            labels.append(src.labels.iloc[local].set_axis(sel))
        out[name] = SpectraSet(
            sources[0].wave, flux, error, pd.concat(labels).sort_index(),
            mask=mask, wave_edges=sources[0].wave_edges,
            required_labels=sources[0].required_labels,
            meta={"source": "resplit", "resplit_seed": int(seed), "pooled_index": pos},
            _validate=False)
    identity = {**splits.identity, "resplit": {"seed": int(seed), "sizes": sizes}}
    return Splits(**out, identity=identity)


class PooledLevels(NamedTuple):
    """Noisy spectra of some splits at several noise levels, stacked level after level.

    Every mapping is keyed by split name; rows ``k·n … (k+1)·n − 1`` of a split of ``n``
    stars are its stars noised at ``levels[k]``.
    """

    X: dict[str, np.ndarray]
    y: dict[str, np.ndarray]
    labels: dict[str, pd.DataFrame]


def pool_levels(splits: Splits, levels: list[float], seed: int, *,
                which: tuple[str, ...] = ("train", "val")) -> PooledLevels:
    """The frozen noisy copies of ``which`` at every level in ``levels``, pooled.

    Parameters
    ----------
    splits : Splits
        The clean splits.
    levels : list of float
        Noise levels, in block order.
    seed : int
        Noise seed (the realisation of :func:`noisy_splits`).
    which : tuple of str, default=("train", "val")
        Splits to pool.

    Returns
    -------
    PooledLevels
        ``X`` (float32, one block per level), ``y`` (the targets tiled once per level) and
        ``labels`` (the split's labels per block, with a ``noise`` column holding the level).
    """
    X = {s: np.empty((len(levels) * len(splits[s]), splits[s].n_pixels), dtype=np.float32)
         for s in which}
    for k, level in enumerate(levels):
        noisy = noisy_splits(splits, level, seed, which=which)
        for s in which:
            X[s][k * len(splits[s]):(k + 1) * len(splits[s])] = noisy[s]
        del noisy
    labels = {s: pd.concat([splits[s].labels.assign(noise=lv) for lv in levels],
                           ignore_index=True) for s in which}
    return PooledLevels(X, {s: np.tile(splits[s].y, len(levels)) for s in which}, labels)
