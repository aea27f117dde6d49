"""MVP-6.0 study helpers (moehelpers.evaluation.learned_gate)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from moehelpers.data.flux_features import GATE_WINDOWS, GateFeatures
from moehelpers.errors import InvalidParameterError
from moehelpers.evaluation import learned_gate
from moehelpers.models import bins as gating
from moehelpers.models.piecewise import PiecewiseRidge

WAVE = np.linspace(8100.0, 8850.0, 300)


def _stars(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
    """Metal-poor / metal-rich stars with different line depths and log g relations."""
    rng = np.random.default_rng(seed)
    group = rng.integers(0, 2, n)
    prof = sum(np.exp(-0.5 * ((WAVE - w.centre) / 1.0) ** 2) for w in GATE_WINDOWS)
    depth = np.where(group == 1, 0.6, 0.15) + 0.05 * rng.normal(size=n)
    flux = 1.0 - depth[:, None] * prof[None, :] + 0.01 * rng.normal(size=(n, WAVE.size))
    lab = pd.DataFrame({"T_eff": rng.uniform(4000, 6000, n),
                        "M_H": np.where(group == 1, -0.5, -1.5) + rng.uniform(-0.4, 0.4, n)})
    y = np.where(group == 1, 1.0, -1.0) * depth * 5 + 0.05 * rng.normal(size=n)
    return flux, y, lab


def test_gate_rows_partition_and_check_the_fraction() -> None:
    from moehelpers.gates.learned import gate_rows

    e, g = gate_rows(10, 0.3, 0)
    assert g.size == 3 and e.size == 7
    assert sorted(np.concatenate([e, g]).tolist()) == list(range(10))
    assert (np.diff(e) > 0).all() and (np.diff(g) > 0).all()
    with pytest.raises(InvalidParameterError):
        gate_rows(10, 1.0, 0)


def test_evaluate_gates_scores_every_routing_and_gathers_metrics() -> None:
    (Xe, ye, le), (Xg, yg, lg) = _stars(400, 0), _stars(300, 1)
    Xv, yv, lv = _stars(200, 2)
    Xt, yt, lt = _stars(200, 3)
    m = PiecewiseRidge(gating.mh_only(), [1e-3, 1e-1], min_bin_train=20, min_bin_val=5)
    m.fit(Xe, ye, le, Xv, yv, lv)
    feats = GateFeatures(WAVE, 2).fit(Xg)
    X, y, lab = {"val": Xv, "test": Xt}, {"val": yv, "test": yt}, {"val": lv, "test": lt}
    res = learned_gate.evaluate_gates({"mh": m}, feats, (Xg, yg, lg), X, y, lab, lt.copy(),
                                      gate_C=1.0, mixture_l2=[1e-3, 1e-1], n_boot=20, seed=0)
    t = res.table.set_index("gate")
    assert list(t.index) == ["oracle", "pseudo", "logistic soft", "logistic hard",
                             "mixture soft", "mixture hard"]
    # routed by the true labels, the pseudo gate is the oracle
    np.testing.assert_array_equal(res.preds[("mh", "pseudo")], res.preds[("mh", "oracle")])
    assert t.loc["oracle", "retention"] == pytest.approx(1.0)
    assert t.loc["logistic hard", "routing_accuracy"] > 0.9  # the line depth gives the group
    assert set(res.confusion) == {("mh", "pseudo"), ("mh", "logistic hard"),
                                  ("mh", "mixture hard")}
    assert res.l2["mh"] in (1e-3, 1e-1)
    gaps = learned_gate.learned_vs_pseudo(yt, res.preds, ["mh"], n_boot=20, seed=0)
    assert list(gaps["gate"]) == list(learned_gate.LEARNED)
    assert (gaps["delta_r2_lo"] <= gaps["delta_r2"]).all()
    met = learned_gate.gate_metrics(res, {"mh": "m"}, n_expert_train=400, n_gate_train=300,
                                    n_gate_features=feats.n_features_out_)
    assert list(met)[:5] == ["r2_global", "n_expert_train", "n_gate_train", "mixture_l2",
                             "n_gate_features"]
    assert met["r2"]["m"]["oracle"] == t.loc["oracle", "r2"]
    assert met["mixture_l2"] == {"m": res.l2["mh"]}
    assert sum(map(sum, met["confusion"]["m pseudo"])) == len(yt)
