"""The original study's reference numbers (moehelpers.records.references)."""

from __future__ import annotations

import pytest

from moehelpers.records import references


def test_mvp2_by_noise_maps_levels_to_r2() -> None:
    expert, mixed = references.mvp2_by_noise("expert"), references.mvp2_by_noise("mixed")
    assert list(expert) == list(references.ORIGINAL["mvp2.noise_levels"]) == list(mixed)
    assert expert[0.5] == 0.6552 and mixed[1.0] == 0.3393
    assert references.original_r2_by_noise() == expert
    with pytest.raises(ValueError, match="expert"):
        references.mvp2_by_noise("global")
