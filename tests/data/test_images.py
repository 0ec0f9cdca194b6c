"""load_image: odd but valid images load as upright RGB; broken ones raise a named ImageError."""

from __future__ import annotations

import io
import os
import struct
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from pawpularity.data.demo import PHOTOS_DIR
from pawpularity.data.images import WORK_PIXELS, load_image
from pawpularity.errors import ImageError

ASSETS = PHOTOS_DIR
RED, BLUE, WHITE = (255, 0, 0), (0, 0, 255), (255, 255, 255)


def _saved(im: Image.Image, path: Path, **kwargs: Any) -> Path:
    im.save(path, **kwargs)
    return path


def _close(pixel: object, expected: tuple[int, int, int], tol: int = 12) -> bool:
    return bool(np.all(np.abs(np.asarray(pixel, dtype=int) - expected) <= tol))


def test_shipped_photo_loads() -> None:
    photo = next(ASSETS.glob("*.jpg"))
    im = load_image(photo)
    assert im.mode == "RGB" and min(im.size) >= 16
    small = load_image(photo, draft_size=(64, 64))
    assert small.mode == "RGB" and min(small.size) >= 64 and small.width <= im.width


def test_cmyk_jpeg(tmp_path: Path) -> None:
    path = _saved(Image.new("CMYK", (64, 48), (0, 255, 255, 0)), tmp_path / "cmyk.jpg")
    im = load_image(path)
    assert (im.mode, im.size) == ("RGB", (64, 48))
    assert _close(im.getpixel((10, 10)), RED)


def test_grayscale(tmp_path: Path) -> None:
    im = load_image(_saved(Image.new("L", (40, 30), 128), tmp_path / "gray.png"))
    assert (im.mode, im.size) == ("RGB", (40, 30))
    assert im.getpixel((5, 5)) == (128, 128, 128)


def test_16_bit_grayscale_is_scaled_not_clipped(tmp_path: Path) -> None:
    ramp = np.linspace(0, 65535, 64 * 32).reshape(32, 64).astype(np.uint16)
    path = _saved(Image.fromarray(ramp), tmp_path / "deep.png")
    assert Image.open(path).mode.startswith("I")  # really stored as 16 bits
    a = np.asarray(load_image(path))
    assert a.shape == (32, 64, 3)
    assert a[0, 0, 0] == 0 and a[-1, -1, 0] == 255
    assert 120 <= a[16, 0, 0] <= 135  # mid-grey, where clipping would give white


def test_palette_gif_and_animated_first_frame(tmp_path: Path) -> None:
    still = load_image(_saved(Image.new("RGB", (40, 30), BLUE).quantize(), tmp_path / "p.gif"))
    assert (still.mode, still.size) == ("RGB", (40, 30)) and _close(still.getpixel((3, 3)), BLUE)
    frames = [Image.new("RGB", (40, 30), c) for c in (RED, BLUE)]
    path = _saved(frames[0], tmp_path / "anim.gif", save_all=True, append_images=frames[1:])
    assert getattr(Image.open(path), "n_frames", 1) == 2
    im = load_image(path)
    assert (im.mode, im.size) == ("RGB", (40, 30)) and _close(im.getpixel((3, 3)), RED)


def test_palette_png_with_transparency(tmp_path: Path) -> None:
    p = Image.new("P", (32, 32), 0)
    p.putpalette([0, 0, 0, *RED] + [0] * 762)
    p.putpixel((1, 1), 1)
    im = load_image(_saved(p, tmp_path / "p.png", transparency=0))
    assert im.mode == "RGB"
    assert im.getpixel((0, 0)) == WHITE and im.getpixel((1, 1)) == RED


def test_grayscale_png_with_colour_key_transparency(tmp_path: Path) -> None:
    im = load_image(_saved(Image.new("L", (32, 32), 0), tmp_path / "key.png", transparency=0))
    assert im.getpixel((0, 0)) == WHITE


def test_rgba_transparent_pixels_become_white(tmp_path: Path) -> None:
    rgba = Image.new("RGBA", (32, 32), (10, 20, 30, 0))
    rgba.putpixel((2, 2), (0, 255, 0, 255))
    im = load_image(_saved(rgba, tmp_path / "rgba.png"))
    assert im.mode == "RGB"
    assert im.getpixel((0, 0)) == WHITE and im.getpixel((2, 2)) == (0, 255, 0)


@pytest.mark.parametrize(("suffix", "kwargs"), [(".webp", {"lossless": True}), (".tiff", {})])
def test_webp_and_tiff(tmp_path: Path, suffix: str, kwargs: dict[str, object]) -> None:
    im = load_image(
        _saved(Image.new("RGB", (50, 40), (0, 128, 255)), tmp_path / f"x{suffix}", **kwargs)
    )
    assert (im.mode, im.size) == ("RGB", (50, 40)) and _close(im.getpixel((4, 4)), (0, 128, 255))


@pytest.mark.parametrize(("orientation", "red_corner"), [(6, "top-right"), (8, "bottom-left")])
@pytest.mark.parametrize("draft", [None, (16, 16)])
def test_exif_orientation(
    tmp_path: Path, orientation: int, red_corner: str, draft: tuple[int, int] | None
) -> None:
    stored = Image.new("RGB", (60, 40), (0, 0, 0))
    stored.paste(RED, (0, 0, 12, 12))  # the stored top-left corner is red
    exif = Image.Exif()
    exif[0x0112] = orientation
    path = _saved(stored, tmp_path / "o.jpg", exif=exif, quality=95)
    im = load_image(path, draft_size=draft)
    w, h = im.size
    assert h > w and (w, h) == ((40, 60) if draft is None else (20, 30))
    a = np.asarray(im)
    corners = {"top-left": a[1, 1], "top-right": a[1, -2], "bottom-left": a[-2, 1]}
    corners["bottom-right"] = a[-2, -2]
    assert [k for k, v in corners.items() if _close(v, RED, tol=40)] == [red_corner]


def test_extreme_aspect_ratio(tmp_path: Path) -> None:
    im = load_image(_saved(Image.new("RGB", (4000, 20), RED), tmp_path / "strip.png"))
    assert (im.mode, im.size) == ("RGB", (4000, 20))


def test_file_like_object_with_name() -> None:
    buf = io.BytesIO()
    Image.new("RGB", (32, 32), BLUE).save(buf, "PNG")
    buf.seek(0)
    assert load_image(buf, name="upload.png").size == (32, 32)
    with pytest.raises(ImageError, match=r"^upload\.png: not an image"):
        load_image(io.BytesIO(b"not an image"), name="upload.png")


def _huge_png_header(path: Path, width: int, height: int) -> Path:
    """A tiny PNG whose header claims width x height pixels (nothing is ever decoded)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
    path.write_bytes(png + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b""))
    return path


def _truncated_jpeg(path: Path) -> Path:
    buf = io.BytesIO()
    noise = np.random.default_rng(0).integers(0, 255, (128, 128, 3), dtype=np.uint8)
    Image.fromarray(noise).save(buf, "JPEG")
    path.write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    return path


def _broken(kind: str, d: Path) -> Path:
    path = d / f"{kind}.jpg"
    match kind:
        case "folder":
            path.mkdir()
        case "empty":
            path.write_bytes(b"")
        case "text":
            path.write_text("hello, I am not a photo")
        case "truncated":
            _truncated_jpeg(path)
        case "bomb":
            path = _huge_png_header(d / "bomb.png", 30000, 30000)
        case "tiny":
            path = _saved(Image.new("RGB", (8, 8)), d / "tiny.png")
    return path


@pytest.mark.parametrize(
    ("kind", "reason"),
    [
        ("missing", "not found"),
        ("folder", "is a folder"),
        ("empty", "not an image"),
        ("text", "not an image"),
        ("truncated", "truncated"),
        ("bomb", "30000x30000 pixels is over the limit"),
        ("tiny", "too small"),
    ],
)
def test_broken_images_raise_image_error_naming_the_file(
    tmp_path: Path, kind: str, reason: str
) -> None:
    path = _broken(kind, tmp_path)
    with pytest.raises(ImageError, match=reason) as err:
        load_image(path)
    assert str(path) in str(err.value)  # the full path, not just the file name


def test_max_pixels_is_checked_before_decoding(tmp_path: Path) -> None:
    path = _saved(Image.new("RGB", (100, 100)), tmp_path / "big.png")
    with pytest.raises(ImageError, match=r"big\.png: 100x100 pixels is over the limit of 5,000"):
        load_image(path, max_pixels=5_000)


def test_pipes_are_refused_without_reading_them(tmp_path: Path) -> None:
    """Opening a FIFO for reading blocks until a writer comes: it must never be opened."""
    fifo = tmp_path / "photo.jpg"
    os.mkfifo(fifo)
    with pytest.raises(ImageError, match="not a regular file"):
        load_image(fifo)
    with pytest.raises(ImageError, match="is a folder"):
        load_image(tmp_path)


@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
def test_large_photos_are_decoded_at_a_reduced_size(tmp_path: Path, fmt: str) -> None:
    """A 72-megapixel photo (real cameras reach 200) is not refused: it is decoded at most at
    WORK_PIXELS, its EXIF orientation applied."""
    pixels = np.zeros((8000, 9000, 3), np.uint8)
    pixels[:100] = 255  # a white band along the top edge
    exif = Image.Exif()
    exif[0x0112] = 6  # shown rotated 90° clockwise: the band ends up on the right
    path = _saved(Image.fromarray(pixels), tmp_path / f"big.{fmt.lower()}", exif=exif)
    im = load_image(path)
    assert im.width * im.height <= WORK_PIXELS
    assert im.size == (4000, 4500)
    a = np.asarray(im)
    assert a[:, -20:].mean() > 240 and a[:, :-200].mean() < 15
