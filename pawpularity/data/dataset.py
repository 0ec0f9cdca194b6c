"""Photos as model input: square uint8 tensors, decoded in threads or worker processes, in
memory or on demand."""

from __future__ import annotations

import io
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.utils.data import DataLoader, Dataset
from tqdm import tqdm

from pawpularity.data.images import load_image
from pawpularity.errors import DataError, ImageError
from pawpularity.files import error_text


@dataclass(frozen=True)
class Encoded:
    """An encoded image file's bytes (an upload, a cluster's binary column) and its name."""

    name: str
    data: bytes


Photo = Path | Encoded | Image.Image  # a file, an encoded file, or an image already decoded


def unit_pixels(images: torch.Tensor) -> torch.Tensor:
    """uint8 photos (0–255) as float pixels in [0, 1]; float input is taken as already so."""
    return images.float() / 255.0 if images.dtype == torch.uint8 else images.float()


def prepare(image: Image.Image, size: int) -> torch.Tensor:
    """The whole photo squeezed to size×size (nothing cropped away), as a uint8 3×S×S tensor."""
    small = image.resize((size, size), Image.Resampling.BICUBIC, reducing_gap=3.0)
    return torch.from_numpy(np.asarray(small).copy()).permute(2, 0, 1).contiguous()


def load_prepared(photo: Photo, size: int) -> torch.Tensor:
    """Load one photo and prepare it; JPEGs are decoded at a reduced scale when large."""
    if isinstance(photo, Image.Image):
        return prepare(photo, size)
    if isinstance(photo, Encoded):
        image = load_image(io.BytesIO(photo.data), draft_size=(size, size), name=photo.name)
    else:
        image = load_image(photo, draft_size=(size, size))
    return prepare(image, size)


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


class PhotoRows(Dataset[tuple[int, torch.Tensor, str]]):
    """Photos start.. as (index, uint8 3×S×S, error): a broken photo gives zeros and its error."""

    def __init__(self, photos: Sequence[Photo], size: int, start: int = 0) -> None:
        self.photos, self.size, self.start = photos, size, start

    def __len__(self) -> int:
        return len(self.photos) - self.start

    def __getitem__(self, j: int) -> tuple[int, torch.Tensor, str]:
        i = self.start + j
        try:
            return i, load_prepared(self.photos[i], self.size), ""
        except Exception as e:  # one photo's failure never aborts its batch
            return i, torch.zeros(3, self.size, self.size, dtype=torch.uint8), error_text(e)


def photo_loader(
    photos: Sequence[Photo],
    size: int,
    start: int,
    batch_size: int,
    workers: int | None = None,
    pin_memory: bool = False,
) -> DataLoader[tuple[int, torch.Tensor, str]]:
    """Batches of (indices, pixels, errors) decoded by worker processes ahead of the model.

    pin_memory: batches for a GPU, in page-locked memory (their copy then overlaps the work);
    it also gives the default more decoding processes (`default_workers`).
    """
    workers = default_workers(accelerated=pin_memory) if workers is None else workers
    return DataLoader(
        PhotoRows(photos, size, start),
        batch_size=batch_size,
        num_workers=workers,
        prefetch_factor=4 if workers else None,
        pin_memory=pin_memory,
    )


def decoded(pixels: torch.Tensor, errors: Sequence[str]) -> tuple[list[int], torch.Tensor]:
    """The rows of a `photo_loader` batch that decoded, and their pixels: the batch itself when
    all did (so pinned memory stays pinned), else a copy of those rows."""
    good = [i for i, e in enumerate(errors) if not e]
    return good, pixels if len(good) == len(errors) else pixels[good]


def default_workers(accelerated: bool = False) -> int:
    """Decoding processes: on the CPU one core stays with the model and up to 4 decode; with a
    GPU doing the model's work every core but one decodes (up to 16), so that it never waits."""
    cores = os.cpu_count() or 2
    return max(1, min(16 if accelerated else 4, cores - 1))
