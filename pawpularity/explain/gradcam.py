"""Grad-CAM (Selvaraju et al. 2017): the layer's activation maps weighted by their mean gradient.

The layer's activations and gradients are first brought to B×C×h×w by the layout of the
backbone (models/backbones.layer_layout): CNN maps as they are, a Swin stage's channels-last
maps permuted, a transformer's tokens without the class, distillation and register tokens,
reshaped to the patch grid. Over several folds the layer is the folds' layers side by side
(their channels concatenated) and the target their mean score: the map is the Grad-CAM of what
is scored.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from pawpularity.errors import ConfigError
from pawpularity.explain.base import Context, LayerHooks, forward_target
from pawpularity.models.backbones import TimmModel, layer_layout, patch_grid


def layer_and_gradient(
    ctx: Context, x: torch.Tensor, column: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Activations A (1×C×h×w, every fold's channels) of the Grad-CAM layer and ∂target/∂A."""
    net = ctx.network.ensemble.members[0]
    layout = layer_layout(net.config.backbone, net.backbone)
    with LayerHooks(ctx.network, ctx.layer) as hooks:
        y = forward_target(ctx.network, x, column).sum()
        outputs = hooks.kept()
        grads = torch.autograd.grad(y, outputs)
        a, g = (
            [to_nchw(t, layout, net.backbone, ctx.layer) for t in ts] for ts in (outputs, grads)
        )
        return torch.cat(a, 1).detach(), torch.cat(g, 1)


def to_nchw(t: torch.Tensor, layout: str, model: TimmModel, layer: str) -> torch.Tensor:
    """A layer's B×C×h×w maps from its activations (or their gradients) in `layout`."""
    if layout == "nchw" and t.dim() == 4:
        return t
    if layout == "nhwc" and t.dim() == 4:
        return t.permute(0, 3, 1, 2)
    if layout == "tokens" and t.dim() == 3:
        patches = t[:, int(model.num_prefix_tokens) :]
        h, w = patch_grid(model, patches.shape[1])
        return patches.reshape(len(t), h, w, t.shape[2]).permute(0, 3, 1, 2)
    raise LayoutError(
        f"Grad-CAM cannot read layer {layer!r} ({layout} layout expected, activations of shape "
        f"{tuple(t.shape)}); set its gradcam_layer and layout in "
        "pawpularity.models.backbones.REGISTRY"
    )


class LayoutError(ConfigError):
    """A layer whose activations do not fit its layout (the explainer names other methods)."""


def to_input_size(cam: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """A h×w map, bilinearly resized to the model input's S×S."""
    return F.interpolate(cam[None, None], size=x.shape[-2:], mode="bilinear", align_corners=False)[
        0, 0
    ]


def gradcam(ctx: Context, x: torch.Tensor, column: int) -> torch.Tensor:
    a, g = layer_and_gradient(ctx, x, column)
    weights = g.mean(dim=(2, 3), keepdim=True)
    return to_input_size(F.relu((weights * a).sum(dim=1))[0], x)
