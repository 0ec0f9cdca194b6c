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
    TOKEN_STEM,
    BackboneSpec,
    chain_modules,
    create_backbone,
    feature_chain,
    gradcam_layer,
    layer_layout,
    preprocessing,
    share_step,
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


# Transformers: (name, stages --freeze counts, default Grad-CAM layer, its layout).
TRANSFORMERS = [
    ("vit_tiny_patch16_224", 12, "blocks.11.norm1", "tokens"),
    ("deit_tiny_distilled_patch16_224", 12, "blocks.11.norm1", "tokens"),  # 2 prefix tokens
    ("beit_base_patch16_224", 12, "blocks.11.norm1", "tokens"),
    ("eva02_tiny_patch14_224", 12, "blocks.11.norm1", "tokens"),  # rotary embedding per block
    ("vit_small_patch14_reg4_dinov2", 12, "blocks.11.norm1", "tokens"),  # 4 register tokens
    ("vit_base_patch16_clip_224", 12, "blocks.11.norm1", "tokens"),  # CLIP tower: norm_pre
    ("swin_tiny_patch4_window7_224", 4, "layers.3", "nhwc"),
]


@pytest.mark.parametrize(
    ("name", "n_stages", "layer", "layout"), TRANSFORMERS, ids=[t[0] for t in TRANSFORMERS]
)
def test_transformers_have_stages_a_gradcam_layer_and_its_layout(
    name: str, n_stages: int, layer: str, layout: str
) -> None:
    model = create_backbone(name, pretrained="none")
    chain = feature_chain(model)
    assert chain is not None
    assert [n for g in stages(model, chain) for n in g] == chain
    assert len(stages(model, chain)) == n_stages
    assert gradcam_layer(name, model) == layer and layer_layout(name, model) == layout
    size = model.pretrained_cfg["input_size"][-1]
    x = torch.randn(2, 3, size, size)
    modules = chain_modules(model)
    with torch.no_grad():
        y = x
        for n in chain:
            y = modules[n](y)
        assert torch.allclose(y, model.forward_features(x), atol=1e-5)


def test_the_token_stem_owns_the_tokens_and_the_patch_embedding() -> None:
    model = create_backbone("vit_tiny_patch16_224", pretrained="none")
    stem = chain_modules(model)[TOKEN_STEM]
    owned = {id(p) for p in stem.parameters()}
    assert {id(model.cls_token), id(model.pos_embed)} <= owned
    assert {id(p) for p in model.patch_embed.parameters()} <= owned
    assert TOKEN_STEM not in dict(model.named_modules())  # not registered: weights load as timm's
    other = create_backbone("vit_tiny_patch16_224", pretrained="none")
    share_step(other, TOKEN_STEM, stem)
    assert other.cls_token is model.cls_token and other.patch_embed is model.patch_embed


def test_the_registry_overrides_layer_and_layout(monkeypatch: pytest.MonkeyPatch) -> None:
    model = create_backbone("vit_tiny_patch16_224", pretrained="none")
    spec = BackboneSpec("vit_tiny_patch16_224", "blocks.5", layout="nchw")
    monkeypatch.setitem(REGISTRY, spec.name, spec)
    assert gradcam_layer(spec.name, model) == "blocks.5"
    assert layer_layout(spec.name, model) == "nchw"


def test_a_model_without_sequential_stages_is_recognised() -> None:
    assert feature_chain(create_backbone("crossvit_tiny_240", pretrained="none")) is None


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
