"""The hypotheses about popular photos, each tested on the explained sample's numbers.

H1  high-score photos concentrate attention (top-10 % mass ↑, entropy ↓), top vs bottom quartile
H2  the map lies on the pet more than chance; high-score photos' maps overlap the pet more
H3  group photos spread attention over more separate peaks
H4  each flag's effect on the score (whole table) and, for Human, Occlusion and Info, on the
    attention given to the pet
H5  contrast between the attended region and the rest goes with the score
H6  dogs score higher than cats (whole table; species from an `embed` folder)
cue on a demo set: attention on the planted cue raises the score; the decoy's does not

The whole-table effects (H4 on the score, H6) are pre-specified estimates, one per flag and one
for species, each judged on its own p-value: the verdict says what its 95 % interval (in
flag_effects.csv and the forest plot) shows. Benjamini–Hochberg runs across the exploratory map
hypotheses (every method × statistic on one sample) at once.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from pawpularity.analysis.figures import Plot
from pawpularity.analysis.flags import FLAG_TEXT
from pawpularity.analysis.stats import (
    Effect,
    adjust,
    correlation,
    difference,
    one_sample,
    verdict,
    welch,
)
from pawpularity.data.schema import TARGET

SPATIAL_FLAGS = ("Human", "Occlusion", "Info")  # flags that can pull attention off the pet


@dataclass
class Hypothesis:
    id: str
    family: str
    statement: str
    metric: str
    method: str | None
    groups: str
    effect_kind: str
    direction: int  # the sign of effect the statement predicts; 0: either
    result: Effect
    plot: Plot | None = None  # the data behind it, for the report


def quartiles(score: np.ndarray) -> tuple[np.ndarray, np.ndarray, float, float]:
    """(top quartile, bottom quartile, q25, q75): scores ≥ q75 and ≤ q25 (never both)."""
    q25, q75 = (float(q) for q in np.percentile(score, [25, 75]))
    return score >= q75, (score <= q25) & (score < q75), q25, q75


def flag_hypotheses(effects: dict[str, Effect]) -> list[Hypothesis]:
    """H4 on the score: one per flag (Welch, from the whole table)."""
    return [
        Hypothesis(
            f"H4-{flag.replace(' ', '')}",
            "H4",
            f"Photos with {FLAG_TEXT[flag]} ({flag} = 1) score differently from the others",
            TARGET,
            None,
            f"{flag} = 1 (n = {e.n[0]}) vs {flag} = 0 (n = {e.n[1]})",
            "difference of mean scores (with − without)",
            0,
            e,
        )
        for flag, e in effects.items()
    ]


def species_hypothesis(score: np.ndarray, dog: np.ndarray) -> Hypothesis:
    """H6 on the score (Welch, whole table): dogs (dog = 1) against cats (0); NaN: unknown."""
    dogs, cats = score[dog == 1], score[dog == 0]
    return Hypothesis(
        "H6-species",
        "H6",
        "Dogs score higher than cats (species from the ImageNet head: p(dog) ≥ 0.5)",
        TARGET,
        None,
        f"dogs (n = {len(dogs)}) vs cats (n = {len(cats)})",
        "difference of mean scores (dogs − cats)",
        +1,
        welch(dogs, cats),
        Plot("groups", (dogs, cats), ("dogs", "cats")),
    )


def map_hypotheses(
    photos: pd.DataFrame, methods: Sequence[str], seed: int, has_cues: bool
) -> list[Hypothesis]:
    """H1, H2, H3, H4 (attention), H5 and the cue's, per method, on the explained photos."""
    score = photos[TARGET].to_numpy(float)
    high, low, q25, q75 = quartiles(score)
    by_score = f"score ≥ {q75:g} (n = {high.sum()}) vs score ≤ {q25:g} (n = {low.sum()})"
    quartile_names = ("top quartile", "bottom quartile")
    everyone = f"all explained photos (n = {len(photos)})"
    group = photos["Group"].to_numpy() == 1
    found: list[Hypothesis] = []
    for m in methods:

        def values(stat: str, m: str = m) -> np.ndarray:
            return photos[f"{m}_{stat}"].to_numpy(float)

        def split(
            stat: str, a: np.ndarray, b: np.ndarray, names: tuple[str, str]
        ) -> tuple[Effect, Plot]:
            v = values(stat)
            return difference(v[a], v[b], seed), Plot("groups", (v[a], v[b]), names)

        def scatter(stat: str, label: str) -> tuple[Effect, Plot]:
            v = values(stat)
            return correlation(v, score, seed), Plot("scatter", (v, score), (label, TARGET))

        high_low = "difference of means (high − low)"
        tests = [
            (
                "H1a",
                "High-score photos concentrate the model's attention: more of the map's mass "
                "lies in the hottest 10 % of the photo",
                "top10",
                by_score,
                high_low,
                +1,
                split("top10", high, low, quartile_names),
            ),
            (
                "H1b",
                "High-score photos concentrate the model's attention: their maps have lower "
                "entropy",
                "entropy",
                by_score,
                high_low,
                -1,
                split("entropy", high, low, quartile_names),
            ),
            (
                "H2a",
                "The model looks at the pet, not the background: more of the map's mass lies on "
                "the pet than the pet's share of the photo",
                "pet_excess",
                everyone,
                "mean mass on the pet − the pet's share of the photo",
                +1,
                (
                    one_sample(values("pet_excess"), seed),
                    Plot("histogram", (values("pet_excess"),), ("mass on the pet − its share",)),
                ),
            ),
            (
                "H2b",
                "High-score photos' maps lie on the pet more than low-score photos'",
                "pet_mass",
                by_score,
                high_low,
                +1,
                split("pet_mass", high, low, quartile_names),
            ),
            (
                "H3",
                "Group photos (Group = 1) spread the model's attention over more separate peaks",
                "peaks",
                f"Group = 1 (n = {group.sum()}) vs Group = 0 (n = {(~group).sum()})",
                "difference of mean peak counts (group − single)",
                +1,
                split("peaks", group, ~group, ("group", "single")),
            ),
        ]
        for flag in SPATIAL_FLAGS:
            on = photos[flag].to_numpy() == 1
            tests.append(
                (
                    f"H4-{flag}-attention",
                    f"{FLAG_TEXT[flag].capitalize()} draws the model's attention away from the pet",
                    "pet_mass",
                    f"{flag} = 1 (n = {on.sum()}) vs {flag} = 0 (n = {(~on).sum()})",
                    "difference of mean mass on the pet (with − without)",
                    -1,
                    split("pet_mass", on, ~on, (f"{flag} = 1", f"{flag} = 0")),
                )
            )
        tests.append(
            (
                "H5",
                "The more the attended region (the map's hottest 20 %) contrasts in colour with "
                "the rest of the photo, the higher the score",
                "contrast",
                everyone,
                "Spearman ρ (contrast, score)",
                +1,
                scatter("contrast", "contrast of the attended region"),
            )
        )
        if has_cues:
            for name, thing in (("cue", "the cue (the orange ball)"), ("decoy", "the decoy")):
                tests.append(
                    (
                        name,
                        f"Attention on {thing} raises the score",
                        f"{name}_attention",
                        f"{everyone}; 0 where the photo lacks it",
                        f"Spearman ρ (map on the {name} − elsewhere, score)",
                        +1,
                        scatter(f"{name}_attention", f"map on the {name} − elsewhere"),
                    )
                )
        for hid, statement, stat, groups, kind, direction, (effect, plot) in tests:
            family = "cue" if hid in ("cue", "decoy") else hid.split("-")[0][:2]
            found.append(
                Hypothesis(
                    f"{hid}-{m}",
                    family,
                    statement,
                    f"{m}_{stat}",
                    m,
                    groups,
                    kind,
                    direction,
                    effect,
                    plot,
                )
            )
    return found


def exploratory(h: Hypothesis) -> bool:
    """A map hypothesis (one method's statistic on the explained sample), adjusted with the
    others; a whole-table one (no method) is pre-specified and judged on its own p."""
    return h.method is not None


def judge(hypotheses: Sequence[Hypothesis]) -> list[dict[str, Any]]:
    """Rows of hypotheses.json (FIELDS): BH across the exploratory ones (a whole-table one's
    p_adjusted is its own p), then each verdict."""
    bh = iter(adjust([h.result.p_value for h in hypotheses if exploratory(h)]))
    rows = []
    for h in hypotheses:
        p_adj = next(bh) if exploratory(h) else h.result.p_value
        e = h.result
        rows.append(
            {
                "id": h.id,
                "family": h.family,
                "statement": h.statement,
                "metric": h.metric,
                "method": h.method,
                "groups": h.groups,
                "n": int(sum(e.n)),
                "n_groups": list(e.n),
                "effect_kind": h.effect_kind,
                "effect": _number(e.effect),
                "ci_low": _number(e.ci_low),
                "ci_high": _number(e.ci_high),
                "p_value": _number(e.p_value),
                "p_adjusted": _number(p_adj),
                "test": e.test,
                "verdict": verdict(e, p_adj, h.direction),
            }
        )
    return rows


def _number(value: float) -> float | None:
    """JSON has no NaN: a number that could not be computed is null."""
    return float(value) if math.isfinite(value) else None
