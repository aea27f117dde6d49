"""Benchmark: the dual (n × n kernel) solve of a conditional Ridge against the primal one.

With fewer training rows n than features D = (order+1)·P, ``ConditionalRidge`` (and
``ModulatedRidge``, ``RidgeRegressor.fit_stats(train=...)``) solve ``(K + αI) c = y_c`` with
the kernel ``K = X_c X_cᵀ`` instead of the D × D Gram system: one n × n Cholesky per α
instead of one D × D. That is what makes small runs (the tests' tiny notebooks, a quick look
in JupyterLab) cheap; at the book's sizes (n ≥ D) the primal solve is kept.

In one process, for an order-2 model on random spectrum-like rows of P pixels, this prints
the primal fit (moment statistics already accumulated, as the notebooks share them) and the
dual fit from the same rows, their ratio, whether both choose the same α on validation and
the largest difference of their validation predictions relative to the predictions' spread::

    python benchmarks/dual_solve.py [--n 300 1000 3000] [--p 4096] [--order 2]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine_info, write_record

from moehelpers.models.conditional import ConditionalRidge, standardized_moments

ALPHAS = [1e-3, 1e-2, 1e-1, 1.0, 10.0, 100.0]


def _data(n: int, p: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    labels = rng.normal(size=(n, 2))
    lines = rng.normal(size=(2, p)) * 0.02
    X = (1.0 + labels @ lines + 0.01 * rng.normal(size=(n, p))).astype(np.float32)
    m = labels[:, 1]
    y = labels[:, 0] + 0.3 * m * labels[:, 0] + 0.05 * rng.normal(size=n)
    return X, y, m


def one_size(n: int, p: int, order: int) -> dict[str, Any]:
    X, y, m = _data(n, p, 0)
    Xv, yv, mv = _data(300, p, 1)
    moments, mean, sd = standardized_moments(X, y, m, 2 * order)
    t0 = time.perf_counter()
    primal = ConditionalRidge(order, ALPHAS, alpha_search="walk").fit_moments(
        moments, mean, sd, Xv, yv, mv)
    t_primal = time.perf_counter() - t0
    t0 = time.perf_counter()
    dual = ConditionalRidge(order, ALPHAS, alpha_search="walk").fit_moments(
        moments, mean, sd, Xv, yv, mv, train=(X, y, m))
    t_dual = time.perf_counter() - t0
    pp, pd = primal.predict(Xv, mv), dual.predict(Xv, mv)
    rel = float(np.max(np.abs(pp - pd)) / np.std(pp))
    return {"n": n, "p": p, "features": (order + 1) * p, "primal_s": t_primal,
            "dual_s": t_dual, "ratio": t_primal / t_dual,
            "same_alpha": primal.alpha_ == dual.alpha_, "max_rel_prediction_diff": rel}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, nargs="+", default=[300, 1000, 3000])
    ap.add_argument("--p", type=int, default=4096)
    ap.add_argument("--order", type=int, default=2)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args(argv)
    machine = machine_info()
    rows = []
    for n in args.n:
        if n >= (args.order + 1) * args.p:
            print(f"n={n}: not fewer rows than features; the primal solve is used, skipped")
            continue
        r = one_size(n, args.p, args.order)
        rows.append(r)
        print(f"n={n:>6} × D={r['features']}: primal {r['primal_s']:.2f} s · dual "
              f"{r['dual_s']:.3f} s ({r['ratio']:.0f}×) · same α: {r['same_alpha']} · max "
              f"|Δ prediction| / sd {r['max_rel_prediction_diff']:.1e}")
    record = {"machine": machine, "order": args.order, "sizes": rows}
    path = write_record("dual_solve", record, args.out)
    print(f"record: {path}")
    return record


if __name__ == "__main__":
    main()
