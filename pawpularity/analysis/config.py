"""What `analyze` explains and how, as plain values (light to import: the CLI reads its
defaults here)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from pawpularity.explain.methods import Method, build

MAP_METHODS = ("gradcam", "rise")  # the score maps analysed by default


@dataclass
class AnalyzeConfig:
    methods: tuple[Method, ...] = field(default_factory=lambda: build(MAP_METHODS))
    max_images: int = 200  # photos explained (a seeded random sample when there are more)
    seed: int = 0
    examples: int = 3  # best and worst photos shown with their maps
    runtime: str = "auto"
    device: str = "auto"  # --device: where the models run (a CUDA GPU when there is one)
    embeddings: Path | None = None  # --embeddings: an `embed` folder whose species adds H6
