"""The PyTorch NN-MoE (models.nn_moe): it learns, it is reproducible, torch is optional."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from moehelpers.errors import InvalidParameterError, MissingDependencyError, ShapeMismatchError
from moehelpers.models import nn_moe as mnn

torch = pytest.importorskip("torch")


def _data(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Two regimes: the gate input g₀ tells which linear map of x gives y."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 5))
    regime = (rng.uniform(size=n) < 0.5).astype(int)
    g = np.column_stack([regime + 0.1 * rng.normal(size=n), rng.normal(size=n)])
    y = np.where(regime == 1, 2 * x[:, 0] - x[:, 1], -2 * x[:, 0] + 0.5 * x[:, 2])
    return x, g, y + 0.05 * rng.normal(size=n), regime


def _fit(**kw: object) -> tuple[mnn.NNMoERegressor, float]:
    x, g, y, _ = _data(1200, 0)
    xv, gv, yv, _ = _data(300, 1)
    xt, gt, yt, _ = _data(300, 2)
    params = {"expert": "linear", "max_epochs": 40, "patience": 40, "lr": 1e-2,
              "progress": False, "device": "cpu", "batch_size": 128} | kw
    m = mnn.NNMoERegressor(**params).fit(x, g, y, xv, gv, yv)
    r2 = 1 - np.mean((m.predict(xt, gt) - yt) ** 2) / np.var(yt)
    return m, float(r2)


def test_a_two_expert_moe_learns_two_regimes_a_single_linear_model_cannot() -> None:
    moe, r2_moe = _fit(n_experts=2)
    _, r2_one = _fit(n_experts=1)
    assert r2_moe > 0.95 and r2_one < 0.6
    xt, gt, _, regime = _data(300, 2)
    a = moe.gate_weights(xt, gt)
    assert a.shape == (300, 2) and np.allclose(a.sum(axis=1), 1, atol=1e-5)
    # the gate separates the regimes: the experts' weights differ between them
    assert abs(a[regime == 1, 0].mean() - a[regime == 0, 0].mean()) > 0.8
    assert moe.device_ == "cpu" and 1 <= moe.best_epoch_ <= moe.n_epochs_


def test_same_seed_same_model_other_seed_other_model() -> None:
    a, _ = _fit(n_experts=2, max_epochs=3, expert="mlp", expert_hidden=8)
    b, _ = _fit(n_experts=2, max_epochs=3, expert="mlp", expert_hidden=8)
    c, _ = _fit(n_experts=2, max_epochs=3, expert="mlp", expert_hidden=8, seed=1)
    xt, gt, _, _ = _data(50, 2)
    assert np.array_equal(a.predict(xt, gt), b.predict(xt, gt))
    assert not np.allclose(a.predict(xt, gt), c.predict(xt, gt))


def test_early_stopping_restores_the_best_epoch() -> None:
    m, _ = _fit(n_experts=2, max_epochs=30, patience=2, lr=0.3)
    vals = [h["val_mse"] for h in m.history_]
    assert m.n_epochs_ == len(vals) <= 30
    assert m.best_epoch_ == int(np.argmin(vals)) + 1


def test_hard_group_pretraining_runs_first_and_needs_groups() -> None:
    x, g, y, regime = _data(400, 0)
    xv, gv, yv, _ = _data(100, 1)
    m = mnn.NNMoERegressor(2, expert="linear", max_epochs=2, pretrain_epochs=3,
                           progress=False, device="cpu").fit(x, g, y, xv, gv, yv, groups=regime)
    assert [h["pretrain"] for h in m.history_] == [True] * 3 + [False] * 2
    with pytest.raises(InvalidParameterError, match="groups"):
        mnn.NNMoERegressor(2, pretrain_epochs=1, progress=False).fit(x, g, y, xv, gv, yv)
    with pytest.raises(InvalidParameterError, match="groups"):
        mnn.NNMoERegressor(2, progress=False).fit(x, g, y, xv, gv, yv, groups=regime + 2)


def test_bad_parameters_and_shapes() -> None:
    x, g, y, _ = _data(50, 0)
    with pytest.raises(InvalidParameterError, match="n_experts"):
        mnn.NNMoERegressor(0).fit(x, g, y, x, g, y)
    with pytest.raises(InvalidParameterError, match="expert"):
        mnn.NNMoERegressor(2, expert="cnn").fit(x, g, y, x, g, y)
    with pytest.raises(ShapeMismatchError):
        mnn.NNMoERegressor(2, progress=False).fit(x, g[:10], y, x, g, y)
    with pytest.raises(InvalidParameterError, match="not fitted"):
        mnn.NNMoERegressor(2).predict(x, g)
    assert mnn.resolve_device("auto") in ("cpu", "cuda")


def test_missing_torch_raises_the_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "torch", None)  # `import torch` now fails
    x, g, y, _ = _data(20, 0)
    with pytest.raises(MissingDependencyError, match=r"pip install -r requirements\.txt"):
        mnn.NNMoERegressor(2).fit(x, g, y, x, g, y)
    with pytest.raises(ImportError):  # also an ImportError, for generic handlers
        mnn.require_torch()
    with pytest.raises(MissingDependencyError):
        mnn.resolve_device("auto")


def test_spectral_inputs_come_from_the_flux_only() -> None:
    wave = np.linspace(8100.0, 8850.0, 600)
    rng = np.random.default_rng(0)
    flux = {s: 1.0 + 0.01 * rng.normal(size=(n, wave.size))
            for s, n in (("train", 60), ("val", 20), ("test", 20))}
    X, G, names = mnn.spectral_inputs(flux, wave, n_components=4, gate_components=2)
    assert X["train"].shape == (60, 4) and G["test"].shape == (20, len(names))
    assert np.allclose(X["train"].mean(axis=0), 0, atol=1e-9)  # standardised on train
    assert "Ca II 8542 ew" in names and "log noise (DER_SNR)" in names
    error = {s: np.full_like(f, 0.05) for s, f in flux.items()}
    with pytest.raises(InvalidParameterError, match="error array"):
        mnn.spectral_inputs(error, wave, n_components=4)


def test_state_arrays_restore_the_trained_model_bit_for_bit() -> None:
    m, _ = _fit(n_experts=2, max_epochs=6, expert="mlp", expert_hidden=8, patience=2)
    params = {"n_experts": 2, "expert": "mlp", "expert_hidden": 8, "max_epochs": 6,
              "patience": 2, "lr": 1e-2, "progress": False, "device": "cpu", "batch_size": 128}
    back = mnn.NNMoERegressor(**params).load_state_arrays(m.state_arrays())
    xt, gt, _, _ = _data(80, 2)
    assert np.array_equal(back.predict(xt, gt), m.predict(xt, gt))
    assert np.array_equal(back.gate_weights(xt, gt), m.gate_weights(xt, gt))
    assert back.history_ == m.history_
    assert (back.best_epoch_, back.n_epochs_, back.y_mean_, back.y_std_) == (
        m.best_epoch_, m.n_epochs_, m.y_mean_, m.y_std_)
    with pytest.raises(InvalidParameterError, match="architecture"):
        mnn.NNMoERegressor(**{**params, "expert_hidden": 16}).load_state_arrays(
            m.state_arrays())
    with pytest.raises(InvalidParameterError, match="lack"):
        mnn.NNMoERegressor(**params).load_state_arrays({"y_scale": np.zeros(2)})
    with pytest.raises(InvalidParameterError, match="not fitted"):
        mnn.NNMoERegressor(**params).state_arrays()


def test_fit_models_rerun_reads_the_trained_weights(tmp_path, monkeypatch) -> None:
    """Notebook 11's neural models through the store: a rerun trains nothing and predicts
    exactly what the first run's networks predicted; a changed parameter trains again."""
    from moehelpers.engine.store import StatsStore, using_store
    from moehelpers.evaluation import nn_moe as ev

    x, g, y, _ = _data(400, 0)
    xv, gv, yv, _ = _data(100, 1)
    xt, gt, _, _ = _data(100, 2)
    Z, G = {"train": x, "val": xv, "test": xt}, {"train": g, "val": gv, "test": gt}
    Y = {"train": y, "val": yv}
    specs = {"K=2 linear": ({"n_experts": 2, "expert": "linear"}, G, None),
             "K=2 pre-trained": ({"n_experts": 2, "expert": "linear", "pretrain_epochs": 2}, G,
                                 (g[:, 0] > 0.5).astype(int))}
    common = {"max_epochs": 4, "patience": 4, "lr": 1e-2, "progress": False, "device": "cpu",
              "seed": 3}
    _, cold, cold_fits = ev.fit_models(specs, common, Z, Y)  # no store
    store = StatsStore(tmp_path)
    with using_store(store):
        _, miss, _ = ev.fit_models(specs, common, Z, Y)
        real_fit = mnn.NNMoERegressor.fit

        def no_training(self, *a, **k):
            raise AssertionError("trained again although the weights were stored")

        monkeypatch.setattr(mnn.NNMoERegressor, "fit", no_training)
        nets, hit, hit_fits = ev.fit_models(specs, common, Z, Y)
        assert (store.misses, store.hits) == (2, 2)
        with pytest.raises(AssertionError, match="trained again"):
            ev.fit_models(specs, {**common, "lr": 2e-2}, Z, Y)
        monkeypatch.setattr(mnn.NNMoERegressor, "fit", real_fit)
    for preds in (miss, hit):
        for name in specs:
            assert np.array_equal(preds[name], cold[name])
    cols = ["model", "epochs", "best_epoch", "val_mse_std"]
    assert hit_fits[cols].equals(cold_fits[cols])
    assert nets["K=2 linear"].gate_weights(xt, gt).shape == (100, 2)
