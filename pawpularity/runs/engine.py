"""The one protocol every kind of run scores through (network folds, heads, blends; eager or
ONNX Runtime)."""

from __future__ import annotations

from typing import Protocol

import torch


class Engine(Protocol):
    """Photos and flags in, scores and flag probabilities out.

    pixels: N×3×S×S, uint8 (0–255) or float in [0, 1], S = `image_size`; flags: N×12 with NaN
    where a flag is unknown, or None when none is known (the run predicts them). Returns (scores
    N on the 1–100 scale, flag probabilities N×12), each averaged over the folds that score, as
    float CPU tensors whatever the engine runs on.

    An engine may also have a `device` attribute (a torch.device): where it runs, so that a
    loader can decode its input into pinned memory for a GPU; none means the CPU. An engine
    whose folds score apart (network and head runs) also has `fold_scores(pixels, flags)`: N×K,
    each fold's own score, from the same pass; `advise` confirms gains with folds that did not
    choose the edit.
    """

    image_size: int

    def __call__(
        self, pixels: torch.Tensor, flags: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]: ...
