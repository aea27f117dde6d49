"""Array-level kernels and input checks of the Ridge engine (private; no estimators).

The kernels take arrays that the caller has already checked and return float64; the
``check_*`` functions raise :mod:`moehelpers.errors` exceptions that name the value received
and the fix. The public layer is :mod:`moehelpers.ridge`.

Decompose/solve pairs
---------------------
``eigen_decompose`` + ``solve_eigen_primal`` / ``solve_eigen_dual``: one eigendecomposition,
every α by reweighting eigenvalues. ``solve_cholesky_primal`` / ``solve_cholesky_dual``: one
Cholesky factorisation per α. ``choose_method`` picks between them by cost.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import scipy.linalg
import scipy.sparse
from scipy.linalg import blas
from sklearn.exceptions import DataConversionWarning

from moehelpers.errors import InvalidParameterError, NonFiniteDataError, ShapeMismatchError

__all__ = [
    "accumulate_rows",
    "check_alphas",
    "check_choice",
    "check_chunk_size",
    "check_groups",
    "check_sample_weight",
    "check_x",
    "check_xy",
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
    out = blas.dsyrk(alpha, u.T, beta=1.0, c=gram_f, trans=0, lower=0, overwrite_c=1)
    if out is not gram_f:  # f2py copied (should not happen for a Fortran float64 array)
        gram_f[...] = out
    return gram_f


def symmetrize_upper(a: np.ndarray) -> np.ndarray:
    """The symmetric matrix whose upper triangle is that of ``a`` (lower part ignored)."""
    return np.triu(a) + np.triu(a, 1).T


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
        np.copyto(work, src)
        work[diag, diag] += alpha
        try:
            factor = scipy.linalg.cho_factor(
                work, lower=lower, overwrite_a=True, check_finite=False
            )
        except np.linalg.LinAlgError:
            return None
        out[i] = scipy.linalg.cho_solve(factor, rhs, check_finite=False)
    return out


def solve_cholesky_primal(a: np.ndarray, b: np.ndarray, alphas: np.ndarray) -> np.ndarray:
    """Coefficients ``(A + αI)⁻¹ b`` for every α, one Cholesky per α.

    Falls back to the eigen path when ``A + αI`` is not numerically positive definite
    (α below rounding level relative to the largest eigenvalue).
    """
    coefs = _cholesky_solve_each(a, b, alphas)
    if coefs is None:
        evals, evecs = eigen_decompose(a)
        coefs = solve_eigen_primal(evals, evecs, b, alphas)
    return coefs


def solve_cholesky_dual(
    kernel: np.ndarray, xc: np.ndarray, yc: np.ndarray, alphas: np.ndarray
) -> np.ndarray:
    """Coefficients ``X_cᵀ (K + αI)⁻¹ y_c`` for every α, one Cholesky of ``K + αI`` per α."""
    dual = _cholesky_solve_each(kernel, yc, alphas)
    if dual is None:
        evals, evecs = eigen_decompose(kernel)
        return solve_eigen_dual(evals, evecs, xc, yc, alphas)
    return dual @ xc


# --------------------------------------------------------------------------- sufficient stats
def accumulate_rows(
    x: np.ndarray,
    y: np.ndarray,
    weights: np.ndarray | None,
    shift: np.ndarray,
    chunk_size: int,
    rows: np.ndarray | None = None,
) -> tuple[float, np.ndarray, float, np.ndarray, np.ndarray, float]:
    """Sums over rows of ``x`` (all rows, or the sorted index array ``rows``) in float64 chunks.

    With ``u = x − shift`` and weights ``w`` (1 when ``None``; any sign allowed) returns
    ``(Σw, Σw·u, Σw·y, Σw·u uᵀ, Σw·u·y, Σw·y²)``; only the Gram's upper triangle is set.
    Raises :class:`~moehelpers.errors.NonFiniteDataError` naming the first bad row; nothing is
    returned in that case, so a caller that commits only on success stays consistent.
    """
    n_rows = x.shape[0] if rows is None else rows.shape[0]
    p = x.shape[1]
    gram = np.zeros((p, p), order="F")
    sum_u = np.zeros(p)
    xty = np.zeros(p)
    n = sum_y = sum_yy = 0.0
    for start in range(0, n_rows, chunk_size):
        if rows is None:
            sel: slice | np.ndarray = slice(start, min(start + chunk_size, n_rows))
            row_ids = np.arange(sel.start, sel.stop)
        else:
            sel = row_ids = rows[start : start + chunk_size]
        u = np.array(x[sel], dtype=np.float64, order="C")
        if not np.isfinite(u).all():
            bad = row_ids[~np.isfinite(u).all(axis=1)]
            raise NonFiniteDataError(
                f"X contains NaN or inf in {bad.size} row(s) of this chunk (first: row "
                f"{int(bad[0])}). Remove or impute those spectra before fitting."
            )
        u -= shift
        yb = np.asarray(y[sel], dtype=np.float64)
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
            if mask.any():
                syrk_update(gram, u[mask] * np.sqrt(np.abs(wb[mask]))[:, None], alpha=sign)
        n += float(wb.sum())
        sum_u += wb @ u
        xty += u.T @ (wb * yb)
        sum_y += float(wb @ yb)
        sum_yy += float(wb @ (yb * yb))
    return n, sum_u, sum_y, gram, xty, sum_yy


def dual_coefs(
    x: Any, y: Any, w: np.ndarray | None, alphas: np.ndarray, fit_intercept: bool, method: str
) -> tuple[np.ndarray, np.ndarray]:
    """Coefficient path and intercepts in dual (kernel) form from the rows in memory."""
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
    kernel = blas.dsyrk(1.0, xc.T, trans=1, lower=0)
    if method == "eigen":
        coefs = solve_eigen_dual(*eigen_decompose(kernel), xc, yc, alphas)
    else:
        coefs = solve_cholesky_dual(kernel, xc, yc, alphas)
    return coefs, y_mean - coefs @ x_mean


# --------------------------------------------------------------------------- input checks
def check_choice(name: str, value: Any, allowed: tuple[str, ...]) -> str:
    """Raise unless ``value`` is one of ``allowed``."""
    if value not in allowed:
        raise InvalidParameterError(f"{name} must be one of {list(allowed)}; got {value!r}.")
    return value


def check_alphas(alphas: Any) -> np.ndarray:
    """α grid as a 1-D float64 array of finite positive values."""
    try:
        arr = np.atleast_1d(np.asarray(alphas, dtype=np.float64))
    except (TypeError, ValueError):
        arr = None
    if arr is None or arr.ndim != 1 or arr.size == 0 or not (np.isfinite(arr) & (arr > 0)).all():
        raise InvalidParameterError(
            f"alphas must be a non-empty 1-D sequence of finite numbers > 0; got {alphas!r}. "
            "Use e.g. alphas=np.logspace(-3, 5, 9)."
        )
    return arr


def check_chunk_size(chunk_size: int | None, n_features: int) -> int:
    """Rows per chunk; the default holds ~64 MiB of float64."""
    if chunk_size is None:
        return default_chunk_size(n_features)
    if int(chunk_size) < 1:
        raise InvalidParameterError(f"chunk_size must be a positive integer; got {chunk_size}.")
    return int(chunk_size)


def _as_array(a: Any) -> Any:
    """Keep arrays and array-like datasets (h5py: ``shape`` + slicing) as they are."""
    if isinstance(a, np.ndarray) or (hasattr(a, "shape") and hasattr(a, "__getitem__")):
        return a
    return np.asarray(a)


def _check_finite(a: np.ndarray, name: str) -> None:
    if a.dtype.kind == "f" and not np.isfinite(a).all():
        bad = np.flatnonzero(~np.isfinite(a).reshape(a.shape[0], -1).all(axis=1))
        raise NonFiniteDataError(
            f"{name} contains NaN or inf in {bad.size} row(s) (first: row {int(bad[0])}). "
            "Remove or impute those rows first."
        )


def refuse_spectra_set(x: Any, purpose: str) -> None:
    """Raise when ``x`` is a spectra set (anything with ``flux`` or ``error`` attributes).

    Models, gates and estimators take the (noisy) flux array itself, so the per-pixel error
    array a spectra set carries, which leaks log g (REFERENCE.md §2), can never become an
    input by accident. ``purpose`` completes the message ("never {purpose}").
    """
    if hasattr(x, "error") or hasattr(x, "flux"):
        raise InvalidParameterError(
            "Pass the noisy flux array itself (n_stars, n_pixels), e.g. spectra.noisy(level, "
            f"seed) or experiment.noisy_splits(...)['train'], not a spectra set: its error "
            f"array leaks log g and is never {purpose}.")


def check_x(
    x: Any,
    *,
    n_features: int | None = None,
    name: str = "X",
    finite: bool = True,
    owner: str = "the model",
) -> Any:
    """2-D float input (float32 kept); optional feature-count and finiteness checks."""
    if scipy.sparse.issparse(x):
        raise InvalidParameterError(
            f"Sparse input is not supported for {name}; pass a dense array (x.toarray())."
        )
    if x is None:
        raise InvalidParameterError(
            f"{name} is None; an array of shape (n_samples, n_features) is required."
        )
    refuse_spectra_set(x, f"{name} of a model")
    x = _as_array(x)
    if len(x.shape) != 2:
        raise ShapeMismatchError(
            f"{name} must be 2-D (n_samples, n_features); got shape {tuple(x.shape)}. Reshape "
            "your data: x.reshape(1, -1) for one spectrum, x.reshape(-1, 1) for one feature."
        )
    if x.shape[0] == 0 or x.shape[1] == 0:
        raise ShapeMismatchError(
            f"{name} has {x.shape[0]} sample(s) and {x.shape[1]} feature(s) (shape={x.shape}) "
            "while a minimum of 1 is required."
        )
    if n_features is not None and x.shape[1] != n_features:
        raise ShapeMismatchError(
            f"{name} has {x.shape[1]} features, but {owner} is expecting {n_features} features "
            "as input. Use the same pixels (wavelength grid) as in training."
        )
    if isinstance(x, np.ndarray):
        if x.dtype.kind == "c":
            raise InvalidParameterError(f"Complex data not supported ({name} is {x.dtype}).")
        if x.dtype not in (np.float32, np.float64):
            x = x.astype(np.float64)  # ints, bools; object arrays of numbers (else TypeError)
        if finite:
            _check_finite(x, name)
    return x


def check_xy(
    x: Any,
    y: Any,
    w: Any,
    *,
    n_features: int | None = None,
    name: str = "X",
    finite: bool = True,
) -> tuple[Any, np.ndarray, np.ndarray | None]:
    """Check X (2-D), y (1-D, or a column) and optional weights for matching lengths."""
    x = check_x(x, n_features=n_features, name=name, finite=finite)
    if y is None:
        raise InvalidParameterError(
            "This estimator requires y to be passed, but the target y is None."
        )
    y = np.asarray(y, dtype=np.float64)
    if y.ndim == 2 and y.shape[1] == 1:
        warnings.warn(
            "A column-vector y was passed when a 1d array was expected; using y.ravel().",
            DataConversionWarning,
            stacklevel=3,
        )
        y = y[:, 0]
    arrays = [("y", y)] + ([] if w is None else [("weights", np.asarray(w, dtype=np.float64))])
    for label, arr in arrays:
        if arr.ndim != 1 or arr.shape[0] != x.shape[0]:
            raise ShapeMismatchError(
                f"{label} must be 1-D with one value per row of {name} ({x.shape[0]}); "
                f"got shape {arr.shape}."
            )
        _check_finite(arr, label)
    return x, y, (None if w is None else arrays[1][1])


def check_sample_weight(w: np.ndarray | None) -> np.ndarray | None:
    """Sample weights for fitting must be ≥ 0 with a positive sum."""
    if w is not None and ((w < 0).any() or not w.sum() > 0):
        raise InvalidParameterError(
            f"sample_weight must be ≥ 0 and not all zero; got min {w.min():g}, sum "
            f"{w.sum():g}. (Signed weights are for RidgeStats moment Grams only.)"
        )
    return w


def check_groups(groups: Any, n_samples: int, n_groups: int) -> np.ndarray:
    """Integer group labels in ``[0, n_groups)``, one per row."""
    g = np.asarray(groups)
    if g.shape != (n_samples,) or g.dtype.kind not in "iu":
        raise ShapeMismatchError(
            f"groups must be a 1-D integer array with one label per row ({n_samples}); got "
            f"shape {g.shape}, dtype {g.dtype}."
        )
    if n_samples and (g.min() < 0 or g.max() >= n_groups):
        raise InvalidParameterError(
            f"groups must lie in [0, n_groups={n_groups}); got values in [{g.min()}, {g.max()}]. "
            "Give uncovered rows their own group rather than a negative label."
        )
    return g.astype(np.intp, copy=False)
