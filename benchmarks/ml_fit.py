"""Benchmark: one Gauss–Newton step of the maximum-likelihood fit with the true grid model.

The peers page (notebook 20) fits every test spectrum at four noise levels with the grid as
its model (``evaluation.ceiling_mc.ml_grid_fit``); each step forms the flux Jacobian
(``ceiling.flux_jacobian``) and the per-star Fisher matrices (``ceiling.fisher``). Two
(N, P, 3) float64 temporaries dominated: the masked copies of the Jacobian in ``fisher``
(now only when a pixel is bad) and the out-of-place median normalisation of the Jacobian
(now in place). In one process, on the embedded test stars at noise 0.2, this times

* ``fisher`` against its masked path (``ceiling._fisher_masked``) on all-valid pixels, and
* the in-place normalisation against the expression it replaced,

checks that each pair gives identical bits, and times ``ml_grid_fit`` itself::

    python benchmarks/ml_fit.py [--n-stars 1000] [--level 0.2] [--repeats 3] [--data-path DIR]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine_info, write_record

from moehelpers.data.grid import SpectralGrid
from moehelpers.data.splits import load_splits
from moehelpers.evaluation import ceiling
from moehelpers.evaluation.ceiling_mc import ml_grid_fit


def _best(fn: Callable[[], Any], repeats: int) -> tuple[float, Any]:
    """Smallest wall time of ``repeats`` calls, and the last result."""
    times, out = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), out


def _normalise_out_of_place(flux: np.ndarray, jac: np.ndarray, med: np.ndarray,
                            dmed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The median normalisation as ``flux_jacobian`` wrote it before (the baseline)."""
    jac = jac / med[:, None, None] - flux[:, :, None] * (dmed / med[:, None] ** 2)[:, None]
    return flux / med[:, None], jac * ceiling.LABEL_SCALE


def _normalise_in_place(flux: np.ndarray, jac: np.ndarray, med: np.ndarray,
                        dmed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """What ``flux_jacobian`` does now: ``ceiling._divide_by_median``, then the label scale."""
    ceiling._divide_by_median(flux, jac, med, dmed)
    jac *= ceiling.LABEL_SCALE
    return flux, jac


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n-stars", type=int, default=1000, help="test stars fitted")
    ap.add_argument("--level", type=float, default=0.2)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--repeats", type=int, default=3, help="calls timed (the fastest is kept)")
    ap.add_argument("--data-path", default="", help="dataset drawn from the embedded grid")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args(argv)
    machine = machine_info()
    grid = SpectralGrid.load()
    test = load_splits(args.data_path, n_test=args.n_stars).test
    lab = [test.labels[k].to_numpy() for k in ceiling.LABEL_NAMES]
    sigma = args.level * test.error.astype(np.float64)

    # the raw interpolated flux and Jacobian of one step, before the median normalisation
    flux0, jac0 = ceiling._grid_flux_jacobian(grid, lab, "physical")
    p = flux0.shape[1]
    w_half = min(ceiling.MEDIAN_WINDOW, p // 2)
    med = np.median(flux0, axis=1)
    near = np.argsort(flux0, axis=1)[:, p // 2 - w_half:p // 2 + w_half]
    dmed = jac0[np.arange(flux0.shape[0])[:, None], near, :].mean(axis=1)
    t_old_norm, (f_old, j_old) = _best(
        lambda: _normalise_out_of_place(flux0.copy(), jac0.copy(), med, dmed), args.repeats)
    t_new_norm, (f_new, j_new) = _best(
        lambda: _normalise_in_place(flux0.copy(), jac0.copy(), med, dmed), args.repeats)
    # the copies are part of both timings; time them alone and take them out
    t_copy, _ = _best(lambda: (flux0.copy(), jac0.copy()), args.repeats)
    norm_identical = bool(np.array_equal(f_old, f_new) and np.array_equal(j_old, j_new))

    with np.errstate(divide="ignore"):
        w = 1.0 / sigma**2
    t_masked, (F_masked, _) = _best(lambda: ceiling._fisher_masked(j_new, sigma, w),
                                    args.repeats)
    t_fast, (F_fast, _) = _best(lambda: ceiling.fisher(j_new, sigma), args.repeats)
    fisher_identical = bool(np.array_equal(F_masked, F_fast))

    x = test.noisy(args.level, args.seed)
    t_fit, _ = _best(lambda: ml_grid_fit(grid, x, args.level * test.error, n_iter=6), 1)

    old_norm, new_norm = t_old_norm - t_copy, t_new_norm - t_copy
    print(f"{flux0.shape[0]} stars × {p} pixels at noise {args.level:g}")
    print(f"fisher: masked {t_masked:.3f} s · all-valid path {t_fast:.3f} s "
          f"({t_masked / t_fast:.2f}×) · identical bits: {fisher_identical}")
    print(f"normalisation: out of place {old_norm:.3f} s · in place {new_norm:.3f} s "
          f"({old_norm / new_norm:.2f}×) · identical bits: {norm_identical}")
    print(f"ml_grid_fit (6 Gauss–Newton steps): {t_fit:.2f} s")
    record = {
        "machine": machine, "n_stars": int(flux0.shape[0]), "n_pixels": int(p),
        "noise_level": args.level,
        "seconds": {"fisher_masked": t_masked, "fisher": t_fast,
                    "normalise_out_of_place": old_norm, "normalise_in_place": new_norm,
                    "ml_grid_fit": t_fit},
        "ratio_fisher": t_masked / t_fast, "ratio_normalise": old_norm / new_norm,
        "identical": fisher_identical and norm_identical}
    write_record("ml_fit", record, args.out)
    if not record["identical"]:
        raise SystemExit("the faster path changed a result")
    return record


if __name__ == "__main__":
    main()
