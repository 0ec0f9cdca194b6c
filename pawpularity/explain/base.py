"""What every explanation method shares: one output matrix, targets as its columns, layer hooks.

A model to explain is reduced to `Outputs`: float pixels in [0, 1] (B×3×S×S) → one row per
photo holding the score, the 12 flag logits, the 1000 ImageNet logits and a pet logit (cats and
dogs together, to locate the pet whatever its breed). A `Target` is a
column of that matrix, so gradient methods, RISE, faithfulness and ONNX Runtime all speak the
same language. Methods are functions `(Context, x, column) -> S×S map` (see `METHODS`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import torch
from torch import nn

from pawpularity.data.schema import FLAGS
from pawpularity.errors import ConfigError
from pawpularity.explain import RISE_MASKS
from pawpularity.models.fusion import PawpularityNet

SCORE_COLUMN = 0
FLAG_COLUMNS = range(1, 1 + len(FLAGS))
IMAGENET_OFFSET = 1 + len(FLAGS)
PET_COLUMN = IMAGENET_OFFSET + 1000
# ImageNet's dog breeds (151–268) and domestic cats (281–285).
PET_CLASSES = [*range(151, 269), *range(281, 286)]


class Outputs(nn.Module):
    """Pixels in [0, 1] → B×(1 + 12 + 1000 + 1): score (with predicted flags), flag logits,
    ImageNet logits, pet logit (log-sum-exp of the cat and dog classes)."""

    def __init__(self, net: PawpularityNet) -> None:
        super().__init__()
        self.net = net.eval()
        self.register_buffer("pet_classes", torch.tensor(PET_CLASSES))

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        net = self.net
        features = net.backbone.forward_features(net.normalize(pixels))
        embedding = net.backbone.forward_head(features, pre_logits=True)
        imagenet = net.backbone.forward_head(features)
        raw, flag_logits = net.head(embedding)
        pet = torch.logsumexp(imagenet.index_select(1, self.pet_classes), dim=1, keepdim=True)
        return torch.cat([net.to_score(raw).unsqueeze(1), flag_logits, imagenet, pet], dim=1)


@dataclass(frozen=True)
class Target:
    """What a map explains: `score`, `flag:NAME`, `imagenet` (the photo's top class) or `pet`
    (ImageNet's cats and dogs together: where the pet is)."""

    kind: str
    flag: str | None = None

    @classmethod
    def parse(cls, spec: str) -> Target:
        kind, _, name = spec.partition(":")
        if kind == "flag" and name in FLAGS:
            return cls("flag", name)
        if kind in ("score", "imagenet", "pet") and not name:
            return cls(kind)
        raise ConfigError(
            "--target must be score, imagenet, pet or flag:NAME with NAME one of "
            f"{', '.join(FLAGS)}; not {spec!r}"
        )

    def column(self, outputs: torch.Tensor | None = None) -> int:
        """The column this target reads; `imagenet` needs the photo's unmasked outputs (1×K)."""
        if self.kind == "score":
            return SCORE_COLUMN
        if self.kind == "flag":
            return FLAG_COLUMNS[FLAGS.index(str(self.flag))]
        if self.kind == "pet":
            return PET_COLUMN
        if outputs is None:
            raise ValueError("the imagenet target picks the photo's top class: pass its outputs")
        return IMAGENET_OFFSET + int(outputs[0, IMAGENET_OFFSET:PET_COLUMN].argmax())

    def __str__(self) -> str:
        return f"flag:{self.flag}" if self.kind == "flag" else self.kind


def target_value(outputs: torch.Tensor, column: int) -> torch.Tensor:
    """A positive reading of a column, for curves normalised by the unmasked photo's value:
    the score itself, a flag's probability, an ImageNet class's (or all pet classes') softmax
    probability."""
    if column == SCORE_COLUMN:
        return outputs[:, column]
    if column in FLAG_COLUMNS:
        return torch.sigmoid(outputs[:, column])
    log_probs = outputs[:, column] - torch.logsumexp(outputs[:, IMAGENET_OFFSET:PET_COLUMN], dim=1)
    return log_probs.exp()


class Scorer(Protocol):
    """Batched forward without gradients (eager PyTorch or ONNX Runtime): B×3×S×S → B×K."""

    def __call__(self, pixels: torch.Tensor) -> torch.Tensor: ...


@dataclass
class Context:
    """Everything a method may need, built once per model."""

    model: Outputs
    layer: str  # Grad-CAM layer, a module name inside model.net.backbone
    scorer: Scorer
    seed: int = 0
    rise_masks: int = RISE_MASKS
    options: dict[str, Any] = field(default_factory=dict)


Method = Callable[[Context, torch.Tensor, int], torch.Tensor]


class LayerHooks:
    """Keeps a layer's output (with its graph) while the `with` block is open.

    Gradients are then taken with `torch.autograd.grad(y, hooks.output)`: backpropagation stops
    at the layer and no parameter gradient is computed.
    """

    def __init__(self, model: Outputs, layer: str) -> None:
        modules = dict(model.net.backbone.named_modules())
        if layer not in modules:
            raise ConfigError(f"no layer {layer!r} in {model.net.config.backbone}")
        self.module = modules[layer]
        self.output: torch.Tensor | None = None

    def _keep(self, module: nn.Module, args: Any, output: torch.Tensor) -> None:
        self.output = output

    def __enter__(self) -> LayerHooks:
        self._handle = self.module.register_forward_hook(self._keep)
        return self

    def __exit__(self, *exc: object) -> None:
        self._handle.remove()
        self.output = None


def forward_target(model: Outputs, pixels: torch.Tensor, column: int) -> torch.Tensor:
    """The target column for a batch, with a graph back to the pixels (which require grad)."""
    with torch.enable_grad():
        return model(pixels.detach().requires_grad_(True))[:, column]


def input_gradient(model: Outputs, pixels: torch.Tensor, column: int) -> torch.Tensor:
    """d(target)/d(pixels), each photo of the batch for its own target."""
    x = pixels.detach().requires_grad_(True)
    with torch.enable_grad():
        (grad,) = torch.autograd.grad(model(x)[:, column].sum(), x)
    return grad
