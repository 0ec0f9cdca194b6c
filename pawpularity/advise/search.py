"""The edit search: candidate crops and enhancements, scored by the model itself in batches.

Stage 1 scores every crop alone and every enhancement recipe on the whole photo; stage 2 combines
the best crops with the best recipes (their automatic settings measured again on each crop).
Candidates are rendered from a working copy (longest side WORKING_SIDE); the model sees every
photo squeezed to S×S, so the copy scores like the original.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from PIL import Image

from pawpularity.advise.crops import crop_boxes
from pawpularity.advise.edits import RECIPES, Edit, apply, enhancement
from pawpularity.data.dataset import prepare
from pawpularity.data.images import Box

WORKING_SIDE = 768
TOP_CROPS, TOP_RECIPES = 3, 4

ScoreFn = Callable[[torch.Tensor], torch.Tensor]  # uint8 N×3×S×S → N scores


@dataclass(frozen=True)
class Candidate:
    edit: Edit
    score: float

    def to_dict(self) -> dict[str, object]:
        return {**self.edit.to_dict(), "score": round(self.score, 3)}


def working_copy(photo: Image.Image) -> tuple[Image.Image, float]:
    """The photo shrunk to at most WORKING_SIDE pixels, and its scale relative to the original."""
    scale = min(1.0, WORKING_SIDE / max(photo.size))
    if scale == 1.0:
        return photo, scale
    size = (max(1, round(photo.width * scale)), max(1, round(photo.height * scale)))
    return photo.resize(size, Image.Resampling.BILINEAR, reducing_gap=2.0), scale


def score_edits(
    photo: Image.Image, edits: list[Edit], score: ScoreFn, size: int, scale: float = 1.0
) -> list[Candidate]:
    """Each edit applied to `photo` (scaled by `scale` from the original), scored in one batch."""
    if not edits:
        return []
    batch = torch.stack([prepare(apply(photo, e, scale), size) for e in edits])
    return [Candidate(e, float(s)) for e, s in zip(edits, score(batch).tolist(), strict=True)]


def search(
    photo: Image.Image, score: ScoreFn, size: int, pet: Box, focus: tuple[float, float]
) -> list[Candidate]:
    """Every candidate with its score on the working copy, the untouched photo first.

    pet: the pet's box (grown by its margin) that every crop keeps; focus: the centre of the
    score's saliency, both in the original's pixels.
    """
    work, scale = working_copy(photo)
    crops = [Edit(name, crop=box) for name, box in crop_boxes(photo.size, pet, focus)]
    recipes = [e for r in RECIPES if (e := enhancement(work, r, Edit())) is not None]
    first = score_edits(work, [Edit(), *crops, *recipes], score, size, scale)
    best_crops = top([c for c in first if c.edit.crop is not None], TOP_CROPS)
    best_recipes = [c.edit.name for c in top(first[1 + len(crops) :], TOP_RECIPES)]
    combined = [
        e
        for c in best_crops
        for view in [apply(work, c.edit, scale)]
        for r in best_recipes
        if (e := enhancement(view, r, c.edit)) is not None
    ]
    return first + score_edits(work, combined, score, size, scale)


def top(candidates: list[Candidate], k: int) -> list[Candidate]:
    """The k best, best first."""
    return sorted(candidates, key=lambda c: -c.score)[:k]
