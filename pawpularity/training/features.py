"""Frozen first stages run once: their outputs are cached for every epoch and fold.

With the first stages of the backbone frozen (and its BatchNorm in eval mode), their output
for a photo never changes, so training needs to compute it only once per view (as is and
mirrored, the augmentation that survives caching).
"""

from __future__ import annotations

import torch
from torch.utils.data import DataLoader, Dataset
from tqdm import tqdm

from pawpularity.models.fusion import PawpularityNet

VIEWS = 2  # the photo and its mirror image
MEMORY_BUDGET = 6 * 2**30  # bytes for cached features; above it, training streams instead


def cache_bytes(net: PawpularityNet, cut: int, n: int, size: int) -> int:
    """Memory that `cache_prefix` would take for n photos of size×size."""
    with torch.inference_mode():
        shape = net.prefix(torch.zeros(1, 3, size, size), cut).shape
    return n * VIEWS * shape.numel() * 4


@torch.inference_mode()
def cache_prefix(
    net: PawpularityNet, cut: int, images: Dataset[torch.Tensor], batch_size: int = 32
) -> torch.Tensor:
    """N×VIEWS×C×h×w float32 outputs of the first `cut` chain modules, for each photo and mirror."""
    net.eval()
    device = next(net.parameters()).device
    loader = DataLoader(images, batch_size=batch_size)  # type: ignore[arg-type]
    chunks = []
    for batch in tqdm(loader, desc="caching frozen stages", leave=False):
        x = batch.to(device)
        views = [net.prefix(x, cut), net.prefix(x.flip(-1), cut)]
        chunks.append(torch.stack(views, dim=1).cpu())
    return torch.cat(chunks)
