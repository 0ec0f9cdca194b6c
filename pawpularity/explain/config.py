"""What `explain` computes per photo: its defaults, read by the CLI without loading the models."""

from __future__ import annotations

from dataclasses import dataclass, field

from pawpularity.explain.methods import METHODS, Method, build


@dataclass
class ExplainConfig:
    """What `explain` computes per photo (the model, its folds, seed and runtime are the
    Explainer's)."""

    methods: tuple[Method, ...] = field(default_factory=lambda: build(tuple(METHODS)))
    target: str | None = None  # None: "score", or "imagenet" for the bare ImageNet backbone
    sanity: bool = False
    road: bool = True  # ROAD of every map and of the random one too (seconds per map)
