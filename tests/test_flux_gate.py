"""The learned log g gate takes the noisy flux only (moehelpers.gates.flux)."""

from __future__ import annotations

import numpy as np
import pytest

from moehelpers.errors import InvalidParameterError, ShapeMismatchError
from moehelpers.gates.flux import FluxBinClassifier, bin_representatives
from moehelpers.models.bins import AxisBins


def _toy(n: int = 400, p: int = 30, seed: int = 0):
    rng = np.random.default_rng(seed)
    bins = rng.integers(0, 3, n)
    centres = rng.normal(size=(3, p)) * 3
    return centres[bins] + rng.normal(size=(n, p)), bins


def test_classifier_learns_separable_bins() -> None:
    x, b = _toy()
    clf = FluxBinClassifier(n_components=5, max_pca_rows=200, seed=1).fit(x[:300], b[:300])
    assert (clf.predict(x[300:]) == b[300:]).mean() > 0.9
    proba = clf.predict_proba(x[300:])
    assert proba.shape == (100, 3) and np.allclose(proba.sum(axis=1), 1)
    assert clf.features(x[:4]).shape == (4, 5)
    with pytest.raises(ShapeMismatchError):
        clf.predict(x[:, :-1])


def test_classifier_never_takes_an_error_array(make_spectraset) -> None:
    x, b = _toy()
    clf = FluxBinClassifier(n_components=3)
    with pytest.raises(TypeError):  # no argument through which an error array could enter
        clf.fit(x, b, np.ones_like(x))
    with pytest.raises(TypeError):
        clf.fit(x, b, error=np.ones_like(x))
    with pytest.raises(TypeError):
        clf.fit(flux=x, bins=b)
    ds = make_spectraset()
    with pytest.raises(InvalidParameterError, match="error array"):
        clf.fit(ds, np.zeros(len(ds.labels), dtype=int))
    with pytest.raises(InvalidParameterError):
        clf.fit(x, np.full(x.shape[0], -1))


def test_bin_representatives_route_back_to_the_bin() -> None:
    axis = AxisBins.from_edges("log_g", [1.0, 2.0, 3.0, 4.0, 5.0])
    reps = bin_representatives(axis, [0, 3, -1])
    assert np.allclose(reps[:2], [1.5, 4.5]) and np.isnan(reps[2])
    assert axis.assign(bin_representatives(axis, [0, 1, 2, 3])).tolist() == [0, 1, 2, 3]
