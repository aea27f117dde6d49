"""Mixed-precision kernels of the Ridge engine (private): float32 BLAS, float64 results.

An opt-in ``precision`` of :func:`moehelpers.engine.ridge.grouped_ridge_paths` and
:func:`~moehelpers.engine.ridge.ridge_path_from_stats` runs the costly kernels in float32,
where this machine's BLAS is about twice as fast, and keeps every result in float64.
``"mixed"`` does the Cholesky solves so (exact to float64 rounding of the refinement);
``"float32"`` also the Gram/kernel products (faster, but at the smallest α of a path its
predictions differ from float64 ones by ~1e-4 relative on spectra; measured by
``benchmarks/ridge_path.py``).

* **Gram update** (``"float32"``): a chunk is centred on the reference row in float32
  (which removes the continuum ≈ 1 that makes a raw float32 Gram lose accuracy) and its
  product ``uᵀu`` (BLAS ``ssyrk``) is added to a float64 Gram; rounding is therefore that
  of one chunk (≤ ~4k rows) in float32, never of the whole sum.
* **Cholesky solves**: ``A + αI`` is factorised in float32 and the float64 solution is
  reached by iterative refinement (residual ``b − (A + αI) x`` in float64 by ``dsymv``). The
  refinement contracts only when ``κ(A + αI) · 2⁻²⁴ ≪ 1``; the α are processed from large
  to small and, as soon as refinement stalls (or the float32 factorisation fails), this α
  and every smaller one are solved by a float64 Cholesky. The answer is the float64 one to
  the refinement tolerance either way.

Measured (2-core dev machine, spectral-grid build running on both cores, one BLAS thread):
a 3500 × 3500 dual kernel of 4096-pixel spectra, 6 α from 1e-3 to 100: float64 Cholesky
10.6 s, mixed 10.1 s — ``spotrf`` was only 1.5× faster than ``dpotrf`` and the 3–5 refinement
steps (``dsymv`` + two float32 ``trsv``, memory-bound) took 0.3–0.8 s per α. Refinement
converged at every α there. So the default stays ``"float64"``; ``"mixed"`` pays off where
float32 BLAS-3 is much faster than float64 (e.g. wide-SIMD CPUs, accelerators).
"""

from __future__ import annotations

import numpy as np
import scipy.linalg
from scipy.linalg import blas, lapack

from moehelpers.engine import ledger as _ledger

__all__ = ["cholesky_solve_mixed", "f64_cholesky_solve", "ssyrk_add"]

PRECISIONS = ("float64", "mixed", "float32")
# Refinement stops when the correction is below this fraction of the solution (the float64
# Cholesky solution itself is no closer than κ·2⁻⁵³ ≈ 1e-8 at the smallest α of a path).
_REFINE_TOL = 1e-10
_REFINE_MAX_ITER = 6
_REFINE_MIN_CONTRACTION = 0.25  # a step must shrink the correction at least 4×


def ssyrk_add(gram_f: np.ndarray, u32: np.ndarray, alpha: float = 1.0,
              work: np.ndarray | None = None) -> np.ndarray:
    """Add ``alpha · u32ᵀ u32`` (float32 ``ssyrk``) to the upper triangle of float64 ``gram_f``.

    ``u32`` is a C-contiguous float32 block (n_rows, n_features); ``work`` an optional
    Fortran float32 (n_features, n_features) scratch reused across chunks, zero-initialised
    (``ssyrk`` never writes its lower triangle, which is added too and must stay finite).
    """
    if u32.shape[0] == 0:
        return gram_f
    u32 = np.ascontiguousarray(u32, dtype=np.float32)
    p = u32.shape[1]
    if work is None or work.shape != (p, p):
        work = np.zeros((p, p), dtype=np.float32, order="F")
    with _ledger.kernel("gram32", _ledger.syrk_flops(*u32.shape)):
        out = blas.ssyrk(alpha, u32.T, beta=0.0, c=work, trans=0, lower=0, overwrite_c=1)
    gram_f += out  # the lower triangle of ``out`` is garbage; it is never read
    return gram_f


def f64_cholesky_solve(src: np.ndarray, lower: bool, alpha: float, rhs: np.ndarray,
                       work: np.ndarray, diag: np.ndarray) -> np.ndarray | None:
    """Float64 solution of ``(src + αI) x = rhs`` by one Cholesky, ``None`` if it fails.

    ``src`` is Fortran-ordered with the matrix in its ``lower`` (or upper) triangle; ``work``
    a Fortran scratch of the same shape (overwritten); ``diag`` is ``arange(n)``.
    """
    np.copyto(work, src)
    work[diag, diag] += alpha
    n_rhs = 1 if np.ndim(rhs) == 1 else np.shape(rhs)[1]
    with _ledger.kernel("cholesky64", _ledger.cholesky_flops(src.shape[0], n_rhs)):
        try:
            factor = scipy.linalg.cho_factor(work, lower=lower, overwrite_a=True,
                                             check_finite=False)
        except np.linalg.LinAlgError:
            return None
        return scipy.linalg.cho_solve(factor, rhs, check_finite=False)


def _refine(src: np.ndarray, lower: bool, alpha: float, rhs: np.ndarray,
            c32: np.ndarray) -> np.ndarray | None:
    """Float64 solution of ``(A + αI) x = rhs`` from the float32 factor ``c32``; ``None`` if
    refinement does not contract."""
    def solve32(r: np.ndarray) -> np.ndarray:
        scale = float(np.max(np.abs(r))) or 1.0
        z, info = lapack.spotrs(c32, (r / scale).astype(np.float32), lower=lower)
        return z.astype(np.float64) * scale if info == 0 else np.full_like(r, np.nan)

    x = solve32(rhs)
    prev = np.inf
    for _ in range(_REFINE_MAX_ITER):
        resid = rhs - blas.dsymv(1.0, src, x, lower=lower) - alpha * x
        dx = solve32(resid)
        size = float(np.linalg.norm(dx))
        if not np.isfinite(size) or size > _REFINE_MIN_CONTRACTION * prev:
            return None
        x += dx
        if size <= _REFINE_TOL * float(np.linalg.norm(x)):
            return x
        prev = size
    return None


def cholesky_solve_mixed(a: np.ndarray, rhs: np.ndarray, alphas: np.ndarray
                         ) -> np.ndarray | None:
    """Solve ``(a + αI) x = rhs`` for every α (only ``a``'s upper triangle is read).

    Float32 factorisation + float64 refinement from the largest α down; float64 Cholesky
    from the first α where that stalls. ``None`` when a float64 factorisation fails too (the
    caller then falls back to the eigen path).
    """
    out = np.empty((alphas.shape[0], a.shape[0]))
    lower = bool(a.flags.c_contiguous)
    src = np.asfortranarray(a.T if lower else a)  # a plain view when a is contiguous
    diag = np.arange(a.shape[0])
    work32 = np.empty(src.shape, dtype=np.float32, order="F")
    work64: np.ndarray | None = None
    use32 = True
    for i in np.argsort(-alphas, kind="stable"):
        alpha = float(alphas[i])
        x = None
        if use32:
            np.copyto(work32, src, casting="same_kind")
            work32[diag, diag] += np.float32(alpha)
            with _ledger.kernel("cholesky32", _ledger.cholesky_flops(src.shape[0], 0)):
                c32, info = lapack.spotrf(work32, lower=lower, overwrite_a=1, clean=0)
            x = _refine(src, lower, alpha, rhs, c32) if info == 0 else None
            use32 = x is not None
        if x is None:
            if work64 is None:
                work64 = np.empty_like(src, order="F")
            x = f64_cholesky_solve(src, lower, alpha, rhs, work64, diag)
            if x is None:
                return None
        out[i] = x
    return out
