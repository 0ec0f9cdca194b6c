"""Numbers that describe one saliency map, measured on the model's S×S grid.

The model sees the whole photo squeezed to S×S, so on that grid every cell is the same share of
the photo whatever its size: statistics compare across photos. A map becomes an attention
distribution as it is drawn (`explain.draw.normalised`: robust min–max to [0, 1]), divided by
its sum; a constant map has no distribution (None).
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from scipy import ndimage

from pawpularity.data.images import Box
from pawpularity.explain.draw import normalised

TOP_SHARE = 0.10  # "top-10 % mass": the attention held by the hottest tenth of the photo
PEAK_LEVEL = 0.5  # a peak: a connected region at least half-way up the map's range...
PEAK_AREA = 0.01  # ...covering at least 1 % of the photo
PET_LEVEL = 0.5  # the pet: where the pet map is at least half-way up its range
ATTENDED_SHARE = 0.20  # the attended region: the hottest fifth of the photo
MEAN_MAP_SIDE = 64  # maps averaged over photos are kept at this side


def attention(saliency: np.ndarray) -> np.ndarray | None:
    """The map as a distribution over the grid (sums to 1), None for a constant map."""
    level = normalised(saliency).astype(np.float64)
    total = level.sum()
    return level / total if total > 0 else None


def top_mass(p: np.ndarray, share: float = TOP_SHARE) -> float:
    """The attention held by the hottest `share` of the cells."""
    k = max(1, math.ceil(share * p.size))
    return float(np.partition(p.ravel(), p.size - k)[-k:].sum())


def entropy(p: np.ndarray) -> float:
    """Shannon entropy of the distribution over log(cells): 1 = spread evenly, 0 = one cell."""
    q = p[p > 0]
    return float(-(q * np.log(q)).sum() / math.log(p.size))


def peak_count(saliency: np.ndarray) -> int:
    """Separate hot spots: connected regions ≥ PEAK_LEVEL of the range, each ≥ PEAK_AREA."""
    regions, n = ndimage.label(normalised(saliency) >= PEAK_LEVEL)
    if n == 0:
        return 0
    areas = np.bincount(regions.ravel())[1:]
    return int((areas >= PEAK_AREA * saliency.size).sum())


def pet_region(pet_map: np.ndarray) -> np.ndarray:
    """Where the pet is (bool grid), from a map of ImageNet's cat and dog classes."""
    return normalised(pet_map) >= PET_LEVEL


def to_grid(box: Box, photo_size: tuple[int, int], side: int) -> Box:
    """A box in photo pixels, in cells of the side×side grid the photo is squeezed to."""
    w, h = photo_size
    x0, y0, x1, y1 = box
    return (round(x0 * side / w), round(y0 * side / h), round(x1 * side / w), round(y1 * side / h))


def box_mask(cells: Box, side: int) -> np.ndarray:
    """A box in grid cells (see `to_grid`) as a bool side×side mask."""
    x0, y0, x1, y1 = cells
    mask = np.zeros((side, side), dtype=bool)
    mask[y0:y1, x0:x1] = True
    return mask


def region_focus(level: np.ndarray, mask: np.ndarray) -> float:
    """How much hotter a region is than the rest: mean normalised level inside − outside (−1 to
    1; 0 for an empty map or when the region is the whole grid)."""
    if mask.all() or not mask.any():
        return 0.0
    return float(level[mask].mean() - level[~mask].mean())


def contrast(pixels: np.ndarray, p: np.ndarray, share: float = ATTENDED_SHARE) -> float:
    """Colour distance between the attended region (the hottest `share` of the cells) and the
    rest: the distance of their mean RGB (pixels 3×S×S in [0, 1]), over √3 so it lies in 0–1."""
    k = max(1, math.ceil(share * p.size))
    inside = np.zeros(p.size, dtype=bool)
    inside[np.argsort(p.ravel(), kind="stable")[-k:]] = True
    flat = pixels.reshape(3, -1)
    if inside.all():
        return 0.0
    gap = flat[:, inside].mean(axis=1) - flat[:, ~inside].mean(axis=1)
    return float(np.linalg.norm(gap) / math.sqrt(3))


def shrink(level: np.ndarray, side: int = MEAN_MAP_SIDE) -> np.ndarray:
    """A grid averaged down (area) to side×side, for maps averaged over many photos."""
    t = torch.from_numpy(np.ascontiguousarray(level, dtype=np.float32))[None, None]
    return F.adaptive_avg_pool2d(t, side)[0, 0].numpy()
