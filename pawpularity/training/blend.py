"""Blends of finished runs: a weighted average of their out-of-fold predictions.

The weights are non-negative and sum to 1 (least squares on the simplex), so the blend stays
within its members' range: an unconstrained or merely non-negative fit can scale every score up
(fold weights summing to 1.14) and extrapolate. The blend's own CV is nested: the weights that
score fold k are fitted on the other folds' out-of-fold predictions only, so `cv_rmse` is as
honest as the runs'. When that nested CV is still worse than the best member's, the blend says
so and keeps the best member's predictions (its weight 1). The weights kept for scoring new
photos are fitted on all rows; `runs.blend.BlendEngine` scores with them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import minimize

from pawpularity.data.schema import ID
from pawpularity.errors import RunError
from pawpularity.files import read_json, write_csv, write_json
from pawpularity.runs.config import CONFIG, METRICS
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
        w = simplex_weights(preds[tr], y[tr])
        blended[va], baseline[va] = preds[va] @ w, y[tr].mean()
        fold_weights.append(w.round(4).tolist())
    weights = simplex_weights(preds, y)
    members = [rmse(y, p) for p in preds.T]
    best, nested = int(np.argmin(members)), rmse(y, blended)
    fallback = nested > members[best]
    if fallback:  # the best member alone, as the blend's predictions and weights
        blended, weights = preds[:, best].copy(), np.eye(len(runs))[best]
    write_json(
        out / CONFIG,
        {
            "pawpularity": __version__,
            "kind": "blend",
            "runs": [str(Path(r).resolve()) for r in runs],
            "trained_on": _trained_on(runs),
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
        "run_cv_rmse": members,
        "nested_cv_rmse": nested,  # the weighted average's, kept or not
        "note": (
            f"the nested blend ({nested:.2f}) is worse than its best member, {runs[best]} "
            f"({members[best]:.2f}): the blend keeps that member's predictions"
            if fallback
            else ""
        ),
        "n": len(y),
        "folds": len(np.unique(folds)),
    }
    write_json(out / METRICS, metrics)
    return metrics


def simplex_weights(preds: np.ndarray, y: np.ndarray) -> np.ndarray:
    """argmin ‖preds·w − y‖² over w ≥ 0, Σw = 1 (SLSQP from equal weights, exact gradient)."""
    k = preds.shape[1]
    gram, target = preds.T @ preds / len(y), preds.T @ y / len(y)
    result = minimize(
        lambda w: w @ gram @ w - 2 * w @ target,
        np.full(k, 1 / k),
        jac=lambda w: 2 * (gram @ w - target),
        bounds=[(0.0, 1.0)] * k,
        constraints=[{"type": "eq", "fun": lambda w: w.sum() - 1, "jac": lambda w: np.ones(k)}],
        method="SLSQP",
        options={"ftol": 1e-12, "maxiter": 500},
    )
    w = np.clip(result.x, 0.0, None)
    return w / w.sum()


def _trained_on(runs: list[Path]) -> str:
    """ "demo" when any member trained on a demo set, "real" when all say real, else unknown."""
    said = {read_json(Path(r) / CONFIG).get("trained_on") for r in runs}
    return "demo" if "demo" in said else "real" if said == {"real"} else "unknown"


def _oof(run: Path) -> pd.DataFrame:
    path = run / "oof.csv"
    if not path.is_file():
        raise RunError(f"{path}: missing; blend finished runs (train writes oof.csv at the end)")
    return pd.read_csv(path, dtype={ID: str})
