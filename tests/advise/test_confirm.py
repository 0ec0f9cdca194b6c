"""Edit gains confirmed by folds that did not choose the edit: the winner's curse, checked."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from pawpularity.advise.advisor import Advisor
from pawpularity.data.dataset import unit_pixels
from pawpularity.data.images import load_image
from pawpularity.data.schema import FLAGS
from tests.conftest import PETS

PHOTO = PETS / "dog_staffordshire_bull_terrier_100.jpg"


class FoldedEngine:
    """Folds that score a photo by its brightness, each with its own slope: fold k gives
    50 + slope[k]·60·(brightness − 0.5). On a dark photo a brighter edit wins for a fold with a
    positive slope and loses for one with a negative slope, by a gain proportional to its slope."""

    def __init__(self, size: int, slopes: list[float]) -> None:
        self.image_size, self.slopes = size, torch.tensor(slopes, dtype=torch.float64)

    def fold_scores(self, pixels: torch.Tensor, flags: torch.Tensor | None = None) -> torch.Tensor:
        brightness = unit_pixels(pixels).double().mean((1, 2, 3))
        return 50 + 60 * (brightness[:, None] - 0.5) * self.slopes[None]

    def __call__(
        self, pixels: torch.Tensor, flags: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        scores = self.fold_scores(pixels).mean(1).float()
        return scores, torch.full((len(pixels), len(FLAGS)), 0.5)


def advise(tiny_advisor: Advisor, slopes: list[float], tmp_path: Path) -> dict[str, object]:
    engine = FoldedEngine(tiny_advisor.size, slopes)
    advisor = Advisor(
        engine,
        tiny_advisor.explainer,
        tiny_advisor.pet,
        tiny_advisor.calibration,
        tiny_advisor.flag_auc,
    )
    dark = Image.fromarray((np.asarray(load_image(PHOTO)) * 0.4).astype(np.uint8))
    return advisor.advise(dark, margin=0.5).to_dict()


def test_a_gain_only_the_searching_fold_sees_is_not_recommended(
    tiny_advisor: Advisor, tmp_path: Path
) -> None:
    """Fold 0 (searching) loves light, fold 1 (confirming) hates it: the search's winner is a
    brighter photo, and fold 1 says it loses."""
    advice = advise(tiny_advisor, [1.0, -1.0], tmp_path)
    assert advice["confirmed_by"] == 1 and advice["gain"] < 0 and advice["best_edit"] is None
    assert advice["best_score"] == advice["score"]
    assert not any("improved photo" in t["tip"] for t in advice["tips"])  # type: ignore[attr-defined]


def test_the_confirming_folds_give_the_gain_and_its_spread(
    tiny_advisor: Advisor, tmp_path: Path
) -> None:
    """Four folds: 0 and 1 search, 2 and 3 confirm with slopes 0.5 and 2. Their gains are in the
    ratio of their slopes, whatever the edit: low : mean : high = 0.5 : 1.25 : 2."""
    advice = advise(tiny_advisor, [1.0, 1.0, 0.5, 2.0], tmp_path)
    low, gain, high = advice["gain_low"], advice["gain"], advice["gain_high"]
    assert advice["confirmed_by"] == 2 and advice["best_edit"] is not None
    assert low > 0.5 and high / low == pytest.approx(4, rel=1e-3)
    assert gain / low == pytest.approx(2.5, rel=1e-3)
    tip = next(t["tip"] for t in advice["tips"] if "improved photo" in t["tip"])  # type: ignore[attr-defined]
    assert f"{gain:+.1f} points on 2 models that did not choose it" in tip


def test_the_tiny_run_confirms_with_its_other_fold(advised_json: dict[str, object]) -> None:
    assert advised_json["confirmed_by"] == 1
    assert {"gain", "gain_low", "gain_high"} <= set(advised_json)


@pytest.fixture
def advised_json(tiny_advisor: Advisor, tmp_path: Path) -> dict[str, object]:
    from pawpularity.advise.photos import advise_photos

    advise_photos(tiny_advisor, [PHOTO], tmp_path, margin=0.0)
    return json.loads((tmp_path / "advice.json").read_text())  # type: ignore[no-any-return]
