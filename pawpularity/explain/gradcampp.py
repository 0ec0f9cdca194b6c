"""Grad-CAM++ (Chattopadhay et al. 2018): pixel-wise weighting of the positive gradients."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from pawpularity.explain.base import Context
from pawpularity.explain.gradcam import layer_and_gradient, to_input_size


def gradcampp(ctx: Context, x: torch.Tensor, column: int) -> torch.Tensor:
    a, g = layer_and_gradient(ctx, x, column)
    g2, g3 = g**2, g**3
    alpha = g2 / (2 * g2 + a.sum(dim=(2, 3), keepdim=True) * g3 + 1e-6)
    alpha = torch.where(g != 0, alpha, 0.0)
    weights = (alpha * F.relu(g)).sum(dim=(2, 3), keepdim=True)
    return to_input_size(F.relu((weights * a).sum(dim=1))[0], x)
