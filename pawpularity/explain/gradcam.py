"""Grad-CAM (Selvaraju et al. 2017): the layer's activation maps weighted by their mean gradient.

Over several folds the layer is the folds' layers side by side (their channels concatenated)
and the target their mean score: the map is the Grad-CAM of what is scored.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from pawpularity.explain.base import Context, LayerHooks, forward_target


def layer_and_gradient(
    ctx: Context, x: torch.Tensor, column: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Activations A (1×C×h×w, every fold's channels) of the Grad-CAM layer and ∂target/∂A."""
    with LayerHooks(ctx.network, ctx.layer) as hooks:
        y = forward_target(ctx.network, x, column).sum()
        grads = torch.autograd.grad(y, hooks.outputs)
        return torch.cat([a.detach() for a in hooks.outputs], 1), torch.cat(grads, 1)


def to_input_size(cam: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """A h×w map, bilinearly resized to the model input's S×S."""
    return F.interpolate(cam[None, None], size=x.shape[-2:], mode="bilinear", align_corners=False)[
        0, 0
    ]


def gradcam(ctx: Context, x: torch.Tensor, column: int) -> torch.Tensor:
    a, g = layer_and_gradient(ctx, x, column)
    weights = g.mean(dim=(2, 3), keepdim=True)
    return to_input_size(F.relu((weights * a).sum(dim=1))[0], x)
