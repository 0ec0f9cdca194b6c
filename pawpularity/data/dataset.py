"""Photos as model input: square uint8 tensors, decoded in threads, in memory or on demand."""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset
from tqdm import tqdm

from pawpularity.data.images import load_image
from pawpularity.errors import DataError, ImageError


def unit_pixels(images: torch.Tensor) -> torch.Tensor:
    """uint8 photos (0–255) as float pixels in [0, 1]; float input is taken as already so."""
    return images.float() / 255.0 if images.dtype == torch.uint8 else images.float()


def prepare(image: Image.Image, size: int) -> torch.Tensor:
    """The whole photo squeezed to size×size (nothing cropped away), as a uint8 3×S×S tensor."""
    small = image.resize((size, size), Image.Resampling.BICUBIC, reducing_gap=3.0)
    return torch.from_numpy(np.asarray(small).copy()).permute(2, 0, 1).contiguous()


def load_prepared(path: Path, size: int) -> torch.Tensor:
    """Load one photo and prepare it; JPEGs are decoded at a reduced scale when large."""
    return prepare(load_image(path, draft_size=(size, size)), size)


class ImageFiles(Dataset[torch.Tensor]):
    """Photos decoded on demand (for data sets too big to hold in memory)."""

    def __init__(self, paths: Sequence[Path], size: int) -> None:
        self.paths, self.size = list(paths), size

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, i: int) -> torch.Tensor:
        return load_prepared(self.paths[i], self.size)


def load_bank(paths: Sequence[Path], size: int, desc: str = "decoding photos") -> torch.Tensor:
    """All photos decoded once into one N×3×S×S uint8 tensor, in threads, with a progress bar.

    Any unreadable photo stops here with one DataError that lists them, before hours of work.
    """
    bank = torch.empty((len(paths), 3, size, size), dtype=torch.uint8)
    failures: list[str] = []

    def fill(i: int) -> None:
        try:
            bank[i] = load_prepared(paths[i], size)
        except ImageError as e:
            failures.append(str(e))

    workers = min(8, os.cpu_count() or 1)
    with ThreadPoolExecutor(workers) as pool:
        list(tqdm(pool.map(fill, range(len(paths))), total=len(paths), desc=desc, leave=False))
    if failures:
        raise DataError(
            f"{len(failures)} photos cannot be used: {'; '.join(sorted(failures)[:3])}"
            + (" ..." if len(failures) > 3 else "")
            + " (run `pawpularity data check` to list them all)"
        )
    return bank
