"""MVP-6.1 helpers: evaluation.nn_moe (inputs, model grid, comparison) and book.nn_moe_page."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from moehelpers.book import nn_moe_page as page
from moehelpers.evaluation import nn_moe
from moehelpers.metrics import paired_bootstrap


def test_mh_groups_sends_uncovered_stars_to_the_nearest_edge_bin() -> None:
    lab = pd.DataFrame({"M_H": [-3.0, -1.5, -0.5, 0.3, 1.0], "T_eff": 5000.0})
    assert nn_moe.mh_groups(lab).tolist() == [0, 0, 1, 2, 2]


class _Split:
    def __init__(self, snr: np.ndarray) -> None:
        self._snr = snr

    def snr_l2(self, noise_level: float) -> np.ndarray:
        return self._snr / noise_level


def test_meta_gate_inputs_standardise_on_train() -> None:
    rng = np.random.default_rng(0)
    splits = {s: _Split(rng.uniform(10, 100, 20)) for s in ("train", "val", "test")}
    lab = {s: pd.DataFrame({"T_eff": rng.uniform(4000, 7000, 20), "M_H": rng.normal(size=20)})
           for s in splits}
    G = {s: rng.normal(size=(20, 4)) for s in splits}
    Gm = nn_moe.meta_gate_inputs(G, lab, splits, 0.5)
    assert Gm["test"].shape == (20, 7)
    np.testing.assert_array_equal(Gm["val"][:, :4], G["val"])
    np.testing.assert_allclose(Gm["train"][:, 4:].mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(Gm["train"][:, 4:].std(axis=0), 1.0, atol=1e-9)


def test_model_specs_names_and_inputs() -> None:
    G, Gm, groups = object(), object(), np.zeros(3, dtype=int)
    specs = nn_moe.model_specs([2, 4], 3, G, Gm, groups)
    assert list(specs) == ["global MLP", "NN-MoE K=2, linear experts",
                           "NN-MoE K=4, linear experts", "NN-MoE K=3, MLP experts",
                           "NN-MoE K=3, linear, pre-trained on [M/H] bins", page.META_GATE]
    assert specs["global MLP"][0] == {"n_experts": 1, "expert": "mlp"}
    assert specs["NN-MoE K=3, linear, pre-trained on [M/H] bins"][0]["pretrain_epochs"] == 3
    assert specs["NN-MoE K=3, linear, pre-trained on [M/H] bins"][2] is groups
    assert specs[page.META_GATE][1] is Gm and specs["NN-MoE K=2, linear experts"][1] is G


@pytest.fixture
def table() -> pd.DataFrame:
    rng = np.random.default_rng(1)
    y = rng.normal(size=200)
    preds = {"global Ridge": y + rng.normal(0, 0.8, 200),
             nn_moe.REFERENCE: y + rng.normal(0, 0.5, 200),
             "global MLP": y + rng.normal(0, 0.6, 200),
             "NN-MoE K=2, linear experts": y + rng.normal(0, 0.1, 200),
             "NN-MoE K=3, linear experts": y + rng.normal(0, 2.0, 200),
             page.META_GATE: y + rng.normal(0, 0.5, 200)}
    t = nn_moe.compare_models(y, preds, n_boot=50, seed=0)
    d = paired_bootstrap(y, preds["NN-MoE K=2, linear experts"], preds[nn_moe.REFERENCE],
                         n_boot=50, seed=0)
    row = t.set_index("model").loc["NN-MoE K=2, linear experts"]
    assert row["vs_piecewise"] == d.difference and row["vs_piecewise_lo"] == d.ci_low
    assert t.set_index("model").loc[nn_moe.REFERENCE, "vs_piecewise"] == 0.0
    return t


def test_compare_models_and_page_text(table: pd.DataFrame) -> None:
    assert list(table.columns) == ["model", "n", "r2", "vs_piecewise", "vs_piecewise_lo",
                                   "vs_piecewise_hi", "vs_global", "vs_global_lo",
                                   "vs_global_hi"]
    assert page.said(table, "NN-MoE K=2, linear experts").startswith(
        "**NN-MoE K=2, linear experts** beats")
    assert " loses to " in page.said(table, "NN-MoE K=3, linear experts")
    m = page.record_metrics(table, "NN-MoE K=2, linear experts", on_cuda=False)
    assert m["best_spectral_k"] == 2 and m["on_cuda"] == 0
    assert "NN-MoE K=3, linear, meta gate (Teff, M/H, SNR)" in m["r2"]


def test_best_spectral_picks_lowest_validation_mse_among_linear_k() -> None:
    fits = pd.DataFrame({"model": ["global MLP", "NN-MoE K=2, linear experts",
                                   "NN-MoE K=3, linear experts", "NN-MoE K=3, MLP experts"],
                         "val_mse_std": [0.01, 0.5, 0.3, 0.02]})
    assert page.best_spectral(fits) == "NN-MoE K=3, linear experts"


def test_verdicts_order_and_values(table: pd.DataFrame) -> None:
    class D:
        difference = 0.1

    v = page.verdicts(table, "NN-MoE K=2, linear experts", D())
    assert [x["name"] for x in v] == ["nn_moe_meta_gt_piecewise", "nn_moe_meta_gt_piecewise_ci",
                                      "nn_moe_spectral_gt_piecewise",
                                      "nn_moe_spectral_gt_piecewise_ci", "nn_moe_gt_global_mlp"]
