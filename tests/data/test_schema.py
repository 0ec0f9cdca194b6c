"""read_table / table_problems on good and bad Kaggle CSVs."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from pawpularity.data.schema import (
    FLAGS,
    ID,
    TARGET,
    TRAIN_COLUMNS,
    image_path,
    read_csv,
    read_table,
    table_problems,
)
from pawpularity.errors import DataError


def _table(**columns: list[str]) -> pd.DataFrame:
    """A valid three-row train table as text, with some columns replaced."""
    df = pd.DataFrame({ID: ["id0", "id1", "id2"], TARGET: ["10", "11", "12"]})
    for flag in FLAGS:
        df[flag] = ["0", "1", "0"]
    df = df[list(TRAIN_COLUMNS)]
    for name, values in columns.items():
        df[name] = values
    return df


def test_read_table_good(make_kaggle_dir: Callable[..., Path]) -> None:
    folder = make_kaggle_dir(n=4)
    df = read_table(folder / "train.csv")
    assert list(df.columns) == list(TRAIN_COLUMNS) and len(df) == 4
    assert df[FLAGS[0]].dtype == "int8" and df[TARGET].dtype == float
    assert image_path(folder, df[ID][0]).is_file()
    test = read_table(make_kaggle_dir(n=2, split="test") / "test.csv", with_target=False)
    assert TARGET not in test.columns and len(test) == 2


def test_valid_table_has_no_problems() -> None:
    assert table_problems(_table(), with_target=True) == []
    assert table_problems(_table().drop(columns=TARGET), with_target=False) == []


@pytest.mark.parametrize(
    ("df", "expected"),
    [
        (_table().drop(columns=["Eyes", TARGET]), "missing columns: Eyes, Pawpularity"),
        (_table().assign(Extra="x"), "unexpected columns: Extra"),
        (
            _table(Eyes=["0", "2", "1"]),
            "column 'Eyes': 1 values that are not 0 or 1, e.g. row 3: '2'",
        ),
        (_table(Pawpularity=["0", "5", "5"]), "1 scores outside 1-100, e.g. row 2: '0'"),
        (_table(Pawpularity=["5", "101", "5"]), "1 scores outside 1-100, e.g. row 3: '101'"),
        (
            _table(Pawpularity=["5", "5", "3.5"]),
            "1 values that are not integers, e.g. row 4: '3.5'",
        ),
        (
            _table(Pawpularity=["abc", "5", "5"]),
            "1 values that are not integers, e.g. row 2: 'abc'",
        ),
        (_table(Id=["a", "b", "a"]), "1 duplicate Ids, e.g. a"),
        (_table(Id=["a", " ", "b"]), "1 rows with an empty Id"),
        (
            _table(Id=["../../outside/cat", "/etc/passwd", "a\\b"]),
            "3 Ids are not plain file names",
        ),
        (_table(Id=["ok", "..", "tab\there"]), "2 Ids are not plain file names"),
        (_table().iloc[:0], "no rows"),
    ],
)
def test_each_problem_is_reported(df: pd.DataFrame, expected: str) -> None:
    problems = table_problems(df, with_target=True)
    assert any(expected in p for p in problems), problems


def test_every_problem_at_once() -> None:
    df = _table(Eyes=["0", "2", "1"], Pawpularity=["0", "abc", "7"], Id=["a", "a", ""])
    problems = table_problems(df.assign(Extra="x"), with_target=True)
    assert len(problems) == 6, problems  # extra column, empty Id, duplicate, flag, non-int, range


def test_test_table_does_not_want_a_score() -> None:
    problems = table_problems(_table(), with_target=False)
    assert problems == ["unexpected columns: Pawpularity"]


def test_bom_and_whitespace_are_accepted(tmp_path: Path) -> None:
    path = tmp_path / "train.csv"
    text = _table().to_csv(index=False).replace("id0,", " id0 ,")
    path.write_text(text, encoding="utf-8-sig")  # Excel writes a byte-order mark
    df = read_table(path)
    assert df.columns[0] == ID and df[ID][0] == "id0"


@pytest.mark.parametrize(
    ("content", "expected"),
    [(b"", "not a readable CSV"), (b"\xff\xfe\x00\x81garbage", "not a readable CSV")],
)
def test_unreadable_csv(tmp_path: Path, content: bytes, expected: str) -> None:
    path = tmp_path / "train.csv"
    path.write_bytes(content)
    with pytest.raises(DataError, match=expected):
        read_csv(path)


def test_header_only_csv(tmp_path: Path) -> None:
    path = tmp_path / "train.csv"
    path.write_text(",".join(TRAIN_COLUMNS) + "\n")
    assert table_problems(read_csv(path), with_target=True) == [
        "no rows: the file has a header but no data"
    ]


def test_missing_csv_and_bad_table_raise_data_error(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="file not found"):
        read_table(tmp_path / "train.csv")
    path = tmp_path / "train.csv"
    _table(Eyes=["0", "2", "1"]).to_csv(path, index=False)
    with pytest.raises(DataError, match=r"'Eyes'.*pawpularity data check"):
        read_table(path)


def test_image_paths_stay_in_the_image_folder(tmp_path: Path) -> None:
    assert image_path(tmp_path, "0a1b") == tmp_path / "train" / "0a1b.jpg"
    for bad in ("../x", "/abs", "..", "a/b", "a\\b", "nul\0x"):
        with pytest.raises(DataError, match="not a plain file name"):
            image_path(tmp_path, bad)
