"""Edits: explicit parameters, crops never resized, automatic settings that fix what they claim."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from pawpularity.advise.edits import (
    RECIPES,
    Edit,
    apply,
    auto_gains,
    auto_gamma,
    auto_levels,
    enhancement,
)
from pawpularity.advise.search import score_edits, search, working_copy
from pawpularity.data.images import load_image
from tests.conftest import PETS


def _noise(
    mean: tuple[int, int, int], spread: int = 20, size: tuple[int, int] = (120, 90)
) -> Image.Image:
    rng = np.random.default_rng(0)
    a = np.clip(rng.normal(mean, spread, (size[1], size[0], 3)), 0, 255).astype(np.uint8)
    return Image.fromarray(a)


def test_the_original_edit_changes_nothing() -> None:
    photo = load_image(PETS / "dog_pug_16.jpg")
    assert np.array_equal(np.asarray(apply(photo, Edit())), np.asarray(photo))


def test_a_crop_keeps_its_pixels_at_full_resolution() -> None:
    photo = load_image(PETS / "dog_pug_16.jpg")
    out = apply(photo, Edit(crop=(10, 20, 210, 220)))
    assert out.size == (200, 200)
    assert np.array_equal(np.asarray(out), np.asarray(photo)[20:220, 10:210])
    half = photo.resize((photo.width // 2, photo.height // 2))
    assert apply(half, Edit(crop=(10, 20, 210, 220)), scale=0.5).size == (100, 100)


def test_dark_photo_gets_brighter() -> None:
    dark = _noise((40, 40, 40))
    gamma = auto_gamma(dark)
    assert gamma is not None and gamma < 1
    brighter = apply(dark, Edit(gamma=gamma))
    assert np.asarray(brighter).mean() > np.asarray(dark).mean() + 20
    assert auto_gamma(_noise((128, 128, 128))) is None  # already at the target


def test_flat_photo_gets_contrast() -> None:
    flat = _noise((120, 120, 120), spread=10)
    levels = auto_levels(flat)
    assert levels is not None
    stretched = np.asarray(apply(flat, Edit(levels=levels)), dtype=float)
    assert stretched.std() > 1.5 * np.asarray(flat, dtype=float).std()  # capped stretch
    full_range = Image.fromarray(np.tile(np.arange(256, dtype=np.uint8), (64, 1)))
    assert auto_levels(full_range.convert("RGB")) is None


def test_blue_cast_is_balanced() -> None:
    blue = _noise((90, 110, 170))
    gains = auto_gains(blue)
    assert gains is not None and gains[2] < 1 < gains[0]
    means = np.asarray(apply(blue, Edit(gains=gains)), dtype=float).reshape(-1, 3).mean(0)
    assert means.max() - means.min() < 0.75 * (170 - 90)
    assert auto_gains(_noise((100, 100, 100))) is None


def test_enhancement_stores_numbers_and_skips_no_ops() -> None:
    dark = _noise((40, 40, 40))
    edit = enhancement(dark, "auto colour + sharpen", Edit())
    assert (
        edit is not None
        and edit.sharpen
        and edit.gamma < 1
        and edit.name == "auto colour + sharpen"
    )
    assert enhancement(_noise((100, 100, 100)), "white balance", Edit()) is None
    cropped = enhancement(dark, "brighter", Edit("crop 1:1", crop=(0, 0, 90, 90)))
    assert cropped is not None and cropped.crop == (0, 0, 90, 90)
    assert cropped.name == "crop 1:1 + brighter"
    assert set(RECIPES) >= {"auto contrast", "auto brightness", "white balance", "sharpen"}


def _brightness(batch: torch.Tensor) -> torch.Tensor:
    """A score that only likes light photos: the search must find the brightening edits."""
    return batch.float().mean(dim=(1, 2, 3))


def test_search_scores_every_candidate_and_finds_what_the_score_rewards() -> None:
    photo = load_image(PETS / "cat_Bombay_10.jpg").resize((1500, 1125))  # scored on a copy
    photo = photo.point(lambda v: v // 4)  # under-exposed
    pet = (300, 240, 900, 900)
    candidates = search(photo, _brightness, 64, pet, (600, 570))
    assert candidates[0].edit == Edit()
    crops = [c.edit.crop for c in candidates if c.edit.crop]
    assert crops and all(c[0] <= 300 and c[1] <= 240 and c[2] >= 900 and c[3] >= 900 for c in crops)
    assert any("+" in c.edit.name and c.edit.crop for c in candidates)  # combinations
    best = max(candidates, key=lambda c: c.score)
    assert best.edit.gamma < 1 and best.score > candidates[0].score + 10
    # what was scored on the working copy is what the full photo scores
    assert working_copy(photo)[1] == pytest.approx(0.512)
    (full,) = score_edits(photo, [best.edit], _brightness, 64)
    assert full.score == pytest.approx(best.score, abs=1.0)
