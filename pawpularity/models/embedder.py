"""A backbone as a feature extractor: pixels in [0, 1] → its pooled embedding."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from pawpularity.data.dataset import unit_pixels
from pawpularity.models.backbones import TimmModel, preprocessing


class Embedder(nn.Module):
    """B×3×S×S float pixels in [0, 1] → B×D pooled features (`forward_head(pre_logits=True)`).

    tta: average the features of the photo and its mirror image.
    """

    mean: torch.Tensor
    std: torch.Tensor

    def __init__(self, backbone: TimmModel, tta: bool = False) -> None:
        super().__init__()
        self.backbone, self.tta = backbone.eval(), tta
        mean, std, _ = preprocessing(backbone)
        self.register_buffer("mean", torch.tensor(mean).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(std).view(1, 3, 1, 1))

    def pooled(self, x: torch.Tensor) -> torch.Tensor:
        return self.backbone.forward_head(self.backbone.forward_features(x), pre_logits=True)

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        x = (pixels - self.mean) / self.std
        if self.tta:
            return (self.pooled(x) + self.pooled(x.flip(-1))) / 2
        return self.pooled(x)


def resized(images: torch.Tensor, size: int) -> torch.Tensor:
    """Photos as given when already size×size, else resized (bicubic, antialiased) to [0, 1]."""
    if images.shape[-1] == size and images.shape[-2] == size:
        return images
    x = unit_pixels(images)
    return F.interpolate(x, size=(size, size), mode="bicubic", antialias=True).clamp(0, 1)
