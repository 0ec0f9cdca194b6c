"""One image loader for the whole package: any common format in, an upright RGB photo out.

EXIF orientation is applied, every mode becomes 8-bit RGB (CMYK, grayscale, 16-bit, float,
palette; transparency is laid on white), a minimum pixel count rejects icons, and only regular
files are opened (a pipe or a device would block). Photos above WORK_PIXELS (real cameras reach
200 MP) are decoded at a reduced size — JPEGs by the decoder itself, others halved after
decoding — and what no camera makes (over MAX_PIXELS: a decompression bomb, a giant scan) is
refused before decoding. Every failure is an ImageError naming the file.
"""

from __future__ import annotations

import math
import stat
import warnings
from pathlib import Path
from typing import BinaryIO

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from pawpularity.errors import ImageError

try:  # HEIC/HEIF photos from phones, where the optional plugin is installed
    from pillow_heif import register_heif_opener

    register_heif_opener()
except ImportError:  # pragma: no cover - the plugin is a declared dependency
    pass

MAX_PIXELS = 200_000_000  # above: refused; a 200-megapixel photo decodes to ~600 MB of RGB
WORK_PIXELS = 64_000_000  # above: decoded at a reduced size, at most this many pixels
MIN_PIXELS = 16 * 16  # icons and placeholders; a 3000x10 strip is still a (strange) photo
IMAGE_SUFFIXES = frozenset(
    {".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp", ".tif", ".tiff", ".heic", ".heif"}
)

Box = tuple[int, int, int, int]  # x0, y0, x1, y1 in pixels of an image, x1 and y1 exclusive

# Our own ceiling is checked before decoding; Pillow's warning would only duplicate it.
Image.MAX_IMAGE_PIXELS = None
# Pillow's notes on palettes and EXIF are not the user's problem. Set once here: a
# catch_warnings() block per call is not thread-safe and loads run in threads.
warnings.filterwarnings("ignore", category=UserWarning, module=r"PIL\.")


def load_image(
    source: str | Path | BinaryIO,
    *,
    max_pixels: int = MAX_PIXELS,
    min_pixels: int = MIN_PIXELS,
    draft_size: tuple[int, int] | None = None,
    name: str | None = None,
) -> Image.Image:
    """Open, check and decode a photo as upright 8-bit RGB.

    source: a path or a binary file object; name: how messages call it (defaults to the path).
    draft_size: for JPEGs, let the decoder shrink by a power of two while staying at least this
    big (much faster when only a small version is needed; the whole file is still decoded).
    """
    label = name or _label(source)
    try:
        if isinstance(source, str | Path):
            _check_regular(Path(source), label)
        with Image.open(source) as im:
            w, h = im.size
            if w * h > max_pixels:
                raise ImageError(
                    f"{label}: {w}x{h} pixels is over the limit of {max_pixels:,} "
                    "(a decompression bomb or an oversized scan); resize it first"
                )
            if w * h < min_pixels:
                raise ImageError(f"{label}: {w}x{h} is too small (at least {min_pixels:,} pixels)")
            factor = math.ceil(math.sqrt(w * h / WORK_PIXELS))
            if im.format == "JPEG" and (draft_size is not None or factor > 1):
                im.draft("RGB", draft_size or (w // factor, h // factor))
            im.seek(0)
            im.load()
            decoded: Image.Image = im
            if im.width * im.height > WORK_PIXELS:
                decoded = im.reduce(math.ceil(math.sqrt(im.width * im.height / WORK_PIXELS)))
                decoded.info = dict(im.info)  # its EXIF orientation with it
            return upright_rgb(decoded)
    except ImageError:
        raise
    except FileNotFoundError as e:
        raise ImageError(f"{label}: file not found") from e
    except IsADirectoryError as e:
        raise ImageError(f"{label}: is a folder, not an image file") from e
    except PermissionError as e:
        raise ImageError(f"{label}: permission denied") from e
    except UnidentifiedImageError as e:
        raise ImageError(f"{label}: not an image (unknown or unsupported format)") from e
    except Image.DecompressionBombError as e:
        raise ImageError(f"{label}: decompression bomb refused ({e})") from e
    except (OSError, SyntaxError, ValueError, EOFError) as e:
        raise ImageError(f"{label}: broken or truncated image ({e})") from e


def _check_regular(path: Path, label: str) -> None:
    """A FileNotFoundError, IsADirectoryError or ImageError unless `path` is a regular file
    (following links): reading a pipe, a socket or a device could block forever."""
    mode = path.stat().st_mode
    if stat.S_ISDIR(mode):
        raise IsADirectoryError(str(path))
    if not stat.S_ISREG(mode):
        raise ImageError(f"{label}: not a regular file (a pipe, socket or device); give a photo")


def _label(source: str | Path | BinaryIO) -> str:
    """The full path for paths (a Path's .name would drop the folder), else the stream's name."""
    if isinstance(source, str | Path):
        return str(source)
    return str(getattr(source, "name", "<image stream>"))


def upright_rgb(im: Image.Image) -> Image.Image:
    """An image as the loader gives it: EXIF orientation applied, 8-bit RGB."""
    return _to_rgb(ImageOps.exif_transpose(im))


def _to_rgb(im: Image.Image) -> Image.Image:
    mode = im.mode
    if mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        return _high_depth_to_rgb(im)
    if mode in ("P", "L", "RGB") and "transparency" in im.info:  # a tRNS colour key
        im, mode = im.convert("RGBA"), "RGBA"
    if mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = im.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    return im if mode == "RGB" else im.convert("RGB")


def _high_depth_to_rgb(im: Image.Image) -> Image.Image:
    """16-bit and float images: scale the full range to 8 bits instead of clipping at 255."""
    a = np.nan_to_num(np.asarray(im, dtype=np.float64))
    lo, hi = float(a.min()), float(a.max())
    if im.mode.startswith("I;16") or (im.mode == "I" and lo >= 0 and 255 < hi <= 65535):
        a = a / 257.0
    elif im.mode == "F" and lo >= 0 and hi <= 1:
        a = a * 255.0
    elif lo < 0 or hi > 255:
        a = (a - lo) * (255.0 / (hi - lo))
    gray = Image.fromarray(np.clip(np.rint(a), 0, 255).astype(np.uint8), "L")
    return gray.convert("RGB")
