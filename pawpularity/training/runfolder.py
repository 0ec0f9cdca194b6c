"""A run folder's bookkeeping, shared by network and head training.

RUN/config.json            what was trained and how (checked again on --resume)
RUN/folds.csv              Id, fold (near-duplicates share a fold)
RUN/fold<k>/predictions.csv  the fold's out-of-fold rows (its presence marks the fold as done)
RUN/oof.csv                Id, fold, target, prediction
RUN/metrics.json           cv_rmse, fold_rmse, baseline_rmse, flag_auc, seconds, ...
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from tqdm import tqdm

from pawpularity.data.demo import is_demo_set
from pawpularity.data.folds import assign_folds
from pawpularity.data.schema import FLAGS, ID, TARGET
from pawpularity.errors import ConfigError, DataError, RunError
from pawpularity.files import jsonable, read_json, write_csv, write_json
from pawpularity.runs.config import CONFIG, METRICS
from pawpularity.training.metrics import flag_auc, rmse


def trained_on(data_dir: Path, rows: int) -> dict[str, Any]:
    """What config.json records about the data: its folder, whether it is a planted-cue demo set
    ("demo", whose models mean nothing for real photos) or "real", and its rows."""
    return {
        "data": str(Path(data_dir).resolve()),
        "trained_on": "demo" if is_demo_set(data_dir) else "real",
        "rows": rows,
    }


def start_run(out: Path, wanted: dict[str, Any], resume: bool) -> None:
    """Write RUN/config.json, or on --resume check that its settings (the dict-valued parts of
    `wanted`) are the same."""
    path = out / CONFIG
    if path.is_file():
        if not resume:
            raise RunError(
                f"{out} already holds a run: add --resume to continue it, or pick a new --out"
            )
        saved, wanted = read_json(path), jsonable(wanted)  # as JSON holds it: tuples are lists
        diff = [
            f"{part}.{k}"
            for part, value in wanted.items()
            if isinstance(value, dict)
            for k in value
            if saved.get(part, {}).get(k) != wanted[part][k]
        ]
        if diff:
            raise RunError(
                f"{out} was started with other settings ({', '.join(diff)}): cannot resume"
            )
        return
    write_json(path, wanted)


def run_folds(
    out: Path, table: pd.DataFrame, paths: list[Path], n_folds: int, seed: int, write: bool = True
) -> np.ndarray:
    """Fold of each row: read back from RUN/folds.csv, or assigned once and saved there."""
    path = out / "folds.csv"
    if path.is_file():
        saved = pd.read_csv(path, dtype={ID: str})
        if list(saved[ID]) != list(table[ID]):
            raise RunError(f"{path}: does not match the rows of train.csv; start a new run")
        return saved["fold"].to_numpy()
    if n_folds < 2:
        raise ConfigError("--folds must be at least 2 (out-of-fold metrics need a held-out fold)")
    folds = assign_folds(paths, table[TARGET].to_numpy(), n_folds, seed)
    if write:
        write_csv(pd.DataFrame({ID: table[ID], "fold": folds}), path)
    return folds


def check_present(paths: list[Path]) -> None:
    missing = [p for p in paths if not p.is_file()]
    if missing:
        raise DataError(
            f"{len(missing)} of {len(paths)} photos are missing, e.g. {missing[0]} "
            "(run `pawpularity data check` for the full list)"
        )


def write_fold_predictions(preds: pd.DataFrame, fold_dir: Path) -> None:
    """fold<k>/predictions.csv (its presence marks the fold as done) and a line on stderr."""
    write_csv(preds, fold_dir / "predictions.csv")
    tqdm.write(
        f"{fold_dir.name}: rmse {rmse(preds['target'], preds['prediction']):.3f} "
        f"(baseline {rmse(preds['target'], preds['baseline']):.3f})",
        file=sys.stderr,
    )


def summarise(
    out: Path,
    table: pd.DataFrame,
    n_folds: int,
    prep_seconds: float,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """RUN/oof.csv and RUN/metrics.json from the folds' predictions.csv (plus `extra` keys)."""
    parts = [
        pd.read_csv(out / f"fold{k}" / "predictions.csv", dtype={ID: str}) for k in range(n_folds)
    ]
    for k, part in enumerate(parts):
        part.insert(1, "fold", k)
    preds = pd.concat(parts, ignore_index=True)
    order = {image_id: i for i, image_id in enumerate(table[ID])}
    preds = preds.iloc[np.argsort(preds[ID].map(order).to_numpy())].reset_index(drop=True)
    write_csv(preds[[ID, "fold", "target", "prediction"]], out / "oof.csv")
    truth = table.set_index(ID).loc[preds[ID], list(FLAGS)].to_numpy()
    metrics = {
        "cv_rmse": rmse(preds["target"], preds["prediction"]),
        "fold_rmse": [rmse(p["target"], p["prediction"]) for p in parts],
        "baseline_rmse": rmse(preds["target"], preds["baseline"]),
        "cv_rmse_no_flags": rmse(preds["target"], preds["prediction_no_flags"]),
        "flag_auc": flag_auc(truth, preds[[f"p_{f}" for f in FLAGS]].to_numpy()),
        "n": len(preds),
        "folds": n_folds,
        "seconds": round(prep_seconds + float(sum(p["seconds"].iloc[0] for p in parts)), 1),
        **(extra or {}),
    }
    write_json(out / METRICS, metrics)
    return metrics
