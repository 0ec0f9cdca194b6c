"""Tips from the auxiliary head's predicted flags: one plain-language action per problem seen.

A flag that hurts (blur, a human, several pets, ...) gives a tip when the model thinks it is
present; a flag that helps (eyes, face, near, subject focus) when it thinks it is missing.
Action and Accessory are neither good nor bad advice, so they give none. A flag gives no tip
where the run's head cannot tell it (its out-of-fold ROC AUC below MIN_AUC), nor where measured
effects are given and they do not back the tip (a clear difference in the tip's direction):
such tips are dropped with the reason.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pawpularity.advise.evidence import Effect

THRESHOLD = 0.5  # a flag counts as present from this predicted probability
MIN_AUC = 0.7  # a flag tips only where the head tells it apart this well out of fold

# flag → (True when the tip is for the flag being present, the tip)
TIPS: dict[str, tuple[bool, str]] = {
    "Blur": (
        True,
        "The photo looks blurry: hold the phone steady (lean on something), tap the pet's face "
        "to focus and use more light.",
    ),
    "Human": (True, "A person is in the photo: crop them out or take a photo of the pet alone."),
    "Group": (
        True,
        "Several animals are in the photo: give each pet its own photo, with one pet filling "
        "the frame.",
    ),
    "Collage": (
        True,
        "This looks like a collage: upload single photos instead; the first one should show "
        "one pet clearly.",
    ),
    "Info": (
        True,
        "There is text or a logo on the photo: upload it without; put the details in the "
        "description.",
    ),
    "Occlusion": (
        True,
        "Something hides part of the pet (bars, a cage, a hand, a blanket): take the photo "
        "with nothing in between, e.g. outside the kennel.",
    ),
    "Eyes": (
        False,
        "The pet's eyes are not visible: get its attention with a toy or a sound so that it "
        "looks at the camera.",
    ),
    "Face": (
        False,
        "The pet's face is not clearly visible: photograph it from the front, at its eye level.",
    ),
    "Near": (
        False,
        "The pet looks far away: move closer or crop so that it fills at least half the photo.",
    ),
    "Subject Focus": (
        False,
        "The pet does not stand out: use a plain, tidy background and keep the pet in focus.",
    ),
}


@dataclass
class Tips:
    tips: list[dict[str, Any]] = field(default_factory=list)
    dropped: list[dict[str, str]] = field(default_factory=list)  # {"flag", "reason"}


def flag_tips(
    flags: dict[str, float],
    effects: dict[str, Effect] | None = None,
    auc: Mapping[str, float | None] | None = None,
) -> Tips:
    """One tip per problem the predicted flag probabilities show, the clearest first; with
    measured effects, each tip cites its flag's and the list puts the largest effects first.

    auc: each flag's out-of-fold ROC AUC (the run's metrics.json); a flag below MIN_AUC, or
    unmeasured, tips nothing. None: every flag is trusted (no run to ask).
    """
    effects = effects or {}
    found = Tips()
    for flag, (when_present, action) in TIPS.items():
        p = flags[flag]
        if (p >= THRESHOLD) != when_present:
            continue
        told = None if auc is None else auc.get(flag)
        if auc is not None and (told is None or told < MIN_AUC):
            measured = "unmeasured" if told is None else f"{told:.2f}"
            reason = f"the model cannot tell it (out-of-fold AUC {measured}, below {MIN_AUC})"
            found.dropped.append({"flag": flag, "reason": reason})
            continue
        effect = effects.get(flag)
        if effect is not None and not effect.backs(harmful=when_present):
            reason = f"the data do not back it: {effect.sentence()}"
            found.dropped.append({"flag": flag, "reason": reason})
            continue
        evidence = None
        if effect is not None:
            evidence = {**vars(effect), "text": f"The data back this tip: {effect.sentence()}"}
        found.tips.append(
            {"flag": flag, "probability": round(p, 4), "tip": action, "evidence": evidence}
        )

    def order(tip: dict[str, Any]) -> tuple[float, float]:
        evidence = tip["evidence"]
        return (-abs(evidence["diff"]) if evidence else 0.0, -abs(tip["probability"] - 0.5))

    found.tips.sort(key=order)
    return found
