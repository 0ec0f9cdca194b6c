"""config.json is checked field by field when a run is loaded: every wrong field named at once."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from pawpularity.errors import RunError
from pawpularity.runs.run import load_run


def edited(tiny_run: Path, tmp_path: Path, change: Any) -> Path:
    run = tmp_path / "run"
    shutil.copytree(tiny_run, run)
    config = json.loads((run / "config.json").read_text())
    change(config)
    (run / "config.json").write_text(json.dumps(config))
    return run


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda c: c["model"].update(image_size="big"), r"model\.image_size should be an integer"),
        (lambda c: c["model"].update(image_size=10**9), r"model\.image_size should be an integer"),
        (lambda c: c["train"].update(folds=10**12), r"train\.folds should be an integer from 2"),
        (lambda c: c["model"].update(dropout=1.5), r"model\.dropout should be a number"),
        (lambda c: c["model"].update(hidden=0), r"model\.hidden should be an integer"),
        (lambda c: c["model"].update(loss="huber"), r"model\.loss should be one of mse, bce"),
        (lambda c: c.update(kind="forest"), r"kind is 'forest'; expected one of net, head, blend"),
        (lambda c: c.update(model=None), r"model: missing or not an object"),
        (lambda c: c.pop("train"), r"train: missing or not an object"),
        (lambda c: c["model"].pop("backbone"), r"model\.backbone is missing"),
    ],
)
def test_a_wrong_field_is_named(tiny_run: Path, tmp_path: Path, change: Any, expected: str) -> None:
    run = edited(tiny_run, tmp_path, change)
    with pytest.raises(RunError, match=expected) as caught:
        load_run(run)  # before anything is built from it: 10^12 folds must not spin
    assert str(run) in str(caught.value) and "\n" not in str(caught.value)


FIELDS = ("model.loss", "model.dropout", "train.folds")


def test_every_wrong_field_at_once(tiny_run: Path, tmp_path: Path) -> None:
    def change(c: dict[str, Any]) -> None:
        c["model"].update(loss="huber", dropout=-1)
        c["train"]["folds"] = "two"

    with pytest.raises(RunError) as caught:
        load_run(edited(tiny_run, tmp_path, change))
    assert all(f"{field} should be" in str(caught.value) for field in FIELDS)


def test_head_and_blend_configs_are_checked(tiny_head_run: Path, tmp_path: Path) -> None:
    run = edited(tiny_head_run, tmp_path, lambda c: c["embeddings"]["0"].update(tta="rotate"))
    with pytest.raises(RunError, match=r"embeddings\.0\.tta should be one of none, flip"):
        load_run(run)
    blend = tmp_path / "blend"
    blend.mkdir()
    (blend / "config.json").write_text(json.dumps({"kind": "blend", "runs": ["a"], "weights": [1]}))
    with pytest.raises(RunError, match="runs: should be a list of two run folders"):
        load_run(blend)
