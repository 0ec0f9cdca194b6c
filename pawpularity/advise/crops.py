"""Candidate crops: pet- and saliency-centred boxes at several zooms, the rule of thirds, the
photo's own shape, 1:1 and 4:5. Every box keeps the whole pet box inside it."""

from __future__ import annotations

import numpy as np

from pawpularity.data.images import Box

ASPECTS = {"same shape": None, "1:1": 1.0, "4:5": 0.8}  # width / height; None: the photo's
ZOOMS = 4  # box sizes per aspect, from the largest that fits down to the tightest around the pet
MIN_AREA = 0.25  # a crop keeps at least this share of the photo
PET_MARGIN = 0.05  # the pet box grows by this share of the photo's size on each side


def box_of(saliency: np.ndarray, level: float) -> Box | None:
    """The box around every pixel at `level` × the map's maximum or more; None for a map with no
    positive value (nothing found)."""
    peak = float(np.nanmax(saliency)) if saliency.size else 0.0
    if not peak > 0:
        return None
    ys, xs = np.nonzero(saliency >= level * peak)
    return int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1


def grow(box: Box, size: tuple[int, int], margin: float = PET_MARGIN) -> Box:
    """The box grown by `margin` of the photo's width and height on each side, within the photo."""
    w, h = size
    dx, dy = round(margin * w), round(margin * h)
    x0, y0, x1, y1 = box
    return max(0, x0 - dx), max(0, y0 - dy), min(w, x1 + dx), min(h, y1 + dy)


def centre_of_mass(saliency: np.ndarray) -> tuple[float, float]:
    """(x, y) of the map's positive mass; the photo's centre for a map without any."""
    m = np.clip(np.nan_to_num(saliency), 0, None)
    total = float(m.sum())
    h, w = m.shape
    if total <= 0:
        return w / 2, h / 2
    return float((m.sum(0) * np.arange(w)).sum() / total), float(
        (m.sum(1) * np.arange(h)).sum() / total
    )


def crop_boxes(
    size: tuple[int, int], pet: Box, focus: tuple[float, float]
) -> list[tuple[str, Box]]:
    """Named crops of a w×h photo that contain `pet` (already grown by its margin): per aspect,
    ZOOMS sizes, each centred on the pet, centred on `focus` (the score map's centre of mass),
    and with the pet's centre on a rule-of-thirds line. Duplicates and the whole photo dropped."""
    w, h = size
    pet_centre = ((pet[0] + pet[2]) / 2, (pet[1] + pet[3]) / 2)
    found: dict[Box, str] = {(0, 0, w, h): "whole photo"}
    for aspect_name, aspect in ASPECTS.items():
        a = aspect or w / h
        full_w = min(w, h * a)  # the largest box of this shape that fits
        tight = max((pet[2] - pet[0]) / full_w, (pet[3] - pet[1]) * a / full_w, _min_zoom(size, a))
        if tight > 1:
            continue
        for zoom in np.linspace(1.0, tight, ZOOMS):
            bw, bh = full_w * zoom, full_w * zoom / a
            anchors = {
                "pet-centred": pet_centre,
                "saliency-centred": focus,
                "thirds": _thirds(pet_centre, bw, bh, w, h),
            }
            for anchor_name, (cx, cy) in anchors.items():
                box = _place(cx, cy, bw, bh, w, h)
                if _contains(box, pet) and box not in found:
                    found[box] = f"crop {aspect_name} zoom {zoom:.2f} {anchor_name}"
    return [(name, box) for box, name in found.items() if name != "whole photo"]


def _min_zoom(size: tuple[int, int], aspect: float) -> float:
    """The zoom below which a box of this shape keeps less than MIN_AREA of the photo."""
    w, h = size
    full_w = min(w, h * aspect)
    return float(np.sqrt(MIN_AREA * w * h / (full_w * full_w / aspect)))


def _thirds(
    centre: tuple[float, float], bw: float, bh: float, w: int, h: int
) -> tuple[float, float]:
    """The box centre that puts the pet's centre on the nearest vertical third line and the upper
    horizontal third line (where the eyes should be)."""
    cx, cy = centre
    box_cx = cx + bw / 6 if cx < w / 2 else cx - bw / 6
    return box_cx, cy + bh / 6


def _place(cx: float, cy: float, bw: float, bh: float, w: int, h: int) -> Box:
    """A bw×bh box centred on (cx, cy) as nearly as the photo's edges allow, in whole pixels."""
    bw, bh = min(round(bw), w), min(round(bh), h)
    x0 = int(min(max(round(cx - bw / 2), 0), w - bw))
    y0 = int(min(max(round(cy - bh / 2), 0), h - bh))
    return x0, y0, x0 + bw, y0 + bh


def _contains(box: Box, inner: Box) -> bool:
    return box[0] <= inner[0] and box[1] <= inner[1] and box[2] >= inner[2] and box[3] >= inner[3]
