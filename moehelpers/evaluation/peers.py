"""The peer models astronomers use instead (The Cannon, an emulator fit, a CNN), scored honestly.

:func:`evaluate_peers` fits the peer families on one noise level's noisy training flux,
predicts the frozen noisy test flux and returns tidy tables: R² of log g with a paired
bootstrap CI against a supplied baseline on the same test stars, R² per physical
(Teff, [M/H]) bin, the pull distribution of the χ²-fit models (error / stated σ) and, when a
per-star Cramér–Rao σ is given, stated σ against it. No plotting, no record I/O.

The error array enters the Cannon and the emulator only as χ² weights (``ivar =
1/(noise_level · error)²``, what a survey does with its error spectra) and the CNN only to
draw training noise; it is never a feature.

Defaults (:data:`FAST`) bin pixels by 16 (Cannon, emulator and CNN alike) and keep the
networks small. Measured with ``benchmarks/peers_time.py`` (32,000 / 1,000 / 1,000 stars,
4096 pixels, torch on one thread) on the 2-core development machine while a grid build and
other jobs kept its load average at 5–9: four noise levels (0.1, 0.2, 0.5, 1.0) took 149 s
of process CPU time (34–41 s per level; the CNN ≈ 15 s of it) and 222 s of wall time, so
about 2½ minutes on an idle 2-core machine (``cnn_epochs=3`` or leaving out a model buys the
rest of a 2-minute budget). :data:`FULL` is the full-size parameter set (all 4096 pixels,
Payne-sized 2×300 emulator, StarNet-sized CNN 4/16 conv + 256/128 dense, hundreds of
epochs, three extra LM starts): a GPU or a long run, not measured here.

Both train the CNN on a thread of its own beside the numpy χ² fits (``overlap_cnn``): the
emulator first, then the CNN (one torch thread) while the Cannon and the maximum-likelihood
fit run with one BLAS thread, so each side has a core. The per-model seconds in
:attr:`PeerResult.timings` are then each model's own wall time, and their sum exceeds the
page's; at a given ``n_threads`` the results are those of the sequential schedule, bit for bit.

At low SNR the χ² fits (maximum likelihood, no prior) scatter more than the shrinking Ridge
and can reach R² < 0 (measured at noise 1.0); their pulls are wider than 1 at high SNR, where
the model's own misfit (correlated across pixels, which a per-pixel s² does not capture)
dominates the error.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from moehelpers._validation import check_choice
from moehelpers.data.grid import SpectralGrid
from moehelpers.data.splits import Splits, bin_pixels, noisy_splits
from moehelpers.engine.fitted import cached_outputs
from moehelpers.engine.ridge import DEFAULT_ALPHAS, RidgeRegressor
from moehelpers.engine.store import cached_ridge_fit
from moehelpers.errors import DataFileNotFoundError, InvalidParameterError, ShapeMismatchError
from moehelpers.evaluation.ceiling import compute_ceiling, dataset_kind
from moehelpers.evaluation.ceiling_mc import ML_GRID_MODEL, ml_grid_fit
from moehelpers.metrics import bootstrap_ci, paired_bootstrap, r2
from moehelpers.models.bins import physical_3x3
from moehelpers.models.peers import LABELS, CannonModel, CNNRegressor, EmulatorFit, bin_ivar
from moehelpers.models.peers._common import check_labels

__all__ = ["FAST", "FULL", "ML_GRID_MODEL", "PEER_MODELS", "GridTruth", "PeerLevels",
           "PeerResult", "PeerSettings", "evaluate_levels", "evaluate_peers", "grid_truth",
           "peer_inputs", "pull_stats", "settings_named"]

PEER_MODELS = ("cannon", "emulator", "cnn")
_SPLITS = ("train", "val", "test")


@dataclass(frozen=True)
class PeerSettings:
    """Sizes and budgets of the peer fits (one object, recorded with the results)."""

    bin_factor: int = 16
    cannon_order: int = 2
    n_random_starts: int = 0
    lm_iter: int = 20
    emulator_train_on: str = "noisy"
    emulator_hidden: int = 64
    emulator_epochs: int = 12
    emulator_batch: int = 1024
    emulator_lr: float = 3e-3
    cnn_bin_factor: int = 16
    cnn_channels: tuple[int, int] = (4, 8)
    cnn_kernel: int = 7
    cnn_pool: int = 4
    cnn_dense: tuple[int, int] = (64, 32)
    cnn_epochs: int = 4
    cnn_batch: int = 256
    cnn_lr: float = 1e-3
    cnn_patience: int = 3
    device: str = "auto"
    n_threads: int | None = None
    ml_iter: int = 6  # Gauss–Newton steps of the ML fit with the true grid model (full pixels)
    #: Train the CNN on a thread of its own (one torch thread unless ``n_threads`` says
    #: otherwise) while the numpy χ² fits (Cannon, ML fit) run on the other core; False: one
    #: model after another. Results do not depend on it at a given ``n_threads`` (tested).
    overlap_cnn: bool = True

    def as_dict(self) -> dict[str, Any]:
        """Plain dict for a record."""
        return asdict(self)


#: Defaults sized for ~2 minutes for four noise levels on 2 CPU cores (32k/1k/1k, 4096 px).
FAST = PeerSettings()
#: Full-size set: all pixels, Payne-sized emulator (2×300), StarNet-sized CNN (4/16, 256/128).
FULL = PeerSettings(bin_factor=1, n_random_starts=3, lm_iter=50, emulator_hidden=300,
                    emulator_epochs=300, emulator_batch=512, cnn_bin_factor=1,
                    cnn_channels=(4, 16), cnn_dense=(256, 128),
                    cnn_epochs=100, cnn_batch=128, cnn_patience=10, ml_iter=12)


@dataclass
class PeerResult:
    """Tables of :func:`evaluate_peers` (tidy pandas frames) and what produced them."""

    scores: pd.DataFrame
    per_bin: pd.DataFrame
    pulls: pd.DataFrame
    sigma_vs_crlb: pd.DataFrame | None
    predictions: pd.DataFrame
    timings: pd.DataFrame  # wall and process-CPU seconds per stage (CPU: all threads summed)
    settings: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class GridTruth:
    """The exact model of test spectra drawn from the embedded grid, and their bounds.

    Attributes
    ----------
    grid : SpectralGrid
        The interpolant the spectra were drawn from.
    kind : str
        Their flux kind (``"physical"`` or ``"normalized"``).
    crlb1_sigma : ndarray of shape (n_test,)
        Marginal Cramér–Rao σ(log g) of each test star at noise level 1 (scale by the level).
    """

    grid: SpectralGrid
    kind: str
    crlb1_sigma: np.ndarray


def grid_truth(test: Any, flux_kind: str) -> tuple[GridTruth | None, str]:
    """The true model of ``test`` for the ML row and the stated-σ check, or why there is none.

    Available only for spectra drawn from the embedded grid with their physical or
    normalised continuum: a ``"distorted"`` continuum is not part of the grid model, and
    spectra on other pixels (a user's BOSZ files) have no grid model at all.

    Returns
    -------
    truth : GridTruth or None
    reason : str
        Empty when ``truth`` is given, else one sentence for the page.
    """
    if flux_kind == "distorted":
        return None, "the per-star continuum distortion is not part of the grid model"
    try:
        grid = SpectralGrid.load()
        ceiling = compute_ceiling(test, grid, check_flux=False)
    except ShapeMismatchError:
        return None, "the test spectra are not on the embedded grid's pixels"
    except DataFileNotFoundError:
        return None, "the embedded grid file is missing"
    return GridTruth(grid, dataset_kind(test), np.sqrt(ceiling.crlb1)), ""


def settings_named(name: str, **changes: Any) -> PeerSettings:
    """:data:`FAST` (``"fast"``) or :data:`FULL` (``"full"``), with ``changes`` applied.

    Raises
    ------
    InvalidParameterError
        For another name or a field :class:`PeerSettings` does not have.
    """
    base = {"fast": FAST, "full": FULL}[check_choice("peer_settings", name, ("fast", "full"))]
    unknown = sorted(set(changes) - {f.name for f in dataclasses.fields(PeerSettings)})
    if unknown:
        raise InvalidParameterError(f"PeerSettings has no field(s) {unknown}.")
    return dataclasses.replace(base, **changes)


def peer_inputs(splits: Splits, noise_level: float, seed: int,
                noisy: Mapping[str, np.ndarray] | None = None) -> dict[str, Any]:
    """Keyword arguments of :func:`evaluate_peers` from loaded splits (frozen noisy copies).

    ``noisy`` passes copies already drawn (they must be ``noisy_splits(splits, noise_level,
    seed)``); default: draw them.
    """
    noisy = noisy if noisy is not None else noisy_splits(splits, noise_level, seed)
    return {"noisy": noisy, "clean_train": splits.train.flux,
            "error": {s: splits[s].error for s in _SPLITS},
            "labels": {s: splits[s].labels for s in _SPLITS}, "noise_level": noise_level}


def pull_stats(error: np.ndarray, sigma: np.ndarray) -> dict[str, float]:
    """Median, robust width (1.4826·MAD) and share |pull| < 1 of ``pull = error / σ``."""
    pull = np.asarray(error, dtype=np.float64) / np.asarray(sigma, dtype=np.float64)
    pull = pull[np.isfinite(pull)]
    med = float(np.median(pull))
    return {"pull_median": med, "pull_width": float(1.4826 * np.median(np.abs(pull - med))),
            "share_abs_lt_1": float(np.mean(np.abs(pull) < 1)), "n": int(pull.size)}


def _checked(noisy: Mapping[str, Any], error: Mapping[str, Any], labels: Mapping[str, Any],
             clean_train: Any, noise_level: float) -> tuple[dict, dict, dict, np.ndarray]:
    if isinstance(noise_level, bool) or not (isinstance(noise_level, int | float)
                                             and np.isfinite(noise_level) and noise_level > 0):
        raise InvalidParameterError(f"noise_level must be a finite number > 0 (the χ² weights "
                                    f"are 1/(noise_level·error)²); got {noise_level!r}.")
    for name, d in (("noisy", noisy), ("error", error), ("labels", labels)):
        missing = [s for s in _SPLITS if s not in d]
        if missing:
            raise InvalidParameterError(f"{name} needs entries {list(_SPLITS)}; missing "
                                        f"{missing}.")
    x = {s: np.asarray(noisy[s], dtype=np.float32) for s in _SPLITS}
    e = {s: np.asarray(error[s], dtype=np.float32) for s in _SPLITS}
    lab = {s: check_labels(labels[s], x[s].shape[0], f"labels['{s}']") for s in _SPLITS}
    for s in _SPLITS:
        if x[s].ndim != 2 or e[s].shape != x[s].shape or x[s].shape[1] != x["train"].shape[1]:
            raise ShapeMismatchError(f"noisy['{s}'] {x[s].shape} and error['{s}'] {e[s].shape} "
                                     "must be (n_stars, n_pixels) with the training pixels.")
    clean = np.asarray(clean_train, dtype=np.float32)
    if clean.shape != x["train"].shape:
        raise ShapeMismatchError(f"clean_train must have the shape of noisy['train'] "
                                 f"{x['train'].shape}; got {clean.shape}.")
    return x, e, lab, clean


def _ridge_init(xb: dict[str, np.ndarray], lab: dict[str, np.ndarray]) -> np.ndarray:
    """Ridge predictions of (Teff, log g, [M/H]) for the test stars, α chosen on validation."""
    out = np.empty((xb["test"].shape[0], len(LABELS)))
    for j in range(len(LABELS)):
        model = RidgeRegressor(alphas=DEFAULT_ALPHAS).fit(
            xb["train"], lab["train"][:, j], X_val=xb["val"], y_val=lab["val"][:, j])
        out[:, j] = model.predict(xb["test"])
    return out


def _fit_one(name: str, st: PeerSettings, seed: int, xb: dict, wb: dict, lab: dict,
             init: np.ndarray, clean: np.ndarray, e: dict, x: dict,
             noise_level: float) -> tuple[np.ndarray, np.ndarray | None, dict[str, float]]:
    """Test log g, stated σ of every label (or None), wall and CPU seconds of fit / predict."""
    t0, c0 = time.perf_counter(), time.process_time()
    if name == "cannon":
        model: Any = CannonModel(st.cannon_order, n_random_starts=st.n_random_starts,
                                 n_iter=st.lm_iter, seed=seed).fit(xb["train"], lab["train"],
                                                                   wb["train"])
    elif name == "emulator":
        noiseless = st.emulator_train_on == "noiseless"
        model = EmulatorFit(st.emulator_train_on, hidden=st.emulator_hidden, lr=st.emulator_lr,
                            batch_size=st.emulator_batch, max_epochs=st.emulator_epochs,
                            n_random_starts=st.n_random_starts, n_iter=st.lm_iter, seed=seed,
                            device=st.device, n_threads=st.n_threads)
        model.fit(bin_pixels(clean, st.bin_factor) if noiseless else xb["train"],
                  lab["train"], None if noiseless else wb["train"], val_flux=xb["val"],
                  val_labels=lab["val"], val_ivar=wb["val"])
    else:
        model = CNNRegressor(bin_factor=st.cnn_bin_factor, channels=st.cnn_channels,
                             kernel=st.cnn_kernel, pool=st.cnn_pool, dense=st.cnn_dense,
                             lr=st.cnn_lr, batch_size=st.cnn_batch, max_epochs=st.cnn_epochs,
                             patience=st.cnn_patience, seed=seed, device=st.device,
                             n_threads=st.n_threads)
        model.fit(clean, e["train"], lab["train"][:, 1], noise_level, val_flux=x["val"],
                  val_y=lab["val"][:, 1])
    t1, c1 = time.perf_counter(), time.process_time()
    if name == "cnn":
        pred, sigma = model.predict(x["test"]), None
    else:
        res = model.predict_with_uncertainty(xb["test"], wb["test"], init=init)
        pred, sigma = res.labels, res.sigma
    return pred, sigma, {"fit_s": t1 - t0, "predict_s": time.perf_counter() - t1,
                         "fit_cpu_s": c1 - c0, "predict_cpu_s": time.process_time() - c1}


def evaluate_peers(noisy: Mapping[str, Any], clean_train: Any, error: Mapping[str, Any],
                   labels: Mapping[str, Any], noise_level: float, *, baseline: Any,
                   baseline_name: str = "baseline", init: Any = None, crlb_sigma: Any = None,
                   truth: GridTruth | None = None, models: Sequence[str] = PEER_MODELS,
                   settings: PeerSettings = FAST, n_boot: int = 1000,
                   seed: int = 0) -> PeerResult:
    """Fit the peer families at one noise level and score them against a baseline.

    Parameters
    ----------
    noisy : mapping {"train", "val", "test"} → ndarray (n, n_pixels)
        Noisy flux of each split at ``noise_level`` (the frozen copies, e.g. ``noisy_splits``).
    clean_train : ndarray (n_train, n_pixels)
        Noiseless training flux (CNN noise redraws; the emulator's ``"noiseless"`` bound).
    error : mapping of split → ndarray (n, n_pixels)
        1σ per pixel at noise level 1: χ² weights and noise draws only, never features.
    labels : mapping of split → DataFrame with T_eff, log_g, M_H (or (n, 3) arrays)
    noise_level : float > 0
    baseline : ndarray (n_test,)
        A baseline's test log g (e.g. global Ridge), compared by paired bootstrap.
    init : ndarray (n_test, 3), optional
        Starting labels for the χ² fits; default Ridge predictions (α chosen on val).
    crlb_sigma : ndarray (n_test,), optional
        Per-star Cramér–Rao σ of log g, to compare the stated σ with (default: from
        ``truth``, scaled by ``noise_level``).
    truth : GridTruth, optional
        The exact model of the test spectra (:func:`grid_truth`): adds the row
        :data:`ML_GRID_MODEL`, a maximum-likelihood fit of every test spectrum at full
        resolution with the grid itself as the model (the check of the ceiling: efficient
        at high SNR, with honest stated σ), scored, binned and pulled like the peers.
    models : subset of ("cannon", "emulator", "cnn")
    settings : PeerSettings, default=FAST
    n_boot, seed : bootstrap resamples and the seed of bootstrap and model fits.

    Returns
    -------
    PeerResult
    """
    unknown = [m for m in models if m not in PEER_MODELS]
    if unknown or not models:
        raise InvalidParameterError(f"models must be a non-empty subset of {list(PEER_MODELS)}; "
                                    f"got {list(models)}.")
    if not isinstance(settings, PeerSettings):
        raise InvalidParameterError("settings must be a PeerSettings (e.g. FAST or FULL, or "
                                    "dataclasses.replace(FAST, bin_factor=4)).")
    x, e, lab, clean = _checked(noisy, error, labels, clean_train, noise_level)
    y = lab["test"][:, 1]
    base = np.asarray(baseline, dtype=np.float64)
    if base.shape != y.shape:
        raise ShapeMismatchError(f"baseline must hold one log g per test star {y.shape}; got "
                                 f"{base.shape}.")
    k = settings.bin_factor
    t0, c0 = time.perf_counter(), time.process_time()
    xb = {s: bin_pixels(x[s], k) for s in _SPLITS}
    wb: dict[str, np.ndarray] = {}  # χ² weights of the binned pixels, formed on a fit's demand
    init_source = "given"
    if init is None:
        init, init_source = _ridge_init(xb, lab), "ridge"
    init = check_labels(init, y.size, "init")
    timings = [{"model": "ridge init" if init_source == "ridge" else "prepare",
                "fit_s": time.perf_counter() - t0, "predict_s": 0.0,
                "fit_cpu_s": time.process_time() - c0, "predict_cpu_s": 0.0}]
    names = list(models) + ([ML_GRID_MODEL] if truth is not None else [])

    # every array a fit reads (binned copies derive from these by the keyed code): a rerun
    # with the same inputs, settings and code reads each model's outputs (engine.fitted)
    inputs = {**{f"{k}_{sp}": d[sp] for k, d in (("x", x), ("e", e), ("lab", lab))
                 for sp in _SPLITS}, "clean": clean, "init": init}

    def fit(name: str, st: PeerSettings) -> tuple[np.ndarray, np.ndarray | None, dict]:
        if name != ML_GRID_MODEL:
            if not wb and name != "cnn":  # the main thread's fits only (the CNN needs none)
                wb.update({s: bin_ivar(np.float32(noise_level) * e[s], k) for s in _SPLITS})
            return _fit_one(name, st, seed, xb, wb, lab, init, clean, e, x, noise_level)
        assert truth is not None
        t0, c0 = time.perf_counter(), time.process_time()
        pred, sigma = ml_grid_fit(truth.grid, x["test"], np.float32(noise_level) * e["test"],
                                  kind=truth.kind, n_iter=st.ml_iter)
        return pred, sigma, {"fit_s": 0.0, "predict_s": time.perf_counter() - t0,
                             "fit_cpu_s": 0.0, "predict_cpu_s": time.process_time() - c0}

    def run(name: str, st: PeerSettings) -> tuple[np.ndarray, np.ndarray | None, dict]:
        def compute() -> dict[str, np.ndarray]:
            pred, sigma, times = fit(name, st)
            got = {"pred": pred, **{k: np.float64(v) for k, v in times.items()}}
            return got if sigma is None else {**got, "sigma": sigma}

        if name == ML_GRID_MODEL:
            assert truth is not None
            g = truth.grid
            used: dict[str, Any] = {"x_test": x["test"], "e_test": e["test"], "wave": g.wave,
                                    "teff": g.teff, "logg": g.logg, "mh": g.mh,
                                    "flux_norm": g.flux_norm, "log10_cont": g.log10_cont,
                                    **({} if g.filled is None else {"filled": g.filled})}
            params = {"kind": truth.kind, "n_iter": st.ml_iter}
        else:
            used, params = inputs, {"settings": st.as_dict(), "seed": seed}
        got = cached_outputs(f"peer:{name}", used, {**params, "noise_level": noise_level},
                             compute, torch=name in ("emulator", "cnn"))
        times = {k: float(got[k]) for k in ("fit_s", "predict_s", "fit_cpu_s",
                                            "predict_cpu_s")}
        return got["pred"], got.get("sigma"), times

    out: dict[str, tuple[np.ndarray, np.ndarray | None, dict]] = {}
    numpy_fits = [n for n in names if n in ("cannon", ML_GRID_MODEL)]
    if settings.overlap_cnn and "cnn" in names and numpy_fits:
        # torch models first (the emulator), then the CNN on its own thread beside the numpy
        # χ² fits, each side on one core: no two torch users at once (global seed, threads)
        for name in (n for n in names if n not in numpy_fits and n != "cnn"):
            out[name] = run(name, settings)
        cnn_settings = dataclasses.replace(settings, n_threads=settings.n_threads or 1)
        with ThreadPoolExecutor(max_workers=1) as pool:
            cnn = pool.submit(run, "cnn", cnn_settings)
            with threadpool_limits(limits=1, user_api="blas"):
                for name in numpy_fits:
                    out[name] = run(name, settings)
            out["cnn"] = cnn.result()
    else:
        for name in names:
            out[name] = run(name, settings)
    preds: dict[str, np.ndarray] = {}
    sigmas: dict[str, np.ndarray] = {}
    for name in names:
        pred, sigma, times = out[name]
        preds[name] = pred[:, 1] if pred.ndim == 2 else pred
        if sigma is not None:
            sigmas[name] = sigma
            preds[name + "_labels"] = pred
        timings.append({"model": name, **times})
    score_rows = []
    for name in [baseline_name, *names]:
        p = base if name == baseline_name else preds[name]
        ci = bootstrap_ci(y, p, n_boot=n_boot, seed=seed)
        row = {"model": name, "r2": ci.point, "r2_lo": ci.ci_low, "r2_hi": ci.ci_high,
               "n": ci.n, "noise_level": noise_level}
        if name != baseline_name:
            pb = paired_bootstrap(y, p, base, n_boot=n_boot, seed=seed)
            row.update(delta_r2=pb.difference, delta_lo=pb.ci_low, delta_hi=pb.ci_high,
                       frac_le_zero=pb.frac_le_zero)
        score_rows.append(row)
    scheme = physical_3x3()
    frame = pd.DataFrame(lab["test"], columns=list(LABELS))
    bins = scheme.assign(frame)
    bin_rows = []
    for name in [baseline_name, *names]:
        p = base if name == baseline_name else preds[name]
        for b, bname in enumerate(scheme.bin_names()):
            sel = bins == b
            score = float(r2(y[sel], p[sel])) if sel.sum() >= 2 else float("nan")
            bin_rows.append({"model": name, "bin": b, "name": bname, "n": int(sel.sum()),
                             "r2": score})
    pull_rows, crlb_rows = [], []
    if crlb_sigma is None and truth is not None:
        crlb_sigma = truth.crlb1_sigma * noise_level
    crlb = None if crlb_sigma is None else np.asarray(crlb_sigma, dtype=np.float64)
    if crlb is not None and crlb.shape != y.shape:
        raise ShapeMismatchError(f"crlb_sigma must hold one σ per test star {y.shape}; got "
                                 f"{crlb.shape}.")
    for name, sig in sigmas.items():
        err = preds[name + "_labels"] - lab["test"]
        for j, label in enumerate(LABELS):
            pull_rows.append({"model": name, "label": label, **pull_stats(err[:, j], sig[:, j]),
                              "median_sigma": float(np.median(sig[:, j]))})
        if crlb is not None:
            ratio = sig[:, 1] / crlb
            crlb_rows.append({"model": name, "median_sigma": float(np.median(sig[:, 1])),
                              "median_crlb": float(np.median(crlb)),
                              "median_ratio": float(np.median(ratio)),
                              "share_below_crlb": float(np.mean(ratio < 1)),
                              "rms_error": float(np.sqrt(np.mean(err[:, 1] ** 2)))})
    pred_frame = pd.DataFrame({"test_index": np.arange(y.size), "log_g": y, baseline_name: base,
                               **{n: preds[n] for n in names},
                               **{f"{n}_sigma": s[:, 1] for n, s in sigmas.items()}})
    return PeerResult(
        scores=pd.DataFrame(score_rows), per_bin=pd.DataFrame(bin_rows),
        pulls=pd.DataFrame(pull_rows),
        sigma_vs_crlb=pd.DataFrame(crlb_rows) if crlb is not None else None,
        predictions=pred_frame, timings=pd.DataFrame(timings),
        settings={**settings.as_dict(), "init": init_source, "seed": seed, "n_boot": n_boot,
                  "models": list(models), "ml_grid": truth is not None})



@dataclass
class PeerLevels:
    """:class:`PeerResult` tables of several noise levels, stacked (``noise_level`` column)."""

    scores: pd.DataFrame
    per_bin: pd.DataFrame
    pulls: pd.DataFrame
    sigma_vs_crlb: pd.DataFrame | None
    timings: pd.DataFrame
    settings: dict[str, Any] = field(default_factory=dict)

    def seconds_per_model(self) -> dict[str, float]:
        """Wall seconds (fit + predict) per model, summed over the levels (for provenance)."""
        t = self.timings.assign(s=self.timings["fit_s"] + self.timings["predict_s"])
        return {str(k): float(v) for k, v in t.groupby("model", sort=False)["s"].sum().items()}


def evaluate_levels(splits: Splits, levels: Sequence[float], *,
                    noisy: Callable[[float], Mapping[str, np.ndarray]], seed: int,
                    truth: GridTruth | None = None, models: Sequence[str] = PEER_MODELS,
                    settings: PeerSettings = FAST, n_boot: int = 1000, boot_seed: int = 0,
                    release: Callable[[], None] | None = None) -> PeerLevels:
    """The global Ridge and the peers at every level on the same test stars.

    At each level (all > 0: the χ² weights need noise) the global Ridge (α on validation)
    is the paired baseline of :func:`evaluate_peers`.

    Parameters
    ----------
    splits : Splits
    levels : sequence of float > 0
    noisy : callable level → {"train", "val", "test"} noisy flux
        The frozen copies (``noisy_splits(splits, level, seed)``, e.g. a notebook context's
        ``noisy``).
    seed : int
        The noise seed of ``noisy``.
    truth, models, settings, n_boot : see :func:`evaluate_peers`.
    boot_seed : int
        Seed of the bootstrap and of the model fits.
    release : callable, optional
        Called after each level (e.g. to free that level's noisy copies).

    Returns
    -------
    PeerLevels
    """
    bad = [lv for lv in levels if not lv > 0]
    if bad or not levels:
        raise InvalidParameterError(f"levels must be a non-empty list of noise levels > 0; "
                                    f"got {list(levels)}.")
    parts: dict[str, list[pd.DataFrame]] = {k: [] for k in
                                            ("scores", "per_bin", "pulls", "crlb", "timings")}
    settings_used: dict[str, Any] = {}
    for level in levels:
        X = noisy(level)
        # the same noisy training flux as MVP-0's global Ridge: its path is shared (store)
        ridge = cached_ridge_fit(X["train"], splits.train.y, X["val"], splits.val.y)
        res = evaluate_peers(**peer_inputs(splits, level, seed, noisy=X),
                             baseline=ridge.predict(X["test"]), baseline_name="global Ridge",
                             truth=truth, models=models, settings=settings, n_boot=n_boot,
                             seed=boot_seed)
        parts["scores"].append(res.scores)
        for key, tab in (("per_bin", res.per_bin), ("pulls", res.pulls),
                         ("crlb", res.sigma_vs_crlb), ("timings", res.timings)):
            if tab is not None:
                parts[key].append(tab.assign(noise_level=level))
        settings_used = res.settings
        if release is not None:
            release()
    stacked = {k: pd.concat(v, ignore_index=True) if v else None for k, v in parts.items()}
    return PeerLevels(stacked["scores"], stacked["per_bin"], stacked["pulls"],
                      stacked["crlb"], stacked["timings"], settings_used)

