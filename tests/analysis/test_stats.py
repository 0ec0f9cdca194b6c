"""Effects, intervals, p-values and verdicts on data whose truth is known."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy import stats

from pawpularity.analysis.guidelines import guidelines
from pawpularity.analysis.stats import (
    MIN_GROUP,
    Effect,
    adjust,
    correlation,
    difference,
    one_sample,
    verdict,
    welch,
)


def test_difference_finds_a_shift_and_covers_it() -> None:
    rng = np.random.default_rng(0)
    a, b = rng.normal(1.0, 1.0, 60), rng.normal(0.0, 1.0, 60)
    e = difference(a, b, seed=0)
    assert e.effect == a.mean() - b.mean()
    assert e.ci_low < 1.0 < e.ci_high and e.ci_low > 0
    assert e.p_value < 0.001 and e.n == (60, 60) and e.enough
    assert difference(a, b, seed=0) == e  # seeded: the same numbers again


def test_difference_of_equal_groups_is_not_significant() -> None:
    rng = np.random.default_rng(1)
    e = difference(rng.normal(0, 1, 80), rng.normal(0, 1, 80), seed=0)
    assert e.ci_low < 0 < e.ci_high and e.p_value > 0.05


def test_welch_matches_scipy() -> None:
    rng = np.random.default_rng(2)
    a, b = rng.normal(40, 20, 900), rng.normal(37, 15, 9000)
    e = welch(a, b)
    ref = stats.ttest_ind(a, b, equal_var=False)
    ci = ref.confidence_interval()
    assert math.isclose(e.effect, a.mean() - b.mean())
    assert math.isclose(e.ci_low, ci.low) and math.isclose(e.ci_high, ci.high)
    assert math.isclose(e.p_value, ref.pvalue) and e.test == "welch"


def test_welch_of_a_single_photo_has_no_interval() -> None:
    e = welch(np.array([50.0]), np.arange(30.0))
    assert math.isnan(e.ci_low) and not e.enough
    assert verdict(e, math.nan, 0) == "inconclusive"


def test_correlation_is_spearman() -> None:
    rng = np.random.default_rng(3)
    x = rng.normal(size=100)
    y = x**3 + rng.normal(0, 0.5, 100)
    e = correlation(x, y, seed=0)
    assert math.isclose(e.effect, stats.spearmanr(x, y).statistic)
    assert e.ci_low < e.effect < e.ci_high and e.p_value < 0.001


def test_correlation_of_a_constant_is_not_computed() -> None:
    e = correlation(np.zeros(40), np.arange(40.0), seed=0)
    assert math.isnan(e.effect) and verdict(e, math.nan, 1) == "inconclusive"


def test_one_sample_sign_flip() -> None:
    rng = np.random.default_rng(4)
    assert one_sample(rng.normal(0.5, 1, 80), seed=0).p_value < 0.01
    assert one_sample(rng.normal(0.0, 1, 80), seed=0).p_value > 0.05


def test_adjust_is_benjamini_hochberg_and_skips_nan() -> None:
    p = [0.01, math.nan, 0.04, 0.03, 0.5]
    out = adjust(p)
    expected = stats.false_discovery_control([0.01, 0.04, 0.03, 0.5])
    assert math.isnan(out[1])
    assert np.allclose([out[0], out[2], out[3], out[4]], expected)


def effect(value: float, low: float, high: float, n: int = 50) -> Effect:
    return Effect(value, low, high, 0.5, (n, n), 1.0, "permutation", n >= MIN_GROUP)


def test_verdicts() -> None:
    assert verdict(effect(2.0, 1.5, 2.5), 0.001, +1) == "supported"
    assert verdict(effect(-2.0, -2.5, -1.5), 0.001, -1) == "supported"
    assert verdict(effect(-2.0, -2.5, -1.5), 0.001, 0) == "supported"
    # significant, smaller than the meaningful 1.0: a real, small effect
    assert verdict(effect(0.4, 0.1, 0.7), 0.01, +1) == "small"
    # significant, but the other way
    assert verdict(effect(-2.0, -3.0, -1.0), 0.001, +1) == "opposite"
    # not significant and the interval lies within ±1.0 around 0
    assert verdict(effect(0.1, -0.4, 0.6), 0.6, +1) == "no effect"
    # not significant but a meaningful effect is still possible
    assert verdict(effect(0.1, -0.4, 1.6), 0.6, +1) == "inconclusive"
    # small groups are never confident, however strong the effect
    assert verdict(effect(9.0, 8.0, 10.0, n=MIN_GROUP - 1), 1e-6, +1) == "inconclusive"


def test_verdicts_on_score_tables() -> None:
    """Scores with the spread of Pawpularity's (SD 20: the meaningful size is 10 points)."""
    rng = np.random.default_rng(5)

    def judged(shift: float, n: int, direction: int = 0) -> str:
        with_, without = rng.normal(38 + shift, 20, n), rng.normal(38, 20, 4 * n)
        e = welch(with_, without)
        return verdict(e, e.p_value, direction)

    assert judged(-15.0, 500) == "supported"
    assert judged(-1.9, 3000) == "small"  # Blur's effect on the real table
    assert judged(0.0, 3000) == "no effect"
    assert judged(-15.0, 500, direction=+1) == "opposite"
    assert judged(-15.0, MIN_GROUP - 1) == "inconclusive"


def row(flag: str, value: float, low: float, high: float, verdict: str) -> dict[str, Any]:
    numbers = {"effect": value, "ci_low": low, "ci_high": high, "p_adjusted": 0.01, "n": 9912}
    return {"id": f"H4-{flag}", "method": None, "verdict": verdict, **numbers}


def test_guidelines_state_a_small_effect_and_no_effect() -> None:
    lines = guidelines(
        [row("Blur", -1.9, -3.5, -0.3, "small"), row("Human", 0.2, -1, 1.4, "no effect")]
    )
    assert lines[0].startswith("Avoid a blurry or noisy photo")
    assert "about 1.9 points lower on average, small but real" in lines[0]
    assert "makes no measurable difference" in lines[1] and "Human = 1" in lines[1]
    assert guidelines([row("Blur", -1.9, -3.5, 1.0, "inconclusive")]) == []


def test_guidelines_on_species() -> None:
    def species(value: float, low: float, high: float, verdict: str) -> dict[str, Any]:
        return {**row("Blur", value, low, high, verdict), "id": "H6-species"}

    (line,) = guidelines([species(7.5, 6.6, 8.4, "small")])
    assert line.startswith("Dogs score about 7.5 points higher than cats on average, small but")
    assert "(H6-species: +7.5 (95 % CI +6.6 to +8.4, p 0.01, n = 9912))" in line
    (line,) = guidelines([species(0.1, -0.9, 1.1, "no effect")])
    assert line.startswith("Species makes no measurable difference")
    assert guidelines([species(-7.5, -8.4, -6.6, "opposite")]) == []
    assert guidelines([species(7.5, -0.4, 15.0, "inconclusive")]) == []
