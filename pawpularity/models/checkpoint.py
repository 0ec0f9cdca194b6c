"""Checkpoints: `model.safetensors` beside a JSON config; loading never unpickles."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from safetensors.torch import load_model, save_model

from pawpularity.errors import RunError
from pawpularity.models.backbones import create_backbone
from pawpularity.models.fusion import ModelConfig, PawpularityNet

if TYPE_CHECKING:
    import pandas as pd

WEIGHTS_FILE = "model.safetensors"


def build_model(
    config: ModelConfig, pretrained: str = "imagenet", weights: Path | None = None
) -> PawpularityNet:
    """A fresh fusion model on a backbone with the requested starting weights."""
    return PawpularityNet(create_backbone(config.backbone, pretrained, weights), config)


def save_weights(net: PawpularityNet, folder: Path) -> Path:
    """Write folder/model.safetensors atomically (a crash never leaves half a file)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / WEIGHTS_FILE
    tmp = path.with_suffix(".tmp")
    save_model(net, str(tmp))
    os.replace(tmp, path)
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


def write_json(path: Path, data: Any) -> None:
    """Write JSON atomically, indented, keys in the order given."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n")
    os.replace(tmp, path)


def write_csv(frame: pd.DataFrame, path: Path) -> None:
    """Write a table atomically, without its index."""
    tmp = path.with_suffix(".tmp")
    frame.to_csv(tmp, index=False, lineterminator="\n")
    os.replace(tmp, path)


def read_json(path: Path) -> Any:
    if not path.is_file():
        raise RunError(f"{path}: missing; is this a training run folder?")
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise RunError(f"{path}: not valid JSON ({e})") from e
