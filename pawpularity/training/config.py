"""How to train, as plain values (light to import: the CLI reads its defaults here)."""

from __future__ import annotations

from dataclasses import dataclass

from pawpularity.models import DEFAULT_BACKBONE, DEFAULT_FREEZE

CACHES = ("auto", "memory", "disk", "off")  # where the frozen stages' outputs are kept
AUGMENTS = ("flip", "full")


@dataclass
class TrainConfig:
    """How to train (the model's own shape is a ModelConfig)."""

    folds: int = 5
    epochs: int = 8
    batch_size: int = 16
    lr: float = 5e-4
    freeze: str = DEFAULT_FREEZE
    seed: int = 0
    pretrained: str = "imagenet"
    weights: str | None = None
    cache: str = "auto"  # frozen stages' outputs: auto, memory, disk or off (see features.py)
    augment: str = "flip"  # flip, or full (flip, zoom, shift, brightness/contrast) on photos


@dataclass(frozen=True)
class Devices:
    """Where training runs (Lightning's Trainer arguments); not part of the run's identity.

    With several devices or nodes, `batch_size` stays the global batch: each process takes
    batch_size / (devices × nodes) rows of every step, so results do not depend on the layout.
    """

    accelerator: str = "auto"
    devices: int = 1
    num_nodes: int = 1
    strategy: str = "auto"

    @property
    def world(self) -> int:
        return self.devices * self.num_nodes


@dataclass(frozen=True)
class HeadConfig:
    head: str = "svr"
    folds: int = TrainConfig.folds  # the network's folds by default: runs that blend
    seed: int = TrainConfig.seed
    flags: bool = True  # the 12 flags join the features (predicted for photos without them)
    extra: tuple[str, ...] = ()  # columns joining the features (`--extra species`; EXTRAS)


@dataclass(frozen=True)
class RecipeConfig:
    """`pawpularity recipe`: the members it trains (training/recipe.py)."""

    # Frozen embedders, one SVR head each (both ship offline weights).
    backbones: tuple[str, ...] = (DEFAULT_BACKBONE, "tf_efficientnet_lite2")
    net: str | None = DEFAULT_BACKBONE  # the fine-tuned network's backbone; None: no network
    folds: int = TrainConfig.folds
    epochs: int = TrainConfig.epochs
    seed: int = TrainConfig.seed
    pretrained: str = TrainConfig.pretrained
    image_size: int | None = None  # None: each backbone's own
