"""Score photos with a run: files, folders, globs or a Kaggle CSV; one CSV row per photo.

A photo that cannot be read gets a row with its error and no score; the others go on.
"""

from __future__ import annotations

import csv
import glob
import os
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from pawpularity.data.dataset import load_prepared
from pawpularity.data.images import IMAGE_SUFFIXES
from pawpularity.data.schema import FLAGS, ID, image_path, read_table
from pawpularity.errors import DataError, ImageError
from pawpularity.training.run import Run

COLUMNS = ("path", "score", *FLAGS, "error")


@dataclass(frozen=True)
class Item:
    path: Path
    flags: tuple[float, ...] | None = None  # from a Kaggle CSV; None: predicted by the model


@dataclass(frozen=True)
class Summary:
    scored: int
    failed: int

    @property
    def exit_code(self) -> int:
        """0: every photo scored; 2: some failed; 1: none scored."""
        return 0 if not self.failed else (2 if self.scored else 1)


def collect(inputs: Sequence[str | Path]) -> list[Item]:
    """Photos named by files, folders (recursive), glob patterns, or train/test CSVs."""
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
            items.append(Item(p))  # reported as "file not found" in its own row
    if not items:
        raise DataError(f"no photos found in {', '.join(map(str, inputs))}")
    return items


def _csv_items(path: Path) -> list[Item]:
    """Rows of a Kaggle train.csv or test.csv, photos in the sibling train/ or test/ folder."""
    table = read_table(path, with_target=False) if "test" in path.stem else read_table(path)
    split = "test" if "test" in path.stem else "train"
    flags = table[list(FLAGS)].to_numpy(np.float32)
    return [
        Item(image_path(path.parent, i, split), tuple(map(float, f)))
        for i, f in zip(table[ID], flags, strict=True)
    ]


def predict(run: Run, items: Sequence[Item], out: Path, batch_size: int = 32) -> Summary:
    """Write one row per item to `out` as results come (partial results survive a crash)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    scored = failed = 0
    bar = tqdm(total=len(items), unit="img", desc="scoring", leave=False)
    with out.open("w", newline="") as f, ThreadPoolExecutor(min(8, os.cpu_count() or 1)) as pool:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(COLUMNS)
        for batch in _chunks(items, batch_size):
            loaded = list(pool.map(lambda it: _load(it.path, run.image_size), batch))
            good = [(i, x) for i, x in enumerate(loaded) if isinstance(x, torch.Tensor)]
            cells = {i: ["", *[""] * len(FLAGS), str(x)] for i, x in enumerate(loaded)}
            if good:
                s, p = run(torch.stack([x for _, x in good]), _flags([batch[i] for i, _ in good]))
                for (i, _), score, prob in zip(good, s.tolist(), p.tolist(), strict=True):
                    cells[i] = [f"{score:.3f}", *(f"{v:.4f}" for v in prob), ""]
            writer.writerows([item.path, *cells[i]] for i, item in enumerate(batch))
            f.flush()
            scored, failed = scored + len(good), failed + len(batch) - len(good)
            bar.update(len(batch))
    bar.close()
    return Summary(scored, failed)


def _load(path: Path, size: int) -> torch.Tensor | str:
    try:
        return load_prepared(path, size)
    except ImageError as e:
        return str(e)


def _flags(items: Sequence[Item]) -> torch.Tensor | None:
    """Known flags as rows; NaN rows for photos without them (the model fills those in)."""
    if all(it.flags is None for it in items):
        return None
    nan = (float("nan"),) * len(FLAGS)
    return torch.tensor([it.flags if it.flags is not None else nan for it in items])


def _chunks(items: Sequence[Item], n: int) -> Iterator[Sequence[Item]]:
    for i in range(0, len(items), n):
        yield items[i : i + n]
