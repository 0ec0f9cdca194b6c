"""What every explanation method shares: one output matrix, targets as its columns, the context a
method runs in, and what a method declares it needs.

A model to explain is reduced to `Outputs`: float pixels in [0, 1] (B×3×S×S) → one row per
photo holding the score, the 12 flag logits, the 1000 ImageNet logits and a pet logit (cats and
dogs together, to locate the pet whatever its breed), each over the folds that make the score.
A `Target` is a column of that matrix, so gradient methods, RISE, faithfulness and ONNX Runtime
all speak the same language. Methods (declared in methods.py) compute S×S maps in a `Context`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import torch
import torch.nn.functional as F
from torch import nn

from pawpularity.data.schema import FLAGS
from pawpularity.errors import ConfigError
from pawpularity.models.backbones import PET_CLASSES, has_imagenet_head

if TYPE_CHECKING:
    from pawpularity.models.ensemble import FoldEnsemble

SCORE_COLUMN = 0
FLAG_COLUMNS = range(1, 1 + len(FLAGS))
IMAGENET_OFFSET = 1 + len(FLAGS)
PET_COLUMN = IMAGENET_OFFSET + 1000


class Outputs(nn.Module):
    """Pixels in [0, 1] → B×(1 + 12 + 1000 + 1) over the ensemble's folds: the mean score (with
    predicted flags), the logit of each flag's mean probability, the mean ImageNet logits and the
    pet logit (log-sum-exp of their cat and dog classes). The folds' shared stages run once."""

    pet_classes: torch.Tensor

    def __init__(self, ensemble: FoldEnsemble) -> None:
        super().__init__()
        self.ensemble = ensemble.eval()
        # A backbone without ImageNet's classifier (e.g. pretrained by masked image modelling)
        # gives zeros there; the imagenet and pet targets are refused for it.
        self.imagenet = all(has_imagenet_head(net.backbone) for net in ensemble.members)
        self.register_buffer("pet_classes", torch.tensor(PET_CLASSES))

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        scores, flag_logits, imagenet = [], [], []
        for net, features in zip(
            self.ensemble.members, self.ensemble.features(pixels), strict=True
        ):
            raw, logits = net.head(net.backbone.forward_head(features, pre_logits=True))
            scores.append(net.to_score(raw))
            flag_logits.append(logits)
            imagenet.append(
                net.backbone.forward_head(features)
                if self.imagenet
                else features.new_zeros(len(features), 1000)
            )
        flags = torch.stack(flag_logits)  # K×B×12
        # logit(mean_k σ(l_k)) = logsumexp_k logσ(l_k) − logsumexp_k logσ(−l_k): stable, exact
        # for one fold.
        mean_flags = torch.logsumexp(F.logsigmoid(flags), 0) - torch.logsumexp(
            F.logsigmoid(-flags), 0
        )
        logits_1000 = torch.stack(imagenet).mean(0)
        pet = torch.logsumexp(logits_1000.index_select(1, self.pet_classes), dim=1, keepdim=True)
        score = torch.stack(scores).mean(0).unsqueeze(1)
        return torch.cat([score, mean_flags, logits_1000, pet], dim=1)


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
    """What a method may use, built once per model: the differentiable model (None for a run
    that has none, e.g. scikit-learn heads), the Grad-CAM layer's name, the seed, and a batched
    scorer made by `make_scorer` on first use (an ONNX export is not paid for unless needed)."""

    model: Outputs | None
    layer: str
    make_scorer: Callable[[], Scorer]
    seed: int = 0
    _scorer: Scorer | None = field(default=None, init=False, repr=False)

    @property
    def scorer(self) -> Scorer:
        if self._scorer is None:
            self._scorer = self.make_scorer()
        return self._scorer

    @property
    def network(self) -> Outputs:
        """The differentiable model; a method that declares it needs gradients gets one."""
        if self.model is None:
            raise ConfigError("this run has no network to take gradients of")
        return self.model


class LayerHooks:
    """Keeps the outputs (with their graph) of a layer in every fold while the `with` block is
    open; a layer of the folds' shared stages is one module, kept once.

    Gradients are then taken with `torch.autograd.grad(y, hooks.outputs)`: backpropagation stops
    at the layer and no parameter gradient is computed. Only this thread's forward passes are
    kept: the same modules may score photos on another thread meanwhile (the server does).
    """

    def __init__(self, model: Outputs, layer: str) -> None:
        self.modules = model.ensemble.layer_modules(layer)
        self.layer = layer
        self.outputs: list[torch.Tensor] = []
        self.thread = threading.get_ident()

    def kept(self) -> list[torch.Tensor]:
        """The outputs kept so far; a layer that never ran (a container that the folds' shared
        stages run step by step) is an error, not an empty map."""
        if not self.outputs:
            raise ConfigError(
                f"layer {self.layer!r} did not run in the forward pass: name one of its "
                "submodules as the Grad-CAM layer in pawpularity.models.backbones.REGISTRY"
            )
        return self.outputs

    def _keep(self, module: nn.Module, args: Any, output: torch.Tensor) -> None:
        if threading.get_ident() == self.thread:
            self.outputs.append(output)

    def __enter__(self) -> LayerHooks:
        self._handles = [m.register_forward_hook(self._keep) for m in self.modules]
        return self

    def __exit__(self, *exc: object) -> None:
        for handle in self._handles:
            handle.remove()
        self.outputs = []


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
