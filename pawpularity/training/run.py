"""A finished run, loaded for inference: network folds, scikit-learn heads, or a blend of runs.

`load_run(path)` → `Run`; `run(images, flags)` → (score, flag probabilities), averaged over the
folds. With `runtime="auto"` a run that was exported (`pawpularity export`) scores on ONNX
Runtime; "ort" insists on it, "eager" stays with PyTorch and numpy.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch

from pawpularity.errors import RunError
from pawpularity.models.checkpoint import WEIGHTS_FILE, load_net, read_json
from pawpularity.models.fusion import ModelConfig, PawpularityNet
from pawpularity.models.onnx import check_runtime

Engine = Callable[[torch.Tensor, torch.Tensor | None], tuple[torch.Tensor, torch.Tensor]]


@dataclass
class Run:
    path: Path
    model: ModelConfig
    nets: list[PawpularityNet]  # eager network runs only; empty on ORT, for heads and blends
    engine: Engine | None = None  # how non-eager or non-network runs score
    runtime: str = "eager"  # what scores: "eager" or "ort"

    @property
    def image_size(self) -> int:
        return int(self.model.image_size or 0)

    @torch.inference_mode()
    def __call__(
        self, images: torch.Tensor, flags: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(score, flag probabilities) averaged over the folds' models."""
        if self.engine is not None:
            return self.engine(images, flags)
        scores, probs = zip(*(net(images, flags) for net in self.nets), strict=True)
        return torch.stack(scores).mean(0), torch.stack([p.sigmoid() for p in probs]).mean(0)


def load_run(path: Path, runtime: str = "auto") -> Run:
    """Load RUN/config.json and every fold it promises (or the runs a blend is made of)."""
    path = Path(path)
    check_runtime(runtime)
    if not path.is_dir():
        raise RunError(f"{path}: no such run folder (make one with `pawpularity train`)")
    config = read_json(path / "config.json")
    kind = config.get("kind", "net")
    if kind == "blend":
        from pawpularity.training.blend import load_blend

        return load_blend(path, config, runtime)
    from pawpularity.training.export import ort_graphs

    graphs = ort_graphs(path, config, runtime)
    used = "eager" if graphs is None else "ort"
    if kind == "head":
        from pawpularity.training.head_cv import load_head_engine

        sources = list(config["embeddings"].values())
        size = max(int(s["image_size"]) for s in sources)
        model = ModelConfig(backbone=sources[0]["backbone"], image_size=size)
        return Run(path, model, [], load_head_engine(path, config, graphs), used)
    model = ModelConfig.from_dict(config["model"])
    folds = [path / f"fold{k}" for k in range(int(config["train"]["folds"]))]
    missing = [f.name for f in folds if not (f / WEIGHTS_FILE).is_file()]
    if missing:
        raise RunError(
            f"{path}: unfinished run, no model for {', '.join(missing)} "
            "(complete it with `pawpularity train ... --resume`)"
        )
    if graphs is None:
        return Run(path, model, [load_net(model, f) for f in folds])
    from pawpularity.training.export import OrtFolds

    return Run(path, model, [], OrtFolds(graphs), used)
