"""A finished `embed` folder read back and checked (light: NumPy and pandas, no PyTorch, so
`analyze --metadata-only` can read a species column in a second). The layout is
runs/embeddings.py's."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pawpularity.data.schema import ID
from pawpularity.errors import DataError
from pawpularity.files import read_json

EMBEDDINGS, SPECIES, IDS, META = "embeddings.npy", "species.npy", "ids.csv", "meta.json"


@dataclass(frozen=True)
class Embeddings:
    """A finished embeddings folder, read back: features, their Ids, and how they were made."""

    path: Path
    features: np.ndarray
    ids: list[str]
    errors: list[str]  # "" where the photo was read
    meta: dict[str, Any]
    species: np.ndarray | None  # p(dog) vs cat per photo; None without an ImageNet head


def load_embeddings(path: Path) -> Embeddings:
    """A finished embeddings folder, checked: shape, Ids and meta agree."""
    path = Path(path)
    if not (path / META).is_file():
        raise DataError(f"{path}: not an embeddings folder (make one with `pawpularity embed`)")
    meta = read_json(path / META)
    if not (path / EMBEDDINGS).is_file():
        raise DataError(
            f"{path}: unfinished ({meta.get('done', 0)} of {meta.get('n', '?')} photos); run the "
            "same `pawpularity embed` command again to finish it"
        )
    try:
        features = np.load(path / EMBEDDINGS, mmap_mode="r", allow_pickle=False)
        table = pd.read_csv(path / IDS, dtype=str, keep_default_na=False)
        ids, errors = list(table[ID]), list(table["error"])
    except (OSError, ValueError, KeyError, pd.errors.ParserError) as e:
        raise DataError(f"{path}: garbled embeddings folder ({e}); make it again") from e
    if features.ndim != 2 or features.shape != (len(ids), meta.get("dim")):
        raise DataError(
            f"{path}: {EMBEDDINGS} has shape {features.shape} but {IDS} lists {len(ids)} photos "
            f"of {meta.get('dim')} features; make it again"
        )
    species = None
    if meta.get("species"):
        try:
            species = np.load(path / SPECIES, mmap_mode="r", allow_pickle=False)
        except (OSError, ValueError) as e:
            raise DataError(f"{path}: garbled {SPECIES} ({e}); make it again") from e
        if species.shape != (len(ids),):
            raise DataError(f"{path}: {SPECIES} has shape {species.shape}, not ({len(ids)},)")
    return Embeddings(path, features, ids, errors, meta, species)
