"""Measured flag effects from `pawpularity analyze`: DIR/flag_effects.csv, read by its contract.

Columns: flag, n_with, n_without, mean_with, mean_without, diff, ci_low, ci_high, p_value; diff
is mean_with − mean_without in score points, [ci_low, ci_high] its 95 % confidence interval.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

from pawpularity.data.schema import FLAGS
from pawpularity.errors import DataError

EFFECTS_FILE = "flag_effects.csv"
COUNTS = ("n_with", "n_without")
NUMBERS = ("mean_with", "mean_without", "diff", "ci_low", "ci_high", "p_value")


@dataclass(frozen=True)
class Effect:
    flag: str
    n_with: int
    n_without: int
    mean_with: float
    mean_without: float
    diff: float
    ci_low: float
    ci_high: float
    p_value: float

    def backs(self, harmful: bool) -> bool:
        """A clear difference (the 95 % interval excludes 0) in the direction a tip assumes:
        lower with a `harmful` flag, higher with a helpful one."""
        return self.ci_high < 0 if harmful else self.ci_low > 0

    def sentence(self) -> str:
        """E.g. 'Photos with Blur scored 2.9 points lower on average (95 % CI −4.1 to −1.7,
        p = 0.002; 704 with, 9,208 without).'"""
        direction = "higher" if self.diff > 0 else "lower"
        clear = "" if self.ci_low > 0 or self.ci_high < 0 else ", not a clear difference"
        return (
            f"Photos with {self.flag} scored {abs(self.diff):.1f} points {direction} on average "
            f"(95 % CI {self.ci_low:+.1f} to {self.ci_high:+.1f}, p = {self.p_value:.2g}"
            f"{clear}; {self.n_with:,} with, {self.n_without:,} without)."
        )


def read_effects(path: Path) -> dict[str, Effect]:
    """The effects per flag from ANALYZE_DIR (or its flag_effects.csv itself)."""
    path = Path(path)
    file = path / EFFECTS_FILE if path.is_dir() else path
    if not file.is_file():
        raise DataError(f"{file}: not found (make it with `pawpularity analyze DATA --out DIR`)")
    try:
        with file.open(newline="", encoding="utf-8-sig") as f:
            rows = list(csv.DictReader(f))
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise DataError(f"{file}: not a readable CSV file ({e})") from e
    missing = [c for c in ("flag", *COUNTS, *NUMBERS) if rows and c not in rows[0]]
    if not rows or missing:
        raise DataError(
            f"{file}: expected the columns of flag_effects.csv, missing {missing or 'rows'}"
        )
    effects = (_effect(row, file, i) for i, row in enumerate(rows, start=2) if row["flag"] in FLAGS)
    return {e.flag: e for e in effects if e is not None}


def _effect(row: dict[str, str], file: Path, line: int) -> Effect | None:
    """The row's effect; None when a number is empty or NaN (a flag the analysis could not
    measure, e.g. no photo had it)."""
    if any(not (row[c] or "").strip() for c in (*COUNTS, *NUMBERS)):
        return None
    try:
        counts = [int(float(row[c])) for c in COUNTS]
        numbers = [float(row[c]) for c in NUMBERS]
    except (TypeError, ValueError) as e:
        raise DataError(f"{file}, line {line}: not a number ({e})") from e
    if not all(math.isfinite(v) for v in numbers):
        return None
    return Effect(row["flag"], *counts, *numbers)
