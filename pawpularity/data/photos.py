"""Which photos a command means: files, folders (recursive), glob patterns, or Kaggle CSVs."""

from __future__ import annotations

import glob
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pawpularity.data.images import IMAGE_SUFFIXES
from pawpularity.data.schema import FLAGS, ID, image_path, read_table
from pawpularity.errors import DataError


@dataclass(frozen=True)
class Item:
    """One photo to work on; flags from a Kaggle CSV (None: predicted by the model)."""

    path: Path
    flags: tuple[float, ...] | None = None


def collect(inputs: Sequence[str | Path]) -> list[Item]:
    """Photos named by files, folders (recursive), glob patterns, or train/test CSVs, in order.

    A name that matches nothing stays an item of its own (reported as "file not found" later).
    """
    items: list[Item] = []
    for raw in inputs:
        p = Path(raw)
        if p.is_dir():
            items += [Item(f) for f in sorted(p.rglob("*")) if f.suffix.lower() in IMAGE_SUFFIXES]
        elif p.suffix.lower() == ".csv" and p.is_file():
            items += _csv_items(p)
        elif p.exists():
            items.append(Item(p))
        elif matches := sorted(glob.glob(str(raw), recursive=True)):
            items += [Item(Path(m)) for m in matches if Path(m).is_file()]
        else:
            items.append(Item(p))
    if not items:
        raise DataError(f"no photos found in {', '.join(map(str, inputs))}")
    return items


def _csv_items(path: Path) -> list[Item]:
    """Rows of a Kaggle train.csv or test.csv, photos in the sibling train/ or test/ folder."""
    split = "test" if "test" in path.stem else "train"
    table = read_table(path, with_target=split == "train")
    flags = table[list(FLAGS)].to_numpy(np.float32)
    return [
        Item(image_path(path.parent, i, split), tuple(map(float, f)))
        for i, f in zip(table[ID], flags, strict=True)
    ]
