"""The fusion model: image embedding ⊕ metadata embedding → MLP → score, plus a flag head.

The auxiliary head predicts the 12 PetFinder flags from the image alone. Photos in production
come without flags, so a missing flag (None, or NaN in a row) is replaced by its prediction;
the same predictions become advice later on.
"""

from __future__ import annotations

from dataclasses import replace

import torch
from torch import nn

from pawpularity.data.dataset import unit_pixels
from pawpularity.data.schema import FLAGS
from pawpularity.errors import ConfigError
from pawpularity.models.backbones import (
    TimmModel,
    chain_modules,
    embedding_size,
    feature_chain,
    input_size,
    preprocessing,
    stages,
)
from pawpularity.models.config import LOSSES, ModelConfig


class PawpularityNet(nn.Module):
    """Takes uint8 (or [0, 1] float) RGB batches; returns (score on 1–100, flag logits)."""

    backbone: TimmModel
    pixel_mean: torch.Tensor
    pixel_std: torch.Tensor
    target_mean: torch.Tensor
    target_std: torch.Tensor

    def __init__(self, backbone: TimmModel, config: ModelConfig) -> None:
        super().__init__()
        if config.loss not in LOSSES:
            raise ConfigError(f"loss must be one of {LOSSES}, not {config.loss!r}")
        self.config = replace(config, image_size=input_size(backbone, config.image_size))
        self.backbone = backbone
        mean, std, _ = preprocessing(backbone)
        self.register_buffer("pixel_mean", torch.tensor(mean).view(1, 3, 1, 1))
        self.register_buffer("pixel_std", torch.tensor(std).view(1, 3, 1, 1))
        # The raw output is a z-score (mse) or a logit of score/100 (bce); set by training.
        self.register_buffer("target_mean", torch.tensor(38.0))
        self.register_buffer("target_std", torch.tensor(20.6))
        width, n = embedding_size(backbone), len(FLAGS)
        self.flag_head = nn.Linear(width, n)
        self.meta = nn.Sequential(
            nn.Linear(n, config.meta_dim),
            nn.GELU(),
            nn.Linear(config.meta_dim, config.meta_dim),
            nn.GELU(),
        )
        self.fusion = nn.Sequential(
            nn.Linear(width + config.meta_dim, config.hidden),
            nn.GELU(),
            nn.Dropout(config.dropout),
            nn.Linear(config.hidden, 1),
        )
        self._chain: list[str] | None = None

    def train(self, mode: bool = True) -> PawpularityNet:
        """BatchNorm of the backbone stays in eval mode: small batches would ruin its statistics."""
        super().train(mode)
        for m in self.backbone.modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm):
                m.eval()
        return self

    def normalize(self, images: torch.Tensor) -> torch.Tensor:
        return (unit_pixels(images) - self.pixel_mean) / self.pixel_std

    def embed(self, images: torch.Tensor) -> torch.Tensor:
        """Pooled image embedding of a batch of photos."""
        features = self.backbone.forward_features(self.normalize(images))
        return self.backbone.forward_head(features, pre_logits=True)

    def chain(self) -> list[str]:
        """The backbone's feature chain (see backbones.feature_chain), computed once."""
        if self._chain is None:
            chain = feature_chain(self.backbone)
            if chain is None:
                raise ConfigError(
                    f"{self.config.backbone} has no sequential stages: use --freeze none|backbone"
                )
            self._chain = chain
        return self._chain

    def stages(self) -> list[list[str]]:
        return stages(self.backbone, self.chain())

    def prefix(self, images: torch.Tensor, cut: int) -> torch.Tensor:
        """Output of the first `cut` modules of the chain (what training caches)."""
        x = self.normalize(images)
        modules = chain_modules(self.backbone)
        for name in self.chain()[:cut]:
            x = modules[name](x)
        return x

    def features_from(self, x: torch.Tensor, cut: int) -> torch.Tensor:
        """`backbone.forward_features` from the output of `prefix(images, cut)`: the rest of the
        chain."""
        modules = chain_modules(self.backbone)
        for name in self.chain()[cut:]:
            x = modules[name](x)
        return x

    def embed_from(self, x: torch.Tensor, cut: int) -> torch.Tensor:
        """Embedding from the output of `prefix(images, cut)`: the rest of the chain + pooling."""
        return self.backbone.forward_head(self.features_from(x, cut), pre_logits=True)

    def head(
        self, embedding: torch.Tensor, flags: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(raw output, flag logits); missing flags (None or NaN) are replaced by predictions."""
        flag_logits = self.flag_head(embedding)
        predicted = torch.sigmoid(flag_logits).detach()
        if flags is None:
            flags = predicted
        else:
            flags = torch.where(torch.isnan(flags), predicted, flags.to(predicted.dtype))
        fused = torch.cat([embedding, self.meta(flags)], dim=1)
        return self.fusion(fused).squeeze(1), flag_logits

    def to_score(self, raw: torch.Tensor) -> torch.Tensor:
        if self.config.loss == "bce":
            return 100.0 * torch.sigmoid(raw)
        return self.target_mean + self.target_std * raw

    def forward(
        self, images: torch.Tensor, flags: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        raw, flag_logits = self.head(self.embed(images), flags)
        return self.to_score(raw), flag_logits


def apply_freeze(net: PawpularityNet, policy: str) -> int:
    """Freeze part of the backbone; return how many chain modules are frozen (0: none).

    policy: "none", "backbone", or N — freeze the first N stages (a CNN's stages, a Swin's
    layers, a ViT's blocks); a negative N leaves only the last |N| stages trainable. The
    ImageNet classifier is never trained (it is not used).
    """
    backbone = net.backbone
    for p in backbone.parameters():
        p.requires_grad_(policy != "backbone")
    classifier = backbone.get_classifier()
    if isinstance(classifier, nn.Module):
        classifier.requires_grad_(False)
    if policy == "none":
        return 0
    if policy == "backbone":
        chain = feature_chain(backbone)
        return len(chain) if chain else 0
    try:
        n = int(policy)
    except ValueError:
        raise ConfigError(f"--freeze must be none, backbone or a number, not {policy!r}") from None
    groups = net.stages()
    if not -len(groups) <= n <= len(groups):
        raise ConfigError(f"{net.config.backbone} has {len(groups)} stages: --freeze {policy}")
    frozen = groups[: n if n >= 0 else len(groups) + n]
    modules = chain_modules(backbone)
    for group in frozen:
        for name in group:
            modules[name].requires_grad_(False)
    return sum(len(g) for g in frozen)
