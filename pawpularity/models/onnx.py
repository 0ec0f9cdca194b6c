"""ONNX export (the dynamo exporter) and ONNX Runtime sessions, for any module on batches.

The dynamo exporter makes the `tf_` "same" pads static; ONNX Runtime then runs Lite0 at 224 px
on 2 CPU cores at 1.8× the throughput of eager PyTorch at its best (`bench/inference_speed.py`;
DESIGN.md, "Speed facts"). Exported graphs of models that are not saved anywhere are cached by a
hash of their weights (`cached_export`).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import logging
import os
import warnings
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import torch
from torch import nn

from pawpularity.errors import ConfigError
from pawpularity.files import atomic
from pawpularity.models.config import RUNTIMES
from pawpularity.progress import note

INSTALL_ORT = "pip install onnxruntime onnxscript"
CACHE_GRAPHS = 12  # cached exports kept (about 10-25 MB each for Lite0; --sanity adds five)


def check_runtime(runtime: str) -> None:
    """A ConfigError unless `runtime` is one of RUNTIMES (the `--runtime` of every command)."""
    if runtime not in RUNTIMES:
        raise ConfigError(f"--runtime must be one of {', '.join(RUNTIMES)}, not {runtime!r}")


def import_ort() -> ModuleType:
    """onnxruntime, or a ConfigError that says how to install it (and onnxscript, for export)."""
    try:
        import onnxruntime
        import onnxscript  # noqa: F401  (the dynamo exporter needs it)
    except ImportError as e:
        raise ConfigError(f"ONNX Runtime is not available ({e}); {INSTALL_ORT}") from e
    return onnxruntime


def export(
    module: nn.Module,
    example: tuple[torch.Tensor, ...],
    path: Path,
    input_names: list[str],
    output_names: list[str],
) -> None:
    """Export `module` (eval mode, contiguous weights) with a dynamic batch on every input.

    Written atomically; the exporter's progress chatter is swallowed; any failure is a
    ConfigError naming the module.
    """
    import_ort()
    batch = torch.export.Dim("batch", min=1)
    chatter = io.StringIO()
    loggers = [logging.getLogger(name) for name in ("torch.onnx", "onnxscript", "torch.export")]
    levels = [logger.level for logger in loggers]
    try:
        for logger in loggers:
            logger.setLevel(logging.ERROR)
        with (
            atomic(path) as tmp,
            warnings.catch_warnings(),
            contextlib.redirect_stdout(chatter),
            contextlib.redirect_stderr(chatter),
        ):
            warnings.simplefilter("ignore")
            torch.onnx.export(
                module,
                example,
                str(tmp),
                dynamo=True,
                dynamic_shapes=tuple({0: batch} for _ in example),
                external_data=False,
                input_names=input_names,
                output_names=output_names,
                verbose=False,
            )
    except Exception as e:  # the exporter raises many types; the message is what matters
        raise ConfigError(f"ONNX export of {type(module).__name__} failed ({e})") from e
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


def cache_dir() -> Path:
    """Where cached graphs live: $PAWPULARITY_CACHE/onnx, else ~/.cache/pawpularity/onnx."""
    root = os.environ.get("PAWPULARITY_CACHE")
    return (Path(root) if root else Path.home() / ".cache" / "pawpularity") / "onnx"


def weights_key(module: nn.Module, extra: str) -> str:
    """sha256 over every state_dict tensor (name, dtype, shape, bytes), `extra` and torch."""
    h = hashlib.sha256(f"{torch.__version__}|{extra}".encode())
    for name, tensor in module.state_dict().items():
        t = tensor.detach().cpu().contiguous()
        h.update(f"{name}|{t.dtype}|{tuple(t.shape)}".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()


def cached_export(
    module: nn.Module, example: tuple[torch.Tensor, ...], key: str, names: tuple[list[str], ...]
) -> Path:
    """cache_dir()/<key>.onnx, exported on the first call only (names: inputs, outputs).

    The cache keeps the CACHE_GRAPHS graphs used last (a hit counts as a use); `pawpularity
    cache clear` empties it.
    """
    path = cache_dir() / f"{key}.onnx"
    if path.is_file():
        path.touch()
    else:
        note(
            f"exporting {type(module).__name__} for ONNX Runtime (once; cached in {cache_dir()}) "
            "..."
        )
        export(module, example, path, *names)
        prune_cache()
    return path


def prune_cache() -> None:
    """Remove all but the CACHE_GRAPHS graphs of the cache used last."""
    graphs = sorted(cache_dir().glob("*.onnx"), key=_mtime, reverse=True)
    for old in graphs[CACHE_GRAPHS:]:
        old.unlink(missing_ok=True)


def clear_cache() -> int:
    """Remove every cached graph; how many there were."""
    graphs = list(cache_dir().glob("*.onnx")) if cache_dir().is_dir() else []
    for graph in graphs:
        graph.unlink(missing_ok=True)
    return len(graphs)


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:  # removed meanwhile by another process
        return 0.0


def session(path: Path | str) -> Any:
    """An ONNX Runtime CPU session on all cores, or a ConfigError for a missing or broken file."""
    ort = import_ort()
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: no such ONNX file")
    options = ort.SessionOptions()
    options.intra_op_num_threads = os.cpu_count() or 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3  # errors only
    try:
        return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as e:  # a truncated or foreign file
        raise ConfigError(f"{path}: not a usable ONNX model ({e})") from e


class OrtScorer:
    """A graph (pixels B×3×S×S → B×K, first output) on ONNX Runtime, in batches of `batch`."""

    def __init__(self, path: Path | str, batch: int = 32) -> None:
        self.session = session(path)
        (first,) = self.session.get_inputs()
        self.input, self.shape = first.name, tuple(first.shape[1:])
        self.path, self.batch = Path(path), batch

    def __call__(self, pixels: torch.Tensor) -> torch.Tensor:
        if not self._fits(pixels.shape):
            raise ConfigError(
                f"{self.path} takes B×{'×'.join(map(str, self.shape))} pixels, "
                f"not {'×'.join(map(str, pixels.shape))}"
            )
        outputs = [
            self.session.run(None, {self.input: np.ascontiguousarray(chunk.numpy(), np.float32)})[0]
            for chunk in pixels.detach().float().cpu().split(self.batch)
        ]
        return torch.from_numpy(np.concatenate(outputs))

    def _fits(self, shape: torch.Size) -> bool:
        """The graph's named (dynamic) input dimensions take any size, the others their own."""
        return len(shape) == 1 + len(self.shape) and all(
            not isinstance(d, int) or d == n for d, n in zip(self.shape, shape[1:], strict=True)
        )


class OrtModule:
    """An exported graph called like the module it came from: tensors in, a tuple of tensors out."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.session = session(path)
        self.inputs = [i.name for i in self.session.get_inputs()]

    def __call__(self, *args: torch.Tensor) -> tuple[torch.Tensor, ...]:
        feeds = {
            name: np.ascontiguousarray(a.detach().float().cpu().numpy())
            for name, a in zip(self.inputs, args, strict=True)
        }
        return tuple(torch.from_numpy(o) for o in self.session.run(None, feeds))
