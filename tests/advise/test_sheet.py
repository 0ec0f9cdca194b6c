"""The contact sheet: self-contained (every picture embedded), in rank order, the cover marked,
coin tosses said, ids escaped, the audit first; it renders in Chromium without a request."""

from __future__ import annotations

import base64
import io
import re
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

from pawpularity.advise.rank import RankedPhoto, settle
from pawpularity.advise.sheet import THUMB_SIDE, AuditEntry, section, thumbnail, write_page
from pawpularity.data.images import load_image
from pawpularity.runs.intervals import Calibration
from tests.conftest import PETS

if TYPE_CHECKING:
    from playwright.sync_api import Browser

PHOTOS = [PETS / "dog_pug_16.jpg", PETS / "cat_Bengal_16.jpg", PETS / "dog_beagle_10.jpg"]
NARROW = Calibration(np.linspace(0, 2, 51), np.zeros(51, int), np.linspace(1, 100, 51))


def ranked(scores: list[float], animal: str = "rex") -> tuple[str, dict[str, str]]:
    photos = [
        RankedPhoto(
            str(p),
            score=s,
            score_low=s - 1,
            score_high=s + 1,
            percentile=s,
            best_score=s,
            tips=[f"tip for {p.name}"],
        )
        for p, s in zip(PHOTOS, scores, strict=False)
    ]
    photos.append(RankedPhoto("broken.jpg", error="broken.jpg: not an image"))
    thumbs = {str(p): thumbnail(load_image(p)) for p in PHOTOS}
    return section(settle(animal, photos, NARROW), thumbs, "rex"), thumbs


def test_thumbnails_are_small_embedded_jpegs() -> None:
    uri = thumbnail(load_image(PHOTOS[0]))
    assert uri.startswith("data:image/jpeg;base64,")
    image = Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1])))
    assert image.format == "JPEG" and max(image.size) == THUMB_SIDE


def test_a_section_lists_the_photos_in_rank_order_with_the_cover_marked() -> None:
    html, thumbs = ranked([20.0, 80.0, 79.9])
    order = [m.group(1) for m in re.finditer(r"<b>#(\d)</b> ([\w.]+)", html)]
    assert order == ["1", "2", "3"]
    names = re.findall(r"<b>#\d</b> ([\w.]+)", html)
    assert names == ["cat_Bengal_16.jpg", "dog_beagle_10.jpg", "dog_pug_16.jpg"]
    assert html.count('class="cover"') == 1 and html.index('class="cover"') < html.index("#1")
    assert html.index(thumbs[str(PHOTOS[1])]) < html.index(thumbs[str(PHOTOS[0])])
    # 80 vs 79.9 with true scores within ±2: a coin toss; 79.9 vs 20 is not
    assert html.count("coin toss") == 1 and html.index("coin toss") < html.index("#2")
    assert "broken.jpg: not an image" in html and "\n" not in html
    assert "tip for cat_Bengal_16.jpg" in html and "likely 79–81" in html


def test_animal_ids_and_texts_are_escaped() -> None:
    html, _ = ranked([50.0], animal='<script>alert("x")</script>')
    assert "<script>" not in html and "&lt;script&gt;" in html


def test_the_page_opens_with_the_audit_and_loads_nothing(tmp_path: Path, browser: Browser) -> None:
    html, _ = ranked([10.0, 12.0, 30.0])
    audit = [AuditEntry("rex", "rex", 30.0, 12.0, ["The photo is too dark: add light"])]
    page = tmp_path / "index.html"
    write_page(page, iter([html]), audit, "a note")
    text = page.read_text()
    assert text.index("Animals to photograph again") < text.index('<section class="animal"')
    assert 'href="#rex"' in text and 'id="rex"' in text and "too dark" in text
    assert all(src.startswith("data:") for src in re.findall(r'src="([^"]*)"', text))
    requests: list[str] = []
    tab = browser.new_page()
    tab.on("request", lambda r: requests.append(r.url))
    tab.goto(page.as_uri())
    assert requests == [page.as_uri()]  # every picture and style is inside the page
    assert tab.locator("ol.sheet li").count() == 4 and tab.locator("li.cover").count() == 1
    assert tab.evaluate("document.images[0].naturalWidth") > 0  # the thumbnails decode
    assert len(tab.pdf()) > 1000  # printable
    tab.close()
    without = tmp_path / "plain.html"
    write_page(without, [html], None)
    assert "Animals to photograph again" not in without.read_text()
