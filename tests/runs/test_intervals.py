"""Prediction intervals: MAPIE's split-conformal on the same residuals, coverage on photos the
calibration did not see, percentiles, and every place a score is shown carries its interval."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from mapie.regression import SplitConformalRegressor
from sklearn.base import BaseEstimator, RegressorMixin
from typer.testing import CliRunner

from pawpularity.cli import app
from pawpularity.errors import RunError
from pawpularity.runs.intervals import COLUMNS, read_calibration
from tests.conftest import PETS

PHOTO = PETS / "dog_pug_16.jpg"


class Given(RegressorMixin, BaseEstimator):  # type: ignore[misc]
    """A 'model' whose predictions are its input: MAPIE sees the same out-of-fold scores."""

    def fit(self, x: np.ndarray, y: np.ndarray) -> Given:
        self.fitted_ = True
        return self

    def predict(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(x)[:, 0]


def oof_run(path: Path, target: np.ndarray, prediction: np.ndarray, folds: int = 5) -> Path:
    path.mkdir(parents=True)
    fold = np.arange(len(target)) % folds
    ids = [f"p{i}" for i in range(len(target))]
    frame = {"Id": ids, "fold": fold, "target": target, "prediction": prediction}
    pd.DataFrame(frame).to_csv(path / "oof.csv", index=False)
    return path


def noisy(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Skewed true scores and predictions shrunk towards the mean, as real runs make them."""
    target = np.clip(rng.gamma(4, 9.5, n), 1, 100)
    prediction = 38 + 0.3 * (target - 38) + rng.normal(0, 6, n)
    return target, prediction


def mapie(target: np.ndarray, prediction: np.ndarray, level: float) -> SplitConformalRegressor:
    x = prediction[:, None]
    fitted = SplitConformalRegressor(Given().fit(x, target), confidence_level=level, prefit=True)
    return fitted.conformalize(x, target)


@pytest.mark.parametrize(("n", "level"), [(500, 0.8), (500, 0.5), (37, 0.9), (9, 0.8)])
def test_intervals_are_mapies_split_conformal(tmp_path: Path, n: int, level: float) -> None:
    rng = np.random.default_rng(n)
    target, prediction = noisy(rng, n)
    calibration = read_calibration(oof_run(tmp_path / "run", target, prediction))
    new = rng.uniform(1, 100, 40)
    _, bounds = mapie(target, prediction, level).predict_interval(new[:, None])
    low, high = calibration.bounds(new, level)
    assert np.allclose(low, np.clip(bounds[:, 0, 0], 1, 100))
    assert np.allclose(high, np.clip(bounds[:, 1, 0], 1, 100))
    assert (low < new).all() and (high > new).all() and (high - low < 99).all()


def test_too_few_residuals_for_the_level_give_the_whole_range(tmp_path: Path) -> None:
    target, prediction = noisy(np.random.default_rng(0), 20)  # 20 cannot bound 99 % of scores
    with pytest.raises(ValueError, match="too low"):
        mapie(target, prediction, 0.99).predict_interval(prediction[:, None])
    low, high = read_calibration(oof_run(tmp_path / "run", target, prediction)).bounds(
        prediction, 0.99
    )
    assert (low == 1).all() and (high == 100).all()


@pytest.mark.parametrize("level", [0.5, 0.8, 0.9])
def test_new_photos_fall_inside_at_the_level(tmp_path: Path, level: float) -> None:
    rng = np.random.default_rng(3)
    calibration = read_calibration(oof_run(tmp_path / "run", *noisy(rng, 4000)))
    target, prediction = noisy(rng, 4000)  # photos the calibration never saw
    low, high = calibration.bounds(prediction, level)
    assert ((low <= target) & (target <= high)).mean() == pytest.approx(level, abs=0.03)
    assert calibration.coverage(level) == pytest.approx(level, abs=0.03)


def test_percentile_ranks_among_the_training_scores(tmp_path: Path) -> None:
    prediction = np.arange(1.0, 101.0)
    calibration = read_calibration(oof_run(tmp_path / "run", prediction, prediction))
    got = calibration.percentile(np.array([0.5, 1.0, 25.5, 100.0, 200.0, np.nan]))
    assert np.allclose(got[:5], [0, 0, 25, 99, 100]) and np.isnan(got[5])


def test_one_fold_is_calibrated_on_its_own_photos(tmp_path: Path) -> None:
    target = np.full(200, 40.0)
    prediction = target + np.where(np.arange(200) % 2 == 0, 1.0, 20.0)  # fold 1 misses by far more
    run = oof_run(tmp_path / "run", target, prediction, folds=2)
    assert read_calibration(run, fold=0).half_width(0.8) == 1.0
    assert read_calibration(run, fold=1).half_width(0.8) == 20.0
    assert read_calibration(run, fold=0).coverage(0.8) is None  # nothing held out to check on


@pytest.mark.parametrize(
    ("text", "error"),
    [(None, "oof.csv: missing"), ("Id,fold\np0,0\n", "columns ['prediction', 'target']"),
     ("Id,fold,target,prediction\np0,0,x,\n", "no out-of-fold predictions")],
)  # fmt: skip
def test_a_run_without_usable_residuals_says_so(
    tmp_path: Path, text: str | None, error: str
) -> None:
    (tmp_path / "run").mkdir()
    if text is not None:
        (tmp_path / "run" / "oof.csv").write_text(text)
    with pytest.raises(RunError, match=error.replace("[", r"\[")):
        read_calibration(tmp_path / "run")


def cli(*args: Any) -> tuple[int, str]:
    result = CliRunner().invoke(app, [str(a) for a in args])
    return result.exit_code, result.output


def test_predict_writes_each_score_with_its_interval(tiny_run: Path, tmp_path: Path) -> None:
    widths = {}
    for level in (0.5, 0.9):
        out = tmp_path / f"p{level}.csv"
        code, output = cli("predict", tiny_run, PHOTO, PHOTO, "--out", out, "--interval", level)
        assert code == 0, output
        assert f"intervals: {level:.0%} of true scores should fall within score ±" in output
        frame = pd.read_csv(out)
        assert (frame["score_low"] <= frame["score"]).all()
        assert (frame["score"] <= frame["score_high"]).all()
        assert frame["percentile"].between(0, 100).all()
        widths[level] = float((frame["score_high"] - frame["score_low"]).iloc[0])
    assert 0 < widths[0.5] < widths[0.9]


@pytest.mark.parametrize("level", ["0", "1", "1.5"])
def test_an_interval_outside_zero_to_one_is_one_error(
    tiny_run: Path, tmp_path: Path, level: str
) -> None:
    out = tmp_path / "p.csv"
    result = CliRunner().invoke(
        app, ["predict", str(tiny_run), str(PHOTO), "--out", str(out), "--interval", level]
    )
    assert result.exit_code == 1 and "--interval" in str(result.exception)
    assert not out.exists()


def test_advice_and_the_api_carry_the_interval(tiny_run: Path, tmp_path: Path) -> None:
    import pawpularity as paw

    model = paw.load(tiny_run, runtime="eager", interval=0.9)
    row = model.score(PHOTO).iloc[0]
    expected = read_calibration(tiny_run).columns(np.array([row["score"]]), 0.9)[0]
    assert np.allclose([row[c] for c in COLUMNS], expected)
    code, output = cli("advise", tiny_run, PHOTO, "--out", tmp_path / "adv", "--interval", 0.9)
    assert code == 0 and "(likely " in output, output
    advice = json.loads((tmp_path / "adv" / "advice.json").read_text())
    own = read_calibration(tiny_run).columns(np.array([advice["score"]]), 0.9)[0]  # decoded anew
    assert [advice[c] for c in COLUMNS] == pytest.approx(list(own), abs=2e-3)
