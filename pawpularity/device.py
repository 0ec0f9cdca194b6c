"""Where models run: `--device auto|cpu|cuda|cuda:K`, resolved once, and what CUDA changes.

On the CPU nothing changes: ONNX Runtime where it can (`--runtime auto`), eager PyTorch
otherwise. On CUDA models run in eager PyTorch (ONNX Runtime's CUDA provider is not used, so
`--runtime ort` is refused), in channels_last, scoring and embedding under autocast
(`AUTOCAST`), gradient maps in true fp32 (`exact_fp32`), photos decoded by worker processes
into pinned memory. Light to import: PyTorch loads only when a device is resolved.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from pawpularity.errors import ConfigError
from pawpularity.progress import note

if TYPE_CHECKING:
    import torch

DEVICES = ("auto", "cpu", "cuda", "cuda:K")  # every command's --device
DEVICE_HELP = (
    "auto (a CUDA GPU when there is one, else the CPU), cpu, cuda or cuda:K (the K-th GPU). "
    "On CUDA: eager PyTorch, channels_last, float16 autocast for scores and embeddings, fp32 "
    "gradient maps; on the CPU: ONNX Runtime where it can (--runtime)."
)
# Autocast dtype for scoring and embedding, per device type; none on the CPU (bf16 is slower
# there without hardware support, DESIGN.md "Speed facts").
AUTOCAST: dict[str, str] = {"cuda": "float16"}
_SPEC = re.compile(r"(cpu|cuda)(?::(\d+))?")


def resolve_device(spec: str | torch.device = "auto") -> torch.device:
    """The torch.device for a `--device` value, checked; a ConfigError (one line) when it
    cannot work here: an unknown name, CUDA where there is none, a GPU index beyond the count.

    "auto" is the first CUDA GPU when PyTorch sees one, else the CPU; "cuda" is cuda:0.
    """
    import torch

    text = str(spec).strip().lower()
    if text == "auto":
        return torch.device("cuda", 0) if torch.cuda.is_available() else torch.device("cpu")
    match = _SPEC.fullmatch(text)
    if match is None or (match[1] == "cpu" and match[2] is not None):
        raise ConfigError(f"--device must be one of {', '.join(DEVICES)}, not {str(spec)!r}")
    if match[1] == "cpu":
        return torch.device("cpu")
    if not torch.cuda.is_available():
        raise ConfigError(f"--device {text}: {_no_cuda(torch)}; use --device cpu (or auto)")
    index, count = int(match[2] or 0), torch.cuda.device_count()
    if index >= count:
        gpus = "1 CUDA GPU (cuda:0)" if count == 1 else f"{count} CUDA GPUs (cuda:0 to {count - 1})"
        raise ConfigError(f"--device {text}: this machine has {gpus}")
    return torch.device("cuda", index)


def _no_cuda(torch: Any) -> str:
    if torch.version.cuda is None:
        return f"this PyTorch ({torch.__version__}) is built without CUDA"
    return "no CUDA GPU is available here (none found, or no driver)"


def is_cuda(device: torch.device) -> bool:
    return device.type == "cuda"


def runtime_for(device: torch.device, runtime: str) -> str:
    """The `--runtime` that runs on `device`: on CUDA "auto" means eager PyTorch and "ort" (ONNX
    Runtime's CPU provider) is a ConfigError; on the CPU the runtime as given."""
    if not is_cuda(device):
        return runtime
    if runtime == "ort":
        raise ConfigError(
            f"--runtime ort runs on the CPU, not on --device {device}: use --runtime auto (or "
            "eager) on CUDA, or --device cpu for ONNX Runtime"
        )
    return "eager" if runtime == "auto" else runtime


def describe(device: torch.device) -> str:
    """'cuda:0 (NVIDIA H200; eager PyTorch, float16 autocast)' or 'cpu'."""
    if not is_cuda(device):
        return str(device)
    import torch

    name = torch.cuda.get_device_name(device)
    cast = AUTOCAST.get("cuda")
    return f"{device} ({name}; eager PyTorch{f', {cast} autocast' if cast else ''})"


def announce(spec: str | torch.device, device: torch.device) -> None:
    """The note of what `--device auto` picked (nothing for a device named explicitly)."""
    if str(spec).strip().lower() == "auto":
        found = "" if is_cuda(device) else " (no CUDA GPU found)"
        note(f"device: {describe(device)}{found}")


def autocast(device: torch.device) -> contextlib.AbstractContextManager[Any]:
    """Mixed precision for forward passes without gradients (scores, embeddings, RISE's batches)
    on devices that have an AUTOCAST dtype; no change elsewhere."""
    name = AUTOCAST.get(device.type)
    if name is None:
        return contextlib.nullcontext()
    import torch

    return torch.autocast(device.type, dtype=getattr(torch, name))


@contextlib.contextmanager
def exact_fp32(device: torch.device) -> Iterator[None]:
    """True fp32 convolutions inside the block on CUDA (cuDNN otherwise takes TF32, 10-bit
    mantissas, on Ampere and later): gradient maps are computed at full precision."""
    if not is_cuda(device):
        yield
        return
    import torch

    before = torch.backends.cudnn.allow_tf32
    torch.backends.cudnn.allow_tf32 = False
    try:
        yield
    finally:
        torch.backends.cudnn.allow_tf32 = before


def pin_memory(device: torch.device) -> bool:
    """Whether batches bound for `device` should be decoded into pinned (page-locked) memory, so
    that their copy to the GPU overlaps the work (`.to(device, non_blocking=True)`)."""
    return is_cuda(device)
