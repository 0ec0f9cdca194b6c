"""The score contract: 1–100 for every kind of run (network folds, heads, blends), however far
its raw output strays."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from safetensors.numpy import load_file as load_arrays
from safetensors.numpy import save_file as save_arrays
from safetensors.torch import load_file, save_file

import pawpularity as paw
from pawpularity.data.schema import SCORE_MAX, SCORE_MIN
from pawpularity.models.checkpoint import WEIGHTS_FILE
from pawpularity.runs.heads import HEAD_FILE
from tests.conftest import PETS

SHIFT = 5000.0  # pushes every raw score far outside the scale


def shifted_net(run: Path, out: Path, shift: float) -> Path:
    shutil.copytree(run, out)
    for weights in out.glob(f"fold*/{WEIGHTS_FILE}"):
        tensors = load_file(weights)
        tensors["target_mean"] += shift
        save_file(tensors, weights)
    return out


def shifted_head(run: Path, out: Path, shift: float) -> Path:
    shutil.copytree(run, out)
    for weights in out.glob(f"fold*/{HEAD_FILE}"):
        arrays = load_arrays(str(weights))
        arrays["y_mean"] = arrays["y_mean"] + shift
        save_arrays(arrays, str(weights), metadata={"kind": "ridge"})
    return out


def old_blend(runs: list[Path], out: Path) -> Path:
    """A blend whose weights sum past 1 (as non-negative least squares could fit them)."""
    out.mkdir()
    config = {"kind": "blend", "runs": [str(r) for r in runs], "weights": [0.9, 0.9]}
    (out / "config.json").write_text(json.dumps(config))
    shutil.copy(runs[0] / "oof.csv", out / "oof.csv")  # a blend writes its own, as every run
    return out


@pytest.mark.parametrize(("shift", "bound"), [(SHIFT, SCORE_MAX), (-SHIFT, SCORE_MIN)])
def test_every_kind_of_run_scores_within_1_to_100(
    shift: float, bound: int, tiny_run: Path, tiny_head_run: Path, tmp_path: Path
) -> None:
    net = shifted_net(tiny_run, tmp_path / "net", shift)
    head = shifted_head(tiny_head_run, tmp_path / "head", shift)
    runs = {"net": net, "head": head, "blend": old_blend([net, head], tmp_path / "blend")}
    photos = sorted(PETS.glob("*.jpg"))[:4]
    # the blend of two clipped members: 0.9 + 0.9 times the bound, clipped again
    expected = {"net": bound, "head": bound, "blend": min(1.8 * bound, SCORE_MAX)}
    for kind, run in runs.items():
        model = paw.load(run, runtime="eager")
        scores = model.score(photos)["score"]
        assert scores.to_numpy() == pytest.approx(expected[kind]), (kind, scores.tolist())
    assert paw.load(net, runtime="eager").advise(photos[0]).score == bound  # advise: the same
    raw = paw.load(tiny_run, runtime="eager").score(photos)["score"]
    assert raw.between(SCORE_MIN + 1, SCORE_MAX - 1).all()  # unshifted: not at the bounds
