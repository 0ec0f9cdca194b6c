"""Leak-free folds: a photo and its copies never cross folds; distinct photos stay apart."""

from __future__ import annotations

import itertools
import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageEnhance

from pawpularity.data import folds
from pawpularity.data.demo import PHOTOS_DIR
from pawpularity.data.folds import assign_folds, image_hashes, near_duplicate_groups
from pawpularity.data.images import IMAGE_SUFFIXES, load_image
from pawpularity.errors import DataError, ImageError

SHIPPED = sorted(p for p in PHOTOS_DIR.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
N_COPIED = 10  # the first photos, each with the copies below


def _copy(src: Path, out: Path, scale: float, flip: bool, quality: int, light: float) -> Path:
    """A resized, maybe mirrored, brightened/darkened and re-encoded copy of a photo."""
    im = load_image(src)
    im = im.resize((round(im.width * scale), round(im.height * scale)), Image.Resampling.LANCZOS)
    if flip:
        im = im.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    im = ImageEnhance.Brightness(im).enhance(light)
    if out.suffix == ".png":
        im.save(out)
    else:
        im.save(out, "JPEG", quality=quality)
    return out


@pytest.fixture(scope="module")
def families(tmp_path_factory: pytest.TempPathFactory) -> list[list[Path]]:
    """Each shipped photo with its copies (the first N_COPIED) or alone (the rest)."""
    root = tmp_path_factory.mktemp("copies")
    out = []
    for k, src in enumerate(SHIPPED):
        family = [src]
        if k < N_COPIED:
            family += [
                _copy(src, root / f"{k}_a.jpg", 0.5, flip=True, quality=70, light=1.1),
                _copy(src, root / f"{k}_b.jpg", 0.3, flip=False, quality=50, light=0.85),
                _copy(src, root / f"{k}_c.png", 1.5, flip=True, quality=0, light=1.0),
            ]
        out.append(family)
    return out


def _flatten(families: list[list[Path]]) -> tuple[list[Path], np.ndarray]:
    paths = [p for family in families for p in family]
    family_of = np.repeat(np.arange(len(families)), [len(f) for f in families])
    return paths, family_of


def test_hashes_are_flip_invariant(families: list[list[Path]]) -> None:
    src, mirrored = families[0][0], families[0][3]  # the PNG copy: mirrored, lossless
    h = image_hashes([src, mirrored])
    assert h.shape == (2, 2) and h.dtype == np.uint64
    assert np.bitwise_count(h[0, 0] ^ h[1, 1]) <= 2
    assert np.bitwise_count(h[0, 1] ^ h[1, 0]) <= 2


def test_distinct_photos_are_far_apart() -> None:
    h = image_hashes(SHIPPED)
    dist = [
        min(np.bitwise_count(h[i, 0] ^ h[j, 0]), np.bitwise_count(h[i, 0] ^ h[j, 1]))
        for i, j in itertools.combinations(range(len(SHIPPED)), 2)
    ]
    assert min(dist) > folds.MAX_DISTANCE + 4  # measured: 18 vs 10
    assert len(set(near_duplicate_groups(SHIPPED))) == len(SHIPPED)


def test_copies_group_with_their_original(families: list[list[Path]]) -> None:
    paths, family_of = _flatten(families)
    groups = near_duplicate_groups(paths)
    assert len(set(groups)) == len(families)
    for f in range(len(families)):
        assert len(set(groups[family_of == f])) == 1


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_photo_and_its_copies_never_cross_folds(families: list[list[Path]], seed: int) -> None:
    paths, family_of = _flatten(families)
    targets = np.random.default_rng(seed).integers(1, 101, len(paths)).astype(float)
    fold = assign_folds(paths, targets, n_folds=5, seed=seed)
    assert set(fold) == set(range(5))
    for f in range(len(families)):
        assert len(set(fold[family_of == f])) == 1


def test_folds_are_deterministic_and_stratified() -> None:
    targets = np.random.default_rng(0).permutation(np.linspace(1, 100, len(SHIPPED)).round())
    fold = assign_folds(SHIPPED, targets, n_folds=5, seed=7)
    assert np.array_equal(fold, assign_folds(SHIPPED, targets, n_folds=5, seed=7))
    assert not np.array_equal(fold, assign_folds(SHIPPED, targets, n_folds=5, seed=8))
    means = np.array([targets[fold == f].mean() for f in range(5)])
    assert np.bincount(fold).min() > 0
    assert np.abs(means - targets.mean()).max() < 0.1 * targets.std()


def test_exactly_as_many_photos_as_folds() -> None:
    fold = assign_folds(SHIPPED[:3], np.array([10.0, 50.0, 90.0]), n_folds=3, seed=0)
    assert sorted(fold) == [0, 1, 2]


def test_broken_image_gets_its_own_group(families: list[list[Path]], tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.jpg"
    garbage.write_bytes(b"not a jpeg at all")
    cut = tmp_path / "cut.jpg"
    cut.write_bytes(SHIPPED[0].read_bytes()[:200])
    paths = [*families[0], garbage, cut, *SHIPPED[1:6]]
    with pytest.warns(UserWarning, match="2 unreadable images"):
        groups = near_duplicate_groups(paths)
    assert len(set(groups[:4])) == 1
    assert len(set(groups)) == 1 + 2 + 5
    with pytest.warns(UserWarning):
        fold = assign_folds(paths, np.arange(len(paths), dtype=float), n_folds=3, seed=0)
    assert set(fold) == {0, 1, 2}
    with pytest.raises(ImageError, match=r"garbage\.jpg"):
        image_hashes([garbage])


def test_chunked_comparison_matches_one_chunk(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(0)
    h = rng.integers(0, 2**63, (300, 2), dtype=np.uint64)
    h[7] = h[250] ^ np.uint64(0b1011)  # 3 bits from another photo
    h[40, 0] = h[120, 1]  # a mirrored copy
    readable = np.ones(300, dtype=bool)
    readable[99] = False
    whole = folds._group(h, readable, max_distance=10)
    monkeypatch.setattr(folds, "_PAIRS_PER_CHUNK", 1000)
    chunked = folds._group(h, readable, max_distance=10)
    assert np.array_equal(whole, chunked)
    assert whole[7] == whole[250] and whole[40] == whole[120]
    assert len(set(whole)) == 298


def test_errors_say_what_to_do(families: list[list[Path]]) -> None:
    paths = [p for family in families[:3] for p in family]  # 3 photos, 12 files
    targets = np.linspace(1, 100, len(paths))
    with pytest.raises(DataError, match="at least 2"):
        assign_folds(paths, targets, n_folds=1, seed=0)
    with pytest.raises(DataError, match=r"3 distinct photos.*fewer than 4 folds"):
        assign_folds(paths, targets, n_folds=4, seed=0)
    with pytest.raises(DataError, match="one score each"):
        assign_folds(paths, targets[:-1], n_folds=2, seed=0)
    with pytest.raises(DataError, match="NaN"):
        assign_folds(paths, np.full(len(paths), np.nan), n_folds=2, seed=0)


def test_hashing_in_threads_leaves_warnings_on() -> None:
    with pytest.warns(UserWarning, match="probe"):
        image_hashes(SHIPPED)
        warnings.warn("probe", stacklevel=1)
