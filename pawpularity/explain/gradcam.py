"""Grad-CAM (Selvaraju et al. 2017): the layer's activation maps weighted by their mean gradient."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from pawpularity.explain.base import Context, LayerHooks, forward_target


def layer_and_gradient(
    ctx: Context, x: torch.Tensor, column: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Activations A (1×C×h×w) of the Grad-CAM layer and ∂target/∂A."""
    with LayerHooks(ctx.model, ctx.layer) as hooks:
        y = forward_target(ctx.model, x, column).sum()
        assert hooks.output is not None
        (grad,) = torch.autograd.grad(y, hooks.output)
        return hooks.output.detach(), grad


def to_input_size(cam: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """A h×w map, bilinearly resized to the model input's S×S."""
    return F.interpolate(cam[None, None], size=x.shape[-2:], mode="bilinear", align_corners=False)[
        0, 0
    ]


def gradcam(ctx: Context, x: torch.Tensor, column: int) -> torch.Tensor:
    a, g = layer_and_gradient(ctx, x, column)
    weights = g.mean(dim=(2, 3), keepdim=True)
    return to_input_size(F.relu((weights * a).sum(dim=1))[0], x)
