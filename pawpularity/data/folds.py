"""Leak-free cross-validation folds: near-duplicate photos share a fold, scores are stratified.

Near-duplicates are found with a 64-bit DCT perceptual hash (pHash), made flip-invariant by also
hashing each photo's mirror image. Measured on the 50 shipped photos: a copy that is resized to
25-200 %, flipped, re-encoded at JPEG quality 50-95 and brightened or darkened by 15-20 % lies
0-8 bits from its original (a 3 % crop or a 2° rotation: at most 10), while distinct photos lie
at least 18 bits apart (mean 28.6). MAX_DISTANCE = 10 sits between the two.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image
from scipy.fft import dctn
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from sklearn.model_selection import StratifiedGroupKFold
from tqdm import tqdm

from pawpularity.data.images import load_image
from pawpularity.errors import DataError, ImageError

MAX_DISTANCE = 10
MAX_SCORE_BINS = 10
PROGRESS_FROM = 1000  # show a progress bar from this many images on
_PAIRS_PER_CHUNK = 1 << 22  # hash pairs compared at once: bounds memory at about 100 MB


def image_hashes(paths: Sequence[Path]) -> np.ndarray:
    """A (n, 2) uint64 array: each photo's 64-bit pHash and the pHash of its mirror image.

    Raises ImageError naming the first photo that cannot be read.
    """
    hashes, errors = _hash_all(paths)
    if errors:
        raise next(iter(errors.values()))
    return hashes


def near_duplicate_groups(paths: Sequence[Path], max_distance: int = MAX_DISTANCE) -> np.ndarray:
    """A group id (0..g-1) per photo; photos within max_distance bits, mirrored or not, share one.

    Grouping is transitive (connected components). A photo that cannot be read gets a group of
    its own, with a warning.
    """
    hashes, errors = _hash_all(paths)
    if errors:
        first = next(iter(errors.values()))
        warnings.warn(
            f"{len(errors)} unreadable images each get a fold group of their own, e.g. {first}",
            stacklevel=2,
        )
    readable = np.array([i not in errors for i in range(len(paths))], dtype=bool)
    return _group(hashes, readable, max_distance)


def assign_folds(paths: Sequence[Path], targets: np.ndarray, n_folds: int, seed: int) -> np.ndarray:
    """A fold (0..n_folds-1) per photo: near-duplicates never cross folds, scores are stratified.

    Scores are cut into quantile bins (up to 10, about 2 * n_folds photos per bin at least) for
    StratifiedGroupKFold; the same seed gives the same folds. Every fold is non-empty.
    """
    targets = np.asarray(targets, dtype=np.float64)
    n = len(paths)
    if n_folds < 2:
        raise DataError(f"n_folds must be at least 2, got {n_folds}")
    if targets.shape != (n,):
        raise DataError(f"{n} images but targets of shape {targets.shape}: give one score each")
    if not np.isfinite(targets).all():
        raise DataError("targets contain NaN or infinite scores")
    groups = near_duplicate_groups(paths)
    n_groups = int(groups.max()) + 1 if n else 0
    if n_groups < n_folds:
        raise DataError(
            f"{n} images form {n_groups} distinct photos (near-duplicates merged), fewer than "
            f"{n_folds} folds: use fewer folds or more photos"
        )
    n_bins = max(1, min(MAX_SCORE_BINS, n // (2 * n_folds)))
    edges = np.quantile(targets, np.linspace(0, 1, n_bins + 1)[1:-1])
    bins = np.searchsorted(edges, targets, side="right")
    splitter = StratifiedGroupKFold(n_splits=n_folds, shuffle=True, random_state=seed)
    folds = np.empty(n, dtype=np.int64)
    with warnings.catch_warnings():
        # Small bins are expected with few photos; stratification is best effort there.
        warnings.filterwarnings("ignore", message="The least populated class", category=UserWarning)
        for fold, (_, test) in enumerate(splitter.split(np.zeros(n), bins, groups)):
            folds[test] = fold
    return folds


def _hash_all(paths: Sequence[Path]) -> tuple[np.ndarray, dict[int, ImageError]]:
    """Hash every photo in threads; unreadable ones get zeros and an entry in the error dict."""
    hashes = np.zeros((len(paths), 2), dtype=np.uint64)
    errors: dict[int, ImageError] = {}
    workers = min(8, os.cpu_count() or 1)
    with ThreadPoolExecutor(workers) as pool:
        results = pool.map(_try_hash, paths)
        bar = tqdm(
            results,
            total=len(paths),
            desc="hashing images",
            unit="img",
            disable=len(paths) < PROGRESS_FROM,
        )
        for i, result in enumerate(bar):
            if isinstance(result, ImageError):
                errors[i] = result
            else:
                hashes[i] = result
    return hashes, errors


def _try_hash(path: Path) -> tuple[np.uint64, np.uint64] | ImageError:
    try:
        gray = load_image(path, draft_size=(64, 64)).convert("L")
    except ImageError as e:
        return e
    small = np.asarray(gray.resize((32, 32), Image.Resampling.LANCZOS), dtype=np.float64)
    return _phash(small), _phash(small[:, ::-1])


def _phash(gray32: np.ndarray) -> np.uint64:
    """The 8x8 lowest DCT frequencies of a 32x32 grayscale image, each bit: above the median."""
    low = dctn(gray32, type=2, norm="ortho")[:8, :8].ravel()
    bits = np.packbits(low > np.median(low))
    return np.uint64(int.from_bytes(bits.tobytes(), "big"))


def _group(hashes: np.ndarray, readable: np.ndarray, max_distance: int) -> np.ndarray:
    """Connected components over readable pairs within max_distance bits (flip-invariant)."""
    n = len(hashes)
    idx = np.flatnonzero(readable)
    h, m = hashes[idx, 0], hashes[idx, 1]
    rows, cols = [], []
    step = max(1, _PAIRS_PER_CHUNK // max(1, len(idx)))
    for a in range(0, len(idx), step):
        b = min(a + step, len(idx))
        # Compare rows a..b-1 with every later photo: as is, and either one mirrored.
        hi, mi, hj, mj = h[a:b, None], m[a:b, None], h[None, a:], m[None, a:]
        dist = np.minimum(np.bitwise_count(hi ^ hj), np.bitwise_count(hi ^ mj))
        dist = np.minimum(dist, np.bitwise_count(mi ^ hj))
        r, c = np.nonzero(dist <= max_distance)
        keep = c > r
        rows.append(idx[r[keep] + a])
        cols.append(idx[c[keep] + a])
    r_all = np.concatenate([*rows, np.zeros(0, np.int64)])
    c_all = np.concatenate([*cols, np.zeros(0, np.int64)])
    graph = coo_matrix((np.ones(len(r_all), np.int8), (r_all, c_all)), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    return labels.astype(np.int64)
