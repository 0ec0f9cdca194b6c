"""Prediction intervals and percentiles of scores, from a run's out-of-fold predictions.

Split-conformal on the cross-validation residuals (RUN/oof.csv): each training photo's
|target − prediction| comes from a model that did not train on it, so it is a fair sample of the
error on a new photo. The interval at `level` is score ± the ⌈(n + 1)·level⌉-th smallest of the
n residuals (what MAPIE's SplitConformalRegressor computes), clipped to 1–100: at least `level`
of new photos' true scores fall inside. The folds' average scores a new photo a little better
than one fold alone did its validation photos, so the interval errs on the wide side.

The percentile places a score among the training photos as the same run scored them out of
fold: 62 means it scores higher than 62 % of them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from pawpularity.data.schema import SCORE_MAX, SCORE_MIN
from pawpularity.errors import ConfigError, RunError
from pawpularity.runs.config import INTERVAL

__all__ = [
    "COLUMNS",
    "INTERVAL",
    "Calibration",
    "check_level",
    "conformal_quantile",
    "read_calibration",
]

OOF = "oof.csv"  # Id, fold, target, prediction: every run writes it when training ends
COLUMNS = ("score_low", "score_high", "percentile")  # beside every score


@dataclass(frozen=True)
class Calibration:
    """A run's out-of-fold residuals, the folds that validated them, and its scores (sorted)."""

    residuals: np.ndarray  # |target − prediction| per training photo
    folds: np.ndarray  # the fold whose model scored each
    scores: np.ndarray  # out-of-fold predictions, ascending

    def half_width(self, level: float) -> float:
        """The conformal quantile of the residuals (inf when there are too few for `level`)."""
        return conformal_quantile(self.residuals, level)

    def bounds(self, scores: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray]:
        """(low, high) of each score's interval, within 1–100 (NaN where the score is)."""
        q = self.half_width(level)
        s = np.asarray(scores, np.float64)
        return np.clip(s - q, SCORE_MIN, SCORE_MAX), np.clip(s + q, SCORE_MIN, SCORE_MAX)

    def percentile(self, scores: np.ndarray) -> np.ndarray:
        """The share (0–100) of training photos each score is above (NaN stays NaN)."""
        s = np.asarray(scores, np.float64)
        below = np.searchsorted(self.scores, s, side="left") / len(self.scores) * 100
        return np.where(np.isnan(s), np.nan, below)

    def columns(self, scores: np.ndarray, level: float) -> np.ndarray:
        """N×3: COLUMNS of each score."""
        low, high = self.bounds(scores, level)
        return np.stack([low, high, self.percentile(scores)], axis=1)

    def coverage(self, level: float) -> float | None:
        """The share of training photos whose true score falls in an interval calibrated on the
        other folds alone: the interval tried on photos it did not see (None with one fold)."""
        kept = [
            self.residuals[self.folds == k]
            <= conformal_quantile(self.residuals[self.folds != k], level)
            for k in np.unique(self.folds)
        ]
        return None if len(kept) < 2 else float(np.concatenate(kept).mean())

    def describe(self, level: float) -> str:
        """The interval in one line, for the command line."""
        q, held = self.half_width(level), self.coverage(level)
        width = "the whole 1–100 range" if math.isinf(q) else f"score ± {q:.1f}"
        checked = "" if held is None else f"; held out fold by fold: {held:.1%}"
        return (
            f"intervals: {level:.0%} of true scores should fall within {width} (split-conformal "
            f"on {len(self.residuals)} out-of-fold residuals{checked})"
        )


def conformal_quantile(residuals: np.ndarray, level: float) -> float:
    """The ⌈(n + 1)·level⌉-th smallest of n residuals; inf when that is more than n."""
    n = len(residuals)
    k = math.ceil((n + 1) * check_level(level))
    return float(np.partition(residuals, k - 1)[k - 1]) if k <= n else math.inf


def check_level(level: float) -> float:
    if not 0 < level < 1:
        raise ConfigError(f"--interval {level}: give the share of scores to cover, e.g. 0.8")
    return float(level)


def read_calibration(run_dir: Path, fold: int | None = None) -> Calibration:
    """RUN/oof.csv as a Calibration; with `fold`, only the photos that fold's model validated."""
    path = Path(run_dir) / OOF
    try:
        oof = pd.read_csv(path)
    except FileNotFoundError:
        raise RunError(f"{path}: missing; training writes it when the run ends") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as e:
        raise RunError(f"{path}: not a CSV ({e})") from None
    if missing := {"fold", "target", "prediction"} - set(oof.columns):
        raise RunError(f"{path}: columns {sorted(missing)} missing")
    if fold is not None:
        oof = oof[oof["fold"] == fold]
    target = pd.to_numeric(oof["target"], errors="coerce").to_numpy(np.float64)
    prediction = pd.to_numeric(oof["prediction"], errors="coerce").to_numpy(np.float64)
    good = np.isfinite(target) & np.isfinite(prediction)
    if not good.any():
        which = "" if fold is None else f" of fold {fold}"
        raise RunError(f"{path}: no out-of-fold predictions{which}")
    residuals = np.abs(target[good] - prediction[good])
    folds = oof["fold"].to_numpy()[good]
    return Calibration(residuals, folds, np.sort(prediction[good]))
