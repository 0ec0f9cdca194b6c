"""The photo checks hold on ground truth made from the shipped photos: each degraded copy is
flagged by its own check in at least 90 % of the cases, the originals by each check in at most
10 %. Cut copies lose half of the pet's true box (tests/assets/pet_masks) at the top, left or
right; shrunk copies are a third of the side, pasted into a plain background three times the
size. Blur and exposure are measured as in test_quality.py, sharpness here in the pet's box."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from pawpularity.advise.check import VERDICTS, PhotoCheck, check_photo
from pawpularity.data.demo import PHOTOS_DIR
from pawpularity.data.images import IMAGE_SUFFIXES, load_image
from pawpularity.explain.explainer import Explainer, imagenet_explainer
from tests.advise.test_quality import FALSE_ALARMS, FLAGGED, blurred, darkened, over_exposed

MASKS = Path(__file__).parents[1] / "assets" / "pet_masks"
PATHS = [p for p in sorted(PHOTOS_DIR.iterdir()) if p.suffix in IMAGE_SUFFIXES]
CUT = 0.5  # the share of the pet's box the frame cuts off


@pytest.fixture(scope="module")
def pet() -> Explainer:
    return imagenet_explainer("eager")


def originals() -> list[Image.Image]:
    return [load_image(p) for p in PATHS]


def cut_through(path: Path) -> Iterator[Image.Image]:
    """The photo cut through the pet from the top, the left and the right."""
    photo = load_image(next(p for p in PATHS if p.stem == path.stem))
    mask = np.asarray(Image.open(path).convert("L").resize(photo.size, Image.Resampling.NEAREST))
    ys, xs = np.nonzero(mask > 127)
    w, h = photo.size
    yield photo.crop((0, int(ys.min() + CUT * (ys.max() - ys.min())), w, h))
    yield photo.crop((int(xs.min() + CUT * (xs.max() - xs.min())), 0, w, h))
    yield photo.crop((0, 0, int(xs.max() - CUT * (xs.max() - xs.min())), h))


def shrunk(photo: Image.Image, rng: np.random.Generator) -> Image.Image:
    """The photo at its size in a plain background (smooth colours, fine grain) 3× as large,
    somewhere at random: the pet a third of the side it was."""
    w, h = 3 * photo.width, 3 * photo.height
    colours = rng.uniform(40, 215, (4, 4, 3)).astype(np.uint8)
    base = np.asarray(Image.fromarray(colours).resize((w, h), Image.Resampling.BICUBIC), float)
    grain = rng.normal(0, 12, (h // 4 + 1, w // 4 + 1)).clip(-128, 127) + 128
    fine = Image.fromarray(grain.astype(np.uint8)).resize((w, h), Image.Resampling.BILINEAR)
    canvas = np.clip(base + (np.asarray(fine, float) - 128)[..., None], 0, 255)
    out = Image.fromarray(canvas.astype(np.uint8))
    out.paste(
        photo, (int(rng.integers(0, 2 * photo.width)), int(rng.integers(0, 2 * photo.height)))
    )
    return out


def cuts() -> list[Image.Image]:
    return [c for m in sorted(MASKS.glob("*.png")) for c in cut_through(m)]


def shrunk_copies() -> list[Image.Image]:
    rng = np.random.default_rng(0)
    return [shrunk(p, rng) for p in originals()]


def flagged(checks: list[PhotoCheck], verdict: str) -> float:
    return float(np.mean([not getattr(c, verdict) for c in checks]))


def test_the_originals_pass_each_check(pet: Explainer) -> None:
    checks = [check_photo(pet, p) for p in originals()]
    assert len(checks) >= 45, "the shipped photos are missing"
    rates = {v: flagged(checks, v) for v in VERDICTS}
    print("originals flagged:", rates)
    assert all(r <= FALSE_ALARMS for r in rates.values()), rates


@pytest.mark.parametrize(
    ("copies", "verdict", "words"),
    [
        (lambda: [blurred(p) for p in originals()], "ok_sharp", "blurry"),
        (lambda: [darkened(p) for p in originals()], "ok_exposure", "too dark"),
        (lambda: [over_exposed(p) for p in originals()], "ok_exposure", "over-exposed"),
        (cuts, "ok_frame", "cuts through the pet"),
        (shrunk_copies, "ok_size", "fills little of the photo"),
    ],
)
def test_degraded_copies_are_flagged_by_their_check(
    pet: Explainer, copies: Callable[[], list[Image.Image]], verdict: str, words: str
) -> None:
    checks = [check_photo(pet, p) for p in copies()]
    assert len(checks) >= 45
    print(verdict, "flagged:", flagged(checks, verdict))
    assert flagged(checks, verdict) >= FLAGGED
    failing = next(c for c in checks if not getattr(c, verdict))
    assert any(words in tip for tip in failing.tips()), failing.tips()
