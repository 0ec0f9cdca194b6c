"""One animal's photos ranked, best first, and its cover picked: the photo to show first.

Every photo is advised (`advisor.py`): its score with the interval and percentile, its tips, and
the best edit whose confirmed gain (`confirm.py`: on the models that did not choose it) holds
the margin. Photos rank by their own score. The cover is the photo with the highest lead, its
score plus its edit's confirmed gain: the best photo, or a photo whose improved edit the
confirmed gain lifts above it (then the improved photo is the cover).

Whether two neighbours' order is real comes from the run's out-of-fold residuals: P(true score
of the one above > true score of the one below), each true score being the score plus an
independent residual drawn with either sign (the residuals are stored as |target − prediction|,
so they are taken as symmetric). Below COIN_TOSS the order is a coin toss and says so.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

import numpy as np
from PIL import Image

from pawpularity.advise import MARGIN
from pawpularity.advise.advisor import Advice, Advisor
from pawpularity.advise.evidence import Effect
from pawpularity.files import photo_error
from pawpularity.runs.intervals import Calibration

COIN_TOSS = 0.6  # P(the order of two neighbours is the true one) below this: a coin toss
AUDIT_PERCENTILE = 25.0  # an animal whose best photo scores below this percentile needs a retake

PhotoInput = tuple[str, Image.Image | str]  # (name, decoded photo or its read error)


@dataclass
class RankedPhoto:
    """One photo's place among its animal's photos (rank None: it could not be scored)."""

    photo: str
    rank: int | None = None
    score: float | None = None
    score_low: float | None = None
    score_high: float | None = None
    percentile: float | None = None
    cover: bool = False
    best_edit: str | None = None  # the edit whose confirmed gain held the margin
    best_score: float | None = None  # score + that edit's confirmed gain (the score without one)
    tips: list[str] = field(default_factory=list)
    coin_toss: bool = False  # the order against the next photo is a coin toss
    p_order: float | None = None  # P(this photo truly beats the next one)
    error: str | None = None
    improved: Image.Image | None = field(default=None, repr=False)  # the edit at full size
    retake: dict[str, str] = field(default_factory=dict)  # tips a new photo would follow, by kind

    @property
    def top_tip(self) -> str | None:
        return self.tips[0] if self.tips else None

    def to_dict(self) -> dict[str, Any]:
        def r(v: float | None) -> float | None:
            return None if v is None else round(v, 3)

        return {
            "photo": self.photo,
            "rank": self.rank,
            "score": r(self.score),
            "score_low": r(self.score_low),
            "score_high": r(self.score_high),
            "percentile": r(self.percentile),
            "cover": self.cover,
            "best_edit": self.best_edit,
            "best_score": r(self.best_score),
            "tips": self.tips,
            "top_tip": self.top_tip,
            "coin_toss": self.coin_toss,
            "error": self.error,
        }


@dataclass
class AnimalRanking:
    """An animal's photos in rank order, error rows last."""

    animal: str
    photos: list[RankedPhoto]

    @property
    def cover(self) -> RankedPhoto | None:
        return next((p for p in self.photos if p.cover), None)

    @property
    def best(self) -> RankedPhoto | None:
        """The photo ranked first (None when none could be scored)."""
        return self.photos[0] if self.photos and self.photos[0].rank is not None else None

    @property
    def needs_retake(self) -> bool:
        """Its best photo falls in the bottom quarter of the training photos' scores."""
        best = self.best
        return best is not None and (best.percentile or 0.0) < AUDIT_PERCENTILE

    def retake_tips(self) -> list[str]:
        """The tips that apply to every scored photo of the animal (the best photo's wording)."""
        scored = [p for p in self.photos if p.rank is not None]
        if not scored:
            return []
        common = set.intersection(*(set(p.retake) for p in scored))
        return [text for kind, text in scored[0].retake.items() if kind in common]

    def to_dict(self) -> dict[str, Any]:
        return {"photos": [p.to_dict() for p in self.photos]}


def rank_animal(
    advisor: Advisor,
    animal: str,
    photos: Iterable[PhotoInput],
    effects: dict[str, Effect] | None = None,
    margin: float = MARGIN,
    *,
    cover_only: bool = False,
) -> AnimalRanking:
    """Advise each photo (taken one at a time: `photos` may load them lazily), rank them and pick
    the cover. A photo that fails gets its error and goes last. `cover_only`: keep the improved
    image of the cover alone (bounded memory for many photos; `best_edit` still names each)."""
    ranked: list[RankedPhoto] = []
    leader: RankedPhoto | None = None  # the cover so far
    for name, photo in photos:
        if isinstance(photo, str):
            ranked.append(RankedPhoto(name, error=photo))
            continue
        try:
            entry = _entry(name, advisor.advise(photo, effects, margin))
        except Exception as e:  # this photo's failure, whatever it is: the others go on
            entry = RankedPhoto(name, error=photo_error(e))
        ranked.append(entry)
        if entry.error is None and (leader is None or _lead(entry) > _lead(leader)):
            if cover_only and leader is not None:
                leader.improved = None
            leader = entry
        elif cover_only:
            entry.improved = None
    return settle(animal, ranked, advisor.calibration)


def order_probability(calibration: Calibration, gap: float) -> float:
    """P(true_a > true_b) when a scores `gap` points above b, each true score being the score
    plus an independent residual of either sign (ties count half)."""
    signed = _signed(calibration)
    below = np.searchsorted(signed, signed + gap, side="left")
    upto = np.searchsorted(signed, signed + gap, side="right")
    return float(((below + upto) / 2).mean() / len(signed))


def _signed(calibration: Calibration) -> np.ndarray:
    """The residuals with both signs, sorted."""
    r = calibration.residuals.astype(np.float64)
    return np.sort(np.concatenate([r, -r]))


def _lead(photo: RankedPhoto) -> tuple[float, float]:
    """What picks the cover: the score with the confirmed gain, then the score itself (a tie
    stays with the photo met first, which also ranks first)."""
    return (photo.best_score or 0.0, photo.score or 0.0)


def _entry(name: str, advice: Advice) -> RankedPhoto:
    low, high, percentile = advice.span
    held = advice.best_edit is not None and advice.gain is not None
    tips = [t["tip"] for t in advice.tips]
    # the advisor's last tip, when an edit held, is to use that edit: nothing a retake follows
    retake = advice.tips[:-1] if held else advice.tips
    return RankedPhoto(
        photo=name,
        score=advice.score,
        score_low=low,
        score_high=high,
        percentile=percentile,
        best_edit=advice.best_edit.name if held and advice.best_edit else None,
        best_score=advice.score + (advice.gain.gain if held and advice.gain else 0.0),
        tips=tips,
        improved=advice.best if held else None,
        retake={_kind(t): t["tip"] for t in retake},
    )


def _kind(tip: dict[str, Any]) -> str:
    """What a tip is about: its flag, or for a measured tip its words before the number."""
    return tip["flag"] or tip["tip"].split(" (")[0].split(":")[0]


def settle(animal: str, ranked: list[RankedPhoto], calibration: Calibration) -> AnimalRanking:
    """The photos ranked by score (ties keep their order), each neighbour's order probability,
    the cover (the highest lead) marked; error rows last."""
    scored = sorted((p for p in ranked if p.error is None), key=lambda p: -(p.score or 0.0))
    for k, p in enumerate(scored, 1):
        p.rank = k
    for above, below in pairwise(scored):
        chance = order_probability(calibration, (above.score or 0.0) - (below.score or 0.0))
        above.p_order, above.coin_toss = chance, chance < COIN_TOSS
    if scored:
        max(scored, key=_lead).cover = True  # the first of equal leads: the better ranked
    return AnimalRanking(animal, scored + [p for p in ranked if p.error is not None])
