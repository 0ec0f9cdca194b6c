"""Photo edits as explicit parameters: a crop, then one colour lookup table, then sharpening.

Automatic settings (contrast stretch, brightness, white balance) are measured on the image once
and stored as numbers, so applying an `Edit` to the full-resolution photo gives the pixels that
were scored on a smaller working copy, and `advice.json` says exactly what was done.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace

import numpy as np
from PIL import Image, ImageFilter

from pawpularity.data.images import Box

TARGET_BRIGHTNESS = 0.5  # mean luminance that auto brightness aims for (0 black, 1 white)
GAMMA_RANGE = (0.6, 1.6)
GAIN_RANGE = (0.9, 1.12)  # grey world is wrong on a lawn: keep its casts mild
BRIGHTER, DARKER = 0.8, 1.2  # fixed gammas
SHARPEN_PERCENT = 80  # unsharp mask strength
SHARPEN_RADIUS = 1.2  # pixels per 1000 pixels of the longer side: the same look at any size
STATS_SIDE = 256  # automatic settings are measured on a copy this big


@dataclass(frozen=True)
class Edit:
    """One candidate fix. Crop first (never resized), then per-channel gains (white balance),
    levels (black and white points: contrast), gamma (< 1 brightens), then sharpening."""

    name: str = "original"
    crop: Box | None = None
    gains: tuple[float, float, float] = (1.0, 1.0, 1.0)
    levels: tuple[float, float] = (0.0, 255.0)
    gamma: float = 1.0
    sharpen: bool = False

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def apply(photo: Image.Image, edit: Edit, scale: float = 1.0) -> Image.Image:
    """The edited photo; `scale` is the size of `photo` relative to the one `edit.crop` refers to
    (a working copy smaller than the original)."""
    image = photo if edit.crop is None else photo.crop(_scaled(edit.crop, scale, photo.size))
    if _colour(edit) != _colour(Edit()):
        image = image.point(_lut(edit))
    if edit.sharpen:
        radius = SHARPEN_RADIUS * max(image.size) / 1000
        image = image.filter(ImageFilter.UnsharpMask(radius, SHARPEN_PERCENT, threshold=2))
    return image


def _scaled(box: Box, scale: float, size: tuple[int, int]) -> Box:
    x0, y0, x1, y1 = (round(v * scale) for v in box)
    w, h = size
    return (
        min(max(x0, 0), w - 1),
        min(max(y0, 0), h - 1),
        min(max(x1, x0 + 1), w),
        min(max(y1, y0 + 1), h),
    )


def _lut(edit: Edit) -> list[int]:
    """768 entries: R, G then B lookup tables doing gains, levels and gamma in one pass."""
    x = np.arange(256, dtype=np.float64)
    lo, hi = edit.levels
    tables = []
    for gain in edit.gains:
        v = np.clip((np.clip(x * gain, 0, 255) - lo) / (hi - lo), 0, 1) ** edit.gamma
        tables.append(np.rint(v * 255).astype(np.int64))
    return np.concatenate(tables).tolist()


def luminance(image: Image.Image) -> np.ndarray:
    """Rec. 601 luma in [0, 255] of a small copy."""
    small = image.copy()
    small.thumbnail((STATS_SIDE, STATS_SIDE), Image.Resampling.BILINEAR)
    return np.asarray(small.convert("L"), dtype=np.float64)


def auto_gains(image: Image.Image) -> tuple[float, float, float] | None:
    """Grey-world white balance: equal channel means. None when the photo is already neutral."""
    small = image.copy()
    small.thumbnail((STATS_SIDE, STATS_SIDE), Image.Resampling.BILINEAR)
    means = np.asarray(small, dtype=np.float64).reshape(-1, 3).mean(0) + 1e-6
    gains = np.clip(means.mean() / means, *GAIN_RANGE)
    if np.abs(gains - 1).max() < 0.02:
        return None
    r, g, b = (round(float(v), 3) for v in gains)
    return r, g, b


def auto_levels(image: Image.Image) -> tuple[float, float] | None:
    """Stretch the 0.5th–99.5th percentiles of luminance to black and white (at most 60 levels
    from either end). None when the photo already spans the range."""
    lo, hi = np.percentile(luminance(image), [0.5, 99.5])
    lo, hi = min(float(lo), 60.0), max(float(hi), 195.0)
    if lo < 3 and hi > 252:
        return None
    return round(lo, 1), round(hi, 1)


def auto_gamma(image: Image.Image) -> float | None:
    """The gamma that brings mean luminance to TARGET_BRIGHTNESS. None when already close."""
    mean = float(np.clip(luminance(image).mean() / 255, 0.02, 0.98))
    gamma = float(np.clip(math.log(TARGET_BRIGHTNESS) / math.log(mean), *GAMMA_RANGE))
    return None if abs(gamma - 1) < 0.05 else round(gamma, 3)


# Each recipe: a name and its steps, applied in this order to measure the automatic settings.
RECIPES: dict[str, tuple[str, ...]] = {
    "auto contrast": ("levels",),
    "auto brightness": ("gamma",),
    "brighter": ("brighter",),
    "darker": ("darker",),
    "white balance": ("gains",),
    "sharpen": ("sharpen",),
    "auto contrast + brightness": ("levels", "gamma"),
    "auto colour": ("gains", "levels", "gamma"),
    "auto colour + sharpen": ("gains", "levels", "gamma", "sharpen"),
    "auto contrast + sharpen": ("levels", "sharpen"),
}


def enhancement(image: Image.Image, recipe: str, base: Edit) -> Edit | None:
    """`base` (a crop) plus a recipe's colour settings measured on `image` (that crop, as seen).

    None when the recipe changes nothing on this image (e.g. white balance on a neutral photo).
    """
    edit = replace(base, name=recipe if base.crop is None else f"{base.name} + {recipe}")
    view = image
    for step in RECIPES[recipe]:
        if step == "gains" and (gains := auto_gains(view)):
            edit = replace(edit, gains=gains)
        elif step == "levels" and (levels := auto_levels(view)):
            edit = replace(edit, levels=levels)
        elif step == "gamma" and (gamma := auto_gamma(view)):
            edit = replace(edit, gamma=gamma)
        elif step in ("brighter", "darker"):
            edit = replace(edit, gamma=BRIGHTER if step == "brighter" else DARKER)
        elif step == "sharpen":
            edit = replace(edit, sharpen=True)
        view = apply(image, replace(edit, crop=None, sharpen=False))
    return None if _colour(edit) == _colour(base) and edit.sharpen == base.sharpen else edit


def _colour(edit: Edit) -> tuple[object, ...]:
    return edit.gains, edit.levels, edit.gamma
