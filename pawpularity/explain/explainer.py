"""A model made explainable: the map of any registered method for a photo, at its own size.

A network run (or the bare ImageNet backbone) is explained through `Outputs` over its folds:
every method runs, and maps explain the fold average that is scored. A run without a network to
differentiate (scikit-learn heads, blends) runs the methods that need only batched scoring
(RISE) on its engine. The batched scorer — ONNX Runtime when it can, exported once and cached —
is built the first time a method or a faithfulness curve needs it. On a GPU the network, the
photo and RISE's masks live there; gradient maps are computed in fp32, batched passes under
autocast (`pawpularity.device`); maps and outputs come back on the CPU.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from pawpularity.data.dataset import prepare, unit_pixels
from pawpularity.device import exact_fp32, resolve_device, runtime_for
from pawpularity.errors import ConfigError
from pawpularity.explain.base import Context, Outputs, Scorer, Target
from pawpularity.explain.gradcam import LayoutError
from pawpularity.explain.methods import METHODS, Method, create
from pawpularity.explain.runtime import make_scorer
from pawpularity.models.backbones import gradcam_layer
from pawpularity.models.checkpoint import build_model
from pawpularity.models.config import ModelConfig
from pawpularity.models.ensemble import FoldEnsemble
from pawpularity.models.onnx import check_runtime
from pawpularity.runs.engine import Engine
from pawpularity.runs.run import Run

IMAGENET_RUN = "imagenet"  # RUN value for the bare default backbone (ImageNet weights, no training)


class Explainer:
    """Maps of one model. `outputs`: the differentiable model (None for a run without one, which
    then needs `scorer` and `size`); `runtime` ("auto", "ort", "eager"): what the batched passes
    run on; `scored`: False for the bare ImageNet backbone, whose heads were never trained;
    `device`: where the model runs (moved there; None: where its weights already are)."""

    def __init__(
        self,
        outputs: Outputs | None,
        *,
        runtime: str = "auto",
        seed: int = 0,
        scorer: Callable[[], Scorer] | None = None,
        size: int | None = None,
        scored: bool = True,
        device: str | torch.device | None = None,
    ) -> None:
        if device is not None:
            self.device = resolve_device(device)
        elif outputs is not None:
            self.device = next(outputs.parameters()).device
        else:
            self.device = torch.device("cpu")
        runtime = runtime_for(self.device, runtime)
        check_runtime(runtime)
        self.runtime, self.seed, self.scored = runtime, seed, scored
        if outputs is None:
            if scorer is None or size is None:
                raise ValueError("an explainer without a network needs a scorer and a size")
            self.ctx = Context(None, "", scorer, seed)
            self.size = size
        else:
            first = outputs.ensemble.members[0]
            layer = gradcam_layer(first.config.backbone, first.backbone)
            # channels_last: faster convolutions for gradients
            outputs.to(self.device).to(memory_format=torch.channels_last)
            make = scorer or (lambda: make_scorer(outputs, runtime))  # exports a contiguous copy
            self.ctx = Context(outputs, layer, make, seed)
            self.size = outputs.ensemble.image_size
        self.lock = threading.Lock()  # layer hooks are not thread-safe

    @property
    def scorer(self) -> Scorer:
        return self.ctx.scorer

    def supports(self, method: type[Method]) -> bool:
        """Whether the method runs on this model (gradient methods need a network)."""
        return self.ctx.model is not None or not (method.needs.gradients or method.needs.layer)

    def method(self, method: Method | str) -> Method:
        """A method instance (default parameters for a name), checked to run on this model."""
        chosen = create(method) if isinstance(method, str) else method
        if not self.supports(type(chosen)):
            can = [n for n, cls in METHODS.items() if self.supports(cls)]
            raise ConfigError(
                f"{chosen.name} needs a network's gradients, which this run has not: "
                f"use {', '.join(can)}"
            )
        return chosen

    def tensor(self, photo: Image.Image) -> torch.Tensor:
        """The photo as the model sees it: squeezed to S×S, pixels in [0, 1], 1×3×S×S, on the
        model's device."""
        x = unit_pixels(prepare(photo, self.size)[None].to(self.device))
        return x.contiguous(memory_format=torch.channels_last)

    @torch.inference_mode()
    def outputs(self, x: torch.Tensor) -> torch.Tensor:
        """The output row(s) of prepared photos (one fp32 forward pass, no batched scorer
        needed), on the CPU."""
        if self.ctx.model is None:
            return self.scorer(x).float().cpu()
        return self.ctx.model(x.to(self.device)).float().cpu()

    def target(self, target: Target | str) -> Target:
        """A target, parsed and checked to exist on this model."""
        parsed = Target.parse(target) if isinstance(target, str) else target
        if not self.scored and parsed.kind not in ("imagenet", "pet"):
            raise ConfigError(
                "the bare ImageNet backbone has no trained score: use --target imagenet or pet"
            )
        model = self.ctx.model
        if parsed.kind in ("imagenet", "pet") and (model is None or not model.imagenet):
            raise ConfigError(f"the {parsed} target needs a backbone with ImageNet's classifier")
        return parsed

    def column(self, target: Target | str, x: torch.Tensor) -> int:
        """The output column a target reads for the prepared photo x."""
        parsed = self.target(target)
        return parsed.column(self.outputs(x) if parsed.kind == "imagenet" else None)

    def map(self, method: Method | str, x: torch.Tensor, column: int) -> torch.Tensor:
        """The raw S×S map (float32, on the CPU) of a prepared photo x (see `tensor`) for one
        output column; gradients in true fp32 on a GPU."""
        return self.map_notes(method, x, column)[0]

    def map_notes(
        self, method: Method | str, x: torch.Tensor, column: int
    ) -> tuple[torch.Tensor, dict[str, Any]]:
        """`map`, and the method's notes on it (RISE: masks, split_half, converged)."""
        chosen = self.method(method)
        try:
            with self.lock, exact_fp32(self.device):
                saliency, notes = chosen.explain(self.ctx, x.to(self.device), column)
                return saliency.detach().float().cpu(), notes
        except LayoutError as e:
            others = [n for n, cls in METHODS.items() if not cls.needs.layer]
            raise ConfigError(f"{e}, or use {', '.join(others)}") from None

    def explain(
        self,
        photo: Image.Image,
        method: Method | str = "gradcam",
        target: Target | str = "score",
        size: tuple[int, int] | None = None,
    ) -> np.ndarray:
        """The raw float32 map of a photo, H×W of the photo (EXIF orientation applied) or of
        `size` (width, height)."""
        return self.explain_notes(photo, method, target, size)[0]

    def explain_notes(
        self,
        photo: Image.Image,
        method: Method | str = "gradcam",
        target: Target | str = "score",
        size: tuple[int, int] | None = None,
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """`explain`, and the method's notes on the map (see `map_notes`)."""
        x = self.tensor(photo)
        saliency, notes = self.map_notes(method, x, self.column(target, x))
        return resize_map(saliency, size or photo.size), notes


class EngineScorer:
    """A run's engine as a Scorer: B×(1 + 12) outputs, the score and the flags' logits."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def __call__(self, pixels: torch.Tensor) -> torch.Tensor:
        scores, probs = self.engine(pixels, None)
        p = probs.float().clamp(1e-7, 1 - 1e-7)
        return torch.cat([scores.float()[:, None], p.log() - (-p).log1p()], 1)


def run_explainer(run: Run, runtime: str = "auto", seed: int = 0) -> Explainer:
    """The explainer of a loaded run, on the run's device: its folds' networks, or its engine
    (heads, blends)."""
    if run.kind == "net":
        return Explainer(Outputs(run.ensemble()), runtime=runtime, seed=seed, device=run.device)
    engine = run.engine
    return Explainer(
        None, seed=seed, scorer=lambda: EngineScorer(engine), size=run.image_size, device=run.device
    )


def imagenet_ensemble(seed: int = 0) -> FoldEnsemble:
    """The bare default backbone with its ImageNet weights and seeded heads that never trained
    (whose score maps are the control of the planted-cue checks)."""
    torch.manual_seed(seed)
    return FoldEnsemble([build_model(ModelConfig(), pretrained="imagenet").eval()])


def imagenet_explainer(
    runtime: str = "auto", seed: int = 0, device: str | torch.device = "cpu"
) -> Explainer:
    """What ImageNet sees, and where the pet is (the `imagenet` and `pet` targets) in the bare
    default backbone; it has no trained score."""
    outputs = Outputs(imagenet_ensemble(seed))
    return Explainer(outputs, runtime=runtime, seed=seed, scored=False, device=device)


def resize_map(saliency: torch.Tensor, size: tuple[int, int]) -> np.ndarray:
    """An S×S map resized (bilinear) to `size` = (width, height), as float32 on the CPU."""
    w, h = size
    full = F.interpolate(
        saliency.float()[None, None], size=(h, w), mode="bilinear", align_corners=False
    )
    return full[0, 0].cpu().numpy().astype(np.float32)
