"""`pawpularity data check`: every problem of a Kaggle-layout folder at once, then one summary line.

The image folder is listed once (os.scandir into a set), so 10,000 rows with most photos missing
cost no more than a directory listing; the photos that are there are all decoded, in threads.
"""

from __future__ import annotations

import os
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from pawpularity.data.images import IMAGE_SUFFIXES, load_image
from pawpularity.data.schema import ID, TARGET, read_csv, table_problems
from pawpularity.errors import DataError, ImageError
from pawpularity.files import plain_name

N_EXAMPLES = 5  # how many Ids or files a problem line names
PROGRESS_FROM = 200  # show a progress bar from this many images on


@dataclass
class CheckReport:
    """What `check_dataset` found: problems fail the check, notes do not."""

    problems: list[str]  # each a line a person can act on
    notes: list[str]  # informational, e.g. images without a row
    n_rows: int = 0
    n_missing: int = 0  # images listed in the CSV but absent
    n_unreadable: int = 0
    source: str = "train.csv"  # what was checked: the CSV's name, or the folder when it is absent

    @property
    def ok(self) -> bool:
        """True when there is no problem."""
        return not self.problems

    @property
    def summary(self) -> str:
        """One line, e.g. "train.csv: 9912 rows, 9911 images missing, 0 unreadable: 1 problem"."""
        n = len(self.problems)
        verdict = "OK" if self.ok else f"{n} problem{'s' if n > 1 else ''}"
        return (
            f"{self.source}: {self.n_rows} rows, {self.n_missing} images missing, "
            f"{self.n_unreadable} unreadable: {verdict}"
        )


def check_dataset(data_dir: Path) -> CheckReport:
    """Check DIR/train.csv and DIR/train/<Id>.jpg (or test.csv and test/ without a train.csv).

    Never raises for a bad folder: every finding, fatal or not, becomes a line of the report.
    """
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        problem = (
            f"{data_dir}: folder not found; point to the folder that holds train.csv and train/"
        )
        return CheckReport([problem], [], source=str(data_dir))
    has_train = (data_dir / "train.csv").exists()
    split = "train" if has_train or not (data_dir / "test.csv").exists() else "test"
    csv_path = data_dir / f"{split}.csv"
    report = CheckReport([], [], source=csv_path.name)
    try:
        df = read_csv(csv_path)
    except DataError as e:
        hint = " (download it with `pawpularity data download`)" if not csv_path.exists() else ""
        report.problems.append(f"{e}{hint}")
        return report
    report.n_rows = len(df)
    report.problems += table_problems(df, with_target=split == "train")
    if split == "test":
        report.notes.append(f"no train.csv: checked {csv_path.name} (no {TARGET} column expected)")
    if ID not in df.columns:
        return report  # without Ids there is nothing to match the photos against

    # Unique, in CSV order; an Id that is no plain name is a problem of its own (table_problems)
    # and is never looked up on disk.
    ids = list(dict.fromkeys(i for i in df[ID].str.strip() if plain_name(i)))
    folder = data_dir / split
    if not folder.is_dir():
        report.n_missing = len(ids)
        report.problems.append(
            f"{folder}: image folder not found; it should hold {split}/<Id>.jpg for each row"
        )
        return report

    try:
        with os.scandir(folder) as entries:
            files = {e.name for e in entries if e.is_file()}
    except OSError as e:
        report.problems.append(f"{folder}: cannot list the image folder ({e.strerror})")
        return report
    wanted = {f"{i}.jpg" for i in ids}
    missing = [i for i in ids if f"{i}.jpg" not in files]
    report.n_missing = len(missing)
    if missing:
        report.problems.append(
            f"{len(missing)} of {len(ids)} images missing from {folder}, "
            f"e.g. {_first(missing)} (each row needs {split}/<Id>.jpg)"
        )
    extra = sorted(f for f in files - wanted if Path(f).suffix.lower() in IMAGE_SUFFIXES)
    if extra:
        report.notes.append(
            f"{len(extra)} images in {split}/ have no row in {csv_path.name}, e.g. {_first(extra)}"
        )

    present = [f"{i}.jpg" for i in ids if f"{i}.jpg" in files]
    failures = _unreadable(folder, present)
    report.n_unreadable = len(failures)
    report.problems += [f"unreadable image {reason}" for reason in failures[:N_EXAMPLES]]
    if len(failures) > N_EXAMPLES:
        report.problems.append(
            f"{len(failures) - N_EXAMPLES} more unreadable images in {folder} "
            f"({len(failures)} in all); fix, re-download or delete them and their rows"
        )
    return report


def _unreadable(folder: Path, names: list[str]) -> list[str]:
    """Decode every named photo (small JPEG drafts); the reasons of those that fail, in order."""

    def reason(name: str) -> str | None:
        try:
            load_image(folder / name, draft_size=(64, 64), name=f"{folder.name}/{name}")
        except ImageError as e:
            return str(e)
        return None

    quiet = len(names) < PROGRESS_FROM or not sys.stderr.isatty()
    with ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 1)) as pool:
        results = list(
            tqdm(pool.map(reason, names), total=len(names), desc="decoding images", disable=quiet)
        )
    return [r for r in results if r is not None]


def _first(values: list[str]) -> str:
    return ", ".join(values[:N_EXAMPLES]) + (" ..." if len(values) > N_EXAMPLES else "")
