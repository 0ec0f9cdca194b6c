"""Score photos with a run, streaming: one CSV row per photo, written as results come.

Photos are decoded by worker processes ahead of the engine, so memory stays bounded by a few
batches whatever their number; for an engine on a GPU into pinned memory, by every core but one,
so that the GPU does not wait. A photo that cannot be read gets a row with its error and no
score; the others go on. `--resume` keeps the rows already written and scores the rest.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from pawpularity.data.dataset import Photo, decoded, photo_loader
from pawpularity.data.photos import Item
from pawpularity.data.schema import FLAGS
from pawpularity.device import pin_memory
from pawpularity.errors import DataError
from pawpularity.runs.config import BATCH_SIZE
from pawpularity.runs.engine import Engine
from pawpularity.runs.intervals import COLUMNS as INTERVAL_COLUMNS
from pawpularity.runs.intervals import INTERVAL, check_level
from pawpularity.runs.run import Run
from pawpularity.runtime import flat_malloc

COLUMNS = ("path", "score", *INTERVAL_COLUMNS, *FLAGS, "error")


@dataclass(frozen=True)
class Scored:
    """One batch's results: positions in the input, scores and flag probabilities (NaN where the
    photo failed) and errors ("" where it was read)."""

    index: list[int]
    scores: np.ndarray
    probs: np.ndarray
    errors: list[str]

    def rows(self) -> Iterator[tuple[int, float, np.ndarray, str]]:
        """(position, score, flag probabilities, error) per photo."""
        return zip(self.index, self.scores, self.probs, self.errors, strict=True)


@dataclass(frozen=True)
class Summary:
    scored: int
    failed: int

    @property
    def exit_code(self) -> int:
        """0: every photo scored; 2: some failed; 1: none scored."""
        return 0 if not self.failed else (2 if self.scored else 1)


def score_batches(
    engine: Engine,
    photos: Sequence[Photo],
    flags: Sequence[Sequence[float] | None] | None = None,
    batch_size: int = BATCH_SIZE,
    workers: int | None = None,
) -> Iterator[Scored]:
    """Every photo (a file or a decoded image) scored in batches, in order; flags: per photo its
    12 known flags (NaN where unknown) or None. Photos for an engine on a GPU (its `device`) are
    decoded into pinned memory, by more worker processes when `workers` is None."""
    device = getattr(engine, "device", None)
    pinned = device is not None and pin_memory(device)
    loader = photo_loader(photos, engine.image_size, 0, batch_size, workers, pin_memory=pinned)
    for index, pixels, errors in loader:
        rows = index.tolist()
        scores = np.full(len(rows), np.nan, np.float64)
        probs = np.full((len(rows), len(FLAGS)), np.nan, np.float64)
        good, chosen = decoded(pixels, errors)
        if good:
            known = _flags([flags[rows[i]] for i in good]) if flags is not None else None
            s, p = engine(chosen, known)
            scores[good], probs[good] = s.double().numpy(), p.double().numpy()
        yield Scored(rows, scores, probs, list(errors))


def predict(
    run: Run,
    items: Sequence[Item],
    out: Path,
    batch_size: int = BATCH_SIZE,
    workers: int | None = None,
    resume: bool = False,
    overwrite: bool = False,
    inputs: Sequence[Path] = (),
    interval: float = INTERVAL,
) -> Summary:
    """Write one row per item to `out` as results come (partial results survive a crash).

    inputs: the files the items came from (a CSV), which `out` must not be either.
    interval: the share of true scores the score_low–score_high interval holds.
    """
    calibration, level = run.calibration, check_level(interval)

    def rows(todo: list[Item]) -> Iterator[list[list[str]]]:
        photos, flags = [it.path for it in todo], [it.flags for it in todo]
        for batch in score_batches(run.engine, photos, flags, batch_size, workers):
            spans = calibration.columns(batch.scores, level)
            yield [
                csv_row(str(todo[i].path), s, spans[j], p, e)
                for j, (i, s, p, e) in enumerate(batch.rows())
            ]

    with flat_malloc(run.runtime == "ort"):  # glibc defaults while streaming on ORT: flat memory
        return write_predictions(out, items, rows, resume, overwrite, inputs)


def csv_row(
    path: str, score: float, span: Iterable[float], probs: Iterable[float], error: str
) -> list[str]:
    """A row of the predictions CSV (span: score_low, score_high, percentile): empty cells where
    the photo failed."""
    if error:
        return [path, "", *[""] * (len(INTERVAL_COLUMNS) + len(FLAGS)), error]
    low, high, percentile = span
    scored = [f"{score:.3f}", f"{low:.3f}", f"{high:.3f}", f"{percentile:.1f}"]
    return [path, *scored, *(f"{v:.4f}" for v in probs), ""]


def write_predictions(
    out: Path,
    items: Sequence[Item],
    rows: Callable[[list[Item]], Iterable[list[list[str]]]],
    resume: bool = False,
    overwrite: bool = False,
    inputs: Sequence[Path] = (),
    columns: Sequence[str] = COLUMNS,
    what: str = "scoring",
) -> Summary:
    """The predictions CSV of `items`, its rows from `rows(todo)` batch by batch (in the order of
    `todo`), appended and flushed as they come. `columns`: its header, the last one the error
    ("" where the photo was read); `what`: the progress bar's word.

    resume: keep the rows already in `out` (a half-written last line is dropped) and ask only
    for the items not listed there, however their paths are spelled. An `out` that exists is
    replaced only with `overwrite`; one that is an input (a photo, the CSV) never.
    """
    _check_out(out, items, resume, overwrite, inputs)
    resumed = resume and out.is_file() and out.stat().st_size
    previous = _rows_done(out, columns) if resumed else None
    done = {_same(row[0]) for row in previous or []}
    todo = [it for it in items if _same(it.path) not in done]
    scored = sum(1 for row in previous or [] if not row[-1])
    failed = len(previous or []) - scored
    bar = tqdm(total=len(items), initial=len(items) - len(todo), unit="img", desc=what)
    with out.open("a" if previous is not None else "w", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        if previous is None:
            writer.writerow(columns)
        for batch in rows(todo) if todo else []:
            writer.writerows(batch)
            f.flush()
            ok = sum(1 for row in batch if not row[-1])
            scored, failed = scored + ok, failed + len(batch) - ok
            bar.update(len(batch))
    bar.close()
    return Summary(scored, failed)


def _check_out(
    out: Path, items: Sequence[Item], resume: bool, overwrite: bool, inputs: Sequence[Path]
) -> None:
    """A DataError unless `out` may be written: not an input, not an existing file to keep."""
    taken = {_same(p) for p in inputs} | {_same(it.path) for it in items}
    if _same(out) in taken:
        raise DataError(f"--out {out} is one of the inputs: write the predictions elsewhere")
    if out.is_dir():
        raise DataError(f"--out {out} is a folder: give the CSV file to write")
    if out.exists() and not (resume or overwrite):
        raise DataError(
            f"--out {out} exists: add --resume to continue it, or --overwrite to replace it"
        )
    out.parent.mkdir(parents=True, exist_ok=True)


def _same(path: str | Path) -> str:
    """One spelling per file: absolute, normalised, links resolved."""
    return os.path.realpath(path)


def _rows_done(out: Path, columns: Sequence[str]) -> list[list[str]]:
    """(path, ...) rows of an earlier file of these columns, its torn last line cut off."""
    text = out.read_text()
    if not text.endswith("\n"):
        text = text[: text.rfind("\n") + 1]
        out.write_text(text)
    rows = list(csv.reader(io.StringIO(text)))
    if not rows or tuple(rows[0]) != tuple(columns):
        raise DataError(f"{out}: not a file of this version's columns; --resume needs one")
    return rows[1:]


def _flags(rows: Sequence[Sequence[float] | None]) -> torch.Tensor | None:
    """Known flags as rows; NaN rows for photos without them (the model fills those in)."""
    if all(r is None for r in rows):
        return None
    nan = (float("nan"),) * len(FLAGS)
    return torch.tensor([tuple(r) if r is not None else nan for r in rows], dtype=torch.float32)
