"""Batched forward passes without gradients, for RISE and faithfulness curves.

Two engines behind one `Scorer` call: eager PyTorch, and ONNX Runtime on a graph from the
dynamo exporter, which makes the `tf_` "same" pads static (Lite0 at 224 px, 2 CPU cores, batch
32: ≈ 150 img/s vs ≈ 75 for eager channels_last and ≈ 17 for eager contiguous). `make_scorer`
picks one; exported graphs are cached on disk by a hash of the weights, so only the first call
for a model pays the export (≈ 11–16 s). Export and sessions live in `models/onnx.py`. A model on
a GPU scores in eager PyTorch there, under autocast (`pawpularity.device`).
"""

from __future__ import annotations

import copy
import warnings
from pathlib import Path

import torch

from pawpularity.device import autocast, runtime_for
from pawpularity.errors import ConfigError
from pawpularity.explain.base import Outputs, Scorer
from pawpularity.models.onnx import OrtScorer, cached_export, check_runtime, import_ort, weights_key

BATCH = 32
NAMES = (["pixels"], ["outputs"])


class EagerScorer:
    """Plain PyTorch in inference mode, in batches of `batch` photos, on the model's device
    (under autocast where it has an AUTOCAST dtype); float32 outputs on that device."""

    def __init__(self, model: Outputs, batch: int = BATCH) -> None:
        self.model, self.batch = model, batch
        self.device = next(model.parameters()).device

    @torch.inference_mode()
    def __call__(self, pixels: torch.Tensor) -> torch.Tensor:
        x = pixels.to(self.device, non_blocking=True)
        with autocast(self.device):
            return torch.cat([self.model(chunk).float() for chunk in x.split(self.batch)])


def make_scorer(model: Outputs, runtime: str = "auto", batch: int = BATCH) -> Scorer:
    """A scorer for `model`: "ort" (ONNX Runtime, or a ConfigError), "eager", or "auto".

    "auto" takes ONNX Runtime when onnxruntime and onnxscript import and the export works,
    otherwise eager PyTorch with one warning; for a model on a GPU it is eager PyTorch there.
    """
    runtime = runtime_for(next(model.parameters()).device, runtime)
    check_runtime(runtime)
    if runtime == "eager":
        return EagerScorer(model, batch)
    try:
        return OrtScorer(export_onnx(model), batch)
    except ConfigError as e:
        if runtime == "ort":
            raise
        warnings.warn(f"forward passes run on eager PyTorch (slower): {e}", stacklevel=2)
        return EagerScorer(model, batch)


def export_onnx(model: Outputs, size: int | None = None) -> Path:
    """The model as an ONNX file with a dynamic batch, exported once and then taken from the cache.

    The cache key hashes the weights, the model's config, the torch version and the input size.
    """
    import_ort()
    size = size or model.ensemble.image_size
    example = (torch.rand(2, 3, size, size),)
    return cached_export(_exportable(model), example, model_key(model, size), NAMES)


def model_key(model: Outputs, size: int) -> str:
    """sha256 over every state_dict tensor (name, dtype, shape, bytes), config, torch, size."""
    return weights_key(model, f"{size}|{model.ensemble.config}")


def _exportable(model: Outputs) -> Outputs:
    """The model itself when in eval mode with contiguous weights, else such a copy (the explain
    command converts its model to channels_last for the gradient methods)."""
    if not any(m.training for m in model.modules()) and all(
        p.is_contiguous() for p in model.parameters()
    ):
        return model
    return copy.deepcopy(model).to(memory_format=torch.contiguous_format).eval()
