"""ROAD: the imputation is pytorch-grad-cam's, exact on smooth images, and a map on the evidence
beats a random one."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from pytorch_grad_cam.metrics.road import NoisyLinearImputer
from typer.testing import CliRunner

from pawpularity.cli import app
from pawpularity.explain.faithfulness import random_map
from pawpularity.explain.road import impute, road
from tests.conftest import PETS
from tests.explain.test_faithfulness import S, on_square, photo, square_score


@pytest.mark.parametrize("share", [0.1, 0.5, 0.9])
def test_the_imputation_is_the_authors(share: float) -> None:
    rng = np.random.default_rng(0)
    image = rng.random((3, 40, 40))
    keep = rng.random((40, 40)) > share
    ours = impute(image, keep, noise=0.0, rng=rng)
    theirs = NoisyLinearImputer(noise=0.0)(
        torch.from_numpy(image).float(), torch.from_numpy(keep).float()
    )
    assert np.allclose(ours, theirs.numpy(), atol=1e-5)  # theirs in float32
    assert np.array_equal(ours[:, keep], image[:, keep])  # kept pixels untouched


def test_a_smooth_image_is_filled_in_exactly() -> None:
    rows, cols = np.mgrid[0:32, 0:32] / 32
    image = np.stack([rows, cols, 0.5 * rows + 0.25 * cols])  # linear: each pixel its mean
    keep = np.ones((32, 32), bool)
    keep[8:24, 10:20] = False
    assert np.allclose(impute(image, keep, 0.0, np.random.default_rng(0)), image, atol=1e-9)


def test_a_map_on_the_evidence_beats_the_random_map() -> None:
    good = road(square_score, photo(), on_square(), 0)
    chance = road(square_score, photo(), random_map((S, S), 0), 0)
    assert good["road_morf"] < chance["road_morf"] - 0.3  # removing the square first hurts most
    assert good["road_lerf"] > 0.95  # removing everything else first barely moves it
    assert good["road"] > chance["road"] + 0.2
    assert good["road"] == pytest.approx((good["road_lerf"] - good["road_morf"]) / 2)


def test_explain_road_reports_every_map_and_the_random_one(tiny_run: Path, tmp_path: Path) -> None:
    args = ["explain", str(tiny_run), str(PETS / "cat_Bengal_16.jpg"), "--out", str(tmp_path)]
    more = ["--methods", "vanilla", "--runtime", "eager"]  # ROAD by default
    result = CliRunner().invoke(app, [*args, *more])
    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_path / "summary.json").read_text())
    record = summary["images"][str(PETS / "cat_Bengal_16.jpg")]["methods"]["vanilla"]
    for keys in (record, record["random"]):
        assert {"road_morf", "road_lerf", "road"} <= set(keys) and keys["road"] is not None
    assert "road" not in record["blurred"]  # the blurred copy is a deletion/insertion baseline
    assert "- vanilla: ROAD " in (tmp_path / "report.md").read_text()
    assert summary["road"] is True
    skipped = tmp_path / "skipped"
    result = CliRunner().invoke(app, [*args[:-1], str(skipped), *more, "--no-road"])
    assert result.exit_code == 0, result.output
    summary = json.loads((skipped / "summary.json").read_text())
    record = summary["images"][str(PETS / "cat_Bengal_16.jpg")]["methods"]["vanilla"]
    assert summary["road"] is False and "road" not in record
