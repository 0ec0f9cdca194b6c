"""Crop candidates never cut the pet; the shapes and placements the issue asks for are there."""

from __future__ import annotations

import re

import numpy as np
import pytest

from pawpularity.advise.crops import MIN_AREA, box_of, centre_of_mass, crop_boxes, grow


def test_box_of_a_blob_and_of_an_empty_map() -> None:
    m = np.zeros((50, 80), np.float32)
    m[10:20, 30:45] = 1.0
    m[0, 0] = 0.05  # below the level: ignored
    assert box_of(m, 0.1) == (30, 10, 45, 20)
    assert box_of(np.zeros((5, 5)), 0.1) is None
    assert box_of(-np.ones((5, 5)), 0.1) is None


def test_grow_stays_inside_the_photo() -> None:
    assert grow((0, 0, 10, 10), (100, 50), margin=0.1) == (0, 0, 20, 15)
    assert grow((90, 40, 100, 50), (100, 50), margin=0.1) == (80, 35, 100, 50)


def test_centre_of_mass() -> None:
    m = np.zeros((10, 20))
    m[2, 15] = 3.0
    assert centre_of_mass(m) == (15.0, 2.0)
    assert centre_of_mass(np.zeros((10, 20))) == (10.0, 5.0)


@pytest.mark.parametrize("size", [(640, 480), (480, 640), (1000, 300), (300, 300)])
@pytest.mark.parametrize("seed", range(5))
def test_every_crop_contains_the_pet_and_stays_inside(size: tuple[int, int], seed: int) -> None:
    rng = np.random.default_rng(seed)
    w, h = size
    x0, y0 = int(rng.integers(0, w // 2)), int(rng.integers(0, h // 2))
    pet = (x0, y0, x0 + int(rng.integers(10, w // 2)), y0 + int(rng.integers(10, h // 2)))
    focus = (float(rng.uniform(0, w)), float(rng.uniform(0, h)))
    boxes = crop_boxes(size, pet, focus)
    for name, (a, b, c, d) in boxes:
        assert 0 <= a < c <= w and 0 <= b < d <= h, name
        assert a <= pet[0] and b <= pet[1] and c >= pet[2] and d >= pet[3], name
        assert (c - a) * (d - b) >= MIN_AREA * w * h * 0.97, name
    assert len({box for _, box in boxes}) == len(boxes)
    assert (0, 0, w, h) not in [box for _, box in boxes]


def test_shapes_zooms_and_thirds() -> None:
    boxes = dict(crop_boxes((800, 600), (350, 250, 450, 350), (400, 300)))
    names = " ".join(boxes)
    assert "1:1" in names and "4:5" in names and "same shape" in names and "thirds" in names
    parsed = {name: re.fullmatch(r"crop (.+) zoom ([\d.]+) (\S+)", name) for name in boxes}
    for name, (a, b, c, d) in boxes.items():
        match = parsed[name]
        assert match is not None, name
        expected = {"1:1": 1.0, "4:5": 0.8, "same shape": 800 / 600}[match[1]]
        assert (c - a) / (d - b) == pytest.approx(expected, rel=0.02), name
    zooms = {float(m[2]) for m in parsed.values() if m}
    assert len(zooms) >= 3 and min(zooms) < 0.7


def test_a_pet_filling_the_photo_allows_no_crop() -> None:
    assert crop_boxes((400, 300), (0, 0, 400, 300), (200, 150)) == []
