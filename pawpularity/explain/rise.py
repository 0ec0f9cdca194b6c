"""RISE (Petsiuk et al. 2018) for a regression output: the score-weighted average of random masks.

Each mask is a small s×s Bernoulli(p) grid, bilinearly upsampled to (s+1)·ceil(S/s) and cropped
S×S at a random shift (the paper's recipe). The map is Σ (y_i − ȳ)·m_i / (N·p): subtracting the
mean score ȳ (a control variate) leaves the expected map unchanged up to a constant but removes
most of its variance, so far fewer masks reach the same fidelity. Only the tiny grids and the
shifts of all N masks are held; full-size masks are built one batch at a time, on the photo's
device (a GPU builds, scores and sums them without a copy to the CPU). The grids and shifts are
drawn on the CPU, so a seed gives the same masks on every device.
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
        self.shifts = torch.randint(0, self.cell, (n, 2), generator=g)
        self._on: dict[torch.device, tuple[torch.Tensor, torch.Tensor]] = {}

    def __len__(self) -> int:
        return len(self.grids)

    def batches(self, batch: int, device: torch.device | None = None) -> Iterator[torch.Tensor]:
        """k×1×S×S float32 masks on `device` (default: the CPU), `batch` at a time."""
        grids, shifts = self._placed(device or torch.device("cpu"))
        up = (grids.shape[-1] + 1) * self.cell
        side = torch.arange(self.size, device=grids.device)
        for start in range(0, len(self), batch):
            big = F.interpolate(
                grids[start : start + batch], size=(up, up), mode="bilinear", align_corners=False
            )
            dy, dx = shifts[start : start + batch].unbind(1)
            rows = (dy[:, None] + side)[:, :, None]  # k×S×1
            cols = (dx[:, None] + side)[:, None, :]  # k×1×S
            k = torch.arange(len(big), device=grids.device)[:, None, None]
            yield big[k, 0, rows, cols][:, None]  # each mask's S×S window at its shift

    def _placed(self, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
        """The grids and shifts on `device`, copied there once."""
        if device not in self._on:
            self._on[device] = (self.grids.to(device), self.shifts.to(device))
        return self._on[device]


@functools.lru_cache(maxsize=4)
def cached_masks(n: int, size: int, grid: int, seed: int) -> Masks:
    """The same masks for every photo of a run: their grids and shifts are drawn once."""
    return Masks(n, size, grid, P, seed)


def rise(
    ctx: Context, x: torch.Tensor, column: int, masks: int, grid: int, batch: int
) -> torch.Tensor:
    """Centred RISE map (S×S, signed) of `column` for one photo x (1×3×S×S in [0, 1]), on x's
    device: masks built there, scored by `ctx.scorer` and summed there (in float64)."""
    size, device = x.shape[-1], x.device
    drawn = cached_masks(masks, size, grid, ctx.seed)
    weighted = torch.zeros(size * size, dtype=torch.float64, device=device)
    total = torch.zeros(size * size, dtype=torch.float64, device=device)
    scores = []
    for m in drawn.batches(batch, device):
        y = ctx.scorer(x * m)[:, column].float().to(device)  # ONNX Runtime answers on the CPU
        flat = m.reshape(len(m), -1)
        weighted += (y @ flat).double()
        total += flat.sum(dim=0, dtype=torch.float64)
        scores.append(y)
    mean = torch.cat(scores).mean()
    # Σ (y_i − ȳ) m_i = Σ y_i m_i − ȳ Σ m_i: ȳ is known only at the end.
    return ((weighted - mean * total) / (len(drawn) * drawn.p)).float().reshape(size, size)
