"""Blends of finished runs: non-negative weights on their out-of-fold predictions.

The blend's own CV is nested: the weights that score fold k are fitted on the other folds'
out-of-fold predictions only, so `cv_rmse` is as honest as the runs'. The weights kept for
scoring new photos are fitted on all rows; `runs.blend.BlendEngine` scores with them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import nnls

from pawpularity.data.schema import ID
from pawpularity.errors import RunError
from pawpularity.files import write_csv, write_json
from pawpularity.runs.config import CONFIG
from pawpularity.training.metrics import rmse
from pawpularity.version import __version__


def blend(runs: list[Path], out: Path) -> dict[str, Any]:
    """Fit the blend of `runs` and write it as a run folder at `out`."""
    if len(runs) < 2:
        raise RunError("blend needs at least two runs")
    if (out / CONFIG).is_file():
        raise RunError(f"{out} already holds a run: pick a new --out")
    oofs = [_oof(Path(r)) for r in runs]
    first = oofs[0]
    for r, o in zip(runs[1:], oofs[1:], strict=True):
        if list(o[ID]) != list(first[ID]) or not np.array_equal(o["fold"], first["fold"]):
            raise RunError(
                f"{r} and {runs[0]} have other photos or folds: blend runs trained on the same "
                "data with the same --folds and --seed"
            )
    preds = np.column_stack([o["prediction"].to_numpy(float) for o in oofs])
    y, folds = first["target"].to_numpy(float), first["fold"].to_numpy()
    blended, baseline, fold_weights = np.empty_like(y), np.empty_like(y), []
    for k in np.unique(folds):
        tr, va = folds != k, folds == k
        w = nnls(preds[tr], y[tr])[0]
        blended[va], baseline[va] = preds[va] @ w, y[tr].mean()
        fold_weights.append(w.round(4).tolist())
    weights = nnls(preds, y)[0]
    write_json(
        out / CONFIG,
        {
            "pawpularity": __version__,
            "kind": "blend",
            "runs": [str(Path(r).resolve()) for r in runs],
            "weights": weights.tolist(),
        },
    )
    oof = first[[ID, "fold", "target"]].assign(prediction=blended)
    write_csv(oof, out / "oof.csv")
    metrics = {
        "cv_rmse": rmse(y, blended),
        "fold_rmse": [rmse(y[folds == k], blended[folds == k]) for k in np.unique(folds)],
        "baseline_rmse": rmse(y, baseline),
        "weights": weights.round(4).tolist(),
        "fold_weights": fold_weights,
        "run_cv_rmse": [rmse(y, p) for p in preds.T],
        "n": len(y),
        "folds": len(np.unique(folds)),
    }
    write_json(out / "metrics.json", metrics)
    return metrics


def _oof(run: Path) -> pd.DataFrame:
    path = run / "oof.csv"
    if not path.is_file():
        raise RunError(f"{path}: missing; blend finished runs (train writes oof.csv at the end)")
    return pd.read_csv(path, dtype={ID: str})
