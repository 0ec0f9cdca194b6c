"""`pawpularity explain`: files per photo, summary.json, broken photos, the bare backbone."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from pawpularity.cli import app
from tests.conftest import PETS

ARGS = ["--rise-masks", "64", "--runtime", "eager"]


def explain(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["explain", *args])
    return result.exit_code, result.output


def test_maps_overlays_panel_and_summary(tiny_run: Path, tmp_path: Path) -> None:
    photos = tmp_path / "photos"
    photos.mkdir()
    shutil.copy(PETS / "cat_Sphynx_14.jpg", photos)
    exif = Image.Exif()
    exif[0x0112] = 6  # shown rotated: the map must follow the displayed orientation
    Image.open(PETS / "dog_boxer_112.jpg").save(photos / "rotated.jpg", exif=exif)
    (photos / "broken.jpg").write_bytes(b"not a photo")
    out = tmp_path / "out"
    code, _ = explain(
        str(tiny_run), str(photos), "--out", str(out), "--methods", "gradcam,vanilla,rise", *ARGS
    )
    assert code == 2  # one photo failed, the others were explained
    summary = json.loads((out / "summary.json").read_text())
    assert summary["explained"] == 2 and summary["failed"] == 1
    assert "not an image" in summary["images"][str(photos / "broken.jpg")]["error"]
    w, h = Image.open(PETS / "dog_boxer_112.jpg").size
    for stem, size in (
        ("cat_Sphynx_14", Image.open(PETS / "cat_Sphynx_14.jpg").size),
        ("rotated", (h, w)),
    ):
        for method in ("gradcam", "vanilla", "rise"):
            saliency = np.load(out / stem / f"{method}.npy")
            assert saliency.dtype == np.float32 and saliency.shape == (size[1], size[0])
            assert Image.open(out / stem / f"{method}.png").size == size
        assert (out / stem / "panel.png").is_file()
        records = summary["images"][str(photos / f"{stem}.jpg")]["methods"]
        assert records["vanilla"]["empty"] is False and 0 <= records["vanilla"]["deletion_auc"] <= 2
        for record in records.values():
            assert (record["deletion_auc"] is None) == record["empty"] and record["seconds"] > 0
            for baseline in ("random", "blurred"):
                assert (record[baseline]["insertion_auc"] is None) == record["empty"]
        rise = records["rise"]  # 64 masks: its split-half agreement says how settled it is
        assert rise["masks"] == 64 and rise["converged"] == (rise["split_half"] >= 0.9)
        assert "split_half" not in records["vanilla"]
    assert set(summary["means"]) == {"gradcam", "vanilla", "rise"}
    unsettled = summary["means"]["rise"]["not_converged"]
    assert (
        f"- rise: {unsettled} of 2 maps did not converge" in (out / "report.md").read_text()
    ) == (unsettled > 0)


def test_sanity_reports_a_correlation_per_randomisation_step(
    tiny_run: Path, tmp_path: Path
) -> None:
    code, output = explain(
        str(tiny_run),
        str(PETS / "cat_Bengal_16.jpg"),
        "--out",
        str(tmp_path),
        "--methods",
        "vanilla,gradcam,rise",
        "--sanity",
        *ARGS,
    )
    assert code == 0
    summary = json.loads((tmp_path / "summary.json").read_text())
    methods = summary["images"][str(PETS / "cat_Bengal_16.jpg")]["methods"]
    for m in ("vanilla", "gradcam", "rise"):
        steps = methods[m]["sanity"]
        assert list(steps)[:2] == ["head", "head+stage5"] and len(steps) == 6, m
    # The trained run's maps change when its weights are randomised (measured: vanilla ρ
    # 0.51-0.67, RISE -0.00-0.18); a control equal to the trained model gives ρ = 1.
    for m in ("vanilla", "rise"):
        assert max(methods[m]["sanity"].values()) < 0.9, (m, methods[m]["sanity"])
    # The tiny run's Grad-CAM is empty on this photo (nothing raises its score): sanity 0.0 by
    # design, no faithfulness AUCs, and said so on the panel and in the means
    assert set(methods["gradcam"]["sanity"].values()) == {0.0}
    assert methods["gradcam"]["empty"] is True and methods["gradcam"]["insertion_auc"] is None
    assert methods["vanilla"]["empty"] is False and methods["vanilla"]["insertion_auc"] > 0
    means = summary["means"]
    assert means["gradcam"]["empty"] == 1 and means["gradcam"]["deletion_auc"] is None
    assert means["vanilla"]["empty"] == 0 and means["vanilla"]["deletion_auc"] is not None
    assert "deletion - (random -, blurred -)  insertion -" in output and "1 empty" in output
    vanilla = means["vanilla"]
    assert vanilla["beats_random"]["deletion"] == pytest.approx(
        vanilla["random"]["deletion_auc"] - vanilla["deletion_auc"]
    )
    assert methods["vanilla"]["random"]["deletion_auc"] is not None
    assert methods["gradcam"]["random"]["deletion_auc"] is None  # an empty map has no baselines
    report = (tmp_path / "report.md").read_text()
    assert "| vanilla | " in report and "- gradcam: nothing measured" in report
    assert re.search(r"- vanilla: (beats|does not beat) the random map", report)


def test_the_bare_imagenet_backbone_explains_its_top_class(tmp_path: Path) -> None:
    code, _ = explain(
        "imagenet",
        str(PETS / "cat_chelsea_skimage.png"),
        "--out",
        str(tmp_path),
        "--methods",
        "gradcam",
        *ARGS,
    )
    assert code == 0
    summary = json.loads((tmp_path / "summary.json").read_text())
    entry = summary["images"][str(PETS / "cat_chelsea_skimage.png")]
    assert "cat" in entry["target"] and summary["target"] == "imagenet"
    assert entry["score"] is None  # heads that never trained give no Pawpularity score
    code, _ = explain(
        "imagenet",
        str(PETS / "cat_chelsea_skimage.png"),
        "--out",
        str(tmp_path),
        "--target",
        "score",
    )
    assert code == 1


@pytest.mark.parametrize("bad", [["--methods", "lime"], ["--target", "flag:Tail"], ["--fold", "7"]])
def test_bad_options_are_one_line_errors(tiny_run: Path, tmp_path: Path, bad: list[str]) -> None:
    code, _ = explain(
        str(tiny_run), str(PETS / "cat_Bengal_16.jpg"), "--out", str(tmp_path), *bad, *ARGS
    )
    assert code == 1
