"""Each metadata flag's effect on the score: mean with − mean without, Welch's 95 % interval."""

from __future__ import annotations

import numpy as np
import pandas as pd

from pawpularity.analysis.stats import Effect, welch
from pawpularity.data.schema import FLAGS, TARGET

COLUMNS = (
    "flag",
    "n_with",
    "n_without",
    "mean_with",
    "mean_without",
    "diff",
    "ci_low",
    "ci_high",
    "p_value",
)
# What a set flag means, after the competition's data description.
FLAG_TEXT = {
    "Subject Focus": "a pet that stands out against an uncluttered background",
    "Eyes": "both eyes facing the camera",
    "Face": "a clear face facing the camera",
    "Near": "a single pet filling much of the frame",
    "Action": "the pet in action (jumping, running)",
    "Accessory": "a prop or accessory (toy, sticker)",
    "Group": "more than one pet",
    "Collage": "a collage or frame (digitally retouched)",
    "Human": "a human in the photo",
    "Occlusion": "something blocking part of the pet (a cage, a fence, a person)",
    "Info": "added text or labels",
    "Blur": "a blurry or noisy photo",
}


def flag_effects(table: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, Effect]]:
    """One row per flag (COLUMNS), and each flag's Effect for the hypothesis table."""
    score = table[TARGET].to_numpy(float)
    rows, effects = [], {}
    for flag in FLAGS:
        on = table[flag].to_numpy() == 1
        effects[flag] = e = welch(score[on], score[~on])
        rows.append(
            {
                "flag": flag,
                "n_with": int(on.sum()),
                "n_without": int((~on).sum()),
                "mean_with": _mean(score[on]),
                "mean_without": _mean(score[~on]),
                "diff": _mean(score[on]) - _mean(score[~on]),
                "ci_low": e.ci_low,
                "ci_high": e.ci_high,
                "p_value": e.p_value,
            }
        )
    return pd.DataFrame(rows, columns=list(COLUMNS)), effects


def _mean(values: np.ndarray) -> float:
    return float(values.mean()) if len(values) else float("nan")
