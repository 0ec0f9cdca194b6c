"""A demo data set in the Kaggle layout with a planted cue whose effect on the score is known.

Every image is a varied version of a photo shipped with the package (random crop, flip, colour
jitter) carrying a decoy (a black-and-white checker, no effect on the score); half of them also
carry the cue (a shaded orange ball, +35 points). Learning and explanations can so be checked
against ground truth: DIR/cues.csv holds both boxes of every image.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from pawpularity.data import DEMO_PHOTOS, DEMO_SEED
from pawpularity.data.images import IMAGE_SUFFIXES, load_image
from pawpularity.data.schema import FLAGS, TRAIN_COLUMNS, image_path
from pawpularity.errors import DataError
from pawpularity.files import write_bytes

PHOTOS_DIR = Path(__file__).parent / "assets" / "pets_demo"
CUE_COLUMNS = ("Id", "has_cue", "x0", "y0", "x1", "y1", "has_decoy", "dx0", "dy0", "dx1", "dy1")
# How often each flag is set in the real PetFinder.my train.csv.
FLAG_RATES = {
    "Subject Focus": 0.03,
    "Eyes": 0.77,
    "Face": 0.90,
    "Near": 0.86,
    "Action": 0.01,
    "Accessory": 0.07,
    "Group": 0.13,
    "Collage": 0.05,
    "Human": 0.17,
    "Occlusion": 0.17,
    "Info": 0.06,
    "Blur": 0.07,
}
HEIGHT, MIN_WIDTH, MAX_WIDTH = 256, 256, 320
# `--full-size`: the sizes of real adoption photos (phone shots), portrait or landscape.
FULL_SIZES = ((720, 960), (960, 720))
OBJECT_SHARE = 0.3  # cue and decoy: square boxes of this share of the image height
MARGIN = 4  # smallest gap between an object and the image edge
MIN_CENTRE_GAP = 1.5  # in object sides
BASE_SCORE, CUE_EFFECT, NOISE_SD = 25.0, 35.0, 5.0
JPEG_QUALITY = 90
CUES_FILE = "cues.csv"  # both boxes of every photo: what marks a folder as a demo set
SOURCES_FILE = "sources.csv"  # the shipped photo each Id was made from
SUPERSAMPLE = 4  # objects are drawn this many times larger, then averaged down (anti-aliasing)

LICENSE_HEADER = """\
Photos in train/ are adapted versions (cropped, flipped, colour-changed, with objects drawn on
them) of the photos listed below, which ship with the pawpularity package. Each adapted photo
keeps its source's license: CC BY-SA 4.0 (https://creativecommons.org/licenses/by-sa/4.0/; its
ShareAlike term applies to these adapted versions) or, for cat_chelsea_skimage.png, CC0.
sources.csv names the source photo of every Id.

"""


def is_demo_set(data_dir: Path) -> bool:
    """Whether a Kaggle-layout folder is a planted-cue demo set (it has CUES_FILE)."""
    return (Path(data_dir) / CUES_FILE).is_file()


def make_demo(
    out_dir: Path, n: int = DEMO_PHOTOS, seed: int = DEMO_SEED, full_size: bool = False
) -> None:
    """Write a planted-cue demo set to out_dir: train.csv, train/<Id>.jpg, cues.csv, sources.csv
    and LICENSES.txt. The same seed gives byte-identical files. Photos are HEIGHT high and
    MIN_WIDTH to MAX_WIDTH wide, or with `full_size` one of FULL_SIZES (as a Kaggle-sized set
    has them, to prove the real-data path offline).

    Files we write are overwritten and nothing else is deleted; a folder whose train.csv was not
    written by make_demo (no cues.csv beside it) is refused. Images are written before the CSVs,
    and train.csv last, so an interrupted run never leaves a train.csv naming missing images.
    """
    out_dir = Path(out_dir)
    if n < 2:
        raise DataError(f"a demo set needs at least 2 photos, got n={n}")
    if out_dir.exists() and not out_dir.is_dir():
        raise DataError(f"{out_dir}: exists and is not a folder; choose a new folder")
    if (out_dir / "train.csv").exists() and not is_demo_set(out_dir):
        raise DataError(
            f"{out_dir}: holds a train.csv that `data demo` did not write; choose another folder"
        )
    photos = sorted(p for p in PHOTOS_DIR.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)

    rng = np.random.default_rng(seed)
    ids = [rng.bytes(16).hex() for _ in range(n)]
    sources = [photos[i] for i in np.resize(rng.permutation(len(photos)), n)]
    has_cue = np.zeros(n, dtype=bool)
    has_cue[rng.permutation(n)[: n // 2]] = True
    flags = rng.random((n, len(FLAGS))) < np.array([FLAG_RATES[f] for f in FLAGS])
    noise = rng.normal(0.0, NOISE_SD, n)
    scores = np.clip(np.rint(BASE_SCORE + CUE_EFFECT * has_cue + noise), 1, 100).astype(int)

    objects: dict[int, tuple[np.ndarray, np.ndarray]] = {}  # ball and checker per side
    decoded: dict[Path, Image.Image] = {}
    boxes = []
    try:
        (out_dir / "train").mkdir(parents=True, exist_ok=True)
        for image_id, source, cue in zip(ids, sources, has_cue, strict=True):
            if source not in decoded:
                decoded[source] = load_image(source)
            photo = _vary(decoded[source], _size(full_size, rng), rng)
            side = round(OBJECT_SHARE * photo.shape[0])
            if side not in objects:
                objects[side] = _ball(side), _checker(side)
            ball, checker = objects[side]
            cue_box, decoy_box = _place(photo.shape[1], photo.shape[0], side, rng)
            _paste(photo, checker, decoy_box)
            if cue:
                _paste(photo, ball, cue_box)
            boxes.append((cue_box if cue else None, decoy_box))
            write_bytes(image_path(out_dir, image_id), _jpeg(photo))

        _write_csv(
            out_dir / CUES_FILE,
            CUE_COLUMNS,
            (
                [i, int(c is not None), *(c or ("",) * 4), 1, *d]
                for i, (c, d) in zip(ids, boxes, strict=True)
            ),
        )
        _write_csv(
            out_dir / SOURCES_FILE,
            ("Id", "source"),
            zip(ids, (s.name for s in sources), strict=True),
        )
        licenses = LICENSE_HEADER + (PHOTOS_DIR / "LICENSES.txt").read_text(encoding="utf-8")
        write_bytes(out_dir / "LICENSES.txt", licenses.encode("utf-8"))
        _write_csv(
            out_dir / "train.csv",
            TRAIN_COLUMNS,
            (
                [i, *row, s]
                for i, row, s in zip(ids, flags.astype(int).tolist(), scores.tolist(), strict=True)
            ),
        )
    except OSError as e:
        raise DataError(f"{out_dir}: cannot write the demo set ({e})") from e


def _size(full_size: bool, rng: np.random.Generator) -> tuple[int, int]:
    """The (width, height) of the next photo."""
    if full_size:
        return FULL_SIZES[int(rng.integers(len(FULL_SIZES)))]
    return int(rng.integers(MIN_WIDTH, MAX_WIDTH + 1)), HEIGHT


def _vary(photo: Image.Image, size: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """A random crop (50-100 % of the area, the output's aspect) resized to `size`, flip and
    colour jitter."""
    w, h = photo.size
    out_w, out_h = size
    aspect = out_w / out_h
    area = rng.uniform(0.5, 1.0) * w * h
    crop_w, crop_h = np.sqrt(area * aspect), np.sqrt(area / aspect)
    shrink = min(1.0, w / crop_w, h / crop_h)  # keep the crop inside the photo
    crop_w, crop_h = min(crop_w * shrink, w), min(crop_h * shrink, h)  # even by rounding
    x0, y0 = rng.uniform(0, w - crop_w), rng.uniform(0, h - crop_h)
    box = (x0, y0, x0 + crop_w, y0 + crop_h)
    im = photo.resize(size, Image.Resampling.LANCZOS, box=box)
    a = np.asarray(im, dtype=np.float32)
    if rng.random() < 0.5:
        a = a[:, ::-1]
    brightness, contrast = rng.uniform(0.75, 1.25, 2)
    saturation = rng.uniform(0.7, 1.3)
    a = a * brightness
    mean = _gray(a).mean()
    a = (a - mean) * contrast + mean
    gray = _gray(a)[..., None]
    a = gray + (a - gray) * saturation
    return np.clip(a, 0, 255)


def _gray(a: np.ndarray) -> np.ndarray:
    return a @ np.array([0.299, 0.587, 0.114], dtype=np.float32)


def _place(
    width: int, height: int, s: int, rng: np.random.Generator
) -> tuple[tuple[int, int, int, int], tuple[int, int, int, int]]:
    """Cue and decoy boxes (x0, y0, x1, y1) of side s, inside the margins, centres at least
    MIN_CENTRE_GAP sides apart."""
    while True:
        xs = rng.integers(MARGIN, width - MARGIN - s + 1, 2)
        ys = rng.integers(MARGIN, height - MARGIN - s + 1, 2)
        if np.hypot(xs[0] - xs[1], ys[0] - ys[1]) >= MIN_CENTRE_GAP * s:
            x0, x1 = xs.tolist()
            y0, y1 = ys.tolist()
            return (x0, y0, x0 + s, y0 + s), (x1, y1, x1 + s, y1 + s)


def _ball(size: int) -> np.ndarray:
    """A shaded orange ball as (size, size, 4) RGB + alpha in 0..1, anti-aliased."""
    k = size * SUPERSAMPLE
    t = (np.arange(k) + 0.5) / k * 2 - 1  # pixel centres in -1..1
    x, y = np.meshgrid(t, t)
    inside = x**2 + y**2 <= 0.96**2
    r = np.minimum(np.hypot(x, y) / 0.96, 1.0)
    z = np.sqrt(1 - r**2)
    normal = np.stack([x / 0.96, y / 0.96, z], axis=-1)
    light = np.array([-0.45, -0.55, 0.70])
    light /= np.linalg.norm(light)
    lambert = np.clip(normal @ light, 0, 1)
    specular = lambert**40  # the highlight
    orange = np.array([1.0, 0.5, 0.05])
    rgb = orange * (0.3 + 0.75 * lambert[..., None]) + 0.8 * specular[..., None]
    rgba = np.concatenate([np.clip(rgb, 0, 1) * inside[..., None], inside[..., None]], axis=-1)
    return _downsample(rgba)


def _checker(size: int) -> np.ndarray:
    """A 4x4 black-and-white checkerboard as (size, size, 4) RGB + alpha, anti-aliased edges."""
    k = size * SUPERSAMPLE
    cell = np.arange(k) * 4 // k
    white = (cell[:, None] + cell[None, :]) % 2 == 0
    rgba = np.ones((k, k, 4))
    rgba[..., :3] = white[..., None]
    return _downsample(rgba)


def _downsample(rgba: np.ndarray) -> np.ndarray:
    """Average SUPERSAMPLE x SUPERSAMPLE blocks (colour premultiplied by alpha), unpremultiply."""
    k = rgba.shape[0] // SUPERSAMPLE
    small = rgba.reshape(k, SUPERSAMPLE, k, SUPERSAMPLE, 4).mean(axis=(1, 3))
    alpha = small[..., 3:]
    small[..., :3] /= np.maximum(alpha, 1e-6)
    return small


def _paste(photo: np.ndarray, obj: np.ndarray, box: tuple[int, int, int, int]) -> None:
    x0, y0, x1, y1 = box
    alpha = obj[..., 3:]
    region = photo[y0:y1, x0:x1]
    photo[y0:y1, x0:x1] = alpha * obj[..., :3] * 255 + (1 - alpha) * region


def _jpeg(photo: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.rint(photo).astype(np.uint8), "RGB").save(buf, "JPEG", quality=JPEG_QUALITY)
    return buf.getvalue()


def _write_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence[object]]) -> None:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    write_bytes(path, buf.getvalue().encode("utf-8"))
