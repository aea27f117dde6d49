"""Array-level kernels and input checks of the Ridge engine (private; no estimators).

The kernels take arrays that the caller has already checked and return float64; the
``check_*`` functions raise :mod:`moehelpers.errors` exceptions that name the value received
and the fix. The public layer is :mod:`moehelpers.engine.ridge`.

Decompose/solve pairs
---------------------
``eigen_decompose`` + ``solve_eigen_primal`` / ``solve_eigen_dual``: one eigendecomposition,
every α by reweighting eigenvalues. ``solve_cholesky_primal`` / ``solve_cholesky_dual``: one
Cholesky factorisation per α. ``choose_method`` picks between them by cost.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.linalg import blas

from moehelpers.engine import ledger as _ledger
from moehelpers.engine import mixed as _mixed
from moehelpers.errors import InvalidParameterError, NonFiniteDataError

__all__ = [
    "accumulate_rows",
    "check_chunk_size",
    "check_precision",
    "choose_method",
    "default_chunk_size",
    "dual_coefs",
    "eigen_decompose",
    "solve_cholesky_dual",
    "solve_cholesky_primal",
    "solve_eigen_dual",
    "solve_eigen_primal",
    "symmetrize_upper",
    "syrk_update",
]

# numpy's eigh (LAPACK syevd) of an m×m symmetric matrix costs as much as 10–20 Cholesky
# factorisations of the same matrix (measured on the 2-core dev machine: m = 1024, one
# thread → 0.26 s vs 0.016 s; m = 2048, two threads → 1.2 s vs 0.12 s). A path over up to
# this many α is therefore cheaper as one Cholesky per α; longer grids amortise one eigh.
CHOLESKY_MAX_ALPHAS = 10

# Chunks of ~64 MiB of float64 keep the BLAS-3 update efficient (measured: syrk throughput
# drops by 2× below ~1000 rows at P = 2048) without holding a second copy of a large input.
_CHUNK_BYTES = 64 * 2**20
_MIN_CHUNK_ROWS = 1024


def default_chunk_size(n_features: int) -> int:
    """Rows per chunk so that one float64 chunk holds about 64 MiB."""
    return max(_MIN_CHUNK_ROWS, _CHUNK_BYTES // (8 * max(n_features, 1)))


def syrk_update(gram_f: np.ndarray, u: np.ndarray, alpha: float = 1.0) -> np.ndarray:
    """Add ``alpha · uᵀu`` to the upper triangle of the Fortran-ordered ``gram_f`` in place.

    ``u`` is a C-contiguous float64 block of shape (n_rows, n_features); ``u.T`` is then a
    Fortran-contiguous (n_features, n_rows) view, so BLAS ``dsyrk`` reads it without a copy
    and does half the flops of a general product. Only the upper triangle is updated; call
    :func:`symmetrize_upper` where a full matrix is needed.
    """
    if u.shape[0] == 0:
        return gram_f
    u = np.ascontiguousarray(u)
    with _ledger.kernel("gram64", _ledger.syrk_flops(*u.shape)):
        out = blas.dsyrk(alpha, u.T, beta=1.0, c=gram_f, trans=0, lower=0, overwrite_c=1)
    if out is not gram_f:  # f2py copied (should not happen for a Fortran float64 array)
        gram_f[...] = out
    return gram_f


def symmetrize_upper(a: np.ndarray, block: int = 512) -> np.ndarray:
    """The symmetric matrix whose upper triangle is that of ``a`` (lower part ignored).

    The lower triangle is filled from the upper one block column by block column (each
    value copied, so the result equals ``triu(a) + triu(a, 1).T`` bit for bit) with one
    full-size allocation instead of three (2.2× faster at 4096², measured).
    """
    out = np.triu(a)
    m = out.shape[0]
    for j in range(0, m, block):
        k = min(j + block, m)
        diag = out[j:k, j:k]
        diag += np.tril(diag.T, -1)
        out[k:, j:k] = out[j:k, k:].T
    return out


def choose_method(method: str, n_alphas: int) -> str:
    """Resolve ``method="auto"`` to ``"cholesky"`` (short grids) or ``"eigen"``."""
    if method != "auto":
        return method
    return "cholesky" if n_alphas <= CHOLESKY_MAX_ALPHAS else "eigen"


def eigen_decompose(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Eigendecompose a symmetric positive semi-definite matrix.

    Only the upper triangle of ``a`` is read. Eigenvalues below zero can only be rounding
    error (``a`` is a Gram or kernel matrix, PSD by construction); they are set to zero so
    that ``λ + α > 0`` for every α > 0.
    """
    with _ledger.kernel("eigh", _ledger.eigh_flops(a.shape[0])):
        evals, evecs = np.linalg.eigh(a, UPLO="U")
    np.clip(evals, 0.0, None, out=evals)
    return evals, evecs


def solve_eigen_primal(
    evals: np.ndarray, evecs: np.ndarray, b: np.ndarray, alphas: np.ndarray
) -> np.ndarray:
    """Coefficients ``V diag(1/(λ+α)) Vᵀ b`` for every α; shape (n_alphas, n_features)."""
    vtb = evecs.T @ b
    return (vtb[None, :] / (evals[None, :] + alphas[:, None])) @ evecs.T


def solve_eigen_dual(
    evals: np.ndarray, evecs: np.ndarray, xc: np.ndarray, yc: np.ndarray, alphas: np.ndarray
) -> np.ndarray:
    """Coefficients ``X_cᵀ U diag(1/(σ+α)) Uᵀ y_c`` for every α; shape (n_alphas, n_features)."""
    uty = evecs.T @ yc
    dual = (uty[None, :] / (evals[None, :] + alphas[:, None])) @ evecs.T  # (n_alphas, n)
    return dual @ xc


def _cholesky_solve_each(a: np.ndarray, rhs: np.ndarray, alphas: np.ndarray) -> np.ndarray | None:
    """Solve ``(a + αI) x = rhs`` for each α; ``None`` if a factorisation fails.

    Only the upper triangle of ``a`` is read. LAPACK wants column-major storage: a
    C-ordered ``a`` is copied as ``a.T`` (a plain memory copy, no transposition), whose
    *lower* triangle holds ``a``'s upper one.
    """
    out = np.empty((alphas.shape[0], a.shape[0]))
    lower = bool(a.flags.c_contiguous)
    src = a.T if lower else a
    work = np.empty_like(src, order="F")
    diag = np.arange(a.shape[0])
    for i, alpha in enumerate(alphas):
        x = _mixed.f64_cholesky_solve(src, lower, float(alpha), rhs, work, diag)
        if x is None:
            return None
        out[i] = x
    return out


def _solve_each(a: np.ndarray, rhs: np.ndarray, alphas: np.ndarray, precision: str
                ) -> np.ndarray | None:
    if precision in ("mixed", "float32"):
        return _mixed.cholesky_solve_mixed(a, rhs, alphas)
    return _cholesky_solve_each(a, rhs, alphas)


def solve_cholesky_primal(
    a: np.ndarray, b: np.ndarray, alphas: np.ndarray, precision: str = "float64"
) -> np.ndarray:
    """Coefficients ``(A + αI)⁻¹ b`` for every α, one Cholesky per α.

    Falls back to the eigen path when ``A + αI`` is not numerically positive definite
    (α below rounding level relative to the largest eigenvalue). ``precision="mixed"`` (or
    ``"float32"``) factorises in float32 and refines to float64 (:mod:`moehelpers.engine.mixed`).
    """
    coefs = _solve_each(a, b, alphas, precision)
    if coefs is None:
        evals, evecs = eigen_decompose(a)
        coefs = solve_eigen_primal(evals, evecs, b, alphas)
    return coefs


def solve_cholesky_dual(
    kernel: np.ndarray,
    xc: np.ndarray,
    yc: np.ndarray,
    alphas: np.ndarray,
    precision: str = "float64",
) -> np.ndarray:
    """Coefficients ``X_cᵀ (K + αI)⁻¹ y_c`` for every α, one Cholesky of ``K + αI`` per α."""
    dual = _solve_each(kernel, yc, alphas, precision)
    if dual is None:
        evals, evecs = eigen_decompose(kernel)
        return solve_eigen_dual(evals, evecs, xc, yc, alphas)
    return dual @ np.asarray(xc, dtype=np.float64)


# --------------------------------------------------------------------------- sufficient stats
def accumulate_rows(
    x: np.ndarray,
    y: np.ndarray,
    weights: np.ndarray | None,
    shift: np.ndarray,
    chunk_size: int,
    rows: np.ndarray | None = None,
    precision: str = "float64",
) -> tuple[float, np.ndarray, float, np.ndarray, np.ndarray, float]:
    """Sums over rows of ``x`` (all rows, or the sorted index array ``rows``) in float64 chunks.

    With ``u = x − shift`` and weights ``w`` (1 when ``None``; any sign allowed) returns
    ``(Σw, Σw·u, Σw·y, Σw·u uᵀ, Σw·u·y, Σw·y²)``; only the Gram's upper triangle is set.
    ``precision="float32"`` forms ``u`` and the chunk products ``uᵀu``, ``uᵀy`` in float32
    and adds them to float64 sums (:mod:`moehelpers.engine.mixed`); ``shift`` should then be
    float32-representable (see :func:`float32_shift`) so that ``u`` is what the sums say.
    Raises :class:`~moehelpers.errors.NonFiniteDataError` naming the first bad row; nothing is
    returned in that case, so a caller that commits only on success stays consistent.
    """
    n_rows = x.shape[0] if rows is None else rows.shape[0]
    p = x.shape[1]
    gram = np.zeros((p, p), order="F")
    sum_u = np.zeros(p)
    xty = np.zeros(p)
    n = sum_y = sum_yy = 0.0
    mixed = check_precision(precision) == "float32"
    work = np.zeros((p, p), dtype=np.float32, order="F") if mixed and n_rows else None
    for start in range(0, n_rows, chunk_size):
        if rows is None:
            sel: slice | np.ndarray = slice(start, min(start + chunk_size, n_rows))
            row_ids = np.arange(sel.start, sel.stop)
        else:
            sel = row_ids = rows[start : start + chunk_size]
        u = np.array(x[sel], dtype=np.float32 if mixed else np.float64, order="C")
        if not np.isfinite(u).all():
            bad = row_ids[~np.isfinite(u).all(axis=1)]
            raise NonFiniteDataError(
                f"X contains NaN or inf in {bad.size} row(s) of this chunk (first: row "
                f"{int(bad[0])}). Remove or impute those spectra before fitting."
            )
        u -= shift.astype(u.dtype)
        yb = np.asarray(y[sel], dtype=np.float64)
        if mixed:
            wb = None if weights is None else np.asarray(weights[sel], dtype=np.float64)
            _mixed_chunk(u, wb, gram, work)
            wy = yb if wb is None else wb * yb
            n += u.shape[0] if wb is None else float(wb.sum())
            sum_u += (u.sum(axis=0, dtype=np.float64) if wb is None
                      else (wb.astype(np.float32) @ u).astype(np.float64))
            xty += (u.T @ wy.astype(np.float32)).astype(np.float64)
            sum_y += float(wy.sum())
            sum_yy += float(wy @ yb)
            continue
        if weights is None:
            syrk_update(gram, u)
            n += u.shape[0]
            sum_u += u.sum(axis=0)
            xty += u.T @ yb
            sum_y += float(yb.sum())
            sum_yy += float(yb @ yb)
            continue
        wb = np.asarray(weights[sel], dtype=np.float64)
        for sign, mask in ((1.0, wb > 0), (-1.0, wb < 0)):  # syrk needs √|w|: split by sign
            if mask.all():  # one sign in the whole chunk (e.g. even monomials): no row copy
                syrk_update(gram, u * np.sqrt(np.abs(wb))[:, None], alpha=sign)
            elif mask.any():
                syrk_update(gram, u[mask] * np.sqrt(np.abs(wb[mask]))[:, None], alpha=sign)
        n += float(wb.sum())
        sum_u += wb @ u
        xty += u.T @ (wb * yb)
        sum_y += float(wb @ yb)
        sum_yy += float(wb @ (yb * yb))
    return n, sum_u, sum_y, gram, xty, sum_yy


def _mixed_chunk(u: np.ndarray, wb: np.ndarray | None, gram: np.ndarray, work: np.ndarray
                 ) -> None:
    """Float32 Gram update of one centred chunk (signed weights split as in float64)."""
    if wb is None:
        _mixed.ssyrk_add(gram, u, work=work)
        return
    for sign, mask in ((1.0, wb > 0), (-1.0, wb < 0)):
        if mask.any():
            scaled = u[mask] * np.sqrt(np.abs(wb[mask])).astype(np.float32)[:, None]
            _mixed.ssyrk_add(gram, scaled, alpha=sign, work=work)


def float32_shift(shift: np.ndarray) -> np.ndarray:
    """``shift`` rounded to float32 and back: a reference row that float32 chunks use exactly."""
    return np.asarray(shift, dtype=np.float32).astype(np.float64)


def dual_coefs(
    x: Any,
    y: Any,
    w: np.ndarray | None,
    alphas: np.ndarray,
    fit_intercept: bool,
    method: str,
    precision: str = "float64",
) -> tuple[np.ndarray, np.ndarray]:
    """Coefficient path and intercepts in dual (kernel) form from the rows in memory.

    ``precision="float32"``: the kernel of the centred rows by float32 ``ssyrk`` into float64;
    ``"mixed"`` or ``"float32"``: Cholesky solves refined from float32
    (:mod:`moehelpers.engine.mixed`).
    """
    if check_precision(precision) == "float32" and method != "eigen" and w is None:
        return _dual_coefs_mixed(x, y, alphas, fit_intercept)
    xc = np.array(x, dtype=np.float64)
    yc = np.array(y, dtype=np.float64)
    x_mean, y_mean = np.zeros(xc.shape[1]), 0.0
    if fit_intercept:
        x_mean, y_mean = np.average(xc, axis=0, weights=w), float(np.average(yc, weights=w))
        xc -= x_mean
        yc -= y_mean
    if w is not None:  # Σw(y − xβ)² = ‖√w·y − √w·x β‖²
        sw = np.sqrt(w)
        xc *= sw[:, None]
        yc *= sw
    # K = X_c X_cᵀ by dsyrk: half the flops of a general product, upper triangle only
    # (every consumer reads only the upper triangle); X_c.T is a Fortran view, no copy.
    with _ledger.kernel("gram64", _ledger.syrk_flops(xc.shape[1], xc.shape[0])):
        kernel = blas.dsyrk(1.0, xc.T, trans=1, lower=0)
    if method == "eigen":
        coefs = solve_eigen_dual(*eigen_decompose(kernel), xc, yc, alphas)
    else:
        coefs = solve_cholesky_dual(kernel, xc, yc, alphas, precision)
    return coefs, y_mean - coefs @ x_mean


def _dual_coefs_mixed(x: Any, y: Any, alphas: np.ndarray, fit_intercept: bool
                      ) -> tuple[np.ndarray, np.ndarray]:
    xc = np.array(x, dtype=np.float32)
    yc = np.array(y, dtype=np.float64)
    x_mean, y_mean = np.zeros(xc.shape[1]), 0.0
    if fit_intercept:
        x_mean = float32_shift(xc.mean(axis=0, dtype=np.float64))
        y_mean = float(yc.mean())
        xc -= x_mean.astype(np.float32)  # the centring kernels below see exactly x − x_mean
        yc -= y_mean
    kernel = np.zeros((xc.shape[0], xc.shape[0]), order="F")
    _mixed.ssyrk_add(kernel, xc.T.copy())  # K = X_c X_cᵀ: rows of X_cᵀ are pixels
    coefs = solve_cholesky_dual(kernel, xc, yc, alphas, precision="float32")
    return coefs, y_mean - coefs @ x_mean


# --------------------------------------------------------------------------- input checks


def check_precision(precision: str) -> str:
    """``"float64"`` (all in float64), ``"mixed"`` (float64 products, Cholesky factorised in
    float32 and refined to float64) or ``"float32"`` (also the products in float32)."""
    if precision not in _mixed.PRECISIONS:
        raise InvalidParameterError(
            f"precision must be one of {list(_mixed.PRECISIONS)}; got {precision!r}. Use "
            "'mixed' for float32 factorisations refined to float64, 'float32' for float32 "
            "products too, 'float64' for float64 throughout."
        )
    return precision


def check_chunk_size(chunk_size: int | None, n_features: int) -> int:
    """Rows per chunk; the default holds ~64 MiB of float64."""
    if chunk_size is None:
        return default_chunk_size(n_features)
    if int(chunk_size) < 1:
        raise InvalidParameterError(f"chunk_size must be a positive integer; got {chunk_size}.")
    return int(chunk_size)


