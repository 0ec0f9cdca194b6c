"""A backbone as a feature extractor: pixels in [0, 1] → its pooled embedding, its ImageNet
logits, or both, and optionally the photo's species (dog versus cat)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from pawpularity.data.dataset import unit_pixels
from pawpularity.errors import ConfigError
from pawpularity.models.backbones import (
    CAT_CLASSES,
    DOG_CLASSES,
    TimmModel,
    has_imagenet_head,
    preprocessing,
)


class Embedder(nn.Module):
    """B×3×S×S float pixels in [0, 1] → B×F rows: the pooled features
    (`forward_head(pre_logits=True)`) if `pooled`, the 1000 ImageNet logits (`forward_head()`)
    if `logits`, then the species column p(dog) / (p(cat) + p(dog)) of the ImageNet softmax if
    `species`.

    tta: average the rows of the photo and its mirror image.
    """

    mean: torch.Tensor
    std: torch.Tensor

    def __init__(
        self,
        backbone: TimmModel,
        tta: bool = False,
        pooled: bool = True,
        logits: bool = False,
        species: bool = False,
    ) -> None:
        super().__init__()
        if (logits or species) and not has_imagenet_head(backbone):
            name = backbone.pretrained_cfg.get("architecture", type(backbone).__name__)
            raise ConfigError(
                f"{name} has no 1000-class ImageNet classifier ({backbone.num_classes} classes), "
                "so no ImageNet logits or species: use --features pooled and no --extra species"
            )
        self.backbone, self.tta = backbone.eval(), tta
        self.pooled, self.logits, self.species = pooled, logits, species
        mean, std, _ = preprocessing(backbone)
        self.register_buffer("mean", torch.tensor(mean).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(std).view(1, 3, 1, 1))

    @property
    def kind(self) -> str:
        """What the rows hold, e.g. "flip|pooled|species" (ONNX graphs are cached by it)."""
        parts = {"pooled": self.pooled, "logits": self.logits, "species": self.species}
        return "|".join(["flip" if self.tta else "none", *(p for p, on in parts.items() if on)])

    def rows(self, x: torch.Tensor) -> torch.Tensor:
        features = self.backbone.forward_features(x)
        out = [self.backbone.forward_head(features, pre_logits=True)] if self.pooled else []
        if self.logits or self.species:
            logits = self.backbone.forward_head(features)
            out += [logits] if self.logits else []
        if self.species:  # the softmax's normaliser cancels: σ(lse(dogs) − lse(cats))
            z = logits.float()
            dogs = torch.logsumexp(z[:, DOG_CLASSES.start : DOG_CLASSES.stop], 1)
            cats = torch.logsumexp(z[:, CAT_CLASSES.start : CAT_CLASSES.stop], 1)
            out.append(torch.sigmoid(dogs - cats).unsqueeze(1).to(logits.dtype))
        return torch.cat(out, 1)

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        x = (pixels - self.mean) / self.std
        if self.tta:
            return (self.rows(x) + self.rows(x.flip(-1))) / 2
        return self.rows(x)


def resized(images: torch.Tensor, size: int) -> torch.Tensor:
    """Photos as given when already size×size, else resized (bicubic, antialiased) to [0, 1]."""
    if images.shape[-1] == size and images.shape[-2] == size:
        return images
    x = unit_pixels(images)
    return F.interpolate(x, size=(size, size), mode="bicubic", antialias=True).clamp(0, 1)
