"""Edit gains confirmed by models that did not choose the edit.

The search picks the best of dozens of scored edits, so the model that picks it overrates its
gain (the winner's curse). With a run whose folds score apart (an engine with `fold_scores`:
network and head runs), the search sees only the first half of the folds and the winner is
scored again by each of the others: `gain` is their mean gain over the photo, `gain_low` and
`gain_high` their least and greatest, and the edit is recommended only when even the least gains
the margin. A run with one model (one fold, `--fold K`, a blend) cannot confirm: the gain is the
searching model's own (`confirmed_by` 0).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

from pawpularity.runs.engine import Engine

FoldScores = Callable[[torch.Tensor], torch.Tensor]  # uint8 N×3×S×S → N×K scores


@dataclass(frozen=True)
class Gain:
    gain: float
    low: float
    high: float
    confirmed_by: int  # the models that did not choose the edit; 0: there were none

    def holds(self, margin: float) -> bool:
        """Every confirming model (or the one model) sees at least `margin` points more."""
        return self.low >= margin

    def to_dict(self) -> dict[str, Any]:
        return {
            "gain": round(self.gain, 3),
            "gain_low": round(self.low, 3),
            "gain_high": round(self.high, 3),
            "confirmed_by": self.confirmed_by,
        }

    def words(self) -> str:
        """How sure the gain is, for a tip and the page."""
        if not self.confirmed_by:
            return "a one-model run: no other model could confirm it"
        models = "the model" if self.confirmed_by == 1 else f"{self.confirmed_by} models"
        spread = "" if self.confirmed_by == 1 else f", {self.low:+.1f} to {self.high:+.1f}"
        return f"{self.gain:+.1f} points on {models} that did not choose it{spread}"


class Folds:
    """Which folds of `engine` search and which confirm: the first half (at least one) search,
    the others confirm; every fold searches when the engine cannot score them apart. `photo`
    (1×3×S×S) is scored by each fold once, here: its gains are measured from these scores."""

    def __init__(self, engine: Engine, photo: torch.Tensor) -> None:
        self.per_fold: FoldScores | None = getattr(engine, "fold_scores", None)
        self.photo = None if self.per_fold is None else self.per_fold(photo).double()[0]
        count = 1 if self.photo is None else len(self.photo)
        self.searching = max(1, count // 2)
        self.confirming = count - self.searching if count > 1 else 0

    def search(self, images: torch.Tensor, engine: Engine) -> torch.Tensor:
        """The searching folds' mean score of each image."""
        if not self.confirming or self.per_fold is None:
            return engine(images, None)[0]
        return self.per_fold(images)[:, : self.searching].mean(1)

    def confirm(self, edit: torch.Tensor, searched_gain: float) -> Gain:
        """The Gain of `edit` (1×3×S×S, the edited photo) over the photo on the confirming
        folds; with none, the search's own `searched_gain`."""
        if not self.confirming or self.per_fold is None or self.photo is None:
            return Gain(searched_gain, searched_gain, searched_gain, 0)
        gains = (self.per_fold(edit).double()[0] - self.photo)[self.searching :]
        return Gain(float(gains.mean()), float(gains.min()), float(gains.max()), len(gains))
