"""Outputs of fitted models through the store (engine.fitted): keys, hits, the peers page."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from test_peers import toy_peer_args

from moehelpers.engine import fitted
from moehelpers.engine.store import StatsStore, using_store
from moehelpers.errors import InvalidParameterError
from moehelpers.evaluation import peers
from moehelpers.evaluation.peers import PeerSettings, evaluate_peers


class Fit:
    """A stand-in fit that counts its calls and returns fresh arrays."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self) -> dict[str, np.ndarray]:
        self.calls += 1
        rng = np.random.default_rng(self.calls)  # a recompute would differ: hits are visible
        return {"pred": rng.standard_normal(5), "fit_s": np.float64(1.5)}


def _inputs(seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {"x": rng.standard_normal((20, 6)).astype(np.float32), "lab": rng.random((20, 3))}


def test_a_hit_returns_the_stored_outputs_byte_for_byte(tmp_path):
    store, fit, inputs = StatsStore(tmp_path), Fit(), _inputs()
    first = fitted.cached_outputs("toy", inputs, {"seed": 1}, fit, store=store)
    again = fitted.cached_outputs("toy", inputs, {"seed": 1}, fit, store=store)
    assert fit.calls == 1 and (store.misses, store.hits) == (1, 1)
    assert set(again) == {"pred", "fit_s"}
    np.testing.assert_array_equal(first["pred"], again["pred"])
    assert float(again["fit_s"]) == 1.5


@pytest.mark.parametrize("change", ["input", "name", "params", "kind", "code", "torch"])
def test_anything_that_changes_the_outputs_misses(tmp_path, monkeypatch, change):
    store, fit, inputs = StatsStore(tmp_path), Fit(), _inputs()
    fitted.cached_outputs("toy", inputs, {"seed": 1}, fit, store=store)
    kind, params, torch = "toy", {"seed": 1}, False
    if change == "input":
        x = inputs["x"].copy()
        x[3, 2] = np.nextafter(x[3, 2], np.float32(9))  # one value, one ulp
        inputs = {**inputs, "x": x}
    elif change == "name":
        inputs = {"flux": inputs["x"], "lab": inputs["lab"]}
    elif change == "params":
        params = {"seed": 2}
    elif change == "kind":
        kind = "other"
    elif change == "code":
        monkeypatch.setattr(fitted, "code_fingerprint", lambda: "edited")
    else:
        torch = True
    fitted.cached_outputs(kind, inputs, params, fit, store=store, torch=torch)
    assert fit.calls == 2 and store.misses == 2


def test_without_a_store_everything_is_computed_and_nothing_written(tmp_path, monkeypatch):
    monkeypatch.setenv("MOE_STATS_DIR", str(tmp_path))
    fit = Fit()
    for _ in range(2):
        fitted.cached_outputs("toy", _inputs(), {"seed": 1}, fit)
    assert fit.calls == 2 and not list(tmp_path.iterdir())
    with pytest.raises(InvalidParameterError, match="JSON-serialisable"):
        fitted.cached_outputs("toy", _inputs(), {"seed": np.arange(2)}, fit,
                              store=StatsStore(tmp_path))


def test_code_fingerprint_covers_models_but_not_the_book(tmp_path, monkeypatch):
    pkg = tmp_path / "pkg"
    (pkg / "models").mkdir(parents=True)
    (pkg / "book").mkdir()
    (pkg / "models" / "m.py").write_text("x = 1\n")
    (pkg / "book" / "page.py").write_text("text = 'a'\n")
    monkeypatch.setattr(fitted, "_PACKAGE", pkg)
    before = fitted.code_fingerprint()
    (pkg / "book" / "page.py").write_text("text = 'b'\n")
    assert fitted.code_fingerprint() == before
    (pkg / "models" / "m.py").write_text("x = 2\n")
    assert fitted.code_fingerprint() != before


def test_read_only_arrays_are_hashed_once_and_never_confused(monkeypatch):
    calls = []
    real = fitted.array_fingerprint
    monkeypatch.setattr(fitted, "array_fingerprint", lambda a: calls.append(1) or real(a))
    a = np.arange(12.0)
    a.flags.writeable = False
    b = a.copy()  # writeable: hashed every time
    first = fitted.inputs_fingerprint({"a": a})
    assert fitted.inputs_fingerprint({"a": a}) == first and len(calls) == 1
    fitted.inputs_fingerprint({"a": b})
    fitted.inputs_fingerprint({"a": b})
    assert len(calls) == 3
    c = np.arange(12.0) + 1
    c.flags.writeable = False
    assert fitted.inputs_fingerprint({"a": c}) != first
    del a
    d = np.arange(12.0) * 2  # may reuse a's id once a is gone: never a's fingerprint
    d.flags.writeable = False
    assert fitted.inputs_fingerprint({"a": d}) != first


def test_evaluate_peers_rerun_reads_every_model_and_changes_no_number(tmp_path, monkeypatch):
    args, base = toy_peer_args(5, (300, 80, 100))
    st = PeerSettings(bin_factor=2, emulator_hidden=16, emulator_epochs=3, cnn_epochs=2,
                      cnn_bin_factor=2, cnn_dense=(16, 8), device="cpu", n_threads=1)
    kw = {"baseline": base, "settings": st, "n_boot": 50, "seed": 3}
    cold = evaluate_peers(*args, **kw)  # no store
    store = StatsStore(tmp_path)
    with using_store(store):
        miss = evaluate_peers(*args, **kw)
        assert store.misses == 3 and store.hits == 0

        def refit(*a, **k):
            raise AssertionError("a model was refitted although its outputs were stored")

        monkeypatch.setattr(peers, "_fit_one", refit)
        hit = evaluate_peers(*args, **kw)
        assert store.hits == 3
        other = dict(kw, seed=4)
        with pytest.raises(AssertionError, match="refitted"):
            evaluate_peers(*args, **other)  # another seed is another fit
    for res in (miss, hit):
        pd.testing.assert_frame_equal(res.predictions, cold.predictions, check_exact=True)
        pd.testing.assert_frame_equal(res.scores, cold.scores, check_exact=True)
        pd.testing.assert_frame_equal(res.pulls, cold.pulls, check_exact=True)
    # the timings are those of the fit that computed the outputs
    pd.testing.assert_series_equal(hit.timings["fit_s"].iloc[1:], miss.timings["fit_s"].iloc[1:])


def test_torch_signature_needs_no_import_and_names_version_and_threads(monkeypatch):
    import importlib.metadata
    import sys

    monkeypatch.delitem(sys.modules, "torch", raising=False)
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    sig = fitted._torch_signature()
    assert "torch" not in sys.modules  # a hit costs no torch import
    assert sig.startswith(f"torch-{importlib.metadata.version('torch')}-default-threads-omp3")
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    assert fitted._torch_signature() != sig
