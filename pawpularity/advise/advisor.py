"""Advice for one photo: tips from the predicted flags and from measured sharpness and exposure
(`quality.py`), and the best of the edits the run's own engine scores. The pet's box comes from
the bare ImageNet backbone, where the score's evidence sits from the run's explainer (the
registry's locating method that runs on it)."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from PIL import Image

from pawpularity.advise import MARGIN
from pawpularity.advise.confirm import Folds, Gain
from pawpularity.advise.crops import centre_of_mass
from pawpularity.advise.edits import Edit, apply
from pawpularity.advise.evidence import Effect
from pawpularity.advise.pet import find_pet
from pawpularity.advise.quality import measure
from pawpularity.advise.search import Candidate, score_edits, search, top
from pawpularity.advise.tips import flag_tips
from pawpularity.data.dataset import prepare
from pawpularity.data.images import Box
from pawpularity.data.schema import FLAGS
from pawpularity.explain.base import SCORE_COLUMN
from pawpularity.explain.explainer import Explainer
from pawpularity.explain.methods import locator
from pawpularity.runs.engine import Engine
from pawpularity.runs.intervals import COLUMNS as INTERVAL_COLUMNS
from pawpularity.runs.intervals import INTERVAL, Calibration

FINALISTS = 3  # the best candidates scored again at full resolution
NO_PET = (
    "The model cannot find a cat or a dog in this photo: make sure the pet is clearly visible "
    "and takes up a good part of the frame."
)


NO_GAIN = {"gain": None, "gain_low": None, "gain_high": None, "confirmed_by": None}


@dataclass
class Scored:
    score: float
    flags: dict[str, float]  # predicted probability per flag


@dataclass
class Advice:
    score: float
    flags: dict[str, float]
    best_score: float
    best_edit: Edit | None  # None: no edit beat the original by the margin
    gain: Gain | None  # the search's winner's gain, confirmed where it can be; None: no winner
    tips: list[dict[str, Any]]
    dropped_tips: list[dict[str, str]]  # flags whose tip the head or the data cannot back
    edits: list[Candidate]
    pet_box: Box | None
    pet_probability: float
    seconds: float
    span: tuple[float, ...]  # the score's interval (score_low, score_high) and percentile
    best: Image.Image = field(repr=False)  # the best edit at full resolution (or the photo)

    def interval(self) -> dict[str, float]:
        """score_low, score_high and percentile of the photo's score."""
        return {k: round(v, 3) for k, v in zip(INTERVAL_COLUMNS, self.span, strict=True)}

    def to_dict(self) -> dict[str, Any]:
        return {
            "score": round(self.score, 3),
            **self.interval(),
            "best_score": round(self.best_score, 3),
            "best_edit": None if self.best_edit is None else self.best_edit.to_dict(),
            **(NO_GAIN if self.gain is None else self.gain.to_dict()),
            "tips": self.tips,
            "dropped_tips": self.dropped_tips,
            "edits": [c.to_dict() for c in self.edits],
            "flags": {k: round(v, 4) for k, v in self.flags.items()},
            "pet_box": self.pet_box,
            "pet_probability": round(self.pet_probability, 4),
            "size": list(self.best.size),
            "seconds": round(self.seconds, 3),
        }


class Advisor:
    """Advice with one run: `engine` scores the photo and its edits, `explainer` (the same run's)
    says where the score's evidence sits, `pet` (the bare ImageNet backbone's) finds the pet;
    `calibration` (the run's) gives the photo's score its interval at `level` and percentile;
    `flag_auc` (the run's, per flag) says which predicted flags may give tips."""

    def __init__(
        self,
        engine: Engine,
        explainer: Explainer,
        pet: Explainer,
        calibration: Calibration,
        flag_auc: Mapping[str, float | None],
        level: float = INTERVAL,
    ) -> None:
        self.engine, self.explainer, self.pet = engine, explainer, pet
        self.calibration, self.flag_auc, self.level = calibration, flag_auc, level
        self.size = engine.image_size
        self.focus_method = locator(explainer.supports)

    def score(self, photo: Image.Image) -> Scored:
        """The photo's score and predicted flag probabilities."""
        scores, probs = self.engine(prepare(photo, self.size)[None], None)
        return Scored(float(scores[0]), dict(zip(FLAGS, probs[0].tolist(), strict=True)))

    def advise(
        self, photo: Image.Image, effects: dict[str, Effect] | None = None, margin: float = MARGIN
    ) -> Advice:
        """Tips, and the best of the scored edits if it beats the photo by `margin` points on
        every model that did not choose it (`confirm.py`; on the one model of a one-model run)."""
        start = time.perf_counter()
        scored = self.score(photo)
        span = self.calibration.columns(np.array([scored.score]), self.level)[0]
        pet_box, pet_probability = find_pet(self.pet, photo)
        x = self.explainer.tensor(photo)
        evidence = self.explainer.map(self.focus_method, x, SCORE_COLUMN).numpy()
        original = prepare(photo, self.size)[None]
        folds = Folds(self.engine, original)

        def searched(images: torch.Tensor) -> torch.Tensor:
            return folds.search(images, self.engine)

        candidates = search(
            photo,
            searched,
            self.size,
            pet_box or (0, 0, *photo.size),
            _to_photo(centre_of_mass(evidence), photo, x.shape[-1]),
        )
        beating = [c for c in candidates if c.score > candidates[0].score]
        finalists = [c.edit for c in top(beating, FINALISTS)]
        final = score_edits(photo, finalists, searched, self.size)
        winner = max(final, key=lambda c: c.score, default=None)
        gain, best, best_score = None, None, scored.score
        if winner is not None:
            edited = prepare(apply(photo, winner.edit), self.size)[None]
            # a one-model run's own gain: its search model is the engine that scored the photo
            gain = folds.confirm(edited, winner.score - scored.score)
            if gain.holds(margin):
                best, best_score = winner, float(self._scores(edited)[0])
        found = flag_tips(scored.flags, effects, self.flag_auc)
        tips = found.tips
        if pet_box is None:
            tips.append(_tip(NO_PET))
        tips += [_tip(t) for t in measure(photo, pet_box).tips()]
        if best is not None and gain is not None:
            tips.append(
                _tip(
                    f"Use the improved photo ({best.edit.name}): the model scores it "
                    f"{best_score:.1f} instead of {scored.score:.1f} ({gain.words()})."
                )
            )
        return Advice(
            score=scored.score,
            flags=scored.flags,
            best_score=best_score,
            best_edit=None if best is None else best.edit,
            gain=gain,
            tips=tips,
            dropped_tips=found.dropped,
            edits=candidates,
            pet_box=pet_box,
            pet_probability=pet_probability,
            seconds=time.perf_counter() - start,
            span=tuple(map(float, span)),
            best=photo if best is None else apply(photo, best.edit),
        )

    def _scores(self, images: torch.Tensor) -> torch.Tensor:
        return self.engine(images, None)[0]


def _tip(text: str) -> dict[str, Any]:
    """A tip that comes from the photo as a whole, not from one flag."""
    return {"flag": None, "probability": None, "tip": text, "evidence": None}


def _to_photo(point: tuple[float, float], photo: Image.Image, side: int) -> tuple[float, float]:
    return point[0] * photo.width / side, point[1] * photo.height / side
