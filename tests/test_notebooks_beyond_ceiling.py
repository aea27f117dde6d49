"""Record of notebook 16 (Fisher ceiling, ``BEYOND-ceiling``) from the tiny papermill run.

The ``executed`` fixture (tests/conftest.py) runs every notebook once per session with the
tiny parameters of ``TINY`` in tests/test_notebooks.py.
"""

from __future__ import annotations

import numpy as np

from moehelpers.book.ceiling_compare import ceiling_r2, ceiling_table
from moehelpers.evaluation.ceiling import CEILING_ID
from moehelpers.records import store as results


def test_ceiling_record(executed: dict) -> None:
    runs = executed["runs"]
    rec = results.load_record("tiny", CEILING_ID, runs_dir=runs)
    m, p = rec["metrics"], rec["params"]
    assert p["noise_levels"] == [1.0]  # level 0 of the shared tiny list is skipped
    assert m["flux_residual"] < 1e-4 and np.isfinite(m["mc_ratio"])
    tab = ceiling_table("tiny", runs)
    assert tab["noise_level"].tolist() == [1.0]
    row = tab.iloc[0]
    assert row["r2_max_set"] <= row["r2_cond_set"] and row["r2_max_set"] <= row["r2_bayes_set"]
    assert row["r2_free_scale_set"] <= row["r2_max_set"] and 0 < row["r2_bayes_set"] < 1
    assert ceiling_r2(1.0, "tiny", runs) == row["r2_max_set"]
    per_star = results.table(rec, "per_star_noise1")
    assert len(per_star) == 100 and (per_star["sigma_crlb"] >= per_star["sigma_cond"]).all()
    # the comparison picked up MVP-0 of the same tiny run at noise 1 (all test stars)
    models = results.table(rec, "models")
    mvp0 = models[(models["mvp_id"] == "MVP-0") & np.isclose(models["noise_level"], 1.0)]
    assert len(mvp0) == 1
    r2_mvp0 = results.load_record("tiny", "MVP-0", runs_dir=runs)["metrics"]["r2"][-1]
    assert np.isclose(mvp0["r2"].iloc[0], r2_mvp0)
    assert np.isclose(mvp0["fraction_bayes"].iloc[0], r2_mvp0 / row["r2_bayes_set"])
    assert set(rec["verdicts"]) == {"flux_matches_grid", "ml_attains_bound", "headroom",
                                    "models_below_shrinkage_ceiling"}
    assert rec["verdicts"]["headroom"]["passed"] is None  # 0.2 not in the tiny levels
