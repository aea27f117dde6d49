"""The ceiling page (notebook 16): evaluation.ceiling.flux_kind_ceilings / stored_flux_kind,
book.ceiling_page (verdicts, sentences, captions, record parameters) and its region map."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from moehelpers.book import ceiling_page as page
from moehelpers.book import plots
from moehelpers.data.flux_kind import DISTORTION_ORDER
from moehelpers.data.grid import SpectralGrid
from moehelpers.evaluation import ceiling
from moehelpers.models import bins as gating


def test_stored_flux_kind_loads_physical_flux_for_a_distorted_page() -> None:
    assert [ceiling.stored_flux_kind(k) for k in ("physical", "normalized", "distorted")] == [
        "physical", "normalized", "physical"]


def test_flux_kind_ceilings_marginalise_the_continuum_only_when_distorted() -> None:
    from moehelpers.data.sampler import make_dataset

    grid = SpectralGrid.load()
    ds = make_dataset(12, 5, grid=grid)
    known, ceil, cont = ceiling.flux_kind_ceilings(ds, grid, "physical")
    assert ceil is known and cont == {"continuum_order": DISTORTION_ORDER,
                                      "marginalise_continuum": False}
    assert known.flux_residual < 1e-5 and known.free_continuum1 is not None
    known_d, ceil_d, cont_d = ceiling.flux_kind_ceilings(ds, grid, "distorted")
    assert cont_d["marginalise_continuum"] and ceil_d is not known_d
    np.testing.assert_allclose(known_d.crlb1, known.crlb1)
    assert np.all(ceil_d.crlb1 >= known.crlb1 * (1 - 1e-9))  # a free continuum loses information
    assert not np.allclose(ceil_d.crlb1, known.crlb1)


def _frac(r2: list[float], bayes: list[float], true_labels: list[bool]) -> pd.DataFrame:
    return pd.DataFrame({"model": [f"m{i}" for i in range(len(r2))], "r2": r2,
                         "r2_bayes_set": bayes, "uses_true_labels": true_labels})


KW = {"headline_level": 0.2, "mc_tolerance": 0.25, "mc_noise_level": 0.05,
      "delta_threshold": 0.03}


def test_ceiling_verdicts_pass_and_fail_on_their_thresholds() -> None:
    headline = {"0.2": {"gap": 0.05}, "1": {"gap": 0.0}}
    frac = _frac([0.6, 0.95, 0.7], [0.8, 0.9, np.nan], [False, True, False])
    v = page.ceiling_verdicts(5e-5, 1.1, 8, headline, frac, **KW)
    assert [d["name"] for d in v] == ["flux_matches_grid", "ml_attains_bound", "headroom",
                                      "models_below_shrinkage_ceiling"]
    assert [d["passed"] for d in v] == [True, True, True, True]
    assert v[1]["value"] == pytest.approx(0.1) and "mean over 8 stars at noise 0.05" in v[1]["rule"]
    assert v[2]["value"] == 0.05 and "at noise 0.2" in v[2]["rule"]
    assert v[3]["value"] == pytest.approx(-0.2)  # the model given true labels is not judged
    bad = page.ceiling_verdicts(1e-3, 1.4, 8, {"0.2": {"gap": 0.01}},
                                _frac([0.85], [0.8], [False]), **KW)
    assert [d["passed"] for d in bad] == [False, False, False, False]


def test_ceiling_verdicts_without_models_or_headline_level_are_undecided() -> None:
    empty = pd.DataFrame(columns=["model", "r2", "r2_bayes_set", "uses_true_labels"])
    v = {d["name"]: d for d in page.ceiling_verdicts(0.0, 1.0, 8, {}, empty, **KW)}
    assert np.isnan(v["headroom"]["value"]) and v["headroom"]["passed"] is None
    assert v["models_below_shrinkage_ceiling"]["passed"] is None


def test_sentences_captions_and_record_parameters() -> None:
    known = SimpleNamespace(flux_residual=1.234e-6)
    ceil = SimpleNamespace(n_bad_pixels=np.array([0, 2, 1]))
    assert page.data_sentence(40, 1000, known, ceil) == (
        "40 test stars, 1000 pixels; max |stored − recomputed flux| = 1.23e-06; pixels "
        "without information: 3.")
    assert page.mc_caption(51, 0.05).endswith("at noise 0.05 vs the bounds. The sampling sd "
                                              "of one ratio is about 0.20.")
    assert page.ceiling_extra_params([0.2], "other", "distorted") == {
        "noise_levels": [0.2], "compare_run": "other", "median_window": ceiling.MEDIAN_WINDOW,
        "continuum": "marginalised", "continuum_order": DISTORTION_ORDER}
    assert page.ceiling_extra_params([0.2], "r", "physical")["continuum"] == "known"
    assert page.BY_NOISE_COLUMNS[0] == "noise_level" and "r2_bayes_set" in page.BY_NOISE_COLUMNS


def test_region_heatmap_puts_teff_on_x_and_mh_on_y() -> None:
    scheme = gating.physical_3x3()
    by_region = pd.DataFrame({"sigma_crlb_median": np.arange(9.0)})  # Teff-major rows
    fig = plots.ceiling_region_heatmap(by_region, scheme, 0.2)
    z = np.asarray(fig.data[0].z)
    assert z.shape == (3, 3) and z[0, 1] == 3.0 and z[1, 0] == 1.0  # z[mh, teff]
    assert list(fig.data[0].x) == list(scheme.axes[0].names)
    assert "noise 0.2" in fig.layout.title.text
