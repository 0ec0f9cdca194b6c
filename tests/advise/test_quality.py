"""The model-free photo checks hold on ground truth made from the shipped photos: blurred,
darkened and over-exposed copies are flagged by their check in at least 90 % of the cases, the
originals by any check in at most 10 %."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from PIL import Image, ImageEnhance, ImageFilter

from pawpularity.advise.quality import DARK, Quality, measure
from pawpularity.data.demo import PHOTOS_DIR
from pawpularity.data.images import IMAGE_SUFFIXES, load_image

PHOTOS = [load_image(p) for p in sorted(PHOTOS_DIR.iterdir()) if p.suffix in IMAGE_SUFFIXES]
FLAGGED, FALSE_ALARMS = 0.9, 0.1


def blurred(photo: Image.Image) -> Image.Image:
    return photo.filter(ImageFilter.GaussianBlur(max(photo.size) / 300))


def darkened(photo: Image.Image) -> Image.Image:
    return ImageEnhance.Brightness(photo).enhance(0.25)


def over_exposed(photo: Image.Image) -> Image.Image:
    return ImageEnhance.Brightness(photo).enhance(2.5)


def share(flag: Callable[[Quality], bool], degrade: Callable[[Image.Image], Image.Image]) -> float:
    return sum(flag(measure(degrade(p))) for p in PHOTOS) / len(PHOTOS)


def test_the_originals_pass() -> None:
    assert len(PHOTOS) >= 45, "the shipped photos are missing"
    alarms = [q.tips() for q in map(measure, PHOTOS) if not (q.ok_sharp and q.ok_exposure)]
    assert len(alarms) / len(PHOTOS) <= FALSE_ALARMS, alarms


@pytest.mark.parametrize(
    ("degrade", "flag", "words"),
    [
        (blurred, lambda q: not q.ok_sharp, "blurry"),
        (darkened, lambda q: not q.ok_exposure and q.brightness < DARK, "too dark"),
        (over_exposed, lambda q: not q.ok_exposure, "over-exposed"),
    ],
)
def test_degraded_copies_are_flagged(
    degrade: Callable[[Image.Image], Image.Image], flag: Callable[[Quality], bool], words: str
) -> None:
    assert share(flag, degrade) >= FLAGGED
    assert words in " ".join(measure(degrade(PHOTOS[0])).tips())


def test_sharpness_is_measured_inside_the_box() -> None:
    """Half of a photo blurred: the box on the sharp half passes, on the blurred half fails."""
    photo = PHOTOS[0].copy()
    w, h = photo.size
    photo.paste(blurred(photo).crop((w // 2, 0, w, h)), (w // 2, 0))
    assert measure(photo, (0, 0, w // 2, h)).ok_sharp
    assert not measure(photo, (w // 2, 0, w, h)).ok_sharp


def test_sharpness_does_not_depend_on_the_resolution() -> None:
    """The same photo 4 times larger measures about the same: it is judged at viewing size."""
    photo = PHOTOS[0]
    large = photo.resize((4 * photo.width, 4 * photo.height), Image.Resampling.LANCZOS)
    assert measure(large).sharpness == pytest.approx(measure(photo).sharpness, rel=0.3)
