"""How sharp a photo is and how it is exposed: measurements that need no model, each with a plain
tip citing the number when it falls outside what good pet photos show. They are the model-free
part of the photo checks that issue 17's `pawpularity check` builds on.

Thresholds were set on the 50 shipped photos (Oxford-IIIT Pet) and degraded copies of them
(`tests/advise/test_quality.py` holds them to it): the originals' sharpness is 30 or more, a
Gaussian blur of 1/300 of the longer side leaves at most 20 (of 1/150, at most 4); their mean
brightness is 0.27 or more, darkened to a quarter at most 0.16; at most 0.10 of their pixels are
blown-out highlights but for one white-furred photo (0.36); brightened 2.5 times, 49 of the 50
exceed 0.11.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image

from pawpularity.advise.edits import luminance
from pawpularity.data.images import Box

SIDE = 512  # sharpness is measured with the longer side at this size: at viewing size
SHARPNESS_MIN = 25.0  # variance of the Laplacian below this: blurry
DARK = 0.2  # mean luminance (0–1) below this: too dark
HIGHLIGHTS_MAX = 0.11  # share of blown-out pixels above this: over-exposed
CLIP = 0.02  # luminance within this of white counts as blown out


@dataclass(frozen=True)
class Quality:
    sharpness: float  # variance of the Laplacian of the (pet's part of the) photo at SIDE
    brightness: float  # mean luminance, 0–1
    highlights: float  # share of pixels near white

    @property
    def ok_sharp(self) -> bool:
        return self.sharpness >= SHARPNESS_MIN

    @property
    def ok_exposure(self) -> bool:
        # Shadows alone are no fault: a black cat fills a frame with near-black fur.
        return self.brightness >= DARK and self.highlights <= HIGHLIGHTS_MAX

    def tips(self) -> list[str]:
        """A plain tip for each measurement out of bounds, with the measured number."""
        tips = []
        if not self.ok_sharp:
            tips.append(
                f"The photo looks blurry (sharpness {self.sharpness:.0f}; sharp photos measure "
                f"{SHARPNESS_MIN:.0f} or more): hold the camera still or rest it on something, "
                "tap the pet's eyes to focus, and use more light."
            )
        if self.brightness < DARK:
            tips.append(
                f"The photo is too dark (brightness {self.brightness:.0%}; aim for "
                f"{DARK:.0%} or more): shoot by a window or outdoors in the shade, or turn on "
                "more lights."
            )
        if self.highlights > HIGHLIGHTS_MAX:
            tips.append(
                f"The photo is over-exposed ({self.highlights:.0%} of it is blown-out white; "
                f"keep that under {HIGHLIGHTS_MAX:.0%}): move out of direct sun, or tap a bright "
                "part of the pet to lower the exposure."
            )
        return tips


def measure(photo: Image.Image, box: Box | None = None) -> Quality:
    """Sharpness inside `box` (the pet's box; None: the whole photo), exposure of the whole."""
    region = photo if box is None else photo.crop(box)
    scale = SIDE / max(region.size)
    size = (max(1, round(region.width * scale)), max(1, round(region.height * scale)))
    gray = np.asarray(region.convert("L").resize(size, Image.Resampling.BILINEAR))
    sharpness = float(cv2.Laplacian(gray, cv2.CV_64F).var())
    level = luminance(photo) / 255
    return Quality(sharpness, float(level.mean()), float((level >= 1 - CLIP).mean()))
