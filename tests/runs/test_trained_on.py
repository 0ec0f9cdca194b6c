"""A run knows what it trained on, and a demo model says so first wherever it scores."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from typer.testing import CliRunner

import pawpularity as paw
from pawpularity.cli import app
from pawpularity.runs.config import DEMO_WARNING
from pawpularity.training.blend import blend
from pawpularity.training.runfolder import trained_on
from tests.conftest import PETS, MakeKaggleDir

LINE = f"warning: {DEMO_WARNING}"


def test_config_records_the_data(
    tiny_run: Path, tiny_head_run: Path, tiny_demo: Path, make_kaggle_dir: MakeKaggleDir
) -> None:
    for run in (tiny_run, tiny_head_run):
        config = json.loads((run / "config.json").read_text())
        assert config["trained_on"] == "demo" and config["rows"] == 16
        assert config["data"] == str(tiny_demo.resolve())
    real = make_kaggle_dir(n=6)
    assert trained_on(real, 6) == {"data": str(real.resolve()), "trained_on": "real", "rows": 6}


def as_real(run: Path, out: Path) -> Path:
    """A copy of `run` whose config says it trained on real photos."""
    shutil.copytree(run, out)
    config = json.loads((out / "config.json").read_text())
    (out / "config.json").write_text(json.dumps({**config, "trained_on": "real"}))
    return out


def test_a_demo_model_says_so_first(tiny_run: Path, tmp_path: Path) -> None:
    photo = str(PETS / "dog_pug_16.jpg")
    for command in (
        ["predict", str(tiny_run), photo, "--out", str(tmp_path / "p.csv")],
        ["explain", str(tiny_run), photo, "--out", str(tmp_path / "x"), "--methods", "gradcam"],
    ):
        result = CliRunner().invoke(app, command)
        assert result.exit_code == 0, result.output
        assert result.output.splitlines()[0] == LINE, command[0]
    assert paw.load(tiny_run).warning == DEMO_WARNING
    real = as_real(tiny_run, tmp_path / "real")
    result = CliRunner().invoke(app, ["predict", str(real), photo, "--out", str(tmp_path / "r")])
    assert result.exit_code == 0 and "warning:" not in result.output
    assert paw.load(real).warning == ""


def test_a_blend_is_a_demo_model_when_a_member_is(
    tiny_run: Path, tiny_head_run: Path, tmp_path: Path
) -> None:
    blend([as_real(tiny_run, tmp_path / "a"), tiny_head_run], tmp_path / "demo")
    assert paw.load(tmp_path / "demo").warning == DEMO_WARNING
    blend(
        [as_real(tiny_run, tmp_path / "b"), as_real(tiny_head_run, tmp_path / "c")], tmp_path / "r"
    )
    assert paw.load(tmp_path / "r").warning == ""
