"""Scores of out-of-fold predictions."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike
from sklearn.metrics import roc_auc_score

from pawpularity.data.schema import FLAGS


def rmse(target: ArrayLike, prediction: ArrayLike) -> float:
    t, p = np.asarray(target, dtype=float), np.asarray(prediction, dtype=float)
    return float(np.sqrt(np.mean((t - p) ** 2)))


def flag_auc(truth: np.ndarray, probs: np.ndarray) -> dict[str, float | None]:
    """ROC AUC of each predicted flag; None where the truth has a single class."""
    return {
        flag: float(roc_auc_score(truth[:, i], probs[:, i])) if len(set(truth[:, i])) == 2 else None
        for i, flag in enumerate(FLAGS)
    }
