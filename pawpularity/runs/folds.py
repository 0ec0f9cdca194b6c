"""Network runs scoring: every fold's outputs from one module (eager) or one graph (ONNX Runtime),
averaged by one engine."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import nn

from pawpularity.data.dataset import unit_pixels
from pawpularity.data.schema import FLAGS, SCORE_MAX, SCORE_MIN
from pawpularity.device import autocast
from pawpularity.models.ensemble import FoldEnsemble

# (pixels in [0, 1], flags with NaN where unknown) → (scores B×K, flag probabilities B×K×12)
FoldOutputs = Callable[[torch.Tensor, torch.Tensor], tuple[torch.Tensor, ...]]
CPU = torch.device("cpu")


class Scoring(nn.Module):
    """A network run's folds as `export` writes them (RUN/model.onnx): the shared first stages
    once, then each fold's tail; (pixels, flags) → (scores B×K, flag probabilities B×K×12)."""

    def __init__(self, ensemble: FoldEnsemble) -> None:
        super().__init__()
        self.ensemble = ensemble

    def forward(
        self, pixels: torch.Tensor, flags: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        scores, logits = self.ensemble(pixels, flags)
        return scores, logits.sigmoid()


class FoldEngine:
    """The Engine of a network run: the folds' outputs from `graph` (`Scoring` in eager PyTorch,
    or its ONNX graph), averaged over `folds` (all when None). `device`: where the graph runs
    (eager graphs only); photos go there, under autocast where it has an AUTOCAST dtype."""

    def __init__(
        self,
        graph: FoldOutputs,
        image_size: int,
        folds: Sequence[int] | None = None,
        channels_last: bool = False,
        device: torch.device = CPU,
    ) -> None:
        self.graph, self.image_size, self.channels_last = graph, image_size, channels_last
        self.folds = None if folds is None else list(folds)
        self.device = device

    @torch.inference_mode()
    def __call__(
        self, pixels: torch.Tensor, flags: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        scores, probs = self._outputs(pixels, flags)
        scores = scores.mean(1).clamp(SCORE_MIN, SCORE_MAX)  # the scale, as the heads'
        return scores.cpu(), probs.mean(1).cpu()

    @torch.inference_mode()
    def fold_scores(self, pixels: torch.Tensor, flags: torch.Tensor | None = None) -> torch.Tensor:
        """N×K: each scoring fold's own score (1–100), from the same pass."""
        return self._outputs(pixels, flags)[0].clamp(SCORE_MIN, SCORE_MAX).cpu()

    def _outputs(
        self, pixels: torch.Tensor, flags: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(scores B×K, flag probabilities B×K×12) of the folds that score, in float32."""
        x = unit_pixels(pixels.to(self.device, non_blocking=True))  # uint8 travels: 4× fewer bytes
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        known = (
            torch.full((len(x), len(FLAGS)), float("nan"), device=self.device)
            if flags is None
            else flags.float().to(self.device, non_blocking=True)
        )
        with autocast(self.device):
            scores, probs = self.graph(x, known)[:2]
        if self.folds is not None:
            scores, probs = scores[:, self.folds], probs[:, self.folds]
        return scores.float(), probs.float()


def eager_engine(ensemble: FoldEnsemble, device: torch.device = CPU) -> FoldEngine:
    """The folds in eager PyTorch on `device`, channels_last (faster convolutions on CPUs and
    GPUs alike)."""
    fast = Scoring(ensemble.eval()).to(device).to(memory_format=torch.channels_last)
    return FoldEngine(fast, ensemble.image_size, channels_last=True, device=device)
