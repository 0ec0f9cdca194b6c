"""`analyze RUN DATA`: out-of-fold maps, hypotheses, report; broken photos; the demo's cue."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
import pytest
from typer.testing import CliRunner

from pawpularity.analysis.analyze import analyze
from pawpularity.analysis.config import AnalyzeConfig
from pawpularity.analysis.explained import oof_folds
from pawpularity.analysis.stats import VERDICTS
from pawpularity.cli import app
from pawpularity.data.schema import FLAGS, ID
from pawpularity.errors import DataError, RunError
from pawpularity.explain.methods import GradCam, Rise

if TYPE_CHECKING:
    from playwright.sync_api import Browser

REQUIRED = {"id", "statement", "metric", "groups", "n", "effect", "ci_low", "ci_high"}
REQUIRED |= {"p_value", "p_adjusted", "verdict"}
# RISE on eager PyTorch with few masks: the tiny 64-px model needs no ONNX export.
TINY = AnalyzeConfig(methods=(GradCam(), Rise(masks=50)), runtime="eager", examples=2)


@pytest.fixture(scope="module")
def tiny_analysis(
    tiny_run: Path, tiny_demo: Path, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    out = tmp_path_factory.mktemp("analysis")
    analyze(tiny_run, tiny_demo, out, TINY)
    return out


def test_writes_every_file(tiny_analysis: Path) -> None:
    for name in ("hypotheses.json", "flag_effects.csv", "guidelines.md", "report.html"):
        assert (tiny_analysis / name).is_file()
    rows = json.loads((tiny_analysis / "hypotheses.json").read_text())
    assert all(set(r) >= REQUIRED for r in rows)
    ids = {r["id"] for r in rows}
    for method in (m.name for m in TINY.methods):
        for h in ("H1a", "H1b", "H2a", "H2b", "H3", "H5", "cue", "decoy"):
            assert f"{h}-{method}" in ids
        for flag in ("Human", "Occlusion", "Info"):
            assert f"H4-{flag}-attention-{method}" in ids
    assert {f"H4-{f.replace(' ', '')}" for f in FLAGS} <= ids
    assert {r["verdict"] for r in rows} <= set(VERDICTS)
    # 16 photos: quartiles of 4, a few group photos: never a confident verdict
    for r in rows:
        if r["id"].startswith(("H1", "H2b", "H3", "H4-Info-attention")):
            assert r["verdict"] == "inconclusive", r
    assert len(list((tiny_analysis / "panels").glob("*.png"))) == 4  # 2 best, 2 worst


def test_each_photo_is_explained_out_of_fold(tiny_analysis: Path, tiny_run: Path) -> None:
    photos = pd.read_csv(tiny_analysis / "photos.csv", dtype={ID: str}).set_index(ID)
    oof = pd.read_csv(tiny_run / "oof.csv", dtype={ID: str}).set_index(ID)
    assert len(photos) == 16
    assert (photos["fold"] == oof.loc[photos.index, "fold"]).all()
    assert set(photos["fold"]) == {0, 1}


def test_photos_the_run_never_saw_take_folds_in_turn(tiny_run: Path) -> None:
    known = pd.read_csv(tiny_run / "oof.csv", dtype={ID: str})
    first = known[ID].iloc[0]
    assert oof_folds(tiny_run, [first, "new1", "new2"], 2) == [known["fold"].iloc[0], 1, 0]


def test_a_run_without_oof_is_refused(tiny_run: Path, tmp_path: Path) -> None:
    shutil.copytree(tiny_run, tmp_path / "run")
    (tmp_path / "run" / "oof.csv").unlink()
    with pytest.raises(RunError, match=r"oof\.csv"):
        oof_folds(tmp_path / "run", ["x"], 2)


def test_broken_and_missing_photos_are_reported(
    tiny_run: Path, tiny_demo: Path, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    shutil.copytree(tiny_demo, data)
    ids = pd.read_csv(data / "train.csv", dtype={ID: str})[ID]
    (data / "train" / f"{ids[0]}.jpg").write_bytes(b"not a jpeg")
    (data / "train" / f"{ids[1]}.jpg").unlink()
    args = ["analyze", str(tiny_run), str(data), "--out", str(tmp_path / "out")]
    result = CliRunner().invoke(
        app, [*args, "--methods", "gradcam", "--runtime", "eager", "--max-images", "16"]
    )
    assert result.exit_code == 2, result.output
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["explained"] == 14 and summary["failed"] == 2
    errors = " ".join(e["error"] for e in summary["errors"])
    assert "file not found" in errors and "not an image" in errors
    assert "could not be read" in (tmp_path / "out" / "report.html").read_text()


def test_max_images_takes_a_seeded_sample(tiny_run: Path, tiny_demo: Path, tmp_path: Path) -> None:
    config = AnalyzeConfig(methods=(GradCam(),), max_images=6, seed=3, examples=1)
    chosen = []
    for out in ("a", "b"):
        analyze(tiny_run, tiny_demo, tmp_path / out, config)
        chosen.append(pd.read_csv(tmp_path / out / "photos.csv", dtype={ID: str})[ID].tolist())
    assert len(chosen[0]) == 6 and chosen[0] == chosen[1]


def test_no_readable_photo_is_an_error(tiny_run: Path, tiny_demo: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(tiny_demo, data)
    shutil.rmtree(data / "train")
    with pytest.raises(DataError, match="none of the 16 photos"):
        analyze(tiny_run, data, tmp_path / "out", AnalyzeConfig(methods=(GradCam(),)))


def test_report_renders_with_every_figure_visible(tiny_analysis: Path, browser: Browser) -> None:
    page = browser.new_page()
    try:
        page.goto((tiny_analysis / "report.html").as_uri())
        images = page.locator("img")
        # scores, forest, mean maps, 4 panels, H1, H2, H3, H4, H5, cue
        assert images.count() >= 12
        for k in range(images.count()):
            image = images.nth(k)
            assert image.evaluate("i => i.complete && i.naturalWidth > 0"), k
            assert image.is_visible(), k
            box = image.bounding_box()
            assert box is not None and box["width"] > 50 and box["height"] > 50
    finally:
        page.close()


def test_demo_analysis_finds_the_planted_cue(demo_run: Path, tmp_path: Path) -> None:
    """The contract's demo: attention on the cue raises the score (supported), on the decoy it
    does not (opposite or no effect). Grad-CAM only, to keep the test short."""
    data = demo_run.parent / "data"
    config = AnalyzeConfig(methods=(GradCam(),), max_images=96, seed=7)
    analyze(demo_run, data, tmp_path, config)
    rows = {r["id"]: r for r in json.loads((tmp_path / "hypotheses.json").read_text())}
    assert rows["cue-gradcam"]["verdict"] == "supported"
    assert rows["cue-gradcam"]["ci_low"] > 0.5
    assert rows["decoy-gradcam"]["verdict"] in ("opposite", "no effect")
    assert "orange ball" in (tmp_path / "guidelines.md").read_text()
