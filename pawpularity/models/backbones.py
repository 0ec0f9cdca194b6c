"""Backbone registry: a name → a timm ImageNet model, its preprocessing, stages and Grad-CAM layer.

Any timm name works; the families of the seed study (ResNet, VGG, DenseNet, EfficientNet) and the
offline EfficientNet-Lite default have explicit entries. The timm model keeps its ImageNet
classifier, so explanations can also ask what the backbone itself sees.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import timm
import torch
from torch import nn

from pawpularity.errors import WeightsError
from pawpularity.models import DEFAULT_BACKBONE
from pawpularity.models.weights import lite_weights_file, load_state_dict

# A timm model: an nn.Module with feature_info, pretrained_cfg, forward_head(), ... that
# timm does not declare to type checkers.
TimmModel = Any


@dataclass(frozen=True)
class BackboneSpec:
    """What the package knows about a backbone beyond timm's own config."""

    name: str
    gradcam_layer: str | None = None  # None: the last module of the feature chain
    offline_weights: Callable[[], Path] | None = None  # a file shipped by a PyPI package


REGISTRY: dict[str, BackboneSpec] = {
    spec.name: spec
    for spec in (
        BackboneSpec("tf_efficientnet_lite0", "bn2", lambda: lite_weights_file(0)),
        BackboneSpec("tf_efficientnet_lite1", "bn2", lambda: lite_weights_file(1)),
        BackboneSpec("tf_efficientnet_lite2", "bn2", lambda: lite_weights_file(2)),
        BackboneSpec("efficientnet_b0", "bn2"),
        BackboneSpec("resnet50", "layer4"),
        BackboneSpec("vgg16_bn", "features"),
        BackboneSpec("densenet121", "features"),
    )
}


def spec_for(name: str) -> BackboneSpec:
    """The registry entry of a name, or a generic one for any other timm model."""
    if name in REGISTRY:
        return REGISTRY[name]
    if not timm.is_model(name):
        raise WeightsError(
            f"unknown backbone {name!r}: use one of {', '.join(REGISTRY)} or any name "
            "from `timm.list_models()`"
        )
    return BackboneSpec(name)


def create_backbone(
    name: str = DEFAULT_BACKBONE, pretrained: str = "imagenet", weights: Path | None = None
) -> TimmModel:
    """A timm model with ImageNet weights from `weights`, a shipped file, timm's cache or download.

    pretrained: "imagenet" or "none" (random weights, for tests or training from scratch).
    """
    if pretrained not in ("imagenet", "none"):
        raise WeightsError(f"--pretrained must be 'imagenet' or 'none', not {pretrained!r}")
    spec = spec_for(name)
    model = timm.create_model(name, pretrained=False)
    if weights is not None:
        _load_into(model, load_state_dict(Path(weights)), str(weights))
    elif pretrained == "imagenet":
        if spec.offline_weights is not None:
            path = spec.offline_weights()
            _load_into(model, load_state_dict(path), str(path))
        else:
            _load_from_timm(model, name)
    return model.eval()


def preprocessing(model: TimmModel) -> tuple[tuple[float, ...], tuple[float, ...], int]:
    """(mean, std, default square input size) of a timm model."""
    cfg = model.pretrained_cfg
    return tuple(cfg["mean"]), tuple(cfg["std"]), int(cfg["input_size"][-1])


def input_size(model: TimmModel, requested: int | None = None) -> int:
    """The square input side a model runs at: `requested`, else the backbone's own default.
    Every command resolves the image size here, once per backbone."""
    return int(requested) if requested else preprocessing(model)[2]


def embedding_size(model: TimmModel) -> int:
    """Width of the pooled image embedding (`forward_head(..., pre_logits=True)`)."""
    return int(getattr(model, "head_hidden_size", None) or model.num_features)


def feature_chain(model: TimmModel) -> list[str] | None:
    """Module names whose sequential application equals `model.forward_features`, or None.

    Containers that hold a timm feature stage are expanded (`blocks` → `blocks.0`, ...), so the
    chain can be cut at stage boundaries: freeze the first stages and cache their output.
    The claim is checked on a small input, so a model with any other control flow is refused.
    """
    feature_modules = [f["module"] for f in model.feature_info]
    names: list[str] = []

    def expand(prefix: str, module: nn.Module) -> None:
        for child_name, child in module.named_children():
            full = f"{prefix}{child_name}"
            if any(f.startswith(full + ".") for f in feature_modules):
                expand(full + ".", child)
            else:
                names.append(full)

    expand("", model)
    modules = dict(model.named_modules())
    was_training = model.training
    model.eval()
    cfg = model.pretrained_cfg
    size = int(cfg["input_size"][-1]) if cfg.get("fixed_input_size") else 64
    x = torch.randn(1, 3, size, size, generator=torch.Generator().manual_seed(0))
    try:
        with torch.no_grad():
            target = model.forward_features(x)
            for i, n in enumerate(names):
                x = modules[n](x)
                if x.shape == target.shape and torch.allclose(x, target, atol=1e-5):
                    return names[: i + 1]
    except (AssertionError, RuntimeError, TypeError, ValueError):
        return None
    finally:
        model.train(was_training)
    return None


def stages(model: TimmModel, chain: list[str]) -> list[list[str]]:
    """The feature chain cut after each timm feature stage; trailing layers join the last stage."""
    ends = {f["module"] for f in model.feature_info}
    groups: list[list[str]] = [[]]
    for n in chain:
        groups[-1].append(n)
        if n in ends:
            groups.append([])
    modules = dict(model.named_modules())
    merged: list[list[str]] = []
    for i, group in enumerate(groups):  # what follows the last stage, or has no weights, joins
        has_weights = any(p.numel() for n in group for p in modules[n].parameters())
        if merged and (i == len(groups) - 1 or not has_weights):
            merged[-1].extend(group)
        else:
            merged.append(group)
    return merged


def gradcam_layer(name: str, model: TimmModel) -> str:
    """The module whose activations Grad-CAM weighs: the registry's choice or the chain's end."""
    chosen = spec_for(name).gradcam_layer
    if chosen is not None:
        return chosen
    chain = feature_chain(model)
    return chain[-1] if chain else str(model.feature_info[-1]["module"])


def _load_into(model: TimmModel, state: dict[str, torch.Tensor], source: str) -> None:
    if any(k.startswith("_blocks.") for k in state):
        from pawpularity.models.weights import rename_lite_keys

        state = rename_lite_keys(state, model)
    result = model.load_state_dict(state, strict=False)
    if result.missing_keys or result.unexpected_keys:
        raise WeightsError(
            f"{source}: does not fit {model.pretrained_cfg['architecture']} "
            f"({len(result.missing_keys)} missing tensors, e.g. {result.missing_keys[:3]}; "
            f"{len(result.unexpected_keys)} unexpected, e.g. {result.unexpected_keys[:3]})"
        )


def _load_from_timm(model: TimmModel, name: str) -> None:
    """timm's cached weights, or its download when the hub can be reached; else a clear error."""
    cfg = model.pretrained_cfg
    hub_id = cfg.get("hf_hub_id")
    if hub_id:
        from huggingface_hub import try_to_load_from_cache

        for filename in ("model.safetensors", "pytorch_model.bin"):
            cached = try_to_load_from_cache(hub_id, filename)
            if isinstance(cached, str):
                _load_into(model, load_state_dict(Path(cached)), cached)
                return
    how = (
        f"pass --weights FILE (a .safetensors or PyTorch state dict of timm's {name}), or run "
        "once with internet access so that timm downloads and caches them, or use "
        "--pretrained none to start from random weights"
    )
    if not _reachable("huggingface.co"):
        raise WeightsError(f"no ImageNet weights for {name} here and no internet: {how}")
    try:
        loaded = timm.create_model(name, pretrained=True)
    except Exception as e:  # timm and the hub raise many kinds
        raise WeightsError(f"downloading ImageNet weights for {name} failed ({e}): {how}") from e
    model.load_state_dict(loaded.state_dict())


def _reachable(host: str, timeout: float = 3.0) -> bool:
    try:
        socket.create_connection((host, 443), timeout=timeout).close()
        return True
    except OSError:
        return False
