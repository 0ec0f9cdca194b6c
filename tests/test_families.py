"""One model per timm family goes train → predict → explain (every method) → advise.

CNNs (ResNet, VGG, DenseNet, EfficientNet, ConvNeXt), a channels-last transformer (Swin) and token
transformers (ViT, EVA with its rotary embedding) all run the default recipe (`--freeze -3`,
whose frozen stages are cached) on random weights and a tiny demo set.
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

import pawpularity as paw
from pawpularity.cli import app
from pawpularity.data.images import load_image
from pawpularity.explain.methods import METHODS
from tests.conftest import PETS

# (backbone, input side): CNNs at 64 px to stay fast; transformers at their fixed side.
FAMILIES = [
    ("resnet50", 64),
    ("vgg16_bn", 64),
    ("densenet121", 64),
    ("efficientnet_b0", 64),
    ("convnext_atto", 64),
    ("vit_tiny_patch16_224", 224),
    ("swin_tiny_patch4_window7_224", 224),
    ("eva02_tiny_patch14_224", 224),
]
PHOTO = PETS / "cat_chelsea_skimage.png"


def cli(*args: str | Path) -> str:
    result = CliRunner().invoke(app, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture(scope="module")
def photos(tiny_demo: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Eight photos of the tiny demo set."""
    path = tmp_path_factory.mktemp("families") / "data"
    cli("data", "demo", path, "--n", "8", "--seed", "3")
    return path


@pytest.mark.parametrize(("backbone", "size"), FAMILIES, ids=[f[0] for f in FAMILIES])
def test_every_family_trains_predicts_explains_and_advises(
    photos: Path, tmp_path: Path, backbone: str, size: int
) -> None:
    run = tmp_path / "run"
    cli(
        *("train", photos, "--out", run, "--backbone", backbone, "--image-size", str(size)),
        *("--pretrained", "none", "--folds", "2", "--epochs", "1", "--batch-size", "4"),
    )
    assert math.isfinite(json.loads((run / "metrics.json").read_text())["cv_rmse"])
    ensemble = paw.load(run, runtime="eager").run.ensemble()  # type: ignore[union-attr]
    net = ensemble.members[0]
    frozen = sum(len(g) for g in net.stages()[:-3])
    assert ensemble.cut >= frozen > 0  # the folds share (at least) what --freeze -3 froze

    cli("predict", run, photos / "train", "--out", tmp_path / "p.csv", "--runtime", "eager")
    with (tmp_path / "p.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 8 and all(math.isfinite(float(r["score"])) for r in rows)

    model = paw.load(run, runtime="eager")
    photo = load_image(PHOTO)
    cheap = {"smoothgrad": {"n": 2}, "rise": {"masks": 16}}
    for method in METHODS:
        saliency = model.explain(photo, method, **cheap.get(method, {}))
        assert saliency.shape == (300, 451) and np.isfinite(saliency).all(), method
        if METHODS[method].needs.layer:  # ReLU'd: all zero when nothing raises the score
            assert (saliency >= 0).all(), method
        else:
            assert saliency.std() > 0, method  # a map, not a constant

    advice = tmp_path / "advise"
    cli("advise", run, PHOTO, "--out", advice, "--runtime", "eager")
    assert math.isfinite(json.loads((advice / "advice.json").read_text())["score"])
