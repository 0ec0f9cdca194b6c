"""Backbone registry: a name → a timm ImageNet model, its preprocessing, stages and Grad-CAM layer.

Any timm name works: CNNs, channels-last stages (Swin) and token transformers (ViT, DeiT, BEiT,
EVA, CLIP towers). The families of the seed study (ResNet, VGG, DenseNet, EfficientNet) and the
offline EfficientNet-Lite default have explicit entries; for any other model the feature chain,
its stages, the Grad-CAM layer and that layer's layout are derived from the model itself. The
timm model keeps its ImageNet classifier, so explanations can also ask what it sees.
"""

from __future__ import annotations

import math
import socket
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import timm
import torch
from torch import nn

from pawpularity.errors import ConfigError, WeightsError
from pawpularity.models import DEFAULT_BACKBONE
from pawpularity.models.weights import lite_weights_file, load_state_dict

# A timm model: an nn.Module with feature_info, pretrained_cfg, forward_head(), ... that
# timm does not declare to type checkers.
TimmModel = Any


# How a layer's activations are laid out: B×C×h×w, B×h×w×C (Swin's stages), or B×N×C tokens
# (class, distillation and register tokens first, then the patch grid row by row).
LAYOUTS = ("nchw", "nhwc", "tokens")
# The chain's first step on token models: the patch embedding with the class and position tokens
# (code in forward_features, not one module). Not a module name, so it never clashes with one.
TOKEN_STEM = "patch_embed+tokens"
_STEM_MODULES = ("patch_embed", "pos_drop", "patch_drop", "norm_pre")
_STEM_PARAMETERS = ("cls_token", "reg_token", "dist_token", "pos_embed")


@dataclass(frozen=True)
class BackboneSpec:
    """What the package knows about a backbone beyond timm's own config."""

    name: str
    gradcam_layer: str | None = None  # None: derived (see default_gradcam_layer)
    offline_weights: Callable[[], Path] | None = None  # a file shipped by a PyPI package
    layout: str | None = None  # of the Grad-CAM layer, one of LAYOUTS; None: derived


REGISTRY: dict[str, BackboneSpec] = {
    spec.name: spec
    for spec in (
        BackboneSpec("tf_efficientnet_lite0", "bn2", lambda: lite_weights_file(0)),
        BackboneSpec("tf_efficientnet_lite1", "bn2", lambda: lite_weights_file(1)),
        BackboneSpec("tf_efficientnet_lite2", "bn2", lambda: lite_weights_file(2)),
        BackboneSpec("efficientnet_b0", "bn2"),
        BackboneSpec("resnet50", "layer4"),
        BackboneSpec("vgg16_bn"),
        BackboneSpec("densenet121"),
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


# ImageNet's dog breeds and domestic cats (what `--target pet` and the species feature read).
DOG_CLASSES, CAT_CLASSES = range(151, 269), range(281, 286)
PET_CLASSES = [*DOG_CLASSES, *CAT_CLASSES]


def has_imagenet_head(model: TimmModel) -> bool:
    """Whether the model keeps a 1000-class ImageNet classifier (what `--target imagenet|pet`
    read); self-supervised and ImageNet-22k checkpoints have none or another."""
    return int(getattr(model, "num_classes", 0)) == 1000


def embedding_size(model: TimmModel) -> int:
    """Width of the pooled image embedding (`forward_head(..., pre_logits=True)`)."""
    return int(getattr(model, "head_hidden_size", None) or model.num_features)


def is_token_model(model: TimmModel) -> bool:
    """A transformer whose blocks see a token sequence: ViT, DeiT, BEiT, EVA, CLIP towers."""
    return hasattr(model, "num_prefix_tokens") and hasattr(model, "patch_embed")


class TokenStem(nn.Module):
    """What a token model's forward_features does before its blocks, as one module: the patch
    embedding, the class (distillation, register) tokens and the position embedding.

    Its children and parameters are the backbone's own (not copies), so freezing, comparing or
    re-initialising the stem acts on the backbone; the stem is not registered in it."""

    model: TimmModel

    def __init__(self, model: TimmModel) -> None:
        super().__init__()
        object.__setattr__(self, "model", model)  # a reference, not a child
        for name in _STEM_MODULES:
            if isinstance(getattr(model, name, None), nn.Module):
                self.add_module(name, getattr(model, name))
        for name in _STEM_PARAMETERS:
            if isinstance(getattr(model, name, None), nn.Parameter):
                self.register_parameter(name, getattr(model, name))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        m = self.model
        x = m.patch_embed(x)
        if not hasattr(m, "_pos_embed"):  # BEiT, ViTs with relative positions
            if m.cls_token is not None:
                x = torch.cat((m.cls_token.expand(len(x), -1, -1), x), dim=1)
            pos_embed = getattr(m, "pos_embed", None)
            return m.pos_drop(x if pos_embed is None else x + pos_embed)
        x = m._pos_embed(x)
        if isinstance(x, tuple):  # EVA: patch dropout done, the rotary embedding aside
            return m.norm_pre(x[0])
        return m.norm_pre(m.patch_drop(x))  # ViT, DeiT, CLIP towers


class RotaryBlock(nn.Module):
    """An EVA block as a chain step: the block with its rotary position embedding, which
    forward_features hands every block (it depends on the patch grid only)."""

    model: TimmModel

    def __init__(self, block: nn.Module, model: TimmModel) -> None:
        super().__init__()
        self.block = block
        object.__setattr__(self, "model", model)  # a reference, not a child

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        rope = self.model.rope
        grid = None if hasattr(rope, "feat_shape") else self.model.patch_embed.grid_size
        return self.block(x, rope=rope.get_embed() if grid is None else rope.get_embed(shape=grid))


def chain_modules(model: TimmModel) -> dict[str, nn.Module]:
    """The model's modules by name, with a token model's TOKEN_STEM and an EVA's blocks as
    RotaryBlocks: the steps that chain names name."""
    modules = dict(model.named_modules())
    if is_token_model(model):
        modules[TOKEN_STEM] = TokenStem(model)
        if getattr(model, "rope", None) is not None and not getattr(model, "rope_mixed", False):
            for i, block in enumerate(model.blocks):
                modules[f"blocks.{i}"] = RotaryBlock(block, model)
    return modules


def share_step(model: TimmModel, name: str, step: nn.Module) -> None:
    """Make `model` use `step` (another model's module of the same chain step), not its own."""
    if isinstance(step, RotaryBlock):
        step = step.block
    if not isinstance(step, TokenStem):
        model.set_submodule(name, step)
        return
    for child, module in step.named_children():
        model.set_submodule(child, module)
    for param, value in step.named_parameters(recurse=False):
        setattr(model, param, value)


def feature_chain(model: TimmModel) -> list[str] | None:
    """Step names whose sequential application equals `model.forward_features`, or None.

    Containers that hold a timm feature stage are expanded (`blocks` → `blocks.0`, ...), so the
    chain can be cut at stage boundaries: freeze the first stages and cache their output. A
    token model's steps before its blocks are one, TOKEN_STEM. The claim is checked on a small
    input, so a model with any other control flow is refused.
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
    if is_token_model(model):
        names = [TOKEN_STEM, *(n for n in names if n not in (*_STEM_MODULES, "rope"))]
    modules = chain_modules(model)
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
    except (AssertionError, AttributeError, RuntimeError, TypeError, ValueError):
        return None
    finally:
        model.train(was_training)
    return None


def stages(model: TimmModel, chain: list[str]) -> list[list[str]]:
    """The feature chain cut after each timm feature stage (a CNN stage, a Swin layer, a ViT
    block); trailing layers join the last stage."""
    ends = {f["module"] for f in model.feature_info}
    groups: list[list[str]] = [[]]
    for n in chain:
        groups[-1].append(n)
        if n in ends:
            groups.append([])
    modules = chain_modules(model)
    merged: list[list[str]] = []
    for i, group in enumerate(groups):  # what follows the last stage, or has no weights, joins
        has_weights = any(p.numel() for n in group for p in modules[n].parameters())
        if merged and (i == len(groups) - 1 or not has_weights):
            merged[-1].extend(group)
        else:
            merged.append(group)
    return merged


def gradcam_layer(name: str, model: TimmModel) -> str:
    """The module whose activations Grad-CAM weighs: the registry's choice, else the one the
    literature uses (pytorch-grad-cam's documentation): a token model's last block's first
    norm, a channels-last model's last stage, a CNN's last module of the feature chain."""
    chosen = spec_for(name).gradcam_layer
    if chosen is not None:
        return chosen
    blocks = getattr(model, "blocks", None)
    if is_token_model(model) and isinstance(blocks, nn.Sequential | nn.ModuleList):
        last = f"blocks.{len(blocks) - 1}"
        return f"{last}.norm1" if hasattr(blocks[-1], "norm1") else last
    if _output_format(model) == "NHWC" and len(model.feature_info):
        return str(model.feature_info[-1]["module"])
    chain = feature_chain(model)
    return chain[-1] if chain else str(model.feature_info[-1]["module"])


def layer_layout(name: str, model: TimmModel) -> str:
    """The layout (one of LAYOUTS) of the Grad-CAM layer's activations: the registry's, else
    tokens for a token model, nhwc for a model whose stages are channels-last, else nchw."""
    chosen = spec_for(name).layout
    if chosen is not None:
        return chosen
    if is_token_model(model):
        return "tokens"
    return "nhwc" if _output_format(model) == "NHWC" else "nchw"


def patch_grid(model: TimmModel, tokens: int) -> tuple[int, int]:
    """(h, w) of the patch grid behind `tokens` patch tokens: the model's own grid when it
    matches, else the square grid (inputs here are square)."""
    grid = getattr(getattr(model, "patch_embed", None), "grid_size", None)
    if grid is not None and int(grid[0]) * int(grid[1]) == tokens:
        return int(grid[0]), int(grid[1])
    side = math.isqrt(tokens)
    if side * side != tokens:
        raise ConfigError(f"{tokens} patch tokens do not form a square grid")
    return side, side


def _output_format(model: TimmModel) -> str:
    return str(getattr(model, "output_fmt", "NCHW")).upper()


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
