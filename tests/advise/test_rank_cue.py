"""The proof of `rank`: on demo photos the trained model has not seen, each shipped photo's
variants one animal, the photos holding the planted cue rank above those without it."""

from __future__ import annotations

from pathlib import Path

import pawpularity as paw
from pawpularity.advise.rank_cue import cue_pairs, demo_animals
from pawpularity.data.demo import make_demo

GOAL = 0.9  # share of the (cue, no cue) pairs of one animal ranked with the cue first


def test_the_photos_with_the_cue_rank_first(demo_run: Path, tmp_path: Path) -> None:
    make_demo(tmp_path / "data", n=100, seed=11)  # 2 variants of each shipped photo
    animals = demo_animals(tmp_path / "data")
    assert len(animals) >= 20 and all(len(a.photos) == 2 for a in animals)
    summary = paw.load(demo_run).rank_photos(animals, tmp_path / "out")
    assert summary.failed == 0
    right, pairs = cue_pairs(tmp_path / "out", tmp_path / "data")
    assert pairs == len(animals) and right >= GOAL * pairs, (right, pairs)
