"""`pawpularity data check`: every problem at once, a one-line summary, exit 0 only when clean."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd
from PIL import Image
from typer.testing import CliRunner

from pawpularity.cli import app
from pawpularity.data.check import check_dataset
from pawpularity.data.schema import FLAGS, ID, TARGET

MakeKaggleDir = Callable[..., Path]
runner = CliRunner()


def _cli(folder: Path) -> tuple[int, list[str]]:
    result = runner.invoke(app, ["data", "check", str(folder)])
    return result.exit_code, result.stdout.splitlines()


def test_clean_folder(make_kaggle_dir: MakeKaggleDir) -> None:
    folder = make_kaggle_dir(n=4)
    report = check_dataset(folder)
    assert report.ok and report.problems == [] and report.notes == []
    assert (report.n_rows, report.n_missing, report.n_unreadable) == (4, 0, 0)
    code, lines = _cli(folder)
    assert code == 0
    assert lines == ["train.csv: 4 rows, 0 images missing, 0 unreadable: OK"]


def test_every_problem_listed_at_once(make_kaggle_dir: MakeKaggleDir) -> None:
    folder = make_kaggle_dir(n=6)
    df = pd.read_csv(folder / "train.csv", dtype=str)
    ids = list(df[ID])
    df.loc[0, "Eyes"] = "2"
    df.loc[1, TARGET] = "101"
    df.loc[2, TARGET] = "3.5"
    df.loc[4, ID] = ids[3]  # a duplicate; image 4 now has no row
    df.loc[5, ID] = ""
    df = df.drop(columns="Blur").assign(Notes="x")
    df.loc[len(df)] = ["gone1", *["0"] * 11, "50", "x"]  # rows whose photos are missing
    df.loc[len(df)] = ["gone2", *["0"] * 11, "50", "x"]
    df.to_csv(folder / "train.csv", index=False)
    (folder / "train" / f"{ids[0]}.jpg").write_bytes(b"this is not a JPEG")

    code, lines = _cli(folder)
    out = "\n".join(lines)
    assert code == 1
    for expected in [
        "missing columns: Blur",
        "unexpected columns: Notes",
        "1 rows with an empty Id",
        f"1 duplicate Ids, e.g. {ids[3]}",
        "column 'Eyes': 1 values that are not 0 or 1",
        "column 'Pawpularity': 1 values that are not integers",
        "column 'Pawpularity': 1 scores outside 1-100",
        "2 of 6 images missing from",
        "e.g. gone1, gone2",
        f"unreadable image train/{ids[0]}.jpg: not an image",
        f"note: 2 images in train/ have no row in train.csv, e.g. {ids[4]}.jpg, {ids[5]}.jpg",
    ]:
        assert expected in out, f"{expected!r} not in:\n{out}"
    assert sum(line.startswith("problem: ") for line in lines) == 9
    assert lines[-1] == "train.csv: 8 rows, 2 images missing, 1 unreadable: 9 problems"


def test_ten_thousand_rows_one_image_gives_the_exact_missing_count(tmp_path: Path) -> None:
    (tmp_path / "train").mkdir()
    ids = [f"{i:032x}" for i in range(10_000)]
    df = pd.DataFrame({ID: ids} | {flag: 0 for flag in FLAGS} | {TARGET: 42})
    df.to_csv(tmp_path / "train.csv", index=False)
    Image.new("RGB", (32, 32)).save(tmp_path / "train" / f"{ids[1]}.jpg")
    report = check_dataset(tmp_path)
    assert (report.n_rows, report.n_missing, report.n_unreadable) == (10_000, 9_999, 0)
    assert report.problems == [
        f"9999 of 10000 images missing from {tmp_path / 'train'}, "
        f"e.g. {', '.join(ids[i] for i in (0, 2, 3, 4, 5))} ... (each row needs train/<Id>.jpg)"
    ]
    code, lines = _cli(tmp_path)
    assert (
        code == 1
        and lines[-1] == "train.csv: 10000 rows, 9999 images missing, 0 unreadable: 1 problem"
    )


def test_unreadable_images_are_counted(make_kaggle_dir: MakeKaggleDir) -> None:
    folder = make_kaggle_dir(n=9)
    ids = list(pd.read_csv(folder / "train.csv", dtype=str)[ID])
    for image_id in ids[:7]:
        (folder / "train" / f"{image_id}.jpg").write_text("broken")
    Image.new("RGB", (8, 8)).save(folder / "train" / f"{ids[7]}.jpg")  # too small
    report = check_dataset(folder)
    assert report.n_unreadable == 8 and report.n_missing == 0
    assert len(report.problems) == 6  # five named, then one line for the rest
    assert report.problems[0] == f"unreadable image train/{ids[0]}.jpg: not an image " + (
        "(unknown or unsupported format)"
    )
    assert report.problems[-1].startswith("3 more unreadable images in ")
    assert report.summary.endswith("8 unreadable: 6 problems")


def test_test_csv_only_folder(make_kaggle_dir: MakeKaggleDir) -> None:
    report = check_dataset(make_kaggle_dir(n=3, split="test"))
    assert report.ok, report.problems
    assert report.summary == "test.csv: 3 rows, 0 images missing, 0 unreadable: OK"
    assert report.notes == ["no train.csv: checked test.csv (no Pawpularity column expected)"]


def test_missing_folder_csv_and_image_folder_are_problems_not_crashes(
    tmp_path: Path, make_kaggle_dir: MakeKaggleDir
) -> None:
    code, lines = _cli(tmp_path / "nowhere")
    assert code == 1 and "folder not found" in lines[0]

    report = check_dataset(tmp_path)  # exists, but holds no CSV
    assert not report.ok and "train.csv: file not found" in report.problems[0]
    assert "pawpularity data download" in report.problems[0]

    (tmp_path / "train.csv").write_bytes(b"")
    assert "not a readable CSV" in check_dataset(tmp_path).problems[0]

    folder = make_kaggle_dir(n=3)
    for photo in (folder / "train").iterdir():
        photo.unlink()
    (folder / "train").rmdir()
    report = check_dataset(folder)
    assert report.n_missing == 3 and "image folder not found" in report.problems[0]


def test_ids_with_path_characters_are_a_problem_of_their_own(
    make_kaggle_dir: MakeKaggleDir,
) -> None:
    data = make_kaggle_dir(n=3)
    outside = data.parent / "outside"
    outside.mkdir()
    Image.new("RGB", (32, 24)).save(outside / "cat.jpg")  # the photo an Id points at
    table = pd.read_csv(data / "train.csv", dtype=str)
    table.loc[0, "Id"] = "../../outside/cat"
    table.to_csv(data / "train.csv", index=False)
    report = check_dataset(data)
    assert not report.ok
    assert any("1 Ids are not plain file names" in p for p in report.problems), report.problems
    assert report.n_missing == 0  # not called "missing": never looked up outside train/
