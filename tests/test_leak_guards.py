"""Leak guards: the test split never steers a choice, and the error array never reaches a model.

Model selection must use the validation split only (DESIGN.md, honest comparisons). The
end-to-end check re-runs notebooks on a copy of the tiny dataset whose *test* split is
scrambled (labels shuffled against the spectra): every chosen α must stay the same, while
the test scores change (proving the scrambled split was really read).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from moehelpers.book.runner import execute_run, notebook_parameters
from moehelpers.book.runner import list_notebooks as _list
from moehelpers.data import spectra as _data
from moehelpers.errors import InvalidParameterError

# notebook → (record id, metric keys holding chosen α, a metric that scores the test split)
GUARDED = {
    "01": ("MVP-0", ["alpha"], "r2"),
    "02": ("MVP-1.0", ["alpha_global", "alpha_experts"], "r2_moe_covered"),
    "07": ("MVP-3.2", ["alpha_true", "mh_alpha"], "r2_true"),
}


@pytest.fixture(scope="module")
def scrambled_data(tiny_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("scrambled")
    for split in ("train", "val"):
        shutil.copytree(tiny_data / split, root / split)
    test = _data.load(tiny_data / "test" / "dataset.h5")
    order = np.random.default_rng(7).permutation(len(test))
    labels = test.labels.iloc[order].reset_index(drop=True)
    _data.save(_data.SpectraSet(test.wave, test.flux, test.error, labels,
                                noisy_stored=test.noisy_stored, meta=test.meta),
               root / "test" / "dataset.h5")
    return root


def _metric(record: dict, key: str):
    return record["metrics"][key]


@pytest.mark.slow
def test_alpha_choices_never_see_the_test_split(executed: dict, scrambled_data: Path,
                                                tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MOE_RUNS_DIR", str(tmp_path))
    chosen = [nb for nb in _list() if nb.stem[:2] in GUARDED]
    declared = set().union(*(notebook_parameters(nb) for nb in chosen))
    params = {k: v for k, v in executed["params"].items() if k in declared}
    params["data_path"] = str(scrambled_data)
    summary = execute_run("scrambled", notebooks=list(GUARDED), params=params, progress=False)
    assert summary.ok, [s.error for s in summary.failed]
    for mvp, alpha_keys, score_key in GUARDED.values():
        clean = json.loads((executed["runs"] / "tiny" / "records" / f"{mvp}.json").read_text())
        dirty = json.loads((tmp_path / "scrambled" / "records" / f"{mvp}.json").read_text())
        for key in alpha_keys:
            assert _metric(dirty, key) == _metric(clean, key), f"{mvp}: {key} saw the test split"
        if score_key is not None:  # the scrambled test split was really used for scoring
            assert _metric(dirty, score_key) != _metric(clean, score_key)
        assert dirty["dataset"] != clean["dataset"]  # and the record says which data it was


def test_models_refuse_a_spectraset_so_the_error_array_cannot_slip_in(make_spectraset) -> None:
    """Estimators take arrays; handing them a SpectraSet (which carries `error`) fails."""
    from moehelpers.engine.ridge import RidgeRegressor
    from moehelpers.gates.flux import FluxBinClassifier
    from moehelpers.models.conditional import ConditionalRidge

    s = make_spectraset(60, 32)
    y = s.labels["log_g"].to_numpy()
    m = s.labels["M_H"].to_numpy()
    for fit in (lambda: RidgeRegressor(alphas=[1.0]).fit(s, y),
                lambda: ConditionalRidge(order=1, alphas=[1.0]).fit(s, y, m),
                lambda: FluxBinClassifier(3).fit(s, (y > 3).astype(int))):
        with pytest.raises((InvalidParameterError, TypeError)) as info:
            fit()
        assert "flux" in str(info.value).lower()
