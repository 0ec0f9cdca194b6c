"""Pictures of maps: an overlay per method and a labelled panel per photo.

Maps are raw and signed (see base.py); they are normalised here, for display only, by a robust
min–max: the 1st and 99th percentiles of the whole map become the two ends of the colour scale
and values beyond are clipped. The display is therefore monotone in the raw value (brighter =
earlier in the deletion/insertion order) and a few extreme pixels (a gradient's speckle) do not
wash out the rest. If those percentiles meet (a sparse map), the map's own min and max are used;
a constant map is drawn at the bottom of the scale. Colours come from "inferno", a perceptually
uniform colormap that reads in greyscale and for colour-blind viewers (jet does neither), and
are blended over the photo at a constant opacity, so unimportant regions are darkened.

Only matplotlib's colormaps and bundled font are used, never pyplot: no GUI backend is ever
selected. Big photos are shrunk for display first, and files are written atomically.
"""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from pawpularity.files import atomic

COLORMAP = "inferno"
OPACITY = 0.55  # of the colour over the photo
DISPLAY_SIDE = 1024  # an overlay file's longest side at most
TILE_AREA = 400 * 400  # a panel tile's area at most
PANEL_WIDTH = 2400  # a panel's width at most
TILE_HEIGHT = 1200  # a panel tile's height at most
MIN_TILE_SIDE = 160  # wrap a panel into rows before its tiles get thinner than this
MIN_CELL_WIDTH = 120  # room for a label above a tall, thin tile
TITLE_PX, CAPTION_PX, PAD = 18, 14, 4  # font sizes and spacing, pixels
FONT = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"
LUT = (matplotlib.colormaps[COLORMAP](np.linspace(0, 1, 256))[:, :3] * 255).round().astype(np.uint8)


def overlay(photo: Image.Image, saliency: np.ndarray) -> Image.Image:
    """The map coloured and blended over the photo, at the photo's size.

    A map of another size (e.g. the model's S×S) is stretched to the photo: the inverse of
    `data.dataset.prepare`, which squeezes the whole photo to S×S.
    """
    level = Image.fromarray(normalised(saliency))
    level = level.resize(photo.size, Image.Resampling.BILINEAR)
    index = np.clip(np.asarray(level) * 255 + 0.5, 0, 255).astype(np.uint8)
    colour = Image.fromarray(LUT[index])
    return Image.blend(photo.convert("RGB"), colour, OPACITY)


def normalised(saliency: np.ndarray) -> np.ndarray:
    """The map scaled to [0, 1] for display (float32; NaN and ±inf count as the low end)."""
    m = np.asarray(saliency, dtype=np.float32)
    m = np.where(np.isfinite(m), m, np.nan)
    if np.isnan(m).all():
        return np.zeros(m.shape, np.float32)
    step = max(1, math.isqrt(m.size // 250_000))  # percentiles of ≤ ~250k values suffice
    lo, hi = np.nanpercentile(m[::step, ::step], [1, 99])
    if not hi > lo:
        lo, hi = np.nanmin(m), np.nanmax(m)
    if not hi > lo:
        return np.zeros(m.shape, np.float32)
    return np.nan_to_num(np.clip((m - lo) / (hi - lo), 0, 1), nan=0.0).astype(np.float32)


def save_overlay(photo: Image.Image, saliency: np.ndarray, path: Path) -> None:
    """Write `<method>.png`: the overlay on the photo shrunk to at most DISPLAY_SIDE pixels."""
    write_png(overlay(shrunk(photo, DISPLAY_SIDE), saliency), path)


def fitted(size: tuple[int, int], side: int) -> tuple[int, int]:
    """(w, h) scaled to at most `side` on the longer side, never enlarged, each at least 1."""
    w, h = size
    scale = min(1.0, side / max(w, h))
    return max(1, round(w * scale)), max(1, round(h * scale))


def shrunk(image: Image.Image, side: int) -> Image.Image:
    """The image at most `side` pixels on its longer side (itself when already that small); a
    65536×1 strip stays a strip, 512×1, instead of vanishing."""
    size = fitted(image.size, side)
    if size == image.size:
        return image
    return image.resize(size, Image.Resampling.BILINEAR, reducing_gap=3.0)


def panel(
    photo: Image.Image,
    title: str,
    maps: dict[str, np.ndarray],
    path: Path,
    captions: dict[str, str] | None = None,
) -> None:
    """Write one PNG: the photo titled (e.g. "score 62.3"), then each map's overlay, each labelled
    with its method name and, if given, a caption (e.g. "del 0.21 / ins 0.64").

    Tiles share the photo's aspect ratio and sit side by side; a very wide photo wraps into rows
    (a 2000×40 strip becomes a column of strips) so that no tile gets needlessly thin.
    """
    captions = captions or {}
    n = 1 + len(maps)
    columns, (tw, th) = layout(photo.size, n)
    small = photo.convert("RGB").resize((tw, th), Image.Resampling.BILINEAR, reducing_gap=3.0)
    tiles = [([title], small)] + [
        ([name, captions.get(name, "")], overlay(small, m)) for name, m in maps.items()
    ]
    lines = [ImageFont.truetype(str(FONT), size) for size in (TITLE_PX, CAPTION_PX)]
    if not captions:
        lines.pop()
    band = sum(int(f.size) + PAD for f in lines) + PAD
    rows, cw = math.ceil(n / columns), max(tw, MIN_CELL_WIDTH)
    sheet = Image.new("RGB", (columns * (cw + PAD) + PAD, rows * (band + th) + PAD), "white")
    for i, (texts, image) in enumerate(tiles):
        left, top = PAD + (i % columns) * (cw + PAD), (i // columns) * (band + th) + PAD
        for text, font in zip(texts, lines, strict=False):
            sheet.paste(label(text, font, cw), (left, top))
            top += int(font.size) + PAD
        sheet.paste(image, (left + (cw - tw) // 2, (i // columns) * (band + th) + band))
    write_png(sheet, path)


def label(text: str, font: ImageFont.FreeTypeFont, width: int) -> Image.Image:
    """One line of black text on white, centred in `width` (a longer line is cut at the right)."""
    cell = Image.new("RGB", (width, int(font.size) + PAD), "white")
    draw = ImageDraw.Draw(cell)
    draw.text((max(0.0, (width - draw.textlength(text, font=font)) / 2), 0), text, "black", font)
    return cell


def layout(size: tuple[int, int], n: int) -> tuple[int, tuple[int, int]]:
    """(columns, tile size) for n tiles of a w×h photo.

    Tiles are at most TILE_AREA pixels and TILE_HEIGHT high, the panel at most PANEL_WIDTH
    wide. One row is preferred; rows are added only while the tiles' shorter side is below
    MIN_TILE_SIDE and fewer columns make it longer.
    """
    w, h = size

    def scale(columns: int) -> float:
        width = (PANEL_WIDTH - (columns + 1) * PAD) / columns
        return min(math.sqrt(TILE_AREA / (w * h)), TILE_HEIGHT / h, width / w)

    target = min(MIN_TILE_SIDE, min(w, h) * scale(1)) * (1 - 1e-9)
    columns = max(c for c in range(1, n + 1) if min(w, h) * scale(c) >= target)
    s = scale(columns)
    return columns, (max(1, math.floor(w * s)), max(1, math.floor(h * s)))


def write_png(image: Image.Image, path: Path) -> None:
    """Save atomically: a crash never leaves half a PNG under the final name."""
    with atomic(path) as tmp:
        image.save(tmp, format="PNG")
