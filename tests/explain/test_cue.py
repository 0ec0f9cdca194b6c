"""The planted-cue proof: maps of the trained demo model point at the cue and avoid the decoy;
the pretrained backbone with fresh heads (nothing learned from the demo) does not.

A small version of bench/explain_cue.py (fewer photos, fewer RISE masks, fewer head seeds)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import pawpularity as paw
from pawpularity.data.demo import make_demo
from pawpularity.explain.base import Outputs
from pawpularity.explain.cue import hit_rates, hits, peak
from pawpularity.explain.explainer import Explainer, imagenet_ensemble
from pawpularity.explain.methods import Rise, build

GOALS = {"gradcam": 0.95, "rise": 0.90, "vanilla": 0.80}
FAST = build(("gradcam", "vanilla"))
RISE = (Rise(masks=250),)
CONTROL_SEEDS = (1, 2, 3, 4, 5)


@pytest.fixture(scope="module")
def other_demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cue") / "eval"
    make_demo(path, n=40, seed=8)  # 20 photos with the cue, none seen in training
    return path


def test_trained_maps_point_at_the_cue_not_the_decoy(demo_run: Path, other_demo: Path) -> None:
    """The maps of what is scored: the mean of the demo run's two folds."""
    explainer = paw.load(demo_run).explainer
    rates = hit_rates(explainer, other_demo, FAST)
    rates |= hit_rates(explainer, other_demo, RISE, limit=10)
    for method, goal in GOALS.items():
        assert rates[method]["cue"] >= goal, (method, rates)
        assert rates[method]["decoy"] <= 0.10, (method, rates)


def untrained(seed: int) -> Explainer:
    """The pretrained backbone with fresh heads that never saw the demo: the control."""
    return Explainer(Outputs(imagenet_ensemble(seed)), seed=seed)


def test_untrained_heads_point_at_the_cue_only_by_chance(other_demo: Path) -> None:
    runs = [hit_rates(untrained(s), other_demo, FAST) for s in CONTROL_SEEDS]
    runs_rise = [hit_rates(untrained(s), other_demo, RISE, limit=10) for s in CONTROL_SEEDS[:3]]
    for method, per_seed in [(m.name, [r[m.name]["cue"] for r in runs]) for m in FAST] + [
        ("rise", [r["rise"]["cue"] for r in runs_rise])
    ]:
        assert np.mean(per_seed) <= 0.60, (method, per_seed)


def test_peak_is_the_centre_of_the_hot_spot() -> None:
    saliency = np.zeros((100, 200), np.float32)
    saliency[:30, :40] = 1.0  # a flat top cell in the corner, as a coarse Grad-CAM draws it
    saliency[60, 150] = 10.0  # one hot pixel: blurred away
    row, col = peak(saliency)
    assert 10 <= row <= 20 and 15 <= col <= 25
    assert hits((row, col), (20, 10, 60, 40), saliency.shape)
    assert not hits((row, col), (100, 50, 140, 90), saliency.shape)
