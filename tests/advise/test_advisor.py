"""Advice on real photos with a trained run: the files, their contract, and the edit's honesty."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image, ImageEnhance, ImageFilter

from pawpularity.advise.advisor import NO_PET, Advisor
from pawpularity.advise.pet import PET_MIN
from pawpularity.advise.photos import advise_photos, write_advice
from pawpularity.data.dataset import unit_pixels
from pawpularity.data.images import load_image
from pawpularity.data.schema import FLAGS
from tests.conftest import PETS

PHOTO = PETS / "dog_staffordshire_bull_terrier_100.jpg"


@pytest.fixture(scope="module")
def advised(tiny_advisor: Advisor, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One photo advised with no margin, so that any better edit is kept: the dog on a wide
    grey background, which leaves room around the pet for every shape of crop."""
    out, photo = tmp_path_factory.mktemp("advice"), tmp_path_factory.mktemp("wide") / "wide.jpg"
    dog = load_image(PHOTO)
    wide = Image.new("RGB", (dog.width * 3, dog.height * 2), (128, 128, 128))
    wide.paste(dog, (dog.width, dog.height // 2))
    wide.save(photo)
    advise_photos(tiny_advisor, [photo], out, margin=0.0)
    return out


def test_one_photo_writes_the_contract_files(advised: Path) -> None:
    advice = json.loads((advised / "advice.json").read_text())
    assert {"score", "best_score", "best_edit", "tips", "edits", "flags"} <= set(advice)
    assert set(advice["flags"]) == set(FLAGS) and all(0 <= p <= 1 for p in advice["flags"].values())
    assert all(
        {"name", "crop", "gains", "levels", "gamma", "sharpen", "score"} <= set(e)
        for e in advice["edits"]
    )
    names = " ".join(e["name"] for e in advice["edits"])
    for wanted in ("1:1", "4:5", "thirds", "zoom", "auto contrast", "brighter", "sharpen"):
        assert wanted in names
    assert (advised / "compare.png").is_file() and (advised / "best.jpg").is_file()


def test_crops_keep_the_pet(advised: Path) -> None:
    advice = json.loads((advised / "advice.json").read_text())
    x0, y0, x1, y1 = advice["pet_box"]
    for e in advice["edits"]:
        if e["crop"]:
            a, b, c, d = e["crop"]
            assert a <= x0 and b <= y0 and c >= x1 and d >= y1, e["name"]


class BrightEngine:
    """Scores a photo by its mean brightness (1 to 100): on a dark photo, a brighter edit is
    known to win."""

    def __init__(self, size: int) -> None:
        self.image_size = size

    def __call__(
        self, pixels: torch.Tensor, flags: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        x = unit_pixels(pixels)
        return 1 + 99 * x.mean((1, 2, 3)), torch.full((len(x), len(FLAGS)), 0.5)


def test_best_edit_is_what_best_jpg_scores(tiny_advisor: Advisor, tmp_path: Path) -> None:
    engine = BrightEngine(tiny_advisor.size)
    advisor = Advisor(
        engine,
        tiny_advisor.explainer,
        tiny_advisor.pet,
        tiny_advisor.calibration,
        tiny_advisor.flag_auc,
    )
    dark = tmp_path / "dark.jpg"
    photo = Image.fromarray((np.asarray(load_image(PHOTO)) * 0.4).astype(np.uint8))
    photo.save(dark, quality=95)
    advise_photos(advisor, [dark], tmp_path / "out", margin=0.0)
    advice = json.loads((tmp_path / "out" / "advice.json").read_text())
    assert advice["best_edit"] is not None and advice["best_score"] > advice["score"] + 5
    best = load_image(tmp_path / "out" / "best.jpg")
    crop = advice["best_edit"]["crop"]
    expected = photo.size if crop is None else (crop[2] - crop[0], crop[3] - crop[1])
    assert best.size == expected  # full resolution, never resized
    assert advisor.score(best).score == pytest.approx(advice["best_score"], abs=1.0)  # JPEG


def test_margin_keeps_the_original_and_exif_orientation_is_baked_in(
    tiny_advisor: Advisor, tmp_path: Path
) -> None:
    photo = Image.open(PETS / "dog_pomeranian_124.jpg")
    exif = photo.getexif()
    exif[0x0112] = 6  # stored sideways: viewers rotate it 90° clockwise
    path = tmp_path / "sideways.jpg"
    photo.save(path, exif=exif)
    upright = load_image(path)
    assert upright.size == (photo.height, photo.width)
    advice = tiny_advisor.advise(upright, margin=100)
    assert advice.best_edit is None and advice.best_score == advice.score
    assert advice.best is upright and len(advice.edits) > 10
    assert advice.score == pytest.approx(tiny_advisor.score(upright).score, abs=1e-4)
    write_advice(advice, upright, tmp_path / "out")
    best = Image.open(tmp_path / "out" / "best.jpg")
    assert best.size == upright.size and best.getexif().get(0x0112, 1) == 1


def test_several_photos_and_a_broken_one(tiny_advisor: Advisor, tmp_path: Path) -> None:
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"not a photo")
    summary = advise_photos(tiny_advisor, [PETS / "dog_pug_16.jpg", broken], tmp_path / "out")
    assert (summary["advised"], summary["failed"]) == (1, 1)
    assert "not an image" in summary["photos"][str(broken)]["error"]
    assert (tmp_path / "out" / "dog_pug_16" / "advice.json").is_file()
    assert (tmp_path / "out" / "summary.json").is_file()


def test_no_pet_no_crop_and_a_tip_that_says_so(tiny_advisor: Advisor) -> None:
    rng = np.random.default_rng(0)
    noise = Image.fromarray(rng.integers(0, 255, (200, 300, 3), dtype=np.uint8))
    advice = tiny_advisor.advise(noise)
    assert advice.pet_box is None and advice.pet_probability < PET_MIN
    assert all(c.edit.crop is None for c in advice.edits)
    assert NO_PET in [t["tip"] for t in advice.tips]


def test_measured_sharpness_and_exposure_give_tips(tiny_advisor: Advisor) -> None:
    """A dark, blurred copy of a real photo gets both measured tips, the photo itself neither."""
    photo = load_image(PETS / "dog_pug_16.jpg")
    spoiled = ImageEnhance.Brightness(photo.filter(ImageFilter.GaussianBlur(4))).enhance(0.25)

    def measured(image: Image.Image) -> str:
        return " ".join(t["tip"] for t in tiny_advisor.advise(image).tips if t["flag"] is None)

    assert "blurry" not in measured(photo) and "too dark" not in measured(photo)
    assert "blurry" in measured(spoiled) and "too dark" in measured(spoiled)
