"""Overlays and panels: sizes, odd maps, extreme aspect ratios, big photos, atomic files."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from pawpularity.data.images import load_image
from pawpularity.explain.draw import (
    PANEL_WIDTH,
    layout,
    normalised,
    overlay,
    panel,
    save_overlay,
)
from tests.conftest import PETS


def blob(h: int = 64, w: int = 64) -> np.ndarray:
    """A smooth signed map peaking right of centre."""
    yy, xx = np.mgrid[0:h, 0:w]
    return np.exp(-((yy - h / 2) ** 2 + (xx - 0.7 * w) ** 2) / (0.02 * h * w)) - 0.2


@pytest.fixture(scope="module")
def cat() -> Image.Image:
    return load_image(PETS / "cat_chelsea_skimage.png")


def test_overlay_keeps_the_photo_size_and_stretches_the_map(cat: Image.Image) -> None:
    out = overlay(cat, blob())
    assert out.size == cat.size and out.mode == "RGB"
    same = overlay(cat, blob(cat.height, cat.width))
    assert same.size == cat.size
    pixels = np.asarray(out, dtype=float)
    # The hot region (right of centre) comes out brighter than the cold left edge.
    h, w = cat.height, cat.width
    assert pixels[h // 2, int(0.7 * w)].sum() > pixels[h // 2, 2].sum()


@pytest.mark.parametrize(
    "saliency",
    [np.zeros((32, 32)), np.full((32, 32), 7.0), np.full((32, 32), np.nan)],
    ids=["zeros", "constant", "all-nan"],
)
def test_constant_maps_draw_evenly(saliency: np.ndarray) -> None:
    assert not normalised(saliency).any()
    out = np.asarray(overlay(Image.new("RGB", (40, 30), "grey"), saliency))
    assert (out == out[0, 0]).all()  # one tint everywhere


def test_normalisation_is_robust_monotone_and_finite() -> None:
    m = blob()
    m[0, 0], m[1, 1], m[2, 2] = np.nan, np.inf, -np.inf
    m[5, 5] = 1e6  # one outlier must not wash out the rest
    n = normalised(m)
    assert n.dtype == np.float32 and np.isfinite(n).all()
    assert n.min() == 0.0 and n.max() == 1.0
    assert (n > 0.5).sum() > 50
    sparse = np.zeros((100, 100))
    sparse[10, 20] = 3.0  # the 1st and 99th percentiles meet: min–max shows the one pixel
    assert normalised(sparse)[10, 20] == 1.0 and normalised(sparse).sum() == 1.0


def test_save_overlay_is_atomic_and_shrinks_big_photos(tmp_path: Path) -> None:
    big = Image.new("RGB", (4000, 3000), (120, 140, 90))
    path = tmp_path / "out" / "gradcam.png"
    start = time.perf_counter()
    save_overlay(big, blob(224, 224), path)
    assert time.perf_counter() - start < 10
    with Image.open(path) as written:
        assert written.size == (1024, 768)
    assert [p.name for p in path.parent.iterdir()] == ["gradcam.png"]


@pytest.mark.parametrize(
    ("size", "n_maps"),
    [((500, 375), 5), ((300, 450), 1), ((2000, 40), 5), ((40, 2000), 6), ((4000, 3000), 3)],
    ids=["landscape", "portrait", "wide-strip", "tall-strip", "big"],
)
def test_panel_sizes(tmp_path: Path, cat: Image.Image, size: tuple[int, int], n_maps: int) -> None:
    photo = cat.resize(size)
    maps = {f"method{i}": blob(224, 224) * (i + 1) for i in range(n_maps)}
    captions = {"method0": "del 0.21 / ins 0.64"}
    path = tmp_path / "panel.png"
    path.write_bytes(b"old")
    panel(photo, "score 62.3", maps, path, captions)
    with Image.open(path) as written:
        w, h = written.size
        assert written.mode == "RGB"
    assert 100 < w <= PANEL_WIDTH and 40 < h <= 10_000
    assert [p.name for p in tmp_path.iterdir()] == ["panel.png"]


def test_panel_layout_one_row_unless_the_photo_is_a_strip() -> None:
    assert layout((500, 375), 6)[0] == 6
    assert layout((375, 500), 6)[0] == 6
    columns, (tw, th) = layout((2000, 40), 6)
    assert columns == 1 and tw > 2000 and th > 40
    assert layout((40, 2000), 6)[0] == 6


def test_panel_without_captions(tmp_path: Path, cat: Image.Image) -> None:
    path = tmp_path / "panel.png"
    panel(cat, "score 40.0", {"gradcam": blob(), "vanilla": np.abs(blob())}, path)
    with Image.open(path) as written:
        assert written.width > 3 * 100


def test_draw_never_selects_a_gui_backend() -> None:
    code = "import sys, pawpularity.explain.draw; assert 'matplotlib.pyplot' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
