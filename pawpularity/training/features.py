"""Frozen first stages run once: their outputs are cached for every epoch and fold.

With the first stages of the backbone frozen (and its BatchNorm in eval mode), their output
for a photo never changes, so training needs to compute it only once per view (as is and
mirrored, the augmentation that survives caching). The cache lives in memory, or in a
memory-mapped file of the run folder that a resumed run reads back.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset
from tqdm import tqdm

from pawpularity.errors import ConfigError
from pawpularity.models.fusion import PawpularityNet
from pawpularity.training.config import AUGMENTS, CACHES

VIEWS = 2  # the photo and its mirror image
MEMORY_BUDGET = 6 * 2**30  # bytes for cached features in memory; above it, `auto` uses the disk


def prefix_shape(net: PawpularityNet, cut: int, size: int) -> tuple[int, ...]:
    """Shape of the cache of one photo: VIEWS × the output of the first `cut` chain modules."""
    with torch.inference_mode():
        return (VIEWS, *net.prefix(torch.zeros(1, 3, size, size), cut).shape[1:])


def plan_cache(cache: str, augment: str, cut: int, need: int, free: int) -> tuple[str, str]:
    """(the cache that runs: memory, disk or off; a warning line for `auto`, or "").

    `need` is the cache's size in bytes, `free` the room on the run folder's disk. A cache holds
    the frozen stages' output of the photo and its mirror: `--augment full` needs the photos.
    """
    gib = f"{need / 2**30:.1f} GiB"
    if cache not in CACHES or augment not in AUGMENTS:
        raise ConfigError(f"--cache is one of {'|'.join(CACHES)}, --augment {'|'.join(AUGMENTS)}")
    if cache in ("memory", "disk") and cut == 0:
        raise ConfigError(f"--cache {cache}: nothing is frozen to cache; use --cache auto|off")
    if cache in ("memory", "disk") and augment == "full":
        raise ConfigError(
            f"--cache {cache} holds frozen-stage outputs, flips only: --augment full needs "
            "the photos (--cache off or auto)"
        )
    if cache == "memory" and need > MEMORY_BUDGET:
        raise ConfigError(
            f"--cache memory: the cache needs {gib}, above the memory budget of "
            f"{MEMORY_BUDGET / 2**30:.1f} GiB; use --cache disk or auto"
        )
    if cache == "disk" and need > free:
        raise ConfigError(f"--cache disk: the cache needs {gib}, {free / 2**30:.1f} GiB free")
    if cache != "auto" or cut == 0:
        return ("off" if cut == 0 else cache), ""
    if augment == "full":
        return "off", f"--augment full: streaming photos instead of a {gib} cache of flips"
    if need <= MEMORY_BUDGET:
        return "memory", ""
    over = f"the frozen stages' cache needs {gib}, above the memory budget"
    if need <= free:
        return "disk", f"--cache auto: {over}: caching it on disk in the run folder"
    return "off", f"--cache auto: {over} and the disk's {free / 2**30:.1f} GiB free: streaming"


def free_bytes(path: Path) -> int:
    """Room on the disk that holds `path` (or would: its nearest existing parent)."""
    path = Path(path).resolve()
    while not path.exists():
        path = path.parent
    disk = os.statvfs(path)
    return int(disk.f_bavail * disk.f_frsize)


@torch.inference_mode()
def prefix_batches(
    net: PawpularityNet, cut: int, images: Dataset[torch.Tensor], batch_size: int = 32
) -> Iterator[torch.Tensor]:
    """B×VIEWS×... float32 outputs of the first `cut` chain modules, batch after batch."""
    net.eval()
    device = next(net.parameters()).device
    loader = DataLoader(images, batch_size=batch_size)  # type: ignore[arg-type]
    for batch in tqdm(loader, desc="caching frozen stages", leave=False):
        x = batch.to(device)
        yield torch.stack([net.prefix(x, cut), net.prefix(x.flip(-1), cut)], dim=1).cpu()


def cache_prefix(net: PawpularityNet, cut: int, images: Dataset[torch.Tensor]) -> torch.Tensor:
    """The N×VIEWS×... cache in memory."""
    return torch.cat(list(prefix_batches(net, cut, images)))


def disk_cache(
    net: PawpularityNet, cut: int, images: Dataset[torch.Tensor], path: Path, shape: tuple[int, ...]
) -> torch.Tensor:
    """The N×VIEWS×... cache memory-mapped from `path`; built first unless a complete one is
    there (written under a temporary name and renamed when whole, so a torn one never is)."""
    n = int(np.prod(shape))
    if not path.is_file() or path.stat().st_size != 4 * n:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        out = np.memmap(tmp, np.float32, "w+", shape=shape)
        start = 0
        for chunk in prefix_batches(net, cut, images):
            out[start : start + len(chunk)] = chunk.numpy()
            start += len(chunk)
        out.flush()
        del out
        os.replace(tmp, path)
    return torch.from_file(str(path), shared=False, size=n).view(shape)
