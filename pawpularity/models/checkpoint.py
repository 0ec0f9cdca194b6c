"""Checkpoints: `model.safetensors` beside a JSON config; loading never unpickles."""

from __future__ import annotations

from pathlib import Path

from safetensors.torch import load_model, save_model

from pawpularity.errors import RunError
from pawpularity.files import atomic
from pawpularity.models.backbones import create_backbone
from pawpularity.models.config import ModelConfig
from pawpularity.models.fusion import PawpularityNet

WEIGHTS_FILE = "model.safetensors"


def build_model(
    config: ModelConfig, pretrained: str = "imagenet", weights: Path | None = None
) -> PawpularityNet:
    """A fresh fusion model on a backbone with the requested starting weights."""
    return PawpularityNet(create_backbone(config.backbone, pretrained, weights), config)


def save_weights(net: PawpularityNet, folder: Path) -> Path:
    """Write folder/model.safetensors atomically (a crash never leaves half a file)."""
    path = folder / WEIGHTS_FILE
    with atomic(path) as tmp:
        save_model(net, str(tmp))
    return path


def load_net(config: ModelConfig, folder: Path) -> PawpularityNet:
    """Rebuild a model from its config and load folder/model.safetensors into it."""
    path = folder / WEIGHTS_FILE
    if not path.is_file():
        raise RunError(f"{path}: missing (was the run finished? `train --resume` completes it)")
    net = build_model(config, pretrained="none")
    try:
        load_model(net, str(path))
    except Exception as e:  # a truncated file or another architecture
        raise RunError(f"{path}: cannot be loaded into {config.backbone} ({e})") from e
    return net.eval()
