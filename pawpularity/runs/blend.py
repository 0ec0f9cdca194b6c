"""The engine of a blend: a weighted sum of other runs' scores (weights from `training.blend`)."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from pawpularity.data.schema import SCORE_MAX, SCORE_MIN
from pawpularity.models.embedder import resized
from pawpularity.runs.engine import Engine


class BlendEngine:
    """Scores with every run, each on photos at its own size: the weighted sum of the scores,
    the weight-averaged flag probabilities. `device`: where the runs score (photos are resized
    there)."""

    def __init__(
        self,
        engines: Sequence[Engine],
        weights: Sequence[float],
        device: torch.device | None = None,
    ) -> None:
        self.engines, self.weights = list(engines), torch.tensor(list(weights))
        self.image_size = max(e.image_size for e in self.engines)
        self.device = device or torch.device("cpu")

    def __call__(
        self, pixels: torch.Tensor, flags: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        pixels = pixels.to(self.device, non_blocking=True)
        outs = [e(resized(pixels, e.image_size), flags) for e in self.engines]
        scores = torch.stack([s.double() for s, _ in outs], 1) @ self.weights.double()
        scores = scores.clamp(SCORE_MIN, SCORE_MAX)  # a blend fitted before weights summed to 1
        share = self.weights / self.weights.sum().clamp_min(1e-12)
        probs = sum(w * p.float() for w, (_, p) in zip(share.tolist(), outs, strict=True))
        return scores.float(), torch.as_tensor(probs)
