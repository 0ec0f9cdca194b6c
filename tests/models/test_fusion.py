"""The fusion model: flags given or predicted, frozen stages, cached prefixes, checkpoints."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from pawpularity.errors import ConfigError, RunError
from pawpularity.models.checkpoint import build_model, load_net, save_weights
from pawpularity.models.config import ModelConfig
from pawpularity.models.fusion import PawpularityNet, apply_freeze


@pytest.fixture(scope="module")
def net() -> PawpularityNet:
    torch.manual_seed(0)
    return build_model(ModelConfig(image_size=64), pretrained="none").eval()


@pytest.fixture(scope="module")
def images() -> torch.Tensor:
    return torch.randint(0, 256, (3, 3, 64, 64), dtype=torch.uint8)


def test_missing_flags_are_predicted(net: PawpularityNet, images: torch.Tensor) -> None:
    with torch.no_grad():
        free, logits = net(images)
        nan_rows, _ = net(images, torch.full((3, 12), math.nan))
        given, _ = net(images, torch.ones(3, 12))
        mixed, _ = net(images, torch.cat([torch.ones(1, 12), torch.full((2, 12), math.nan)]))
    assert free.shape == (3,) and logits.shape == (3, 12)
    assert torch.allclose(free, nan_rows)
    assert not torch.allclose(free, given)
    assert torch.isclose(mixed[0], given[0]) and torch.allclose(mixed[1:], free[1:])


def test_uint8_and_float_input_agree(net: PawpularityNet, images: torch.Tensor) -> None:
    with torch.no_grad():
        assert torch.allclose(net(images)[0], net(images.float() / 255)[0], atol=1e-5)


def test_backbone_batchnorm_stays_in_eval_mode(net: PawpularityNet) -> None:
    net.train()
    try:
        bns = [m for m in net.backbone.modules() if isinstance(m, torch.nn.BatchNorm2d)]
        assert bns and not any(m.training for m in bns)
        assert net.fusion.training
    finally:
        net.eval()


@pytest.mark.parametrize("policy", ["none", "backbone", "2", "-1"])
def test_freeze_policies(policy: str, images: torch.Tensor) -> None:
    model = build_model(ModelConfig(image_size=64), pretrained="none").eval()
    cut = apply_freeze(model, policy)
    trainable = {n for n, p in model.backbone.named_parameters() if p.requires_grad}
    assert not any(n.startswith("classifier") for n in trainable)
    if policy == "backbone":
        assert not trainable
    if policy == "none":
        assert cut == 0 and "conv_stem.weight" in trainable
    if policy == "-1":
        assert "conv_stem.weight" not in trainable and "conv_head.weight" in trainable
    with torch.no_grad():  # the cached prefix + the rest is the whole model
        assert torch.allclose(
            model.embed_from(model.prefix(images, cut), cut), model.embed(images), atol=1e-5
        )


@pytest.mark.parametrize("backbone", ["vit_tiny_patch16_224", "swin_tiny_patch4_window7_224"])
def test_freeze_counts_a_transformers_blocks(backbone: str) -> None:
    model = build_model(ModelConfig(backbone=backbone), pretrained="none").eval()
    cut = apply_freeze(model, "-3")
    trainable = {n for n, p in model.backbone.named_parameters() if p.requires_grad}
    last = {"vit_tiny_patch16_224": "blocks.9.", "swin_tiny_patch4_window7_224": "layers.1."}
    assert {"patch_embed.proj.weight", "cls_token", "pos_embed"}.isdisjoint(trainable)
    assert any(n.startswith(last[backbone]) for n in trainable)  # the third stage from the end
    assert not any(n.startswith(("blocks.8.", "layers.0.")) for n in trainable)
    images = torch.randint(0, 256, (2, 3, 224, 224), dtype=torch.uint8)
    with torch.no_grad():  # the cached prefix + the rest is the whole model
        assert torch.allclose(
            model.embed_from(model.prefix(images, cut), cut), model.embed(images), atol=1e-5
        )


@pytest.mark.parametrize("policy", ["all", "9", "-9"])
def test_bad_freeze_policies_are_refused(net: PawpularityNet, policy: str) -> None:
    with pytest.raises(ConfigError):
        apply_freeze(net, policy)


def test_checkpoint_round_trip(net: PawpularityNet, images: torch.Tensor, tmp_path: Path) -> None:
    net.target_mean.fill_(40.0)
    save_weights(net, tmp_path / "fold0")
    loaded = load_net(net.config, tmp_path / "fold0")
    with torch.no_grad():
        assert torch.equal(loaded(images)[0], net(images)[0])


def test_broken_checkpoints_are_run_errors(net: PawpularityNet, tmp_path: Path) -> None:
    with pytest.raises(RunError, match="missing"):
        load_net(net.config, tmp_path)
    path = save_weights(net, tmp_path)
    path.write_bytes(path.read_bytes()[:1000])
    with pytest.raises(RunError, match="cannot be loaded"):
        load_net(net.config, tmp_path)


def test_bce_loss_maps_to_the_score_range() -> None:
    model = build_model(ModelConfig(image_size=64, loss="bce"), pretrained="none").eval()
    with torch.no_grad():
        score, _ = model(torch.zeros(2, 3, 64, 64, dtype=torch.uint8))
    assert ((score > 0) & (score < 100)).all()
    with pytest.raises(ConfigError):
        build_model(ModelConfig(loss="mae"), pretrained="none")
