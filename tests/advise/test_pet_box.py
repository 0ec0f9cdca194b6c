"""The pet box holds the whole pet: on pixel masks of the pet in the shipped photos (made with
ISNet and checked by eye, tests/assets/pet_masks), the box `advise` finds and every candidate crop
keep at least 90 % of it; and a pet small in a large background leaves room to crop."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFilter

from pawpularity.advise.crops import crop_boxes
from pawpularity.advise.pet import find_pet, pet_box
from pawpularity.data.demo import PHOTOS_DIR
from pawpularity.data.images import Box, load_image
from pawpularity.explain.explainer import Explainer, imagenet_explainer

MASKS = sorted((Path(__file__).parents[1] / "assets" / "pet_masks").glob("*.png"))
KEEP = 0.9


@pytest.fixture(scope="module")
def pet() -> Explainer:
    return imagenet_explainer("eager")


def kept(mask: np.ndarray, box: Box) -> float:
    x0, y0, x1, y1 = box
    return float(mask[y0:y1, x0:x1].sum() / mask.sum())


def test_the_box_and_every_crop_keep_the_pet(pet: Explainer) -> None:
    assert len(MASKS) >= 25, "the pet masks are missing"
    cut = []
    for path in MASKS:
        photo = load_image(next(PHOTOS_DIR.glob(f"{path.stem}.*")))
        mask = np.asarray(Image.open(path).convert("L").resize(photo.size, Image.NEAREST)) > 127
        box, probability = find_pet(pet, photo)
        assert box is not None, f"{path.stem}: no pet found (probability {probability:.2f})"
        centre = ((box[0] + box[2]) / 2, (box[1] + box[3]) / 2)
        crops = crop_boxes(photo.size, box, centre)
        cut += [
            f"{path.stem} {name}: {kept(mask, b):.2f}"
            for name, b in [("pet box", box), *crops]
            if kept(mask, b) < KEEP
        ]
    assert not cut, "\n".join(cut)


def test_a_small_pet_leaves_room_to_crop(pet: Explainer) -> None:
    """Each photo pasted at its size into a canvas twice as wide and high, filled with a blurred
    enlargement of itself (the pet small, the background of the photo's own colours): the box
    keeps the pet and leaves room for crops."""
    areas, cut = [], []
    for path in MASKS:
        photo = load_image(next(PHOTOS_DIR.glob(f"{path.stem}.*")))
        w, h = photo.size
        canvas = photo.resize((2 * w, 2 * h)).filter(ImageFilter.GaussianBlur(25))
        where = (w // 4 + len(path.stem) * 7 % w, h // 2)
        canvas.paste(photo, where)
        mask = Image.new("L", canvas.size)
        mask.paste(Image.open(path).convert("L").resize(photo.size, Image.NEAREST), where)
        box, _ = find_pet(pet, canvas)
        assert box is not None, path.stem
        pet_pixels = np.asarray(mask) > 127
        if kept(pet_pixels, box) < KEEP:
            cut.append(f"{path.stem}: {kept(pet_pixels, box):.2f}")
        areas.append((box[2] - box[0]) * (box[3] - box[1]) / (4 * w * h))
    assert not cut, "\n".join(cut)
    # the pasted photo is a quarter of the canvas; the map's own box takes about two thirds
    assert np.median(areas) < 0.5, f"the box takes {np.median(areas):.0%} of the canvas"


@pytest.mark.parametrize("size", [(1, 1), (3, 1), (1, 300), (5000, 20), (7, 5), (640, 480)])
def test_the_box_is_inside_the_photo_and_never_empty(size: tuple[int, int]) -> None:
    """Any photo size and any map: one hot pixel (in a corner, or where it falls inside one of
    a tiny photo's pixels), a whole map, a ring hot all along the edges (surely the pet
    everywhere GrabCut could look for background), noise."""
    rng = np.random.default_rng(0)
    photo = Image.fromarray(rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8))
    pixels = []
    for y, x in ((-1, -1), (150, 150)):
        one = np.zeros((224, 224), np.float32)
        one[y, x] = 1.0
        pixels.append(one)
    ring = np.ones((224, 224), np.float32)
    ring[20:-20, 20:-20] = 0.3
    for saliency in (
        *pixels,
        ring,
        np.ones((7, 7), np.float32),
        rng.random((224, 224), np.float32),
    ):
        box = pet_box(photo, saliency)
        assert box is not None
        assert 0 <= box[0] < box[2] <= size[0] and 0 <= box[1] < box[3] <= size[1], box
    assert pet_box(photo, np.zeros((7, 7), np.float32)) is None  # nothing found
