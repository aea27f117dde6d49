"""Fit Ridge-family models from training data that never sits in memory.

:func:`fit_stream` takes an unfitted model — :class:`~moehelpers.engine.ridge.RidgeRegressor`
(global), :class:`~moehelpers.models.piecewise.PiecewiseRidge` (one expert per bin),
:class:`~moehelpers.models.conditional.ConditionalRidge` (coefficients varying with a label) or
:class:`~moehelpers.models.noise_experts.NoiseExperts` (one expert per noise level and a mixed
model) — streams the statistics that model needs from the training shards
(:func:`moehelpers.engine.stream.stream_stats`, locally or on Dask) and fits it, with α chosen on
the validation split (small; loaded into memory and noised with the same block-keyed
noise, :func:`moehelpers.engine.stream.stream_noisy`).

The training labels are read once first (labels only, no flux): the conditional model
standardises its label on them and the piecewise model routes and merges bins with them.

Examples
--------
>>> from moehelpers.engine.ridge import RidgeRegressor                      # doctest: +SKIP
>>> model = fit_stream(RidgeRegressor(), "/data/bosz/train_shards", "/data/bosz/val_1k",
...                    noise_level=0.2, seed=42, scheduler="tcp://10.0.0.1:8786")
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from moehelpers.data import spectra as _data
from moehelpers.engine.ridge import RidgeRegressor
from moehelpers.engine.stream import (
    StreamSpec,
    StreamStats,
    read_labels,
    stream_noisy,
    stream_stats,
)
from moehelpers.errors import InvalidParameterError
from moehelpers.models.conditional import ConditionalRidge
from moehelpers.models.noise_experts import NoiseExperts, check_levels
from moehelpers.models.piecewise import PiecewiseRidge

__all__ = ["MODELS", "fit_from_stream_stats", "fit_stream", "spec_for"]

MODELS = (RidgeRegressor, PiecewiseRidge, ConditionalRidge, NoiseExperts)


def spec_for(model: Any, train_path: Any, *, target: str = "log_g", noise_level: float = 0.2,
             seed: int = 42, clip: bool = False, chunk_size: int = 4096,
             n_rows: int | None = None) -> StreamSpec:
    """The :class:`StreamSpec` a model needs (reads the training labels when it must)."""
    if not isinstance(model, MODELS):
        raise InvalidParameterError(
            f"fit_stream fits {[m.__name__ for m in MODELS]}; got {type(model).__name__}.")
    levels = (float(noise_level),)
    if isinstance(model, NoiseExperts):
        levels = tuple(check_levels(model.levels).tolist())
        seed, clip = model.seed, model.clip
    spec = StreamSpec(target=target, noise_levels=levels, seed=seed, clip=clip,
                      chunk_size=chunk_size)
    if isinstance(model, PiecewiseRidge):
        spec = replace(spec, scheme=model._check_params()[0])
    if isinstance(model, ConditionalRidge):
        model._check()
        m = read_labels(train_path, [model.condition])[model.condition].to_numpy(np.float64)
        m = m[:n_rows]
        model._set_scaling(m)
        spec = replace(spec, condition=model.condition, max_power=2 * model.order,
                       m_mean=model.m_mean_, m_scale=model.m_scale_)
    return spec


def _val_x(val: _data.SpectraSet, spec: StreamSpec, level: float) -> np.ndarray:
    return stream_noisy(val.flux, val.error, level, spec.seed, "val", 0, clip=spec.clip)


def fit_from_stream_stats(model: Any, stats: StreamStats, spec: StreamSpec, val: Any,
                          train_labels: Any = None) -> Any:
    """Fit ``model`` from streamed statistics; α on the validation set ``val``.

    ``val`` is a :class:`~moehelpers.data.spectra.SpectraSet` (noised here with
    :func:`~moehelpers.engine.stream.stream_noisy`, split ``"val"``) or ``None`` (single α only).
    ``train_labels`` (routing labels of the training stars) is needed by
    :class:`PiecewiseRidge`.
    """
    xv = None if val is None else _val_x(val, spec, spec.noise_levels[0])
    yv = None if val is None else val.label(spec.target)
    if isinstance(model, NoiseExperts):
        if val is None:
            raise InvalidParameterError("NoiseExperts choose α per level on validation data; "
                                        "pass val.")
        xvs = [_val_x(val, spec, lv) for lv in spec.noise_levels]
        return model.fit_stats([stats.total(k) for k in range(len(spec.noise_levels))],
                               xvs, yv)
    if isinstance(model, PiecewiseRidge):
        if train_labels is None:
            raise InvalidParameterError("PiecewiseRidge needs the training labels to route "
                                        "(read_labels(train_path)).")
        lv = None if val is None else val.labels
        return model.fit_stats(stats.groups(0), train_labels, xv, yv, lv)
    if isinstance(model, ConditionalRidge):
        mv = None if val is None else val.label(model.condition)
        return model.fit_moments(stats.moments(0), model.m_mean_, model.m_scale_, xv, yv, mv)
    return model.fit_stats(stats.total(0), xv, yv)


def fit_stream(model: Any, train_path: Any, val_path: Any = None, *, target: str = "log_g",
               noise_level: float = 0.2, seed: int = 42, clip: bool = False,
               chunk_size: int = 4096, client: Any = None, scheduler: str | None = None,
               rows_per_task: int | None = None, n_rows: int | None = None) -> Any:
    """Stream the training statistics ``model`` needs and fit it (returns ``model``).

    Parameters
    ----------
    model : RidgeRegressor, PiecewiseRidge, ConditionalRidge or NoiseExperts
        Unfitted; its own parameters (α grid, scheme, order, levels) apply.
    train_path : str or path-like
        Training file, split folder or folder of shards (read chunk by chunk).
    val_path : str, path-like or SpectraSet, optional
        Validation split (loaded into memory); needed with more than one α.
    target : str, default="log_g"
    noise_level : float, default=0.2
        Training and validation noise (NoiseExperts use their own ``levels``).
    seed : int, default=42
        Noise seed (NoiseExperts use their own ``seed``).
    clip : bool, default=False
    chunk_size : int, default=4096
        Rows per chunk (peak memory ≈ chunk × pixels × 20 bytes + the statistics).
    client, scheduler, rows_per_task
        Dask cluster (a ``Client`` or a scheduler address) and task size; see
        :func:`moehelpers.engine.stream.stream_stats`. Without them, one process.
    n_rows : int, optional
        Stream only the first ``n_rows`` training rows (across shards).
    """
    spec = spec_for(model, train_path, target=target, noise_level=noise_level, seed=seed,
                    clip=clip, chunk_size=chunk_size, n_rows=n_rows)
    train_labels = None
    if isinstance(model, PiecewiseRidge):
        train_labels = read_labels(train_path, spec.scheme.columns).iloc[:n_rows]
    stats, spec = stream_stats(train_path, spec, client=client, scheduler=scheduler,
                               rows_per_task=rows_per_task, n_rows=n_rows)
    val = val_path if isinstance(val_path, _data.SpectraSet) else None
    if val is None and val_path is not None:
        required = tuple(dict.fromkeys([target, *spec.columns]))
        val = _data.load(val_path, labels_required=required)
    model = fit_from_stream_stats(model, stats, spec, val, train_labels)
    model.stream_n_rows_ = stats.n_rows
    return model
