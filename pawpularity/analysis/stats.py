"""Effects with 95 % confidence intervals and p-values, and verdicts that admit uncertainty.

Three designs: the difference of two groups' means (bootstrap CI, permutation test; or Welch's
t for large tables: exact and instant), a Spearman correlation (paired bootstrap CI, permutation
test) and one sample's mean against zero (bootstrap CI, sign-flip test). Every draw is seeded.

A verdict needs enough data: with fewer than MIN_GROUP photos in a group (or no numbers) it is
`inconclusive`. Otherwise significance (p < ALPHA, after the caller's Benjamini–Hochberg
adjustment where one applies) is kept apart from size (|effect| against the meaningful size:
half a standard deviation, or ρ = 0.3): significant against the predicted sign is `opposite`;
significant and at least the meaningful size is `supported`, smaller `small` (a real effect); not
significant with the whole interval inside (−meaningful, +meaningful) and covering 0 is
`no effect`; anything else `inconclusive`.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

ALPHA = 0.05
CONFIDENCE = 0.95
RESAMPLES = 4999
MIN_GROUP = 10  # photos per group (pairs for a correlation: twice this)
MEANINGFUL_SD = 0.5  # a difference of half a (pooled) standard deviation
MEANINGFUL_RHO = 0.3

Statistic = Callable[..., np.ndarray]  # vectorised: (samples..., axis) -> values


@dataclass(frozen=True)
class Effect:
    effect: float
    ci_low: float
    ci_high: float
    p_value: float
    n: tuple[int, ...]  # per group
    meaningful: float  # the smallest effect that matters, in the effect's units
    test: str
    enough: bool  # enough data for a confident verdict


def _nan_effect(n: tuple[int, ...], test: str) -> Effect:
    return Effect(math.nan, math.nan, math.nan, math.nan, n, math.nan, test, False)


def difference(a: np.ndarray, b: np.ndarray, seed: int) -> Effect:
    """mean(a) − mean(b): percentile-bootstrap CI, two-sided permutation p-value."""
    a, b = _finite(a), _finite(b)
    n = (len(a), len(b))
    if min(n) < 2:
        return _nan_effect(n, "permutation")

    def diff(x: np.ndarray, y: np.ndarray, axis: int = -1) -> np.ndarray:
        return np.mean(x, axis=axis) - np.mean(y, axis=axis)

    low, high = _bootstrap((a, b), diff, seed, paired=False)
    p = _permutation_p((a, b), diff, "independent", seed)
    pooled = math.sqrt((np.var(a, ddof=1) + np.var(b, ddof=1)) / 2)
    return Effect(
        float(diff(a, b)),
        low,
        high,
        p,
        n,
        MEANINGFUL_SD * pooled,
        "permutation",
        min(n) >= MIN_GROUP,
    )


def welch(a: np.ndarray, b: np.ndarray) -> Effect:
    """mean(a) − mean(b) with Welch's t interval and test (unequal variances)."""
    a, b = _finite(a), _finite(b)
    n = (len(a), len(b))
    if min(n) < 2:
        return _nan_effect(n, "welch")
    va, vb = np.var(a, ddof=1) / len(a), np.var(b, ddof=1) / len(b)
    se = math.sqrt(va + vb)
    d = float(np.mean(a) - np.mean(b))
    pooled = math.sqrt((np.var(a, ddof=1) + np.var(b, ddof=1)) / 2)
    if se == 0:  # both groups constant
        low = high = d
        p = 1.0 if d == 0 else 0.0
    else:
        df = (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1))
        half = stats.t.ppf((1 + CONFIDENCE) / 2, df) * se
        low, high = float(d - half), float(d + half)
        p = float(stats.ttest_ind(a, b, equal_var=False).pvalue)
    return Effect(d, low, high, p, n, MEANINGFUL_SD * pooled, "welch", min(n) >= MIN_GROUP)


def correlation(x: np.ndarray, y: np.ndarray, seed: int) -> Effect:
    """Spearman's ρ of paired values: paired-bootstrap CI, two-sided permutation p-value."""
    keep = np.isfinite(x) & np.isfinite(y)
    x, y = np.asarray(x, float)[keep], np.asarray(y, float)[keep]
    n = (len(x),)
    if len(x) < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return _nan_effect(n, "permutation")

    def pearson(u: np.ndarray, v: np.ndarray, axis: int = -1) -> np.ndarray:
        u = u - u.mean(axis=axis, keepdims=True)
        v = v - v.mean(axis=axis, keepdims=True)
        with np.errstate(invalid="ignore", divide="ignore"):
            return (u * v).sum(axis) / np.sqrt((u * u).sum(axis) * (v * v).sum(axis))

    def rho(u: np.ndarray, v: np.ndarray, axis: int = -1) -> np.ndarray:
        """Spearman's ρ: Pearson's r of the ranks (ties share their mean rank)."""
        return pearson(stats.rankdata(u, axis=axis), stats.rankdata(v, axis=axis), axis)

    low, high = _bootstrap((x, y), rho, seed, paired=True)
    ranks = stats.rankdata(x), stats.rankdata(y)  # shuffling pairs leaves the ranks as they are
    p = _permutation_p(ranks, pearson, "pairings", seed)
    return Effect(
        float(pearson(*ranks)),
        low,
        high,
        p,
        n,
        MEANINGFUL_RHO,
        "permutation",
        len(x) >= 2 * MIN_GROUP,
    )


def one_sample(x: np.ndarray, seed: int) -> Effect:
    """mean(x) against 0: bootstrap CI, two-sided sign-flip permutation p-value."""
    x = _finite(x)
    n = (len(x),)
    if len(x) < 2:
        return _nan_effect(n, "sign-flip")

    def mean(u: np.ndarray, axis: int = -1) -> np.ndarray:
        return np.mean(u, axis=axis)

    low, high = _bootstrap((x,), mean, seed, paired=False)
    p = _permutation_p((x,), mean, "samples", seed)  # one sample: its signs are flipped
    return Effect(
        float(x.mean()),
        low,
        high,
        p,
        n,
        MEANINGFUL_SD * float(np.std(x, ddof=1)),
        "sign-flip",
        len(x) >= 2 * MIN_GROUP,
    )


def adjust(p_values: Sequence[float]) -> list[float]:
    """Benjamini–Hochberg adjusted p-values; NaN (no test) stays NaN and is not counted."""
    p = np.asarray(p_values, dtype=float)
    out = np.full(p.shape, np.nan)
    tested = np.isfinite(p)
    if tested.any():
        out[tested] = stats.false_discovery_control(p[tested], method="bh")
    return out.tolist()


VERDICTS = ("supported", "small", "no effect", "opposite", "inconclusive")


def verdict(e: Effect, p_adjusted: float, direction: int) -> str:
    """One of VERDICTS for a hypothesis predicting an effect of the sign `direction` (+1, −1, or
    0 for either)."""
    numbers = (e.effect, e.ci_low, e.ci_high, p_adjusted, e.meaningful)
    if not e.enough or not all(math.isfinite(v) for v in numbers):
        return "inconclusive"
    if p_adjusted < ALPHA:
        if direction != 0 and e.effect * direction <= 0:
            return "opposite"
        return "supported" if abs(e.effect) >= e.meaningful else "small"
    inside = -e.meaningful < e.ci_low <= 0 <= e.ci_high < e.meaningful
    return "no effect" if inside else "inconclusive"


def _finite(values: np.ndarray) -> np.ndarray:
    v = np.asarray(values, dtype=float)
    return v[np.isfinite(v)]


def _permutation_p(
    data: tuple[np.ndarray, ...], statistic: Statistic, kind: str, seed: int
) -> float:
    """Two-sided permutation p-value; `kind` is scipy's permutation_type."""
    result = stats.permutation_test(
        data,
        statistic,
        permutation_type=kind,
        n_resamples=RESAMPLES,
        vectorized=True,
        rng=np.random.default_rng(seed),
    )
    return float(result.pvalue)


def _bootstrap(
    data: tuple[np.ndarray, ...], statistic: Statistic, seed: int, paired: bool
) -> tuple[float, float]:
    with warnings.catch_warnings():  # a degenerate resample (all ties) is a NaN, not a warning
        warnings.simplefilter("ignore")
        result = stats.bootstrap(
            data,
            statistic,
            paired=paired,
            vectorized=True,
            n_resamples=RESAMPLES,
            confidence_level=CONFIDENCE,
            method="percentile",
            rng=np.random.default_rng(seed),
        )
    ci = result.confidence_interval
    return float(ci.low), float(ci.high)
