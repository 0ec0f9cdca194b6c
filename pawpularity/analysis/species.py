"""Each photo's species from an `embed` folder: dog where the ImageNet head's p(dog) / (p(cat) +
p(dog)) is at least one half, cat below it (light: no PyTorch)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from pawpularity.analysis.hypotheses import Hypothesis, species_hypothesis
from pawpularity.data.schema import ID, TARGET
from pawpularity.errors import DataError
from pawpularity.runs.embedded import SPECIES, load_embeddings

DOG_AT = 0.5


def is_dog(table: pd.DataFrame, embeddings: Path) -> np.ndarray:
    """Per row of `table`: 1.0 dog, 0.0 cat, NaN where the folder has no species for the photo
    (not embedded, or unreadable). A DataError when it holds no species or none of the photos."""
    e = load_embeddings(embeddings)
    if e.species is None:
        raise DataError(
            f"{embeddings}: no {SPECIES}; it comes from a backbone with ImageNet's classifier "
            f"({e.meta.get('backbone')} has none): embed with such a backbone"
        )
    p = pd.Series(np.asarray(e.species, float), index=e.ids)
    p = p[[not error for error in e.errors]]
    found = p.reindex(table[ID].astype(str)).to_numpy()
    if not np.isfinite(found).any():
        raise DataError(f"{embeddings}: holds the species of none of the {len(table)} photos")
    return np.where(np.isfinite(found), (found >= DOG_AT).astype(float), np.nan)


def species_hypotheses(table: pd.DataFrame, embeddings: Path | None) -> list[Hypothesis]:
    """H6 on the whole table when an `embed` folder is given (`--embeddings`), else none."""
    if embeddings is None:
        return []
    return [species_hypothesis(table[TARGET].to_numpy(float), is_dog(table, embeddings))]
