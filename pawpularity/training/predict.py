"""Score photos with a run: files, folders, globs or a Kaggle CSV; one CSV row per photo.

A photo that cannot be read gets a row with its error and no score; the others go on.
"""

from __future__ import annotations

import csv
import glob
import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from pawpularity.data.images import IMAGE_SUFFIXES
from pawpularity.data.schema import FLAGS, ID, image_path, read_table
from pawpularity.errors import DataError
from pawpularity.runtime import flat_malloc
from pawpularity.training.embeddings import photo_loader
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


def predict(
    run: Run,
    items: Sequence[Item],
    out: Path,
    batch_size: int = 32,
    workers: int | None = None,
    resume: bool = False,
) -> Summary:
    """Write one row per item to `out` as results come (partial results survive a crash).

    Photos are decoded by `workers` processes ahead of the model, so memory stays bounded by a
    few batches whatever the number of photos. resume: keep the rows already in `out` (a
    half-written last line is dropped) and score only the photos not listed there.
    """
    out.parent.mkdir(parents=True, exist_ok=True)
    previous = _rows_done(out) if resume and out.is_file() else None
    done = {row[0] for row in previous or []}
    todo = [it for it in items if str(it.path) not in done]
    scored = sum(1 for row in previous or [] if row[1])
    failed = len(previous or []) - scored
    bar = tqdm(total=len(items), initial=len(items) - len(todo), unit="img", desc="scoring")
    loader = photo_loader([it.path for it in todo], run.image_size, 0, batch_size, workers)
    ort = run.runtime == "ort"  # glibc defaults while streaming on ORT: flat memory
    with out.open("a" if previous is not None else "w", newline="") as f, flat_malloc(ort):
        writer = csv.writer(f, lineterminator="\n")
        if previous is None:
            writer.writerow(COLUMNS)
        for index, pixels, errors in loader:
            batch = [todo[i] for i in index.tolist()]
            good = [i for i, e in enumerate(errors) if not e]
            cells = {i: ["", *[""] * len(FLAGS), e] for i, e in enumerate(errors)}
            if good:
                s, p = run(pixels[good], _flags([batch[i] for i in good]))
                for i, score, prob in zip(good, s.tolist(), p.tolist(), strict=True):
                    cells[i] = [f"{score:.3f}", *(f"{v:.4f}" for v in prob), ""]
            writer.writerows([item.path, *cells[i]] for i, item in enumerate(batch))
            f.flush()
            scored, failed = scored + len(good), failed + len(batch) - len(good)
            bar.update(len(batch))
    bar.close()
    return Summary(scored, failed)


def _rows_done(out: Path) -> list[list[str]]:
    """(path, score, ...) rows of an earlier predictions file, its torn last line cut off."""
    text = out.read_text()
    if not text.endswith("\n"):
        text = text[: text.rfind("\n") + 1]
        out.write_text(text)
    rows = list(csv.reader(io.StringIO(text)))
    if not rows or tuple(rows[0]) != COLUMNS:
        raise DataError(f"{out}: not a predictions file of this version; --resume needs one")
    return rows[1:]


def _flags(items: Sequence[Item]) -> torch.Tensor | None:
    """Known flags as rows; NaN rows for photos without them (the model fills those in)."""
    if all(it.flags is None for it in items):
        return None
    nan = (float("nan"),) * len(FLAGS)
    return torch.tensor([it.flags if it.flags is not None else nan for it in items])
