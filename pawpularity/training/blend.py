"""Blends of finished runs: non-negative weights on their out-of-fold predictions.

The blend's own CV is nested: the weights that score fold k are fitted on the other folds'
out-of-fold predictions only, so `cv_rmse` is as honest as the runs'. The weights kept for
scoring new photos are fitted on all rows.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from scipy.optimize import nnls

from pawpularity import __version__
from pawpularity.data.schema import ID
from pawpularity.errors import RunError
from pawpularity.models.checkpoint import write_csv, write_json
from pawpularity.models.embedder import resized
from pawpularity.models.fusion import ModelConfig
from pawpularity.training.metrics import rmse
from pawpularity.training.run import Run, load_run


def blend(runs: list[Path], out: Path) -> dict[str, Any]:
    """Fit the blend of `runs` and write it as a run folder at `out`."""
    if len(runs) < 2:
        raise RunError("blend needs at least two runs")
    if (out / "config.json").is_file():
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
        out / "config.json",
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


class BlendEngine:
    """Scores with every run, each on photos at its own size: the weighted sum of the scores,
    the weight-averaged flag probabilities."""

    def __init__(self, runs: list[Run], weights: list[float]) -> None:
        self.runs, self.weights = runs, torch.tensor(weights)

    def __call__(
        self, images: torch.Tensor, flags: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        outs = [run(resized(images, run.image_size), flags) for run in self.runs]
        scores = torch.stack([s.double() for s, _ in outs], 1) @ self.weights.double()
        share = self.weights / self.weights.sum().clamp_min(1e-12)
        probs = sum(w * p.float() for w, (_, p) in zip(share.tolist(), outs, strict=True))
        return scores.float(), torch.as_tensor(probs)


def load_blend(path: Path, config: dict[str, Any], runtime: str) -> Run:
    """A blend as a Run; runs with a zero weight are not loaded."""
    pairs = [(p, w) for p, w in zip(config["runs"], config["weights"], strict=True) if w > 0]
    pairs = pairs or list(zip(config["runs"], config["weights"], strict=True))
    runs = [load_run(Path(p), runtime) for p, _ in pairs]
    size = max(r.image_size for r in runs)
    model = ModelConfig(backbone=runs[0].model.backbone, image_size=size)
    used = "ort" if all(r.runtime == "ort" for r in runs) else "eager"
    return Run(path, model, [], BlendEngine(runs, [w for _, w in pairs]), used)
