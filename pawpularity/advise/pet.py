"""Where the pet is. The ImageNet backbone's locating map (Grad-CAM for its cat and dog classes)
gives a generous box: wherever the map reaches MAP_LEVEL of its peak. The map is coarse (7×7
cells before upsampling) and favours the head, so inside that box GrabCut (OpenCV) tells the pet
from the background by colour, with the map's core as surely the pet; the box around what it
keeps, grown by PET_MARGIN, is the pet box that every crop contains.
`tests/advise/test_pet_box.py` holds it to 90 % of every shipped photo's pet mask and
`bench/pet_box.py` measures it."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image

from pawpularity.advise.crops import PET_MARGIN, box_of, grow
from pawpularity.data.images import Box
from pawpularity.explain.base import PET_COLUMN, target_value
from pawpularity.explain.explainer import Explainer
from pawpularity.explain.methods import locator

PET_MIN = 0.05  # below this probability of a cat or dog, no pet box is trusted: no crops
MAP_LEVEL = 0.05  # the box GrabCut searches: the map at this share of its maximum or more
CORE = 0.6  # where the map reaches this share of its maximum is surely the pet
SIDE = 256  # GrabCut runs on the photo shrunk to at most this many pixels on its longer side
ITERATIONS = 5


@dataclass(frozen=True)
class Pet:
    """Where the pet is: its box in the photo's pixels (grown by PET_MARGIN), its pixel mask on
    a copy of the photo shrunk to SIDE, the probability of a cat or dog and the locating map
    (S×S, of the photo squeezed to S×S). `box` and `mask` are None when no pet is seen
    (probability under PET_MIN, or nothing on the map)."""

    box: Box | None
    mask: np.ndarray | None
    probability: float
    saliency: np.ndarray


def find_pet(pet: Explainer, photo: Image.Image) -> tuple[Box | None, float]:
    """The pet box in the photo's pixels (grown by PET_MARGIN) and the probability of a cat or
    dog; None when no pet is seen."""
    found = locate_pet(pet, photo)
    return found.box, found.probability


def locate_pet(pet: Explainer, photo: Image.Image) -> Pet:
    """The pet's box and mask in `photo`, from the ImageNet backbone `pet`."""
    x = pet.tensor(photo)
    probability = float(target_value(pet.outputs(x), PET_COLUMN)[0])
    saliency = pet.map(locator(pet.supports), x, PET_COLUMN).numpy()
    mask = pet_mask(photo, saliency)
    if probability < PET_MIN or mask is None:
        return Pet(None, None, probability, saliency)
    return Pet(box_of_mask(mask, photo.size), mask, probability, saliency)


def pet_box(
    photo: Image.Image, saliency: np.ndarray, level: float = MAP_LEVEL, margin: float = PET_MARGIN
) -> Box | None:
    """The pet box of a photo from its S×S locating map (of the photo squeezed to S×S); None
    for a map with nothing found."""
    mask = pet_mask(photo, saliency, level)
    return None if mask is None else box_of_mask(mask, photo.size, margin)


def box_of_mask(mask: np.ndarray, size: tuple[int, int], margin: float = PET_MARGIN) -> Box:
    """The box around a mask (of the photo shrunk), in the photo's pixels grown by `margin`."""
    ys, xs = np.nonzero(mask)
    kept = (int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1)
    return grow(_scaled(kept, size, (mask.shape[1], mask.shape[0])), size, margin)


def pet_mask(
    photo: Image.Image, saliency: np.ndarray, level: float = MAP_LEVEL
) -> np.ndarray | None:
    """The pet's pixels on the photo shrunk to at most SIDE (GrabCut inside the map's box, the
    map's core surely the pet); None for a map with nothing found."""
    found = box_of(saliency, level)
    if found is None:
        return None
    scale = min(1.0, SIDE / max(photo.size))
    small = np.asarray(
        photo.convert("RGB").resize(
            (max(1, round(photo.width * scale)), max(1, round(photo.height * scale))),
            Image.Resampling.BOX,
        )
    )
    h, w = small.shape[:2]
    sy, sx = h / saliency.shape[0], w / saliency.shape[1]
    x0, y0, x1, y1 = found
    x0, y0 = min(int(x0 * sx), w - 1), min(int(y0 * sy), h - 1)
    x1, y1 = max(x0 + 1, round(x1 * sx)), max(y0 + 1, round(y1 * sy))  # at least one pixel
    label = np.full((h, w), cv2.GC_BGD, np.uint8)
    label[y0:y1, x0:x1] = cv2.GC_PR_FGD
    if not (label == cv2.GC_BGD).any():  # the box is the whole photo: its edges may be background
        label[[0, -1], :] = label[:, [0, -1]] = cv2.GC_PR_BGD
    upsampled = cv2.resize(saliency.astype(np.float32), (w, h), interpolation=cv2.INTER_LINEAR)
    label[upsampled >= CORE * upsampled.max()] = cv2.GC_FGD
    if not np.isin(label, (cv2.GC_BGD, cv2.GC_PR_BGD)).any():  # GrabCut needs background too
        return label != cv2.GC_BGD
    models = np.zeros((1, 65)), np.zeros((1, 65))  # OpenCV's background and pet colour models
    cv2.setRNGSeed(0)  # its colour models start from k-means: the same mask on every call
    cv2.grabCut(small, label, (0, 0, 0, 0), *models, ITERATIONS, cv2.GC_INIT_WITH_MASK)  # no rect
    return (label == cv2.GC_FGD) | (label == cv2.GC_PR_FGD)


def _scaled(box: Box, size: tuple[int, int], small: tuple[int, int]) -> Box:
    """A box in the small copy's pixels, in the photo's (rounded outwards)."""
    fx, fy = size[0] / small[0], size[1] / small[1]
    return (
        int(box[0] * fx),
        int(box[1] * fy),
        min(size[0], int(np.ceil(box[2] * fx))),
        min(size[1], int(np.ceil(box[3] * fy))),
    )
