"""Prediction-interval coverage, measured on photos the calibration never saw.

A demo set (seed 0) is embedded and a ridge head trained on it (5 folds); its intervals come from
the out-of-fold residuals. Coverage is measured twice: fold by fold (each fold's photos against
an interval calibrated on the other folds alone) and on a demo set built with another seed
(seed 1), scored by the run as a user would (`predict`). With --run RUN --data DATA a finished
run (e.g. `pawpularity demo`'s network) is measured the same way on DATA, a set it never saw.
Each level should hold within 3 points; MAPIE's split-conformal interval on the same residuals
is checked to be the same. The run's folds' average scores new photos better than each fold
scored its own validation photos, so its intervals err on the wide side; fold 0 alone (`fold=0`,
calibrated on its own validation photos) is measured beside it. Run with the project's venv:

    python bench/coverage.py [--n 1000] [--work DIR] [--run RUN --data DATA]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from mapie.regression import SplitConformalRegressor
from sklearn.base import BaseEstimator, RegressorMixin

import pawpularity
from pawpularity.runs.intervals import Calibration, read_calibration

LEVELS = (0.5, 0.8, 0.9)
TOLERANCE = 0.03


class Given(RegressorMixin, BaseEstimator):  # type: ignore[misc]
    """MAPIE's 'model': its predictions are its input, the run's out-of-fold scores."""

    def fit(self, x: np.ndarray, y: np.ndarray) -> Given:
        self.fitted_ = True
        return self

    def predict(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(x)[:, 0]


def paw(*args: object) -> None:
    subprocess.run([sys.executable, "-m", "pawpularity", *map(str, args)], check=True)


def head_run(n: int, work: Path) -> tuple[Path, Path]:
    """A ridge head on a seed-0 demo set, and a seed-1 set to try it on."""
    for seed in (0, 1):
        if not (work / f"demo{seed}").is_dir():
            paw("data", "demo", work / f"demo{seed}", "--n", n, "--seed", seed)
    run = work / "ridge"
    if not (run / "oof.csv").is_file():
        paw("embed", work / "demo0", "--out", work / "emb0")
        paw("train", work / "demo0", "--head", "ridge", "--embeddings", work / "emb0",
            "--out", run, "--folds", 5)  # fmt: skip
    return run, work / "demo1"


def measure(run: Path, data: Path, work: Path) -> None:
    preds = work / f"{run.name}-on-{data.name}.csv"
    if not preds.is_file():
        paw("predict", run, data / "train.csv", "--out", preds)
    scored = pd.read_csv(preds)
    truth = pd.read_csv(data / "train.csv").set_index("Id")["Pawpularity"]
    target = truth.loc[[Path(p).stem for p in scored["path"]]].to_numpy(np.float64)
    oof = pd.read_csv(run / "oof.csv")
    new_rmse = np.sqrt(np.mean((target - scored["score"]) ** 2))
    oof_rmse = np.sqrt(np.mean((oof["target"] - oof["prediction"]) ** 2))
    print(f"\n{run} ({len(oof)} out-of-fold residuals, RMSE {oof_rmse:.2f}), new photos: {data} "
          f"({len(target)}, RMSE of the folds' average {new_rmse:.2f})")  # fmt: skip
    table(read_calibration(run), oof, scored["score"].to_numpy(), target, "all folds")
    one = pawpularity.load(run, fold=0).score(list(scored["path"]), batch_size=32)
    table(read_calibration(run, fold=0), oof[oof["fold"] == 0], one["score"].to_numpy(), target,
          "fold 0")  # fmt: skip


def table(
    calibration: Calibration, oof: pd.DataFrame, scores: np.ndarray, target: np.ndarray, who: str
) -> None:
    x, y = oof[["prediction"]].to_numpy(), oof["target"].to_numpy()
    print(f"{who:>9} {'level':>6} {'± points':>9} {'held-out folds':>15} {'new photos':>11} "
          f"{'MAPIE same':>11}")  # fmt: skip
    for level in LEVELS:
        low, high = calibration.bounds(scores, level)
        new = float(((low <= target) & (target <= high)).mean())
        folds = calibration.coverage(level)
        mapie = SplitConformalRegressor(Given().fit(x, y), confidence_level=level, prefit=True)
        _, bounds = mapie.conformalize(x, y).predict_interval(scores[:, None])
        same = np.allclose(low, np.clip(bounds[:, 0, 0], 1, 100))
        held = "-" if folds is None else f"{folds:.1%}"
        ok = all(abs(c - level) <= TOLERANCE for c in (new, folds) if c is not None)
        print(f"{'':9} {level:6.0%} {calibration.half_width(level):9.1f} {held:>15} {new:11.1%} "
              f"{same!s:>11}{'' if ok else '  (off by more than 3 points)'}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000, help="photos per demo set")
    parser.add_argument("--work", type=Path, help="keep the sets and runs here (resumes)")
    parser.add_argument("--run", type=Path, help="also measure this finished run ...")
    parser.add_argument("--data", type=Path, help="... on this set, which it did not train on")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as temporary:
        work = args.work or Path(temporary)
        work.mkdir(parents=True, exist_ok=True)
        measure(*head_run(args.n, work), work)
        if args.run is not None and args.data is not None:
            measure(args.run, args.data, work)


if __name__ == "__main__":
    main()
