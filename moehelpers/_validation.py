"""Input checks every layer uses: arrays, α grids, choices, groups, weights.

Each ``check_*`` raises a :mod:`moehelpers.errors` exception that names the value
received and the fix. No estimator and no kernel lives here.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import scipy.sparse
from sklearn.exceptions import DataConversionWarning

from moehelpers.errors import InvalidParameterError, NonFiniteDataError, ShapeMismatchError

__all__ = [
    "check_alphas", "check_choice", "check_groups", "check_sample_weight", "check_x",
    "check_xy", "refuse_spectra_set",
]


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


