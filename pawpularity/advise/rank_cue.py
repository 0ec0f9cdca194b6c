"""Does ranking put the planted cue first? A demo set's variants of one shipped photo (its
sources.csv) are one animal; in every pair of an animal's photos of which one holds the cue
(cues.csv) and the other not, the one with the cue should rank first."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from pawpularity.advise.rank_photos import RANKING, Animal
from pawpularity.data.demo import CUES_FILE, SOURCES_FILE
from pawpularity.data.schema import image_path


def demo_animals(data_dir: Path, mixed: bool = True) -> list[Animal]:
    """The demo set's photos grouped by the shipped photo each was made from, the animal named
    by that photo's stem; `mixed`: only the animals with photos both with and without the cue
    (the others hold no pair to rank)."""
    table = _demo_table(Path(data_dir))
    animals = []
    for source, photos in table.groupby("source", sort=True):
        if mixed and photos["has_cue"].nunique() < 2:
            continue
        paths = tuple(image_path(data_dir, i) for i in photos["Id"])
        animals.append(Animal(Path(str(source)).stem, paths))
    return animals


def cue_pairs(out: Path, data_dir: Path) -> tuple[int, int]:
    """(pairs ranked with the cue first, pairs) in `out`'s ranking.csv of `demo_animals`: every
    pair of one animal's scored photos of which exactly one holds the cue."""
    ranked = pd.read_csv(Path(out) / RANKING, keep_default_na=False)
    if (ranked["error"] != "").any():
        raise ValueError(f"{out / RANKING}: photos failed to score: {ranked['error'].tolist()}")
    cue = _demo_table(Path(data_dir)).set_index("Id")["has_cue"]
    ranked["has_cue"] = [bool(cue[Path(p).stem]) for p in ranked["photo"]]
    right = pairs = 0
    for _, photos in ranked.groupby("animal"):
        with_cue = photos.loc[photos["has_cue"], "rank"].astype(int)
        without = photos.loc[~photos["has_cue"], "rank"].astype(int)
        pairs += len(with_cue) * len(without)
        right += sum(int((without > r).sum()) for r in with_cue)
    return right, pairs


def _demo_table(data_dir: Path) -> pd.DataFrame:
    cues = pd.read_csv(data_dir / CUES_FILE, usecols=["Id", "has_cue"])
    sources = pd.read_csv(data_dir / SOURCES_FILE)
    table = cues.merge(sources, on="Id", validate="one_to_one")
    return table.assign(has_cue=table["has_cue"].astype(bool))
