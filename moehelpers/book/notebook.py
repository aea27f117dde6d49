"""The notebook front end: one call at the top of every notebook.

.. code-block:: python

    from moehelpers import notebook

    ctx = notebook.start("MVP-1.0", globals())   # checks the parameters, sets up plots
    X, y, lab = ctx.noisy(), ctx.y, ctx.labels    # splits, frozen noisy copies, targets
    ...
    ctx.record(metrics=..., headline=[...], verdicts=[...], tables=...)

:func:`start` reads the notebook's typed parameters from its own namespace and validates
them *inside the notebook* with the same checker the runner uses
(:mod:`moehelpers.book.parameters`): declared types, value ranges, and names papermill
injected that the notebook does not declare (papermill itself only warns "Passed unknown
parameter" and runs on at the defaults). So ``papermill NB out.ipynb -p noise_level -0.5``
fails in the first code cell with an :class:`~moehelpers.errors.InvalidParameterError` that
names the parameter and its limit, in JupyterLab, plain papermill and our runner alike.

The noise rule: every notebook declares ``noise_level`` (its headline level). A notebook that
runs several levels also declares a list (``noise_levels`` or ``expert_noise_levels``); when
``noise_level`` is *passed* (papermill ``-p``, the runner's ``--noise``) and the list lacks it,
:func:`start` adds it, so ``-p noise_level 0.35`` serves every notebook: single-level ones run
at 0.35, multi-level ones run 0.35 beside their levels and report it. Run at its defaults, a
notebook's list is left as declared.
"""

from __future__ import annotations

import ast
import os
import time
from collections.abc import Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from moehelpers.book import parameters
from moehelpers.errors import InvalidParameterError

__all__ = ["LIST_NOISE_PARAMETERS", "Context", "injected_names", "start"]

#: List parameters of multi-level notebooks that ``noise_level`` joins.
LIST_NOISE_PARAMETERS = ("noise_levels", "expert_noise_levels")
#: First line of the cell papermill injects.
_INJECTED_MARKER = "# Parameters"


def injected_names(namespace: Mapping[str, Any]) -> list[str]:
    """Names assigned by papermill's injected-parameters cell, if this kernel ran one.

    IPython keeps every executed cell's source in ``_ih``; papermill's cell starts with
    ``# Parameters``. Outside papermill (JupyterLab, a script) this is empty.
    """
    names: list[str] = []
    for src in namespace.get("_ih", []) or []:
        if isinstance(src, str) and src.lstrip().startswith(_INJECTED_MARKER):
            try:
                tree = ast.parse(src)
            except SyntaxError:
                continue
            for node in tree.body:
                if isinstance(node, ast.Assign):
                    names += [t.id for t in node.targets if isinstance(t, ast.Name)]
    return list(dict.fromkeys(names))


@dataclass
class Context:
    """What a running notebook knows: its MVP id, checked parameters and data.

    Attributes
    ----------
    mvp_id : str
        The record id this notebook writes.
    params : dict
        Every declared parameter after checking (the values the notebook runs with).
    injected : list of str
        Parameters papermill set (empty outside papermill).
    """

    mvp_id: str
    params: dict[str, Any]
    injected: list[str] = field(default_factory=list)
    started: float = field(default_factory=time.perf_counter)
    _splits: Any = None
    _noisy: dict[tuple[float, int], dict[str, np.ndarray]] = field(default_factory=dict)

    # ------------------------------------------------------------------ opening
    def _need(self, *names: str) -> None:
        missing = [n for n in names if n not in self.params]
        if missing:
            raise InvalidParameterError(
                f"{self.mvp_id}: this notebook needs the parameter(s) {', '.join(missing)} "
                "in its parameters cell to use this helper.")

    @property
    def splits(self) -> Any:
        """The train / val / test :class:`~moehelpers.data.splits.Splits` (loaded once)."""
        if self._splits is None:
            from moehelpers.data.splits import load_splits

            self._need("data_path", "n_train", "n_val", "n_test")
            p = self.params
            kind = {k: p[k] for k in ("flux_kind", "distortion_amplitude", "distortion_seed")
                    if k in p}
            self._splits = load_splits(p["data_path"], n_train=p["n_train"], n_val=p["n_val"],
                                       n_test=p["n_test"], split_seed=p.get("split_seed", 0),
                                       **kind)
        return self._splits

    def noisy(self, level: float | None = None, *, seed: int | None = None,
              which: Sequence[str] | None = None) -> dict[str, np.ndarray]:
        """Frozen noisy flux per split at ``level`` (default: ``noise_level``).

        The realisation depends only on (dataset, level, seed): every notebook of a run sees
        the same noisy test stars. Copies are cached in the context.
        """
        from moehelpers.data.splits import SPLITS, noisy_splits

        self._need("noise_level", "seed") if level is None else self._need("seed")
        lv = float(self.params["noise_level"] if level is None else level)
        sd = int(self.params["seed"] if seed is None else seed)
        if (lv, sd) not in self._noisy:
            self._noisy[(lv, sd)] = noisy_splits(self.splits, lv, sd)
        got = self._noisy[(lv, sd)]
        return {s: got[s] for s in (which or SPLITS)}

    def forget_noisy(self) -> None:
        """Drop the cached noisy copies (memory) once a notebook no longer needs them."""
        self._noisy.clear()

    @property
    def y(self) -> dict[str, np.ndarray]:
        """log g per split."""
        from moehelpers.data.splits import SPLITS

        return {s: self.splits[s].y for s in SPLITS}

    @property
    def labels(self) -> dict[str, Any]:
        """Label tables per split (Teff, log g, [M/H], …)."""
        from moehelpers.data.splits import SPLITS

        return {s: self.splits[s].labels for s in SPLITS}

    @property
    def seconds(self) -> float:
        """Wall time since :func:`start`."""
        return time.perf_counter() - self.started

    # ------------------------------------------------------------------ closing
    def record(self, *, metrics: Mapping[str, Any], headline: Any,
               verdicts: Any = None, tables: Mapping[str, Any] | None = None,
               notes: str | None = None, dataset: Mapping[str, Any] | None = None,
               mvp_id: str | None = None, extra_params: Mapping[str, Any] | None = None,
               timings: Mapping[str, Any] | None = None) -> Path:
        """Write this notebook's record; parameters, dataset, run and wall time filled in.

        Parameters
        ----------
        metrics : dict
            The notebook's numbers (nested dict).
        headline : list of dict or DataFrame
            Main models' R² (:func:`moehelpers.records.store.headline_row`); may be empty
            (``[]``) for a notebook that fits no model, but must be given.
        verdicts, tables, notes
            As :func:`moehelpers.records.store.record`.
        dataset : dict, optional
            Default: the identity of :attr:`splits` (which must then have been loaded).
        mvp_id : str, optional
            Default: the id given to :func:`start`.
        extra_params : dict, optional
            Values the notebook derived from its parameters and wants recorded beside them.
        timings : dict, optional
            Seconds of the notebook's stages: recorded in the provenance, never as a metric
            (a timing is not a result and would make reruns differ).

        Raises
        ------
        InvalidParameterError
            ``metrics`` lacks a fact the registry declares for this MVP
            (:data:`moehelpers.records.registry.FACTS`), or a verdict, headline or
            parameter is malformed (:func:`moehelpers.records.store.record`).
        """
        from moehelpers.records import store

        if dataset is None:
            if self._splits is None:
                raise InvalidParameterError(
                    f"{self.mvp_id}: pass dataset=... to ctx.record (this notebook loaded no "
                    "splits through the context).")
            dataset = self._splits.identity
        self._need("run_name")
        params = {**self.params, **(extra_params or {})}
        return store.record(
            mvp_id or self.mvp_id, run=self.params["run_name"], params=params,
            dataset=dataset, metrics=metrics, tables=tables, verdicts=verdicts, notes=notes,
            headline=headline, wall_seconds=self.seconds, require_facts=True,
            timings=timings)


def _share_paths() -> None:
    """Route model fits through the statistics store (``$MOE_STATS_DIR``) unless
    ``MOE_STATS_CACHE=off``: notebooks fitting the same models on the same noisy flux share
    the Ridge paths (a hit is bit-identical to a refit; see :mod:`moehelpers.engine.store`)."""
    from moehelpers.engine.store import StatsStore, active_store, set_active_store

    if os.environ.get("MOE_STATS_CACHE", "on").lower() in ("off", "0", "no", "false"):
        set_active_store(None)
    elif active_store() is None:
        set_active_store(StatsStore())


def start(mvp_id: str, namespace: MutableMapping[str, Any], *, plots: bool = True) -> Context:
    """Check the notebook's parameters in its own namespace; return its :class:`Context`.

    Parameters
    ----------
    mvp_id : str
        The record id this notebook writes (``"MVP-1.0"``).
    namespace : dict
        ``globals()`` of the notebook: the annotated assignments of its ``parameters`` cell
        declare the parameters, and the current values (papermill's injected ones included)
        are checked and written back coerced (``1`` for a float parameter becomes ``1.0``).
    plots : bool, default=True
        Register the plotly renderer the book needs (figures survive into the HTML).

    Raises
    ------
    InvalidParameterError
        An undeclared name was injected, a value has the wrong type or lies out of range.
    """
    declared = parameters.declared_from_namespace(namespace)
    if not declared:
        raise InvalidParameterError(
            f"{mvp_id}: no annotated parameters found; the cell tagged 'parameters' must "
            "declare each one with a type (noise_level: float = 0.2) and run before "
            "notebook.start(...).")
    injected = injected_names(namespace)
    where = f"notebook {mvp_id}"
    parameters.check_unknown(injected, declared, where)
    values = {n: namespace[n] for n in declared if n in namespace}
    checked = parameters.check_values(declared, values, where)
    if "noise_level" not in declared:
        raise InvalidParameterError(f"{where} declares no 'noise_level' parameter; every "
                                    "notebook declares one (its headline level).")
    if "noise_level" in injected:  # asked for: a multi-level notebook runs it too
        for name in LIST_NOISE_PARAMETERS:
            if name in checked and checked["noise_level"] not in checked[name]:
                checked[name] = sorted([*checked[name], checked["noise_level"]])
    namespace.update(checked)
    _share_paths()
    if plots:
        from moehelpers.book import plots as _plots

        _plots.setup_plotly()
    return Context(mvp_id=mvp_id, params=checked, injected=injected)
