"""`analyze --metadata-only`: exact flag effects from a Kaggle-sized train.csv, and bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from typer.testing import CliRunner

from pawpularity.analysis.flags import COLUMNS
from pawpularity.analysis.metadata import analyze_metadata
from pawpularity.cli import app
from pawpularity.data.demo import FLAG_RATES
from pawpularity.data.schema import FLAGS, ID, TARGET
from pawpularity.errors import DataError

REQUIRED = {"id", "statement", "metric", "groups", "n", "effect", "ci_low", "ci_high"}
REQUIRED |= {"p_value", "p_adjusted", "verdict"}


def kaggle_like_csv(path: Path, n: int = 9912, seed: int = 0) -> pd.DataFrame:
    """A train.csv the size of the real one: flags at the real rates, Blur costs 5 points."""
    rng = np.random.default_rng(seed)
    table = pd.DataFrame({ID: [f"{i:032x}" for i in range(n)]})
    for flag in FLAGS:
        table[flag] = (rng.random(n) < FLAG_RATES[flag]).astype(int)
    score = rng.normal(38, 20.6, n) - 5 * table["Blur"]
    table[TARGET] = np.clip(np.rint(score), 1, 100).astype(int)
    table.to_csv(path, index=False)
    return table


def test_flag_effects_are_exact(tmp_path: Path) -> None:
    table = kaggle_like_csv(tmp_path / "train.csv")
    summary = analyze_metadata(tmp_path / "train.csv", tmp_path / "out")
    effects = pd.read_csv(tmp_path / "out" / "flag_effects.csv")
    assert tuple(effects.columns) == COLUMNS and list(effects["flag"]) == list(FLAGS)
    for row in effects.itertuples(index=False):
        on = table[row.flag] == 1
        with_, without = table[TARGET][on], table[TARGET][~on]
        assert row.n_with == on.sum() and row.n_without == (~on).sum()
        assert row.diff == pytest.approx(with_.mean() - without.mean(), abs=1e-9)
        ci = stats.ttest_ind(with_, without, equal_var=False).confidence_interval()
        assert (row.ci_low, row.ci_high) == pytest.approx((ci.low, ci.high), abs=1e-9)
    blur = effects.set_index("flag").loc["Blur"]
    assert blur.ci_low < -5 < blur.ci_high  # covers the planted effect

    rows = json.loads((tmp_path / "out" / "hypotheses.json").read_text())
    assert all(set(r) >= REQUIRED for r in rows) and len(rows) == len(FLAGS)
    verdicts = {r["id"]: r["verdict"] for r in rows}
    assert verdicts["H4-Blur"] in ("supported", "small")
    assert summary["verdicts"].get("supported", 0) + summary["verdicts"].get("small", 0) >= 1
    guidelines = (tmp_path / "out" / "guidelines.md").read_text()
    assert "Avoid a blurry or noisy photo" in guidelines and "95 % CI" in guidelines
    html = (tmp_path / "out" / "report.html").read_text()
    # the score distribution, and the forest plot in its section and in H4's
    assert html.count("data:image/png;base64,") == 3


def test_cli_metadata_only(tmp_path: Path) -> None:
    kaggle_like_csv(tmp_path / "train.csv", n=300)
    result = CliRunner().invoke(
        app, ["analyze", "--metadata-only", str(tmp_path / "train.csv"), "--out", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    assert "report:" in result.output and (tmp_path / "report.html").is_file()


@pytest.mark.parametrize(
    "args",
    [
        ["--metadata-only", "train.csv", "some-run"],  # both ways at once
        ["some-run"],  # DATA missing
    ],
)
def test_cli_refuses_mixed_arguments(tmp_path: Path, args: list[str]) -> None:
    result = CliRunner().invoke(app, ["analyze", *args, "--out", str(tmp_path)])
    assert result.exit_code != 0 and result.exception is not None


def test_missing_and_malformed_csv(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="file not found"):
        analyze_metadata(tmp_path / "nope.csv", tmp_path / "out")
    table = kaggle_like_csv(tmp_path / "train.csv", n=50)
    table.drop(columns=["Blur"]).to_csv(tmp_path / "bad.csv", index=False)
    with pytest.raises(DataError, match="missing columns: Blur"):
        analyze_metadata(tmp_path / "bad.csv", tmp_path / "out")
    assert not (tmp_path / "out" / "report.html").exists()
