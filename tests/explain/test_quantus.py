"""Our deletion curve is Quantus' pixel-flipping curve (black baseline, most relevant first)."""

from __future__ import annotations

import numpy as np
import pytest
import quantus
import torch
from torch import nn

from pawpularity.explain.faithfulness import deletion_insertion

S, STEPS = 48, 48  # whole pixels per step (S²/STEPS), and Quantus wants 3·S²/STEPS to divide S²


class Square(nn.Module):
    """Column 0: the brightness of a square weighted by position (so each pixel counts apart);
    column 1: a constant, so that there is a second 'class'."""

    def __init__(self) -> None:
        super().__init__()
        weights = torch.zeros(S, S)
        weights[8:20, 10:24] = torch.linspace(0.5, 1.5, 12 * 14).view(12, 14)
        self.register_buffer("weights", weights)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        score = (x * self.weights).mean(dim=(1, 2, 3))
        return torch.stack([score, torch.ones_like(score)], 1)


def test_the_deletion_auc_is_quantus_pixel_flipping_on_one_photo() -> None:
    g = torch.Generator().manual_seed(0)
    x = torch.rand((1, 3, S, S), generator=g)
    x[0, :, 0, 0] = 0.0  # Quantus' "black" is the photo's darkest value: make it 0, as ours
    model = Square().eval()
    saliency = model.weights + 0.01 * torch.rand((S, S), generator=g)  # distinct: no ties
    ours, _ = deletion_insertion(lambda p: model(p), x, saliency, 0, steps=STEPS)
    flipping = quantus.PixelFlipping(
        features_in_step=3 * S * S // STEPS, perturb_baseline="black", normalise=False,
        disable_warnings=True,
    )  # fmt: skip
    curve = flipping(
        model=model,
        x_batch=x.numpy(),
        y_batch=np.array([0]),
        a_batch=np.repeat(saliency.numpy()[None, None], 3, axis=1),  # each colour of a pixel
        device="cpu",
        softmax=False,
        channel_first=True,
    )[0]
    start = float(model(x)[0, 0])
    theirs = np.trapezoid(np.array([start, *curve]) / start, dx=1 / STEPS)
    assert len(curve) == STEPS and curve[-1] == pytest.approx(0, abs=1e-6)  # all black at the end
    assert ours == pytest.approx(theirs, abs=1e-6)
