"""RISE (Petsiuk et al. 2018) for a regression output: the score-weighted average of random masks.

Each mask is a small s×s Bernoulli(p) grid, bilinearly upsampled to (s+1)·ceil(S/s) and cropped
S×S at a random shift (the paper's recipe). The map is Σ (y_i − ȳ)·m_i / (N·p): subtracting the
mean score ȳ (a control variate) leaves the expected map unchanged up to a constant but removes
most of its variance, so far fewer masks reach the same fidelity. Only the tiny grids and the
shifts of all N masks are held; full-size masks are built one batch at a time.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterator

import torch
import torch.nn.functional as F

from pawpularity.errors import ConfigError
from pawpularity.explain.base import Context

P = 0.5  # each grid cell is kept with this probability


class Masks:
    """N seeded RISE masks of size S×S, streamed in batches of k×1×S×S; a seed fixes them all."""

    def __init__(self, n: int, size: int, grid: int, p: float = P, seed: int = 0) -> None:
        if n < 2 or grid < 1:
            raise ConfigError(
                f"RISE needs --rise-masks ≥ 2 and a grid ≥ 1, not {n} masks on a {grid}×{grid} grid"
            )
        self.size, self.p = size, p
        self.cell = math.ceil(size / grid)
        g = torch.Generator().manual_seed(seed)
        self.grids = (torch.rand((n, 1, grid, grid), generator=g) < p).float()
        self.shifts = torch.randint(0, self.cell, (n, 2), generator=g).tolist()

    def __len__(self) -> int:
        return len(self.grids)

    def batches(self, batch: int) -> Iterator[torch.Tensor]:
        up = (self.grids.shape[-1] + 1) * self.cell
        for start in range(0, len(self), batch):
            grids = self.grids[start : start + batch]
            big = F.interpolate(grids, size=(up, up), mode="bilinear", align_corners=False)
            yield torch.stack(
                [
                    big[i, :, dy : dy + self.size, dx : dx + self.size]
                    for i, (dy, dx) in enumerate(self.shifts[start : start + batch])
                ]
            )


@functools.lru_cache(maxsize=4)
def cached_masks(n: int, size: int, grid: int, seed: int) -> Masks:
    """The same masks for every photo of a run: their grids and shifts are drawn once."""
    return Masks(n, size, grid, P, seed)


def rise(
    ctx: Context, x: torch.Tensor, column: int, masks: int, grid: int, batch: int
) -> torch.Tensor:
    """Centred RISE map (S×S, signed) of `column` for one photo x (1×3×S×S in [0, 1])."""
    size = x.shape[-1]
    drawn = cached_masks(masks, size, grid, ctx.seed)
    weighted = torch.zeros(size * size, dtype=torch.float64)
    total = torch.zeros(size * size, dtype=torch.float64)
    scores = []
    for m in drawn.batches(batch):
        y = ctx.scorer(x * m)[:, column].float()
        flat = m.reshape(len(m), -1)
        weighted += (y @ flat).double()
        total += flat.sum(dim=0, dtype=torch.float64)
        scores.append(y)
    mean = torch.cat(scores).mean()
    # Σ (y_i − ȳ) m_i = Σ y_i m_i − ȳ Σ m_i: ȳ is known only at the end.
    return ((weighted - mean * total) / (len(drawn) * drawn.p)).float().reshape(size, size)
