"""Shared fixtures: tiny random spectra and temporary HDF5 paths.

Keep them small and generic (a few stars, a few dozen pixels) so every module's tests stay fast.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from moehelpers.data.spectra import SpectraSet
from moehelpers.errors import GridRangeError

_STATS_DIR = tempfile.mkdtemp(prefix="moe-test-stats-")


def pytest_configure(config: pytest.Config) -> None:
    """Statistics-store entries written by tests (notebooks included) go to a temporary folder,
    never to the repository's ``data/cache`` or a user's ``$MOE_STATS_DIR``."""
    os.environ["MOE_STATS_DIR"] = _STATS_DIR


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under ``pytest -n N --dist loadgroup`` (``make test``) every test that reads the
    session's executed notebooks runs in one worker, so they execute once, not once per
    worker; the other tests spread over the remaining workers."""
    for item in items:
        if "executed" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.xdist_group("executed_notebooks"))


@pytest.fixture(autouse=True)
def _store_small_statistics(monkeypatch):
    """Tests use small matrices; store their statistics too, so the store's keys, hits and
    values are exercised (``SharedRows.min_rows`` keeps small ones out in real runs; its
    own test restores it)."""
    from moehelpers.engine.store import SharedRows

    monkeypatch.setattr(SharedRows, "min_rows", 0)


@pytest.fixture(autouse=True)
def _no_active_store_leaks():
    """A test that runs ``notebook.start`` in-process switches the statistics store on for
    the process (as in a notebook kernel); switch it off again so no later test of the same
    worker routes its fits through it unasked."""
    from moehelpers.engine.store import set_active_store

    yield
    set_active_store(None)


def pytest_unconfigure(config: pytest.Config) -> None:
    shutil.rmtree(_STATS_DIR, ignore_errors=True)


def random_spectraset(
    n_samples: int = 12,
    n_pixels: int = 32,
    *,
    seed: int = 0,
    extra_labels: bool = True,
    with_mask: bool = False,
    with_noisy: bool = False,
    with_wave_edges: bool = False,
    meta: dict[str, Any] | None = None,
) -> SpectraSet:
    """A random but plausible :class:`SpectraSet`: flux in [0.6, 1.1], error in [0.01, 0.06].

    Labels are uniform over the study's box (T_eff 3750–6000 K, log g 1–5, [M/H] −2.5…0.75);
    ``extra_labels`` adds ``a_M, C_M, mag, redshift, snr``.
    """
    rng = np.random.default_rng(seed)
    wave = np.linspace(7100.0, 8850.0, n_pixels)
    flux = (1.1 - 0.5 * rng.random((n_samples, n_pixels))).astype(np.float32)
    error = (0.01 + 0.05 * rng.random((n_samples, n_pixels))).astype(np.float32)
    labels = pd.DataFrame({
        "T_eff": rng.uniform(3750.0, 6000.0, n_samples),
        "log_g": rng.uniform(1.0, 5.0, n_samples),
        "M_H": rng.uniform(-2.5, 0.75, n_samples),
    })
    if extra_labels:
        labels["a_M"] = rng.uniform(-0.25, 0.5, n_samples)
        labels["C_M"] = rng.uniform(-0.5, 0.5, n_samples)
        labels["mag"] = rng.uniform(20.5, 22.5, n_samples)
        labels["redshift"] = 0.0
        labels["snr"] = rng.uniform(2.0, 60.0, n_samples)
    noisy = flux + error * rng.standard_normal(flux.shape, dtype=np.float32)
    edges = np.linspace(7100.0 - 0.5, 8850.0 + 0.5, n_pixels + 1)
    return SpectraSet(
        wave, flux, error, labels,
        mask=rng.random((n_samples, n_pixels)) < 0.1 if with_mask else None,
        noisy_stored=noisy if with_noisy else None,
        wave_edges=edges if with_wave_edges else None,
        meta=dict(meta or {}),
    )


@pytest.fixture
def make_spectraset() -> Callable[..., SpectraSet]:
    """Factory of tiny random :class:`SpectraSet` objects (see :func:`random_spectraset`)."""
    return random_spectraset


@pytest.fixture
def tmp_h5(tmp_path: Path) -> Callable[[str], Path]:
    """``tmp_h5("a/b.h5")`` → a path under a fresh temporary folder, parents created."""

    def _path(name: str = "dataset.h5") -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    return _path


_CAT = (8498.0, 8542.1, 8662.1)  # Ca II triplet (air), the fake grid's gravity/metal lines


class FakeGrid:
    """Duck-typed stand-in of ``moehelpers.data.grid.SpectralGrid``: Planck continuum × 3 lines."""

    def __init__(self, n_pixels: int = 1024) -> None:
        self.wave = np.linspace(7100.0, 8850.0, n_pixels)
        self.teff = np.arange(3750.0, 6001.0, 250.0)
        self.logg = np.arange(1.0, 5.01, 0.5)
        self.mh = np.arange(-2.5, 0.51, 0.25)
        self.bounds = {"teff": (3750.0, 6000.0), "logg": (1.0, 5.0), "mh": (-2.5, 0.5)}

    def spectra(self, teff, logg, mh, *, kind: str = "physical") -> np.ndarray:
        teff, logg, mh = (np.atleast_1d(np.asarray(x, dtype=np.float64)) for x in (teff, logg, mh))
        for name, x in (("teff", teff), ("logg", logg), ("mh", mh)):
            lo, hi = self.bounds[name]
            if np.any((x < lo) | (x > hi)):
                raise GridRangeError(f"{name} outside {lo}..{hi}")
        w = self.wave[None, :] * 1e-8  # cm
        cont = 1.0 / (w**5 * np.expm1(1.4388 / (w * teff[:, None])))
        depth = 0.6 / (1.0 + np.exp(-(mh + 1.0)))[:, None] * (1.2 - 0.1 * logg)[:, None]
        norm = np.ones_like(cont)
        for line in _CAT:
            norm -= depth * np.exp(-0.5 * ((self.wave[None, :] - line) / 1.5) ** 2)
        out = {"physical": norm * cont, "normalized": norm, "continuum": cont}[kind]
        return out.astype(np.float32)


# ---------------------------------------------------------------- child processes, notebooks
#: Seconds a test waits for a child process's marker line.
CHILD_TIMEOUT_S = 120.0


def wait_for_output(proc: Any, marker: str, timeout: float = CHILD_TIMEOUT_S) -> None:
    """Read a child's stdout until ``marker`` appears; fail (with its output) if it exits first."""
    import time

    assert proc.stdout is not None
    deadline, seen = time.monotonic() + timeout, []
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line and proc.poll() is not None:
            pytest.fail(f"child exited ({proc.returncode}) before {marker!r}:\n{''.join(seen)}")
        seen.append(line)
        if marker in line:
            return
    pytest.fail(f"child never printed {marker!r}:\n{''.join(seen)}")


def write_notebook(path: Path, body: str, *, noise_level: bool = True) -> None:
    """A two-cell notebook: a ``parameters`` cell (``run_name``, optionally ``noise_level``)
    and ``body``."""
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    params = 'run_name: str = "default"  # run'
    if noise_level:
        params += "\nnoise_level: float = 0.2  # noise"
    cell = nbformat.v4.new_code_cell(params)
    cell.metadata["tags"] = ["parameters"]
    nb.cells = [cell, nbformat.v4.new_code_cell(body)]
    nbformat.write(nb, path)


# ---------------------------------------------------------------- notebooks, executed tiny
# Shared by tests/test_notebooks.py and the per-phase record tests (test_notebooks_*.py);
# session-scoped, so every notebook runs once per test session. The tiny parameters live
# in tests/test_notebooks.py (SIZES, TINY).


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """train/val/test folders of a few hundred spectra."""
    from moehelpers.data.grid import DEFAULT_GRID_PATH, SpectralGrid
    from moehelpers.data.sampler import make_dataset
    from moehelpers.data.spectra import save

    grid = SpectralGrid.load() if DEFAULT_GRID_PATH.is_file() else FakeGrid(n_pixels=1024)
    root = tmp_path_factory.mktemp("tiny_data")
    for k, (split, n) in enumerate((("train", 300), ("val", 100), ("test", 100))):
        save(make_dataset(n, 100 + k, grid=grid), root / split / "dataset.h5")
    return root


@pytest.fixture(scope="session")
def executed(tiny_data: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Run every notebook once, tiny, into a temporary runs folder."""
    from test_notebooks import SIZES, TINY

    from moehelpers.book.runner import execute_run, list_notebooks, notebook_parameters

    runs = tmp_path_factory.mktemp("runs")
    mp = pytest.MonkeyPatch()
    mp.setenv("MOE_RUNS_DIR", str(runs))
    try:
        params = {}
        for nb in list_notebooks():
            declared = notebook_parameters(nb)
            extra = {"data_path": str(tiny_data), **SIZES, **TINY.get(nb.stem, {})}
            params.update({k: v for k, v in extra.items() if k in declared})
        summary = execute_run("tiny", params=params, progress=False)
    finally:
        mp.undo()
    return {"summary": summary, "runs": runs, "params": params}
