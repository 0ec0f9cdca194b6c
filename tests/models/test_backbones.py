"""The backbone registry: offline ImageNet weights, the four families, weight files, errors."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from pawpularity.data.dataset import prepare
from pawpularity.data.images import load_image
from pawpularity.errors import WeightsError
from pawpularity.models import backbones
from pawpularity.models.backbones import (
    REGISTRY,
    create_backbone,
    feature_chain,
    gradcam_layer,
    preprocessing,
    stages,
)
from tests.conftest import PETS

TABBY, TIGER_CAT, EGYPTIAN_CAT = 281, 282, 285
FAMILIES = ["resnet50", "vgg16_bn", "densenet121", "efficientnet_b0", "tf_efficientnet_lite0"]


def imagenet_top(model: torch.nn.Module, k: int = 3) -> list[int]:
    mean, std, size = preprocessing(model)
    x = prepare(load_image(PETS / "cat_chelsea_skimage.png"), size)[None].float() / 255
    x = (x - torch.tensor(mean).view(1, 3, 1, 1)) / torch.tensor(std).view(1, 3, 1, 1)
    with torch.no_grad():
        return model(x)[0].topk(k).indices.tolist()


@pytest.mark.parametrize("k", [0, 1, 2])
def test_offline_lite_weights_see_a_cat(k: int) -> None:
    model = create_backbone(f"tf_efficientnet_lite{k}")
    assert set(imagenet_top(model)) <= {TABBY, TIGER_CAT, EGYPTIAN_CAT}


@pytest.mark.parametrize("name", [*FAMILIES, "convnext_atto"])
def test_every_family_has_stages_and_a_gradcam_layer(name: str) -> None:
    model = create_backbone(name, pretrained="none")
    chain = feature_chain(model)
    assert chain is not None
    groups = stages(model, chain)
    assert len(groups) >= 4 and [n for g in groups for n in g] == chain
    assert gradcam_layer(name, model) in dict(model.named_modules())
    x = torch.randn(1, 3, 64, 64)
    modules = dict(model.named_modules())
    with torch.no_grad():
        y = x
        for n in chain:
            y = modules[n](y)
        assert torch.allclose(y, model.forward_features(x), atol=1e-5)


def test_a_model_without_sequential_stages_is_recognised() -> None:
    assert feature_chain(create_backbone("vit_tiny_patch16_224", pretrained="none")) is None


@pytest.mark.parametrize("suffix", [".safetensors", ".pth"])
def test_weights_file_is_loaded(tmp_path: Path, suffix: str) -> None:
    reference = create_backbone()
    path = tmp_path / f"w{suffix}"
    state = {k: v.contiguous() for k, v in reference.state_dict().items()}
    if suffix == ".pth":
        torch.save(state, path)
    else:
        save_file(state, str(path))
    loaded = create_backbone(weights=path)
    assert imagenet_top(loaded) == imagenet_top(reference)


def test_bad_weights_files_are_clear_errors(tmp_path: Path) -> None:
    other = tmp_path / "resnet.safetensors"
    save_file({"fc.weight": torch.zeros(2, 2)}, str(other))
    with pytest.raises(WeightsError, match="does not fit"):
        create_backbone(weights=other)
    pickle = tmp_path / "code.pth"
    torch.save({"x": object()}, pickle)
    with pytest.raises(WeightsError, match="never unpickled") as caught:
        create_backbone(weights=pickle)
    assert "weights_only=False" not in str(caught.value)  # never suggest unpickling it
    truncated = tmp_path / "cut.pth"
    torch.save({"x": torch.zeros(100)}, truncated)
    truncated.write_bytes(truncated.read_bytes()[:50])
    with pytest.raises(WeightsError, match="not a readable weights file") as caught:
        create_backbone(weights=truncated)
    assert "\n" not in str(caught.value)
    with pytest.raises(WeightsError, match="not found"):
        create_backbone(weights=tmp_path / "missing.pth")


def test_offline_without_weights_names_both_ways_out(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(backbones, "_reachable", lambda host: False)
    with pytest.raises(WeightsError) as e:
        create_backbone("resnet18")
    assert "--weights" in str(e.value) and "internet" in str(e.value)


def test_unknown_names_and_options_are_refused() -> None:
    with pytest.raises(WeightsError, match="unknown backbone"):
        create_backbone("no_such_net")
    with pytest.raises(WeightsError, match="--pretrained"):
        create_backbone(pretrained="coco")


def test_registry_covers_the_seed_study_families() -> None:
    assert set(FAMILIES) <= set(REGISTRY)
