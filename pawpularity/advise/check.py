"""Photo checks that need no trained Pawpularity model: the ImageNet backbone finds the pet
(`advise/pet.py`), and plain measurements (`advise/quality.py`) judge the photo around it. Each
check that fails gives a plain tip citing its measured number.

- ok_pet: a cat or dog is seen (probability of PET_MIN or more).
- ok_size: the pet fills enough of the frame; pet_share is the share of the frame where the
  pet's locating map reaches SHARE_LEVEL of its peak.
- ok_frame: the frame does not cut through the pet: along the top, left and right edges the pet's
  mask, weighted by the map (its peak 1), stays at EDGE_MAX or under. A pet cut off at the
  bottom is a normal portrait and passes.
- ok_sharp, ok_exposure: sharpness in the pet's box and the whole photo's exposure (Quality).

The thresholds were set on the 50 shipped photos and degraded copies of them, which
`tests/advise/test_check.py` makes and measures (in-sample: no photo was held out). Originals
flagged: ok_size and ok_frame 10 %, ok_sharp and ok_exposure 2 %, ok_pet none. Copies flagged by
their check: blurred 100 %, darkened 100 %, over-exposed 98 %, shrunk to a third of the side in
a plain background 96 %, cut through half the pet's box at the top, left or right 91 % (40 % of
the box: about 80 %).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from PIL import Image

from pawpularity.advise.pet import PET_MIN, Pet, locate_pet
from pawpularity.advise.quality import Quality, measure
from pawpularity.data.images import load_image
from pawpularity.data.photos import Item
from pawpularity.explain.explainer import Explainer
from pawpularity.files import photo_error
from pawpularity.runs.predict import Summary, write_predictions

SHARE_LEVEL = 0.3  # the map at this share of its peak or more: where the pet is
SHARE_MIN = 0.3  # a pet_share under this: the pet is too small in the frame
EDGE_BAND = 0.08  # the strip along an edge, as a share of the photo's shorter side
EDGE_MAX = 0.317  # the map-weighted pet mask's mean in an edge strip over this: cut by the frame
VERDICTS = ("ok_pet", "ok_size", "ok_frame", "ok_sharp", "ok_exposure")
MEASURES = ("pet_probability", "pet_share", "sharpness", "brightness", "clipped")
COLUMNS = ("path", *MEASURES, *VERDICTS, "tips", "error")  # checks.csv
TIP_SEPARATOR = " | "  # between the tips in checks.csv's one cell


@dataclass(frozen=True)
class PhotoCheck:
    pet_probability: float  # of a cat or dog, 0–1
    pet_share: float  # share of the frame the pet's map covers, 0–1
    edge: float  # the pet's presence along the top, left or right edge (the most), 0–1
    quality: Quality

    @property
    def ok(self) -> bool:
        """Every check passed."""
        return all(getattr(self, v) for v in VERDICTS)

    @property
    def ok_pet(self) -> bool:
        return self.pet_probability >= PET_MIN

    @property
    def ok_size(self) -> bool:
        return self.pet_share >= SHARE_MIN

    @property
    def ok_frame(self) -> bool:
        return self.edge <= EDGE_MAX

    @property
    def ok_sharp(self) -> bool:
        return self.quality.ok_sharp

    @property
    def ok_exposure(self) -> bool:
        return self.quality.ok_exposure

    def tips(self) -> list[str]:
        """A plain tip for each failed check, with the measured number."""
        tips = []
        if not self.ok_pet:
            tips.append(
                f"No cat or dog found (probability {self.pet_probability:.0%}): make sure the "
                "pet is in the photo, in view and not hidden behind bars or blankets."
            )
        if not self.ok_size:
            tips.append(
                f"The pet fills little of the photo ({self.pet_share:.0%}; in good photos it "
                f"fills {SHARE_MIN:.0%} or more): get closer, or crop the photo to the pet."
            )
        if not self.ok_frame:
            tips.append(
                "The edge of the photo cuts through the pet: step back or turn the camera so "
                "that its whole head and body are in the frame."
            )
        return tips + self.quality.tips()

    def to_dict(self) -> dict[str, Any]:
        """The measured numbers, each verdict and the tips (a row of checks.csv, /api/check)."""
        q = self.quality
        return {
            "pet_probability": round(self.pet_probability, 4),
            "pet_share": round(self.pet_share, 4),
            "sharpness": round(q.sharpness, 1),
            "brightness": round(q.brightness, 4),
            "clipped": round(q.highlights, 4),
            "ok_pet": self.ok_pet,
            "ok_size": self.ok_size,
            "ok_frame": self.ok_frame,
            "ok_sharp": self.ok_sharp,
            "ok_exposure": self.ok_exposure,
            "tips": self.tips(),
        }


def check_photo(pet: Explainer, photo: Image.Image) -> PhotoCheck:
    """Every check of `photo`, with `pet` the bare ImageNet backbone's explainer."""
    found = locate_pet(pet, photo)
    saliency = np.clip(found.saliency, 0, None)
    peak = float(saliency.max())
    share = float((saliency >= SHARE_LEVEL * peak).mean()) if peak > 0 else 0.0
    return PhotoCheck(found.probability, share, _edge(found), measure(photo, found.box))


def _edge(found: Pet) -> float:
    """The map-weighted pet mask's mean in the top, left and right strips: the largest."""
    if found.mask is None:
        return 0.0
    h, w = found.mask.shape
    level = cv2.resize(np.clip(found.saliency, 0, None).astype(np.float32), (w, h))
    weighted = found.mask * level / (level.max() or 1.0)
    k = max(1, round(EDGE_BAND * min(h, w)))
    return float(max(weighted[:k].mean(), weighted[:, :k].mean(), weighted[:, -k:].mean()))


def check_photos(
    pet: Explainer,
    items: Sequence[Item],
    out: Path,
    resume: bool = False,
    overwrite: bool = False,
    inputs: Sequence[Path] = (),
) -> Summary:
    """checks.csv: a row per photo as each is checked (the ok_ columns 1 or 0, the tips in one
    cell), or its error; `resume`, `overwrite` and `inputs` as for `pawpularity predict`."""

    def rows(todo: list[Item]) -> Iterator[list[list[str]]]:
        for item in todo:
            try:
                found = check_photo(pet, load_image(item.path)).to_dict()
            except Exception as e:  # this photo's failure, whatever it is: the others go on
                yield [[str(item.path), *[""] * (len(COLUMNS) - 2), photo_error(e)]]
                continue
            cells = [found[m] for m in MEASURES] + [int(found[v]) for v in VERDICTS]
            tips = TIP_SEPARATOR.join(found["tips"])
            yield [[str(item.path), *map(str, cells), tips, ""]]

    return write_predictions(out, items, rows, resume, overwrite, inputs, COLUMNS, "checking")
