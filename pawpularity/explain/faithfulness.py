"""Faithfulness of a map: deletion and insertion AUC (Petsiuk et al. 2018, the RISE paper).

Pixels are ranked by the raw map, highest first (a stable sort, so ties go in row-major order
and the result is deterministic). At `steps` equal steps from 0 % to 100 % of the pixels:

- deletion removes the top pixels, setting them to 0 (black): a faithful map makes the target
  fall fast, so a low area under the curve is good;
- insertion starts from a heavily blurred copy of the photo (Gaussian, σ = S/20) and reveals
  the original top pixels: a faithful map makes the target rise fast, so a high area is good.
  A blurred start rather than a black one keeps the image's colours and layout, so the curve
  measures the evidence the map points at rather than the shock of a black image.

Both curves (2 × (steps + 1) images, 66 at the default) go to the scorer in one call; the
scorer batches them. The target is read with `target_value` (the score, a flag's probability
or an ImageNet class's softmax probability) and each curve is divided by its value on the
unmasked photo, so AUCs are comparable across photos and targets: 1.0 means "as much as the
whole photo" (insertion may exceed it). The AUC is the trapezoid rule over the fraction of
pixels, [0, 1].

Baselines say what an AUC is worth: a random map (uniform noise, seeded) ranks pixels by chance,
and a blurred copy of the map (the same Gaussian) is known to score better on these curves
without pointing more precisely, so a map should beat the first and be read beside the second.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from pawpularity.explain.base import Scorer, target_value

BLUR_SIGMA = 1 / 20  # of the image side


def deletion_insertion(
    scorer: Scorer, x: torch.Tensor, saliency: torch.Tensor, column: int, steps: int = 32
) -> tuple[float, float]:
    """(deletion AUC, insertion AUC) of a map for one photo x (1×3×S×S, pixels in [0, 1])."""
    if saliency.shape != x.shape[-2:]:
        raise ValueError(f"a {tuple(saliency.shape)} map for a {tuple(x.shape[-2:])} input")
    h, w = saliency.shape
    flat = saliency.detach().flatten().float().to(x.device)
    order = torch.argsort(flat, descending=True, stable=True)
    rank = torch.empty_like(order)
    rank[order] = torch.arange(order.numel(), device=x.device)
    counts = torch.round(torch.linspace(0, h * w, steps + 1, device=x.device)).long()
    shown = (rank[None] < counts[:, None]).view(steps + 1, 1, h, w).to(x.dtype)
    blurred = blur(x, BLUR_SIGMA * max(h, w))
    deletion = x * (1 - shown)
    insertion = blurred * (1 - shown) + x * shown
    values = target_value(scorer(torch.cat([deletion, insertion])), column).double().cpu()
    curves = values.view(2, steps + 1) / values[0]  # deletion's first image is the whole photo
    auc = torch.trapezoid(curves, dx=1 / steps)
    return float(auc[0]), float(auc[1])


def random_map(shape: tuple[int, ...], seed: int) -> torch.Tensor:
    """A map of uniform noise: pixels ranked by chance, the same for the same seed."""
    return torch.rand(shape, generator=torch.Generator().manual_seed(seed))


def blurred_map(saliency: torch.Tensor) -> torch.Tensor:
    """The map under the insertion curve's Gaussian blur (σ = side/20)."""
    h, w = saliency.shape
    return blur(saliency.float()[None, None], BLUR_SIGMA * max(h, w))[0, 0]


def blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """A separable Gaussian blur of B×C×H×W images, edges replicated."""
    radius = math.ceil(3 * sigma)
    t = torch.arange(-radius, radius + 1, dtype=x.dtype, device=x.device)
    kernel = torch.exp(-(t**2) / (2 * sigma**2))
    kernel = kernel / kernel.sum()
    c = x.shape[1]
    padded = F.pad(x, (radius, radius, radius, radius), mode="replicate")
    rows = F.conv2d(padded, kernel.view(1, 1, 1, -1).repeat(c, 1, 1, 1), groups=c)
    return F.conv2d(rows, kernel.view(1, 1, -1, 1).repeat(c, 1, 1, 1), groups=c)
