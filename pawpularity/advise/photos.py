"""Advise photos and write the results: per photo advice.json, best.jpg and compare.png (the
bare ImageNet backbone, which scores nothing: check.json, the photo checks).

DIR/<photo stem>/ per photo, or DIR/ itself for a single photo; DIR/summary.json lists every
photo with its scores, or its error (a broken photo does not stop the others).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from PIL import Image, ImageFont
from tqdm import tqdm

from pawpularity.advise import MARGIN
from pawpularity.advise.advisor import Advice, Advisor
from pawpularity.advise.check import check_photo
from pawpularity.advise.evidence import Effect
from pawpularity.data.images import load_image
from pawpularity.explain.draw import FONT, PAD, TITLE_PX, label, shrunk, write_png
from pawpularity.explain.explainer import Explainer
from pawpularity.files import atomic, photo_error, unique_name, write_json

SUMMARY = "summary.json"
CHECK = "check.json"  # the bare backbone's advice: the photo checks
COMPARE_HEIGHT = 480  # pixels of each photo in compare.png
JPEG_QUALITY = 95
JPEG_MAX_SIDE = 65_500


def write_advice(advice: Advice, photo: Image.Image, folder: Path) -> None:
    """advice.json, best.jpg (full resolution, upright, never upscaled) and compare.png."""
    with atomic(folder / "best.jpg") as tmp:  # JPEG holds at most 65,535 pixels a side
        shrunk(advice.best, JPEG_MAX_SIDE).save(tmp, format="JPEG", quality=JPEG_QUALITY)
    gain = advice.best_score - advice.score
    after = (
        "no edit beat it"
        if advice.best_edit is None
        else f"after {advice.best_score:.1f} ({gain:+.1f})"
    )
    compare(photo, advice.best, f"before {advice.score:.1f}", after, folder / "compare.png")
    write_json(folder / "advice.json", advice.to_dict())


def compare(before: Image.Image, after: Image.Image, left: str, right: str, path: Path) -> None:
    """The two photos side by side at the same height (the before's, at most COMPARE_HEIGHT),
    each titled."""
    font = ImageFont.truetype(str(FONT), TITLE_PX)
    h = min(COMPARE_HEIGHT, before.height)
    tiles = []
    for image, text in ((before, left), (after, right)):
        w = max(1, round(image.width * h / image.height))
        tiles.append((image.resize((w, h), Image.Resampling.BILINEAR, reducing_gap=3.0), text))
    band = TITLE_PX + 2 * PAD
    height = band + max(t.height for t, _ in tiles) + PAD
    sheet = Image.new("RGB", (sum(t.width + PAD for t, _ in tiles) + PAD, height), "white")
    left_edge = PAD
    for tile, text in tiles:
        sheet.paste(label(text, font, tile.width), (left_edge, PAD))
        sheet.paste(tile, (left_edge, band))
        left_edge += tile.width + PAD
    write_png(sheet, path)


def advise_photos(
    advisor: Advisor,
    paths: Sequence[Path],
    out: Path,
    effects: dict[str, Effect] | None = None,
    margin: float = MARGIN,
) -> dict[str, Any]:
    """Advise every photo; returns (and writes as DIR/summary.json) the scores per photo."""
    return _each(
        paths, out, lambda path, folder: _advise_one(advisor, path, folder, effects, margin)
    )


def check_photo_folders(pet: Explainer, paths: Sequence[Path], out: Path) -> dict[str, Any]:
    """The advice of the bare ImageNet backbone: every photo's checks as DIR/<photo>/check.json,
    and DIR/summary.json."""
    return _each(paths, out, lambda path, folder: _check_one(pet, path, folder))


def _each(
    paths: Sequence[Path], out: Path, one: Callable[[Path, Path], dict[str, Any]]
) -> dict[str, Any]:
    """`one(path, folder)` for every photo, its folder DIR/<photo stem>/ (DIR/ for one photo),
    and DIR/summary.json of what each returned."""
    out.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {}
    used = {SUMMARY}
    for path in tqdm(paths, desc="advising", unit="photo", leave=False):
        folder = out if len(paths) == 1 else out / unique_name(Path(path).stem, used)
        try:
            results[str(path)] = one(Path(path), folder)
        except Exception as e:  # this photo's failure, whatever it is: the others go on
            results[str(path)] = {"error": photo_error(e)}
    advised = sum("error" not in r for r in results.values())
    summary = {"advised": advised, "failed": len(results) - advised, "photos": results}
    write_json(out / SUMMARY, summary)
    return summary


def _advise_one(
    advisor: Advisor, path: Path, folder: Path, effects: dict[str, Effect] | None, margin: float
) -> dict[str, Any]:
    """The photo's scores and where its files are."""
    photo = load_image(path)
    advice = advisor.advise(photo, effects, margin)
    write_advice(advice, photo, folder)
    return {
        "out": str(folder),
        "score": round(advice.score, 3),
        **advice.interval(),
        "best_score": round(advice.best_score, 3),
        "best_edit": None if advice.best_edit is None else advice.best_edit.name,
    }


def _check_one(pet: Explainer, path: Path, folder: Path) -> dict[str, Any]:
    """The photo's checks, also in its check.json."""
    checked = check_photo(pet, load_image(path)).to_dict()
    folder.mkdir(parents=True, exist_ok=True)
    write_json(folder / CHECK, checked)
    return {"out": str(folder), **checked}
