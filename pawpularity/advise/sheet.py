"""The contact sheet of `pawpularity rank`: one self-contained, printable HTML page.

Each animal gets a section of its photos' thumbnails in rank order (embedded as data: URIs, no
file beside the page), the score and its interval under each, the cover marked and the top tip;
where two neighbours' order is a coin toss (`rank.py`), the sheet says so. With `--audit` the
page opens with the animals whose best photo falls in the bottom quarter of the training
scores, and what to retake. Sections are written one animal at a time (`section`) and joined
into the page at the end (`write_page`), so the page never has to be held in memory.
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from PIL import Image

from pawpularity.advise.rank import AUDIT_PERCENTILE, AnimalRanking, RankedPhoto
from pawpularity.explain.draw import shrunk
from pawpularity.files import atomic

THUMB_SIDE = 200  # pixels of a thumbnail's longer side
THUMB_QUALITY = 80  # JPEG quality of a thumbnail
TITLE = "Photo ranking"

STYLE = """
body{font:15px/1.4 system-ui,sans-serif;margin:1.5rem;color:#222}
h1{font-size:1.5rem}h2{font-size:1.15rem;margin:0 0 .5rem}
section.animal{border-top:1px solid #ccc;padding:1rem 0;break-inside:avoid}
ol.sheet{list-style:none;display:flex;flex-wrap:wrap;gap:.75rem;padding:0;margin:0}
ol.sheet li{width:210px;overflow-wrap:anywhere;border:2px solid transparent;padding:4px;
border-radius:6px}
ol.sheet li.cover{border-color:#1a7f37}
ol.sheet img{display:block;max-width:200px;max-height:200px}
.badge{background:#1a7f37;color:#fff;border-radius:4px;padding:0 .4em;font-size:.85em}
.toss{color:#9a6700;font-size:.9em}.error{color:#b42318}.tip{font-size:.9em}
.missing{width:200px;height:120px;background:#eee}
table.audit{border-collapse:collapse}table.audit td,table.audit th{border:1px solid #ccc;
padding:.3em .5em;vertical-align:top;text-align:left}
@media print{body{margin:0}a{color:inherit;text-decoration:none}}
"""


@dataclass(frozen=True)
class AuditEntry:
    """An animal whose best photo needs a retake, and what to retake."""

    animal: str
    anchor: str
    score: float
    percentile: float
    tips: Sequence[str]


def thumbnail(image: Image.Image) -> str:
    """The image at THUMB_SIDE as a JPEG data: URI."""
    buf = io.BytesIO()
    shrunk(image, THUMB_SIDE).convert("RGB").save(buf, format="JPEG", quality=THUMB_QUALITY)
    return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def section(
    ranking: AnimalRanking, thumbs: dict[str, str], anchor: str, improved: str | None = None
) -> str:
    """The animal's contact sheet (one line of HTML): `thumbs` maps each photo to its thumbnail,
    `improved` is the thumbnail of the cover's improved edit (None: the cover is as taken)."""
    e = html.escape
    cards = "".join(_card(p, thumbs.get(p.photo), improved) for p in ranking.photos)
    return (
        f'<section class="animal" id="{e(anchor)}"><h2>{e(ranking.animal)}</h2>'
        f'<ol class="sheet">{cards}</ol></section>'
    )


def _card(photo: RankedPhoto, thumb: str | None, improved: str | None) -> str:
    e = html.escape
    name = e(Path(photo.photo).name)
    image = f'<img src="{thumb}" alt="{name}">' if thumb else '<div class="missing"></div>'
    if photo.error is not None:
        return f'<li>{image}<div>{name}</div><div class="error">{e(photo.error)}</div></li>'
    lines = [
        f"<div><b>#{photo.rank}</b> {name}</div>",
        f"<div>score <b>{photo.score:.1f}</b> (likely {photo.score_low:.0f}–"
        f"{photo.score_high:.0f}; above {photo.percentile:.0f} % of training photos)</div>",
    ]
    if photo.best_edit is not None:
        gain = (photo.best_score or 0.0) - (photo.score or 0.0)  # the confirmed gain
        lines.append(f"<div>improved ({e(photo.best_edit)}): {gain:+.1f} points, confirmed</div>")
    if photo.cover:
        shown = improved if photo.best_edit is not None and improved else None
        badge = "cover: the improved photo" if shown else "cover"
        lines.insert(0, f'<div><span class="badge">{badge}</span></div>')
        if shown:  # the improved photo is the cover: it is what the sheet shows
            image = f'<img src="{shown}" alt="improved {name}">'
    if photo.coin_toss and photo.p_order is not None:
        lines.append(
            f'<div class="toss">a coin toss against #{(photo.rank or 0) + 1}: only '
            f"{photo.p_order:.0%} likely to be truly better</div>"
        )
    if photo.top_tip:
        lines.append(f'<div class="tip">{e(photo.top_tip)}</div>')
    css = ' class="cover"' if photo.cover else ""
    return f"<li{css}>{image}{''.join(lines)}</li>"


def audit_html(entries: Sequence[AuditEntry]) -> str:
    """The shelter-wide view: the animals to photograph again, with what to change."""
    e = html.escape
    head = (
        f"<section><h2>Animals to photograph again</h2><p>{len(entries)} animal(s) whose best "
        f"photo scores in the bottom quarter of the training photos (below the "
        f"{AUDIT_PERCENTILE:.0f}th percentile).</p>"
    )
    if not entries:
        return head + "</section>"
    rows = "".join(
        f'<tr><td><a href="#{e(a.anchor)}">{e(a.animal)}</a></td><td>{a.score:.1f}</td>'
        f"<td>{a.percentile:.0f}</td><td>{'<br>'.join(map(e, a.tips)) or 'no common tip'}</td>"
        "</tr>"
        for a in entries
    )
    return (
        f'{head}<table class="audit"><tr><th>animal</th><th>best score</th><th>percentile</th>'
        f"<th>what to retake (tips for all its photos)</th></tr>{rows}</table></section>"
    )


def write_page(
    path: Path, sections: Iterable[str], audit: Sequence[AuditEntry] | None, note: str = ""
) -> None:
    """The page, atomically: the audit first (None: no audit), then each section as it comes."""
    with atomic(path) as tmp, tmp.open("w", encoding="utf-8") as f:
        _start(f, note)
        if audit is not None:
            f.write(audit_html(audit))
        for part in sections:
            f.write(part)
            f.write("\n")
        f.write("</body></html>\n")


def _start(f: TextIO, note: str) -> None:
    f.write(
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" '
        f'content="width=device-width,initial-scale=1"><title>{TITLE}</title>'
        f"<style>{STYLE}</style></head><body><h1>{TITLE}</h1>"
    )
    if note:
        f.write(f"<p>{html.escape(note)}</p>")
