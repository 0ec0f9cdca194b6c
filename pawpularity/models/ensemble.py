"""A network run's fold models as one module; the first stages they share are computed once.

Every fold starts from the same ImageNet weights and training freezes the first stages
(`--freeze`), so those stages are identical in every fold's model. The ensemble finds the longest
such prefix of the backbone's feature chain by comparing weights, keeps a single copy of it and
runs each fold's trained tail on its output: a 5-fold run costs one prefix and five tails instead
of five whole networks, with the same numbers.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from pawpularity.errors import ConfigError
from pawpularity.models.backbones import chain_modules, share_step
from pawpularity.models.config import ModelConfig
from pawpularity.models.fusion import PawpularityNet


class FoldEnsemble(nn.Module):
    """Fold models of one run. `features` gives each fold's `forward_features`, `forward` each
    fold's (score, flag logits) as B×K and B×K×12 tensors."""

    def __init__(self, nets: Sequence[PawpularityNet]) -> None:
        super().__init__()
        if not nets:
            raise ValueError("an ensemble needs at least one model")
        self.nets = nn.ModuleList(nets)
        self.cut = shared_prefix(nets)
        if self.cut:
            chain = nets[0].chain()[: self.cut]
            first = chain_modules(nets[0].backbone)
            for net in nets[1:]:  # one copy of the shared stages in memory
                net.chain()  # found now, not while being traced for export
                for name in chain:
                    share_step(net.backbone, name, first[name])

    @property
    def members(self) -> list[PawpularityNet]:
        return list(self.nets)  # type: ignore[arg-type]

    @property
    def config(self) -> ModelConfig:
        return self.members[0].config

    @property
    def image_size(self) -> int:
        return int(self.config.image_size or 0)

    def features(self, pixels: torch.Tensor) -> list[torch.Tensor]:
        """Each fold's `backbone.forward_features` of the photos (the shared stages run once)."""
        nets = self.members
        if not self.cut:
            return [net.backbone.forward_features(net.normalize(pixels)) for net in nets]
        x = nets[0].prefix(pixels, self.cut)
        return [net.features_from(x, self.cut) for net in nets]

    def forward(
        self, pixels: torch.Tensor, flags: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(scores B×K on 1–100, flag logits B×K×12); missing flags are each fold's predictions."""
        scores, logits = [], []
        for net, features in zip(self.members, self.features(pixels), strict=True):
            raw, flag_logits = net.head(net.backbone.forward_head(features, pre_logits=True), flags)
            scores.append(net.to_score(raw))
            logits.append(flag_logits)
        return torch.stack(scores, 1), torch.stack(logits, 1)

    def layer_modules(self, name: str) -> list[nn.Module]:
        """The module called `name` in each fold's backbone, each distinct one once (a module of
        the shared stages is one module for all folds)."""
        found: dict[int, nn.Module] = {}
        for net in self.members:
            modules = dict(net.backbone.named_modules())
            if name not in modules:
                raise ConfigError(f"no layer {name!r} in {self.config.backbone}")
            found.setdefault(id(modules[name]), modules[name])
        return list(found.values())


def shared_prefix(nets: Sequence[PawpularityNet]) -> int:
    """How many modules at the start of the feature chain hold the same weights in every model
    (0 for a single model, or a backbone without sequential stages)."""
    if len(nets) < 2:
        return 0
    try:
        chain = nets[0].chain()
    except ConfigError:
        return 0
    tables = [chain_modules(net.backbone) for net in nets]
    for i, name in enumerate(chain):
        first = tables[0][name].state_dict()
        for table in tables[1:]:
            other = table[name].state_dict()
            if other.keys() != first.keys() or not all(
                torch.equal(first[k], other[k]) for k in first
            ):
                return i
    return len(chain)
