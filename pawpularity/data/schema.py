"""The Kaggle PetFinder.my Pawpularity layout: DIR/train.csv + DIR/train/<Id>.jpg (or test)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from pawpularity.errors import DataError
from pawpularity.files import plain_name

ID = "Id"
TARGET = "Pawpularity"
FLAGS: tuple[str, ...] = (
    "Subject Focus",
    "Eyes",
    "Face",
    "Near",
    "Action",
    "Accessory",
    "Group",
    "Collage",
    "Human",
    "Occlusion",
    "Info",
    "Blur",
)
# What each flag says about a photo, in plain words (PetFinder's definitions): the page's chips.
FLAG_WORDS: dict[str, str] = {
    "Subject Focus": "the pet stands out from an uncluttered background",
    "Eyes": "both eyes look at the camera",
    "Face": "the face is clearly visible",
    "Near": "the pet fills much of the frame",
    "Action": "the pet is in the middle of an action",
    "Accessory": "a toy, prop or sticker is in the photo",
    "Group": "there is more than one pet",
    "Collage": "the photo is a collage or digitally retouched",
    "Human": "a person is in the photo",
    "Occlusion": "something hides part of the pet",
    "Info": "text or labels are on the photo",
    "Blur": "the photo is blurry",
}
TRAIN_COLUMNS: tuple[str, ...] = (ID, *FLAGS, TARGET)
TEST_COLUMNS: tuple[str, ...] = (ID, *FLAGS)
SCORE_MIN, SCORE_MAX = 1, 100


def read_csv(path: Path) -> pd.DataFrame:
    """Read a CSV as text (no type guessing), so that validation sees exactly what is written."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: file not found")
    try:
        return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, OSError) as e:
        raise DataError(f"{path}: not a readable CSV file ({e})") from e


def table_problems(df: pd.DataFrame, with_target: bool) -> list[str]:
    """Every problem of a train/test table at once, each a line a person can act on."""
    expected = TRAIN_COLUMNS if with_target else TEST_COLUMNS
    problems = []
    missing = [c for c in expected if c not in df.columns]
    extra = [c for c in df.columns if c not in expected]
    if missing:
        problems.append(f"missing columns: {', '.join(missing)}")
    if extra:
        problems.append(f"unexpected columns: {', '.join(extra)}")
    if len(df) == 0:
        problems.append("no rows: the file has a header but no data")
    if ID in df.columns:
        ids = df[ID].str.strip()
        if (n_empty := int((ids == "").sum())) > 0:
            problems.append(f"{n_empty} rows with an empty Id")
        dup = ids[(ids != "") & ids.duplicated(keep=False)].unique()
        if len(dup) > 0:
            problems.append(f"{len(dup)} duplicate Ids, e.g. {_first(dup)}")
        unsafe = [repr(i) for i in ids[(ids != "") & ~ids.map(plain_name)].unique()]
        if unsafe:
            problems.append(
                f"{len(unsafe)} Ids are not plain file names (a separator, `..` or a control "
                f"character would lead outside the image folder), e.g. {_first(np.array(unsafe))}"
            )
    for flag in (f for f in FLAGS if f in df.columns):
        bad = df.index[~df[flag].str.strip().isin(["0", "1"])]
        if len(bad) > 0:
            problems.append(
                f"column {flag!r}: {len(bad)} values that are not 0 or 1, "
                f"e.g. row {bad[0] + 2}: {df[flag].iloc[bad[0]]!r}"
            )
    if with_target and TARGET in df.columns:
        score = pd.to_numeric(df[TARGET].str.strip(), errors="coerce")
        not_int = df.index[score.isna() | (score != np.round(score))]
        if len(not_int) > 0:
            problems.append(
                f"column {TARGET!r}: {len(not_int)} values that are not integers, "
                f"e.g. row {not_int[0] + 2}: {df[TARGET].iloc[not_int[0]]!r}"
            )
        out = df.index[(score < SCORE_MIN) | (score > SCORE_MAX)]
        if len(out) > 0:
            problems.append(
                f"column {TARGET!r}: {len(out)} scores outside {SCORE_MIN}-{SCORE_MAX}, "
                f"e.g. row {out[0] + 2}: {df[TARGET].iloc[out[0]]!r}"
            )
    return problems


def read_table(path: Path, with_target: bool = True) -> pd.DataFrame:
    """A validated train.csv (with_target) or test.csv: Id as str, flags as int8, score as float."""
    df = read_csv(path)
    problems = table_problems(df, with_target)
    if problems:
        raise DataError(f"{path}: " + "; ".join(problems) + " (run `pawpularity data check`)")
    out = pd.DataFrame({ID: df[ID].str.strip()})
    for flag in FLAGS:
        out[flag] = df[flag].str.strip().astype(np.int8)
    if with_target:
        out[TARGET] = df[TARGET].str.strip().astype(float)
    return out


def image_path(data_dir: Path, image_id: str, split: str = "train") -> Path:
    """Where the Kaggle layout keeps the photo of one row (inside DIR/<split>/, always)."""
    if not plain_name(image_id):
        raise DataError(f"Id {image_id!r} is not a plain file name: it would lead outside {split}/")
    return Path(data_dir) / split / f"{image_id}.jpg"


def _first(values: np.ndarray, k: int = 5) -> str:
    return ", ".join(map(str, values[:k])) + (" ..." if len(values) > k else "")
