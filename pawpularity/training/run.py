"""A finished training run, loaded for inference: its config and one model per fold."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from pawpularity.errors import RunError
from pawpularity.models.checkpoint import WEIGHTS_FILE, load_net, read_json
from pawpularity.models.fusion import ModelConfig, PawpularityNet


@dataclass
class Run:
    path: Path
    model: ModelConfig
    nets: list[PawpularityNet]

    @property
    def image_size(self) -> int:
        return int(self.model.image_size or 0)

    @torch.inference_mode()
    def __call__(
        self, images: torch.Tensor, flags: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(score, flag probabilities) averaged over the folds' models."""
        scores, probs = zip(*(net(images, flags) for net in self.nets), strict=True)
        return torch.stack(scores).mean(0), torch.stack([p.sigmoid() for p in probs]).mean(0)


def load_run(path: Path) -> Run:
    """Load RUN/config.json and every RUN/fold<k>/model.safetensors it promises."""
    path = Path(path)
    if not path.is_dir():
        raise RunError(f"{path}: no such run folder (make one with `pawpularity train`)")
    config = read_json(path / "config.json")
    model = ModelConfig.from_dict(config["model"])
    folds = [path / f"fold{k}" for k in range(int(config["train"]["folds"]))]
    missing = [f.name for f in folds if not (f / WEIGHTS_FILE).is_file()]
    if missing:
        raise RunError(
            f"{path}: unfinished run, no model for {', '.join(missing)} "
            "(complete it with `pawpularity train ... --resume`)"
        )
    return Run(path, model, [load_net(model, f) for f in folds])
