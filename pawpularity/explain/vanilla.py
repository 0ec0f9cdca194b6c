"""Vanilla Gradient (Simonyan et al. 2014) and SmoothGrad (Smilkov et al. 2017).

vanilla: |∂target/∂pixel|, the maximum over colour channels.
smoothgrad: the same averaged over n copies of the photo with Gaussian noise (σ in pixel units
of the [0, 1] range), computed in batches.
"""

from __future__ import annotations

import torch

from pawpularity.explain.base import Context, input_gradient

SMOOTH_N, SMOOTH_SIGMA, SMOOTH_BATCH = 25, 0.15, 25


def vanilla(ctx: Context, x: torch.Tensor, column: int) -> torch.Tensor:
    return input_gradient(ctx.model, x, column).abs().amax(dim=1)[0]


def smoothgrad(ctx: Context, x: torch.Tensor, column: int) -> torch.Tensor:
    n = int(ctx.options.get("smooth_n", SMOOTH_N))
    sigma = float(ctx.options.get("smooth_sigma", SMOOTH_SIGMA))
    g = torch.Generator().manual_seed(ctx.seed)
    total = torch.zeros(x.shape[1:])
    for start in range(0, n, SMOOTH_BATCH):
        k = min(SMOOTH_BATCH, n - start)
        noisy = x + sigma * torch.randn((k, *x.shape[1:]), generator=g)
        total += input_gradient(ctx.model, noisy, column).abs().sum(dim=0)
    return (total / n).amax(dim=0)
