"""How much of the pet the advisor's pet box and crops keep, on pixel masks of the pet.

For every photo with a mask in tests/assets/pet_masks (the shipped demo photos, masks made with
ISNet and checked by eye; see the LICENSES.txt there), the ImageNet backbone's Grad-CAM for its
cat and dog classes is computed once; then, per map level, the pet box two ways: the map's own box
at that share of its maximum, and `advise`'s (GrabCut inside that box, seeded with the map's
core), both grown by PET_MARGIN. Printed: the share of the mask inside the box, the box's share of
the photo, and the share of the mask inside each candidate crop (one that keeps less than 90 %
cuts the pet). The level in use is marked. Run with the project's venv:

    python bench/pet_box.py [--levels 0.3,0.2,0.15,0.1,0.05]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image

from pawpularity.advise.crops import PET_MARGIN, box_of, crop_boxes, grow
from pawpularity.advise.pet import MAP_LEVEL, pet_box
from pawpularity.data.demo import PHOTOS_DIR
from pawpularity.data.images import Box, load_image
from pawpularity.explain.base import PET_COLUMN
from pawpularity.explain.explainer import imagenet_explainer
from pawpularity.explain.methods import locator

MASKS = Path(__file__).resolve().parents[1] / "tests" / "assets" / "pet_masks"
KEEP = 0.9  # a box or crop that keeps less of the pet cuts it


def kept(mask: np.ndarray, box: Box, size: tuple[int, int]) -> float:
    """The share of the mask's pet pixels inside `box` (in the photo's pixels of `size`)."""
    h, w = mask.shape
    sx, sy = w / size[0], h / size[1]
    x0, y0 = int(box[0] * sx), int(box[1] * sy)
    x1, y1 = int(np.ceil(box[2] * sx)), int(np.ceil(box[3] * sy))
    return float(mask[y0:y1, x0:x1].sum() / mask.sum())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--levels", default="0.3,0.2,0.15,0.1,0.05")
    args = parser.parse_args()
    levels = [float(v) for v in args.levels.split(",")]
    pet = imagenet_explainer("eager")
    method = locator(pet.supports)
    photos = {p.stem: p for p in PHOTOS_DIR.iterdir() if p.suffix in (".jpg", ".png")}
    rows = []
    for mask_path in sorted(MASKS.glob("*.png")):
        photo = load_image(photos[mask_path.stem])
        mask = np.asarray(Image.open(mask_path).convert("L")) > 127
        x = pet.tensor(photo)
        rows.append((photo, mask, pet.map(method, x, PET_COLUMN).numpy()))
    print(f"{len(rows)} photos with pet masks ({MASKS})")
    print(f"{'level':>6} {'box':>8} {'min kept':>9} {'boxes <90%':>11} {'box/photo':>10} "
          f"{'photos cropped':>15} {'crops':>6} {'crops <90%':>11}")  # fmt: skip
    for level in levels:
        for how in ("map", "GrabCut"):
            boxes, areas, crops = [], [], []
            for photo, mask, saliency in rows:
                box = (
                    map_box(photo, saliency, level)
                    if how == "map"
                    else pet_box(photo, saliency, level)
                )
                assert box is not None, "a shipped photo without a pet"
                boxes.append(kept(mask, box, photo.size))
                areas.append((box[2] - box[0]) * (box[3] - box[1]) / (photo.width * photo.height))
                centre = ((box[0] + box[2]) / 2, (box[1] + box[3]) / 2)
                crops.append(
                    [kept(mask, c, photo.size) for _, c in crop_boxes(photo.size, box, centre)]
                )
            k, every = np.array(boxes), np.array([c for cs in crops for c in cs])
            mark = "  <- advise" if level == MAP_LEVEL and how == "GrabCut" else ""
            print(f"{level:6.2f} {how:>8} {k.min():9.3f} {int((k < KEEP).sum()):11d} "
                  f"{np.mean(areas):10.0%} {sum(bool(c) for c in crops):15d} {len(every):6d} "
                  f"{int((every < KEEP).sum()):11d}{mark}")  # fmt: skip


def map_box(photo: Image.Image, saliency: np.ndarray, level: float) -> Box:
    """The map's own box at `level`, in the photo's pixels, grown by PET_MARGIN."""
    found = box_of(saliency, level)
    assert found is not None, "a shipped photo without a pet"
    fx, fy = photo.width / saliency.shape[1], photo.height / saliency.shape[0]
    x0, y0, x1, y1 = found
    box = (
        int(x0 * fx),
        int(y0 * fy),
        min(photo.width, round(x1 * fx)),
        min(photo.height, round(y1 * fy)),
    )
    return grow(box, photo.size, PET_MARGIN)


if __name__ == "__main__":
    main()
