"""Map statistics on maps whose answer is known."""

from __future__ import annotations

import math

import numpy as np
import pytest

from pawpularity.analysis.maps import (
    attention,
    box_mask,
    contrast,
    entropy,
    peak_count,
    pet_region,
    region_focus,
    shrink,
    to_grid,
    top_mass,
)

SIDE = 40


def blob(cy: float, cx: float, sigma: float = 3.0) -> np.ndarray:
    y, x = np.mgrid[:SIDE, :SIDE]
    return np.exp(-((y - cy) ** 2 + (x - cx) ** 2) / (2 * sigma**2)).astype(np.float32)


def test_spread_and_concentrated_maps() -> None:
    rng = np.random.default_rng(0)
    noise = attention(rng.uniform(0.9, 1.0, (SIDE, SIDE)))
    spot = attention(blob(20, 20, 2.0))
    assert noise is not None and spot is not None
    assert math.isclose(noise.sum(), 1.0) and math.isclose(spot.sum(), 1.0)
    assert top_mass(noise) < 0.2 < 0.9 < top_mass(spot)
    assert entropy(noise) > 0.95 > 0.6 > entropy(spot)


def test_a_constant_map_has_no_attention() -> None:
    assert attention(np.full((SIDE, SIDE), 3.0)) is None


def test_peak_count() -> None:
    assert peak_count(blob(10, 10)) == 1
    assert peak_count(blob(10, 10) + blob(30, 30)) == 2
    assert peak_count(blob(10, 10) + blob(30, 30) + blob(10, 30)) == 3


def test_boxes_on_the_grid() -> None:
    # a 200×100 photo (w×h); the box covers its right half
    cells = to_grid((100, 0, 200, 100), (200, 100), SIDE)
    assert cells == (SIDE // 2, 0, SIDE, SIDE)
    mask = box_mask(cells, SIDE)
    assert mask[:, SIDE // 2 :].all() and not mask[:, : SIDE // 2].any()
    level = np.zeros((SIDE, SIDE))
    level[:, SIDE // 2 :] = 1.0
    assert region_focus(level, mask) == 1.0 and region_focus(level, ~mask) == -1.0
    assert region_focus(np.zeros((SIDE, SIDE)), mask) == 0.0


def test_pet_region_is_the_hot_part() -> None:
    region = pet_region(blob(20, 20, 4.0))
    assert region[20, 20] and not region[0, 0]


@pytest.mark.parametrize("share", [0.1, 0.2])
def test_contrast(share: float) -> None:
    p = attention(blob(20, 20))
    assert p is not None
    grey = np.full((3, SIDE, SIDE), 0.5)
    assert contrast(grey, p, share) == 0.0
    orange = grey.copy()
    orange[:, 15:26, 15:26] = np.array([1.0, 0.5, 0.0])[:, None, None]
    assert contrast(orange, p, share) > 0.1


def test_shrink_averages() -> None:
    small = shrink(np.ones((224, 224)), 64)
    assert small.shape == (64, 64) and np.allclose(small, 1.0)
