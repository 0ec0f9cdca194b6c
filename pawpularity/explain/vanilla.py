"""Vanilla Gradient (Simonyan et al. 2014) and SmoothGrad (Smilkov et al. 2017).

vanilla: |∂target/∂pixel|, the maximum over colour channels.
smoothgrad: the same averaged over n copies of the photo with Gaussian noise (σ in pixel units
of the [0, 1] range), computed in batches. The noise is drawn on the CPU (a seed gives the same
noise on every device) and added on the photo's device.
"""

from __future__ import annotations

import torch

from pawpularity.explain.base import Context, input_gradient


def vanilla(ctx: Context, x: torch.Tensor, column: int) -> torch.Tensor:
    return input_gradient(ctx.network, x, column).abs().amax(dim=1)[0]


def smoothgrad(
    ctx: Context, x: torch.Tensor, column: int, n: int, sigma: float, batch: int
) -> torch.Tensor:
    g = torch.Generator().manual_seed(ctx.seed)
    total = torch.zeros(x.shape[1:], device=x.device)
    for start in range(0, n, batch):
        k = min(batch, n - start)
        noise = torch.randn((k, *x.shape[1:]), generator=g).to(x.device, non_blocking=True)
        noisy = x + sigma * noise
        total += input_gradient(ctx.network, noisy, column).abs().sum(dim=0)
    return (total / n).amax(dim=0)
