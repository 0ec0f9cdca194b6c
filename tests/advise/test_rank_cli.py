"""`pawpularity rank` as a shelter runs it: folders or a CSV of animals, the files it writes,
--resume, broken photos, exit codes, one-line errors, and the audit of dark photos."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image
from typer.testing import CliRunner

from pawpularity.advise.advisor import Advisor
from pawpularity.advise.rank_photos import COLUMNS, by_folder, rank_photos
from pawpularity.cli import app, rank  # noqa: F401 (registers the command)
from pawpularity.data.images import load_image
from tests.advise.test_advisor import BrightEngine
from tests.conftest import PETS

DOGS = [PETS / "dog_pug_16.jpg", PETS / "dog_beagle_10.jpg"]
CAT = PETS / "cat_Bengal_16.jpg"
NUMBERS = ("rank", "score", "score_low", "score_high", "percentile")


def shelter(root: Path) -> Path:
    """rex: two dogs; tom: a cat and a broken file."""
    for animal, photos in (("rex", DOGS), ("tom", [CAT])):
        (root / animal).mkdir(parents=True)
        for p in photos:
            shutil.copy(p, root / animal / p.name)
    (root / "tom" / "broken.jpg").write_bytes(b"not a photo")
    return root


def rank_cli(run: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["rank", str(run), *args, "--runtime", "eager"])
    return result.exit_code, result.output


def one_line_error(run: Path, *args: str) -> str:
    """stderr of the real entry point (main) that fails on `args`."""
    code = "import sys; from pawpularity.cli import main, rank; sys.argv[0] = 'pawpularity'; main()"
    done = subprocess.run(
        [sys.executable, "-c", code, "rank", str(run), *args],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 1, done.stderr
    line = done.stderr.strip().splitlines()[-1]
    assert line.startswith("error: "), done.stderr
    return line


def test_folders_of_animals_ranked_with_covers_and_a_sheet(tiny_run: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    code, output = rank_cli(
        tiny_run, str(shelter(tmp_path / "shelter")), "--out", str(out), "--audit"
    )
    assert code == 2, output  # a photo failed, the others were ranked
    assert "2 animals, 3 photos ranked, 1 failed" in output and "need a retake" in output
    table = pd.read_csv(out / "ranking.csv", keep_default_na=False)
    assert tuple(table.columns) == COLUMNS
    assert sorted(table["animal"]) == ["rex", "rex", "tom", "tom"]
    for animal, rows in table.groupby("animal"):
        scored = rows[rows["error"] == ""]
        scored = scored.assign(**{c: pd.to_numeric(scored[c]) for c in NUMBERS})
        assert list(scored["rank"]) == list(range(1, len(scored) + 1)), animal
        assert list(scored["score"]) == sorted(scored["score"], reverse=True)
        assert scored["cover"].sum() == 1 and (scored["score_low"] <= scored["score"]).all()
        assert scored["percentile"].between(0, 100).all()
    broken = table[table["photo"].str.endswith("broken.jpg")].iloc[0]
    assert "not an image" in broken["error"] and broken["rank"] == "" and broken["cover"] == 0
    assert sorted(p.name for p in (out / "covers").iterdir()) == ["rex.jpg", "tom.jpg"]
    assert load_image(out / "covers" / "tom.jpg").size == load_image(CAT).size
    page = (out / "index.html").read_text()
    assert page.count('<section class="animal"') == 2 and "not an image" in page


def test_resume_keeps_the_finished_animals_and_redoes_a_torn_one(
    tiny_run: Path, tmp_path: Path
) -> None:
    root, out = shelter(tmp_path / "shelter"), tmp_path / "out"
    assert rank_cli(tiny_run, str(root), "--out", str(out))[0] == 2
    ranking = out / "ranking.csv"
    table = pd.read_csv(ranking, keep_default_na=False)
    table.loc[table["animal"] == "rex", "top_tip"] = "kept from the first run"
    text = table.to_csv(index=False, lineterminator="\n")
    ranking.write_text(text[: text.rstrip("\n").rfind("\n") + 1])  # tom's last row lost
    (root / "max").mkdir()
    shutil.copy(DOGS[0], root / "max" / "a.jpg")

    code, output = rank_cli(tiny_run, str(root), "--out", str(out), "--resume")
    assert code == 2, output
    again = pd.read_csv(ranking, keep_default_na=False)
    assert sorted(again["animal"]) == ["max", "rex", "rex", "tom", "tom"]
    assert set(again.loc[again["animal"] == "rex", "top_tip"]) == {"kept from the first run"}
    assert "3 animals, 4 photos ranked, 1 failed" in output
    page = (out / "index.html").read_text()
    assert page.count('<section class="animal"') == 3 and page.count('id="tom"') == 1

    assert rank_cli(tiny_run, str(root), "--out", str(out), "--resume")[0] == 2  # nothing to do
    assert len(pd.read_csv(ranking)) == 5
    line = one_line_error(tiny_run, str(root), "--out", str(out))
    assert "add --resume" in line


def test_a_csv_of_animals_with_hostile_ids(tiny_run: Path, tmp_path: Path) -> None:
    photos = tmp_path / "photos"
    photos.mkdir()
    ids = ["../evil", "a/b", "A", "a"]
    for i, _ in enumerate(ids):
        shutil.copy(DOGS[i % 2], photos / f"{i}.jpg")
    table = tmp_path / "animals.csv"
    rows = [*((f"{i}.jpg", a) for i, a in enumerate(ids)), ("gone.jpg", "ghost")]
    pd.DataFrame(rows, columns=["photo", "animal"]).to_csv(table, index=False)
    out = tmp_path / "out"
    code, output = rank_cli(tiny_run, str(photos), "--out", str(out), "--by", f"csv:{table}")
    assert code == 2, output
    ranked = pd.read_csv(out / "ranking.csv", keep_default_na=False)
    assert list(ranked["animal"]) == [*ids, "ghost"] and ranked["error"].iloc[-1] != ""
    covers = sorted(p.name for p in (out / "covers").iterdir())
    assert len(covers) == 4 and len({c.casefold() for c in covers}) == 4
    assert all(p.parent == out / "covers" for p in (out / "covers").rglob("*"))
    assert not (tmp_path / "evil.jpg").exists()

    bad = tmp_path / "bad.csv"
    pd.DataFrame({"file": ["0.jpg"], "pet": ["rex"]}).to_csv(bad, index=False)
    line = one_line_error(tiny_run, str(photos), "--out", str(tmp_path / "o"), "--by", f"csv:{bad}")
    assert "columns photo, animal missing" in line
    assert "--by" in one_line_error(tiny_run, str(photos), "--out", str(out), "--by", "species")


def test_no_photo_readable_is_exit_1(tiny_run: Path, tmp_path: Path) -> None:
    (tmp_path / "s" / "rex").mkdir(parents=True)
    (tmp_path / "s" / "rex" / "a.jpg").write_bytes(b"broken")
    code, output = rank_cli(tiny_run, str(tmp_path / "s"), "--out", str(tmp_path / "out"))
    assert code == 1 and "0 photos ranked, 1 failed" in output


def test_the_audit_names_the_dark_animal_and_what_to_retake(
    tiny_advisor: Advisor, tmp_path: Path
) -> None:
    """Scored by brightness, an animal whose every photo is dark falls in the bottom quarter of
    the run's training scores; a bright one does not."""
    advisor = Advisor(
        BrightEngine(tiny_advisor.size),
        tiny_advisor.explainer,
        tiny_advisor.pet,
        tiny_advisor.calibration,
        tiny_advisor.flag_auc,
    )
    for animal, factor in (("shadow", 0.12), ("sunny", 1.0)):
        (tmp_path / "s" / animal).mkdir(parents=True)
        for p in DOGS:
            pixels = np.asarray(load_image(p), np.float64) * factor
            Image.fromarray(pixels.astype(np.uint8)).save(tmp_path / "s" / animal / p.name)
    summary = rank_photos(advisor, by_folder([tmp_path / "s"]), tmp_path / "out", audit=True)
    assert summary.retakes is not None and [a.animal for a in summary.retakes] == ["shadow"]
    assert any("too dark" in tip for tip in summary.retakes[0].tips)
    page = (tmp_path / "out" / "index.html").read_text()
    assert page.index("Animals to photograph again") < page.index('<section class="animal"')
    assert page.index('href="#shadow"') < page.index('id="shadow"')
