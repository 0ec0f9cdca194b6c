"""Tips from the auxiliary head's predicted flags: one plain-language action per problem seen.

A flag that hurts (blur, a human, several pets, ...) gives a tip when the model thinks it is
present; a flag that helps (eyes, face, near, subject focus) when it thinks it is missing.
Action and Accessory are neither good nor bad advice, so they give none.
"""

from __future__ import annotations

from typing import Any

from pawpularity.advise.evidence import Effect

THRESHOLD = 0.5  # a flag counts as present from this predicted probability

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


def flag_tips(
    flags: dict[str, float], effects: dict[str, Effect] | None = None
) -> list[dict[str, Any]]:
    """One tip per problem the predicted flag probabilities show, the clearest first; with
    measured effects, each tip cites its flag's and the list puts the largest effects first."""
    effects = effects or {}
    tips = []
    for flag, (when_present, action) in TIPS.items():
        p = flags[flag]
        if (p >= THRESHOLD) != when_present:
            continue
        effect = effects.get(flag)
        tips.append(
            {
                "flag": flag,
                "probability": round(p, 4),
                "tip": action,
                "evidence": None if effect is None else {**vars(effect), "text": effect.sentence()},
            }
        )

    def order(tip: dict[str, Any]) -> tuple[float, float]:
        evidence = tip["evidence"]
        return (-abs(evidence["diff"]) if evidence else 0.0, -abs(tip["probability"] - 0.5))

    return sorted(tips, key=order)
