"""What a model is made of and runs on, as plain values (light to import: the CLI reads its
defaults here)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

from pawpularity.models import DEFAULT_BACKBONE

LOSSES = ("mse", "bce")
RUNTIMES = ("auto", "ort", "eager")  # every command's --runtime: ONNX Runtime when it can, ...


@dataclass
class ModelConfig:
    """Everything needed to rebuild a model before loading its weights."""

    backbone: str = DEFAULT_BACKBONE
    image_size: int | None = None  # None: the backbone's default (a built model resolves it)
    loss: str = "mse"
    meta_dim: int = 32
    hidden: int = 256
    dropout: float = 0.1

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ModelConfig:
        return cls(**{f.name: d[f.name] for f in fields(cls) if f.name in d})

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
