"""Photo guidelines drawn from the verdicts: one per supported or small hypothesis (all methods'
numbers cited, a small one said to be small), a do or avoid line with its size per flag whose
effect on the score is supported or small, a "makes no measurable difference" line per flag with
no effect, the same for species (dogs versus cats), and plain words on what stayed inconclusive,
went the opposite way or had no effect."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pawpularity.analysis.flags import FLAG_TEXT

Row = dict[str, Any]  # a row of hypotheses.json
REAL = ("supported", "small")  # verdicts that draw a guideline
NONE = "No hypothesis was supported and no flag's effect was measured: no guideline."

# Base hypothesis id (without the method) -> the advice it supports when supported or small.
ADVICE = {
    "H1a": "Fill the frame with one clear subject: high-score photos concentrate the model's "
    "attention",
    "H1b": "Keep the photo simple: the maps of high-score photos are less spread out "
    "(lower entropy)",
    "H2a": "Make the pet the subject: the model's attention lies on the pet more than on the "
    "background",
    "H2b": "Keep the pet prominent: the maps of high-score photos lie more on the pet",
    "H3": "Photograph one pet at a time: in group photos the model's attention splits over "
    "more peaks",
    "H4-Human-attention": "Keep people out of the frame: a human draws the model's attention "
    "away from the pet",
    "H4-Occlusion-attention": "Remove what blocks the pet (bars, fences, hands): it draws the "
    "model's attention away from the pet",
    "H4-Info-attention": "Leave text and labels off the photo: they draw the model's attention "
    "away from the pet",
    "H5": "Choose a background that contrasts with the pet: the more the attended region "
    "stands out in colour, the higher the score",
    "cue": "On the demo set, show the orange ball: attention on the planted cue goes with a "
    "higher score",
}


def guidelines(rows: Sequence[Row]) -> list[str]:
    """The guidelines, each a sentence that cites its numbers (markdown, no bullet)."""
    lines, groups = [], _by_base(rows)
    for base, members in groups.items():
        real = [r for r in members if r["verdict"] in REAL]
        flag = base.startswith("H4-") and members[0]["method"] is None
        if base == "H6-species":
            lines += _species_lines(members[0])
        elif flag and members[0]["verdict"] == "no effect":
            lines.append(_no_effect_line(members[0]))
        elif not real:
            continue
        elif flag:
            lines.append(_flag_line(real[0]))
        elif base in ADVICE:
            size = "" if any(r["verdict"] == "supported" for r in real) else ", small but real"
            lines.append(f"{ADVICE[base]}{size} ({'; '.join(cite(r) for r in members)}).")
    decoy = groups.get("decoy")
    if decoy and all(r["verdict"] in ("opposite", "no effect") for r in decoy):
        lines.append(
            "On the demo set, the checkerboard decoy does not matter: attention on it does "
            f"not raise the score ({'; '.join(cite(r) for r in decoy)}), so the analysis "
            "tells the planted cue from the decoy."
        )
    return lines


def caveats(rows: Sequence[Row]) -> list[str]:
    """What the evidence does not support: inconclusive, opposite and no-effect hypotheses, by
    id (a flag with no effect also has its guideline)."""
    out = []
    for verdict, words in (
        (
            "inconclusive",
            "Inconclusive (too few photos or too wide an interval; no guideline drawn)",
        ),
        ("opposite", "Opposite (significant, against the predicted direction)"),
        ("no effect", "No effect (the interval rules out a meaningful effect)"),
    ):
        ids = [f"{r['id']} (n = {r['n']})" for r in rows if r["verdict"] == verdict]
        if ids:
            out.append(f"{words}: {', '.join(ids)}.")
    return out


def markdown(rows: Sequence[Row]) -> str:
    """guidelines.md: the guidelines, then what stayed unsupported."""
    found = guidelines(rows)
    text = ["# Photo guidelines from the evidence", ""]
    text += [f"- {line}" for line in found] or [f"- {NONE}"]
    text += ["", "## Where the evidence is not enough", ""]
    text += [f"- {line}" for line in caveats(rows)] or [
        "- Every hypothesis was supported or small."
    ]
    text += [
        "",
        "Effects carry 95 % confidence intervals. p_adj: a map hypothesis's p-value adjusted "
        "across all of them (Benjamini–Hochberg); p: a whole-table effect (a flag's, the "
        "species'), judged on its own, as its interval shows. See hypotheses.json and "
        "report.html.",
    ]
    return "\n".join(text) + "\n"


def cite(row: Row, with_id: bool = True) -> str:
    """`H1a-gradcam: +0.12 (95 % CI +0.08 to +0.16, p_adj 0.001, n = 48)`."""
    name = f"{row['id']}: " if with_id else ""
    if row["effect"] is None:
        return f"{name}not computable (n = {row['n']})"
    interval = (
        f"95 % CI {row['ci_low']:+.3g} to {row['ci_high']:+.3g}, "
        if row["ci_low"] is not None and row["ci_high"] is not None
        else ""
    )
    p = row["p_adjusted"]
    p_name = "p_adj" if row["method"] is not None else "p"  # whole-table effects: not adjusted
    p_text = f"{p_name} {p:.2g}" if p is not None else "no test"
    return f"{name}{row['effect']:+.3g} ({interval}{p_text}, n = {row['n']})"


def _flag_line(row: Row) -> str:
    flag = _flag_name(row)
    what = FLAG_TEXT[flag]
    verb = "Aim for" if row["effect"] > 0 else "Avoid"
    sign = "higher" if row["effect"] > 0 else "lower"
    size = ", small but real" if row["verdict"] == "small" else ""
    return (
        f"{verb} {what}: such photos ({flag} = 1) score about {abs(row['effect']):.1f} points "
        f"{sign} on average{size} ({cite(row)})."
    )


def _no_effect_line(row: Row) -> str:
    flag = _flag_name(row)
    return (
        f"{FLAG_TEXT[flag].capitalize()} ({flag} = 1) makes no measurable difference to the "
        f"score ({cite(row)})."
    )


def _species_lines(row: Row) -> list[str]:
    if row["verdict"] == "no effect":
        return [f"Species makes no measurable difference to the score ({cite(row)})."]
    if row["verdict"] not in REAL:
        return []
    size = ", small but real" if row["verdict"] == "small" else ""
    return [
        f"Dogs score about {row['effect']:.1f} points higher than cats on average{size} "
        f"({cite(row)}): compare a cat's photo with other cats' photos, and give cats the best "
        "photos you can take."
    ]


def _flag_name(row: Row) -> str:
    flag = row["id"].removeprefix("H4-")
    return next(f for f in FLAG_TEXT if f.replace(" ", "") == flag)


def _by_base(rows: Sequence[Row]) -> dict[str, list[Row]]:
    """Rows grouped by their id without the method suffix, in order of appearance."""
    groups: dict[str, list[Row]] = {}
    for r in rows:
        base = r["id"].removesuffix(f"-{r['method']}") if r["method"] else r["id"]
        groups.setdefault(base, []).append(r)
    return groups
