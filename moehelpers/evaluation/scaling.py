"""Notebook 19 (scaling): the live check that a streamed Ridge fit equals the in-memory one.

:func:`dask_client` opens the optional Dask client; :func:`stream_check` fits the global
Ridge on the first training spectra streamed from their file and in memory, and compares the
validation predictions.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from moehelpers.engine.ridge import RidgeRegressor
from moehelpers.engine.stream import stream_noisy
from moehelpers.models.stream_fit import fit_stream

__all__ = ["dask_client", "stream_check"]


@contextmanager
def dask_client(scheduler: str) -> Iterator[Any]:
    """A Dask client for ``scheduler`` (closed on exit), or None without one.

    Parameters
    ----------
    scheduler : str
        ``""``: no client; ``"local"``: an in-process LocalCluster of two single-thread
        workers; else the scheduler address (``tcp://host:8786``).

    Yields
    ------
    Client or None
    """
    client = cluster = None
    if scheduler:
        from dask.distributed import Client, LocalCluster

        if scheduler == "local":
            cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                   dashboard_address=None)
            client = Client(cluster)
        else:
            client = Client(scheduler)
    try:
        yield client
    finally:
        if client is not None:
            client.close()
        if cluster is not None:
            cluster.close()


def stream_check(splits: Any, train_path: Path, alphas: Sequence[float], *, n_stream: int,
                 noise_level: float, seed: int, chunk_size: int, rows_per_task: int,
                 client: Any = None) -> tuple[float, pd.DataFrame]:
    """Fit the global Ridge streamed from ``train_path`` and in memory; compare predictions.

    Parameters
    ----------
    splits : Splits
        Splits with ``train`` (the first ``n_stream`` spectra of ``train_path``) and ``val``.
    train_path : Path
        File or shard folder of the training spectra.
    alphas : sequence of float
        Ridge α grid (chosen on the validation spectra).
    n_stream : int
        Training rows streamed.
    noise_level, seed : float, int
        Noise of the streamed and in-memory flux (the same realisation).
    chunk_size, rows_per_task : int
        Rows per streamed chunk and per task.
    client : dask Client, optional
        Runs the streamed tasks on a cluster.

    Returns
    -------
    max_rel : float
        Largest |streamed − in-memory| validation prediction over the largest |prediction|.
    table : DataFrame
        Per fit: rows, chosen α, best validation R², seconds.
    """
    val = splits.val
    t0 = time.perf_counter()
    streamed = fit_stream(RidgeRegressor(alphas=alphas), train_path, val,
                          noise_level=noise_level, seed=seed, chunk_size=chunk_size,
                          rows_per_task=rows_per_task, n_rows=n_stream, client=client)
    t_stream = time.perf_counter() - t0
    t0 = time.perf_counter()
    x = stream_noisy(splits.train.flux, splits.train.error, noise_level, seed, "train")
    xv = stream_noisy(val.flux, val.error, noise_level, seed, "val")
    in_memory = RidgeRegressor(alphas=alphas).fit(x, splits.train.y, xv, val.y)
    t_memory = time.perf_counter() - t0
    p_s, p_m = streamed.predict(xv), in_memory.predict(xv)
    max_rel = float(np.max(np.abs(p_s - p_m)) / np.max(np.abs(p_m)))
    table = pd.DataFrame({
        "fit": ["streamed", "in memory"],
        "rows": [streamed.stream_n_rows_, len(splits.train)],
        "alpha": [streamed.alpha_, in_memory.alpha_],
        "val_r2": [float(np.max(streamed.val_scores_)), float(np.max(in_memory.val_scores_))],
        "seconds": [t_stream, t_memory]})
    return max_rel, table
