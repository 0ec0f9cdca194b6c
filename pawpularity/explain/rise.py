"""RISE (Petsiuk et al. 2018) for a regression output: the score-weighted average of random masks.

Each mask is a small s×s Bernoulli(p) grid, bilinearly upsampled to (s+1)·ceil(S/s) and cropped
S×S at a random shift (the paper's recipe). The map is Σ (y_i − ȳ)·m_i / (N·p): subtracting the
mean score ȳ (a control variate) leaves the expected map unchanged up to a constant but removes
most of its variance, so far fewer masks reach the same fidelity. Only the tiny grids and the
shifts of all N masks are held; full-size masks are built one batch at a time, on the photo's
device (a GPU builds, scores and sums them without a copy to the CPU). The grids and shifts are
drawn on the CPU, so a seed gives the same masks on every device.

Whether a map has converged is measured, not assumed: the masks alternate between two halves,
each half gives a map of its own, and their correlation (`split_half`, Pearson on pooled maps:
ranks in flat regions stay noise however many masks) says how far the map still depends on
which masks were drawn. `masks="auto"` checks it after every AUTO_STEP masks (rounded up
to whole batches) and stops once it reaches AGREEMENT, or at AUTO_CAP masks.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F

from pawpularity.errors import ConfigError
from pawpularity.explain.base import Context
from pawpularity.explain.sanity import pearson

P = 0.5  # each grid cell is kept with this probability
AGREEMENT = 0.9  # the split-half ρ from which a map counts as converged
AUTO_STEP, AUTO_CAP = 500, 8000  # masks="auto": masks added per round, and at most


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


@dataclass
class Halves:
    """Running sums of the score-weighted masks of two interleaved halves of the masks."""

    weighted: torch.Tensor  # 2×S²: Σ y_i m_i per half
    total: torch.Tensor  # 2×S²: Σ m_i per half
    scores: list[torch.Tensor] = field(default_factory=lambda: [])  # y per batch
    count: int = 0

    def add(self, y: torch.Tensor, flat: torch.Tensor) -> None:
        half = (torch.arange(len(y), device=y.device) + self.count) % 2
        for h in (0, 1):
            chosen = half == h
            self.weighted[h] += (y[chosen] @ flat[chosen]).double()
            self.total[h] += flat[chosen].sum(dim=0, dtype=torch.float64)
        self.scores.append(torch.stack([y, half.to(y.dtype)], 1))
        self.count += len(y)

    def map(self, p: float, side: int, half: int | None = None) -> torch.Tensor:
        """The centred map of one half, or of all masks (None)."""
        y, which = torch.cat(self.scores).unbind(1)
        chosen = slice(None) if half is None else slice(half, half + 1)
        mean = y.mean() if half is None else y[which == half].mean()
        n = self.count if half is None else int((which == half).sum())
        # Σ (y_i − ȳ) m_i = Σ y_i m_i − ȳ Σ m_i: ȳ is known only at the end.
        weighted, total = self.weighted[chosen].sum(0), self.total[chosen].sum(0)
        return ((weighted - mean * total) / (n * p)).float().reshape(side, side)

    def agreement(self, p: float, side: int) -> float:
        return pearson(self.map(p, side, 0), self.map(p, side, 1))


def rise(
    ctx: Context, x: torch.Tensor, column: int, masks: int | str, grid: int, batch: int
) -> tuple[torch.Tensor, dict[str, Any]]:
    """Centred RISE map (S×S, signed) of `column` for one photo x (1×3×S×S in [0, 1]), on x's
    device: masks built there, scored by `ctx.scorer` and summed there (in float64); and its
    notes: the masks used, their split-half agreement and whether it reached AGREEMENT."""
    size, device = x.shape[-1], x.device
    auto = masks == "auto"
    drawn = cached_masks(AUTO_CAP if auto else int(masks), size, grid, ctx.seed)
    zeros = torch.zeros((2, size * size), dtype=torch.float64, device=device)
    sums = Halves(zeros, zeros.clone())
    for m in drawn.batches(batch, device):
        y = ctx.scorer(x * m)[:, column].float().to(device)  # ONNX Runtime answers on the CPU
        sums.add(y, m.reshape(len(m), -1))
        round_done = sums.count % AUTO_STEP < len(m) or sums.count == len(drawn)
        if auto and round_done and sums.agreement(drawn.p, size) >= AGREEMENT:
            break
    agreement = sums.agreement(drawn.p, size)
    notes = {"masks": sums.count, "split_half": agreement, "converged": agreement >= AGREEMENT}
    return sums.map(drawn.p, size), notes
