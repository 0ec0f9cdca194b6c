"""`pawpularity check` and `pawpularity advise imagenet` as a user runs them: no trained model."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from PIL import Image
from typer.testing import CliRunner

import pawpularity as paw
from pawpularity.advise.check import COLUMNS, TIP_SEPARATOR, VERDICTS
from pawpularity.cli import app
from tests.advise.test_quality import blurred
from tests.conftest import PETS

PUG = PETS / "dog_pug_16.jpg"


def photos(tmp_path: Path) -> Path:
    """A folder with a good photo, a blurred copy and a broken file."""
    folder = tmp_path / "photos"
    folder.mkdir()
    (folder / "pug.jpg").write_bytes(PUG.read_bytes())
    blurred(Image.open(PUG).convert("RGB")).save(folder / "pug_blurred.jpg")
    (folder / "notes.jpg").write_bytes(b"not a photo")
    return folder


def test_check_writes_a_row_per_photo_and_prints_the_tips(tmp_path: Path) -> None:
    out = tmp_path / "checks.csv"
    result = CliRunner().invoke(app, ["check", str(photos(tmp_path)), "--out", str(out)])
    assert result.exit_code == 2, result.output  # one photo failed, the others were checked
    table = pd.read_csv(out, keep_default_na=False, dtype=str).set_index("path")
    assert tuple(["path", *table.columns]) == COLUMNS
    good, soft, broken = (
        table.loc[str(tmp_path / "photos" / n)] for n in ("pug.jpg", "pug_blurred.jpg", "notes.jpg")
    )
    assert [good[v] for v in VERDICTS] == ["1"] * 5 and good["tips"] == "" and good["error"] == ""
    assert soft["ok_sharp"] == "0" and float(soft["sharpness"]) < float(good["sharpness"])
    assert "blurry" in soft["tips"] and soft["tips"] in result.output.replace(
        "\n  - ", TIP_SEPARATOR
    )
    assert "not an image" in broken["error"] and broken["pet_probability"] == ""
    assert "2 checked (1 pass every check), 1 failed" in result.output
    # the same numbers as the library's check
    expected = paw.load("imagenet").check(PUG).to_dict()
    assert float(good["pet_share"]) == expected["pet_share"] and expected["ok_pet"]


def test_check_keeps_an_existing_csv_unless_told(tmp_path: Path) -> None:
    out = tmp_path / "checks.csv"
    out.write_text("precious\n")
    result = CliRunner().invoke(app, ["check", str(PUG), "--out", str(out)])
    assert result.exit_code == 1 and "--resume" in str(result.exception)
    assert out.read_text() == "precious\n"
    args = ["check", str(PUG), "--out", str(out), "--overwrite"]
    assert CliRunner().invoke(app, args).exit_code == 0
    resumed = CliRunner().invoke(
        app, ["check", str(PUG), str(PETS / "cat_Bengal_16.jpg"), "--out", str(out), "--resume"]
    )
    assert resumed.exit_code == 0 and len(pd.read_csv(out)) == 2


def test_advise_imagenet_writes_the_checks(tmp_path: Path) -> None:
    out = tmp_path / "advice"
    folder = photos(tmp_path)
    result = CliRunner().invoke(app, ["advise", "imagenet", str(folder), "--out", str(out)])
    assert result.exit_code == 2, result.output
    check = json.loads((out / "pug_blurred" / "check.json").read_text())
    assert check["ok_sharp"] is False and any("blurry" in t for t in check["tips"])
    assert "every photo check passes" in result.output
    summary = json.loads((out / "summary.json").read_text())
    assert (summary["advised"], summary["failed"]) == (2, 1)
