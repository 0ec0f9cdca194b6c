"""report.html: one self-contained page (figures inlined as base64 PNG data URLs, no scripts)."""

from __future__ import annotations

import base64
import html
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pandas as pd

from pawpularity.analysis.figures import hypothesis_grid
from pawpularity.analysis.guidelines import NONE, caveats, cite, guidelines
from pawpularity.analysis.stats import (
    ALPHA,
    CONFIDENCE,
    MEANINGFUL_RHO,
    MEANINGFUL_SD,
    MIN_GROUP,
    RESAMPLES,
)
from pawpularity.explain.methods import locator

if TYPE_CHECKING:
    from pawpularity.analysis.hypotheses import Hypothesis

FAMILIES = {
    "H1": "H1 · high-score photos concentrate the model's attention",
    "H2": "H2 · the model looks at the pet, not the background",
    "H3": "H3 · group photos spread attention over more peaks",
    "H4": "H4 · metadata flags: effect on the score, and on attention",
    "H5": "H5 · contrast between the attended region and the background",
    "H6": "H6 · species: dogs versus cats",
    "cue": "The planted cue and the decoy (demo set)",
}
STYLE = """
body { font: 15px/1.5 system-ui, sans-serif; max-width: 1100px; margin: 2em auto; padding: 0 1em;
       color: #222; }
img { max-width: 100%; height: auto; display: block; margin: 0.5em 0; }
table { border-collapse: collapse; font-size: 13px; margin: 0.5em 0 1.5em; }
th, td { border-bottom: 1px solid #ddd; padding: 3px 8px; text-align: left; vertical-align: top; }
.supported { color: #1a7f37; font-weight: 600; } .small { color: #4d8f2a; font-weight: 600; }
.opposite { color: #b42318; font-weight: 600; } .no.effect { color: #555; font-weight: 600; }
.inconclusive { color: #8a6d00; font-weight: 600; } .meta { color: #555; }
figure { margin: 1em 0; } figcaption { color: #555; font-size: 13px; }
"""


@dataclass
class Report:
    """Everything the page shows; sections without data are left out."""

    title: str
    facts: dict[str, str]  # shown at the top, e.g. run, data, photos explained
    rows: Sequence[dict[str, Any]]  # hypotheses.json
    flags: pd.DataFrame
    figures: dict[str, bytes] = field(default_factory=dict)  # scores, forest, maps, <family>
    examples: list[tuple[str, bytes]] = field(default_factory=list)  # (caption, panel JPEG)
    errors: list[dict[str, str]] = field(default_factory=list)


def render(report: Report) -> str:
    """The whole page as one HTML string."""
    parts = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{_e(report.title)}</title><style>{STYLE}</style></head><body>",
        f"<h1>{_e(report.title)}</h1>",
        "<ul class='meta'>"
        + "".join(f"<li>{_e(k)}: {_e(v)}</li>" for k, v in report.facts.items())
        + "</ul>",
        _guidelines(report.rows),
        _section("Score distribution", _figure(report.figures.get("scores"), "Pawpularity")),
        _section(
            "Metadata flags and the score",
            _figure(report.figures.get("forest"), "flag effects")
            + "<p>Difference in mean score between photos with and without each flag, "
            "Welch's 95 % interval.</p>" + _flag_table(report.flags),
        ),
    ]
    if "maps" in report.figures:
        parts.append(
            _section(
                "Mean saliency maps: high vs low scores",
                _figure(report.figures["maps"], "mean maps")
                + "<p>Each photo's map normalised to 0–1 on the model's square input, averaged "
                "over the top and bottom score quartiles; right: their difference.</p>",
            )
        )
    if report.examples:
        parts.append(
            _section(
                "Best and worst photos",
                "".join(_figure(jpeg, caption, caption) for caption, jpeg in report.examples),
            )
        )
    parts.append(_hypotheses(report))
    if report.errors:
        items = "".join(f"<li>{_e(e['path'])}: {_e(e['error'])}</li>" for e in report.errors)
        parts.append(_section("Photos that could not be read", f"<ul>{items}</ul>"))
    parts.append(_section("How to read this", _METHOD))
    parts.append("</body></html>")
    return "\n".join(parts)


_METHOD = (
    f"<p>Effects carry {CONFIDENCE:.0%} confidence intervals: bootstrap ({RESAMPLES} resamples) "
    "for map statistics, Welch's t for the whole table's effects on the score (each flag's, "
    "dogs versus cats). The map statistics' p-values come from permutation tests and are "
    "adjusted across all of them together (Benjamini–Hochberg: many methods × statistics on one "
    "sample); each whole-table effect is pre-specified and judged on its own p-value, so its "
    "verdict says what its interval shows. Significance and size are judged apart: significant "
    f"means a (map: adjusted) p-value below {ALPHA:g}; the meaningful size is {MEANINGFUL_SD:g} "
    "of a standard "
    f"deviation (or ρ = {MEANINGFUL_RHO:g}). A hypothesis is "
    "<span class='supported'>supported</span> when significant with the predicted sign and at "
    "least the meaningful size; <span class='small'>small</span> when significant with the "
    "predicted sign but smaller (a real effect, stated with its size); "
    "<span class='opposite'>opposite</span> when significant against the predicted sign; "
    "<span class='no effect'>no effect</span> when not significant and the whole interval lies "
    "within ± the meaningful size; <span class='inconclusive'>inconclusive</span> otherwise, and "
    f"always when a group holds fewer than {MIN_GROUP} photos. Each photo is explained by the "
    "fold model that did not train on it. The pet's location is the map of ImageNet's cat and "
    f"dog classes ({locator()}) from the bare pretrained backbone.</p>"
)


def _guidelines(rows: Sequence[dict[str, Any]]) -> str:
    found = guidelines(rows) or [NONE]
    body = "<ol>" + "".join(f"<li>{_e(g)}</li>" for g in found) + "</ol>"
    if notes := caveats(rows):
        body += "<h3>Where the evidence is not enough</h3><ul>"
        body += "".join(f"<li>{_e(n)}</li>" for n in notes) + "</ul>"
    return _section("Guidelines", body)


def _hypotheses(report: Report) -> str:
    body = ""
    for family, heading in FAMILIES.items():
        rows = [r for r in report.rows if r["family"] == family]
        if not rows:
            continue
        body += f"<h3>{_e(heading)}</h3>"
        if family == "H4":  # the score effects' figure, beside the attention plots
            body += _figure(report.figures.get("forest"), "flag effects on the score")
        body += _figure(report.figures.get(family), heading)
        body += "<table><tr><th>id</th><th>statement</th><th>groups</th><th>effect</th>"
        body += "<th>verdict</th></tr>"
        for r in rows:
            body += (
                f"<tr><td>{_e(r['id'])}</td><td>{_e(r['statement'])}</td>"
                f"<td>{_e(r['groups'])}</td>"
                f"<td>{_e(r['effect_kind'])}: {_e(cite(r, with_id=False))}</td>"
                f"<td class='{r['verdict']}'>{r['verdict']}</td></tr>"
            )
        body += "</table>"
    return _section("Hypotheses", body)


def _flag_table(flags: pd.DataFrame) -> str:
    head = "".join(f"<th>{_e(c)}</th>" for c in flags.columns)
    rows = "".join(
        "<tr>" + "".join(f"<td>{_e(_fmt(v))}</td>" for v in row) + "</tr>"
        for row in flags.itertuples(index=False)
    )
    return f"<table><tr>{head}</tr>{rows}</table>"


def _fmt(value: object) -> str:
    if isinstance(value, float):
        return "–" if value != value else f"{value:.4g}"  # NaN is not equal to itself
    return str(value)


def _figure(image: bytes | None, alt: str, caption: str = "") -> str:
    if image is None:
        return ""
    mime = "image/jpeg" if image.startswith(b"\xff\xd8") else "image/png"
    data = base64.b64encode(image).decode("ascii")
    text = f"<figcaption>{_e(caption)}</figcaption>" if caption else ""
    return f'<figure><img alt="{_e(alt)}" src="data:{mime};base64,{data}">{text}</figure>'


def _section(title: str, body: str) -> str:
    return f"<section><h2>{_e(title)}</h2>{body}</section>"


def _e(text: object) -> str:
    return html.escape(str(text))


def family_figures(hypotheses: list[Hypothesis], rows: list[dict[str, Any]]) -> dict[str, bytes]:
    """Per family: the grid of its hypotheses' plots, each titled with its verdict."""
    verdicts = {r["id"]: r["verdict"] for r in rows}
    out = {}
    for family in FAMILIES:
        panels = [
            (h.id, verdicts[h.id], h.plot)
            for h in hypotheses
            if h.family == family and h.plot is not None
        ]
        if panels:
            out[family] = hypothesis_grid(panels)
    return out
