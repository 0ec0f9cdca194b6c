"""Fitting scikit-learn heads on embeddings (the Kaggle winners' recipe): SVR or ridge, tuned by
inner CV. The fitted head is kept as plain arrays (`runs.heads.FoldHead`), applied with numpy."""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import GridSearchCV, GroupKFold
from sklearn.svm import SVR

from pawpularity.data.schema import FLAGS
from pawpularity.errors import ConfigError
from pawpularity.runs.config import HEAD_KINDS
from pawpularity.runs.heads import FoldHead

# Grids in z-units of the target on standardised features. The demo set's trap (DESIGN.md): an
# SVR with C = 20 and the default ε gives only 0.73–0.78× the baseline; tuning fixes it.
# The RBF width matters most there: γ = 0.1/F beat sklearn's "scale" (1/F) by 0.8 → 0.62×.
# γ is searched as a multiple of 1/F (F: number of features).
GRIDS: dict[str, dict[str, list[float]]] = {
    "svr": {"C": [1.0, 4.0, 16.0, 64.0], "epsilon": [0.05, 0.2], "gamma": [0.03, 0.1, 0.3]},
    "ridge": {"alpha": [float(a) for a in np.logspace(-2, 4, 13)]},
}
INNER_FOLDS = 3
# An SVR fit grows with about n^2.4 rows (measured: 0.3 s at 533, 9 s at 2,666), so on a full-size
# fold its 72 inner-CV fits would take hours: the SVR's grid is searched on at most TUNE_ROWS of
# the fold's training rows (whole near-duplicate groups, seeded) and the chosen C, ε, γ are
# refitted on all of them. Ridge is cheap at any size: its grid sees every row.
TUNE_ROWS = 2000
FLAG_C = 0.05  # L2 strength of the flag models (many features, few positives)


def params(head: FoldHead) -> dict[str, float]:
    """The hyperparameters the inner CV chose for a fitted head."""
    return {k: float(head.arrays[k].reshape(-1)[0]) for k in GRIDS[head.kind]}


def fit_head(
    kind: str,
    embeddings: np.ndarray,
    flags: np.ndarray,
    target: np.ndarray,
    groups: np.ndarray,
    use_flags: bool = True,
    seed: int = 0,
) -> FoldHead:
    """Fit a head on one fold's training rows; C/ε or α are chosen by group-aware inner CV.

    use_flags: the flags join the features; the flag models are fitted either way.
    """
    if kind not in HEAD_KINDS:
        raise ConfigError(f"--head must be one of {', '.join(HEAD_KINDS)}, not {kind!r}")
    x = np.hstack([embeddings, flags]) if use_flags else embeddings
    mean, scale = x.mean(0), x.std(0)
    scale[scale < 1e-6] = 1.0
    z = (x - mean) / scale
    y_mean, y_std = float(target.mean()), max(float(target.std()), 1.0)
    y = (target - y_mean) / y_std
    d = embeddings.shape[1]
    arrays = {
        "mean": mean,
        "scale": scale,
        "y_mean": np.array(y_mean),
        "y_std": np.array(y_std),
        **_fit_flags(z[:, :d], flags, seed),
    }
    if kind == "ridge":
        model = _tuned(Ridge(), GRIDS["ridge"], z, y, groups)
        arrays |= {"coef": model.coef_, "intercept": np.array(model.intercept_)}
        arrays["alpha"] = np.array(model.alpha)
    else:
        grid = GRIDS["svr"] | {"gamma": [g / z.shape[1] for g in GRIDS["svr"]["gamma"]]}
        model = _tuned(SVR(kernel="rbf"), grid, z, y, groups, tuning_rows(groups, seed))
        arrays |= {
            "sv": model.support_vectors_,
            "dual": model.dual_coef_[0],
            "intercept": np.array(model.intercept_[0]),
            "gamma": np.array(model.gamma),
            "C": np.array(model.C),
            "epsilon": np.array(model.epsilon),
        }
    return FoldHead(kind, {k: np.asarray(v, np.float64) for k, v in arrays.items()})


def tuning_rows(groups: np.ndarray, seed: int) -> np.ndarray:
    """The rows the SVR's grid is searched on: all of them up to TUNE_ROWS, else whole groups
    in a seeded random order until TUNE_ROWS rows (sorted row indices)."""
    if len(groups) <= TUNE_ROWS:
        return np.arange(len(groups))
    order = np.random.default_rng(seed).permutation(np.unique(groups))
    sizes = np.array([np.sum(groups == g) for g in order])
    keep = order[: int(np.searchsorted(np.cumsum(sizes), TUNE_ROWS)) + 1]
    return np.flatnonzero(np.isin(groups, keep))


def _tuned(
    model: Ridge | SVR,
    grid: dict[str, list[float]],
    z: np.ndarray,
    y: np.ndarray,
    groups: np.ndarray,
    rows: np.ndarray | None = None,
) -> Ridge | SVR:
    """The best model of the grid by inner CV (on `rows`, default all) whose folds keep
    near-duplicates together, fitted on every row."""
    rows = np.arange(len(y)) if rows is None else rows
    inner = min(INNER_FOLDS, len(np.unique(groups[rows])))
    if inner < 2:
        raise ConfigError("too few distinct photos in a training fold to tune the head")
    search = GridSearchCV(
        model, grid, cv=GroupKFold(inner), scoring="neg_mean_squared_error", refit=False
    )
    search.fit(z[rows], y[rows], groups=groups[rows])
    return clone(model).set_params(**search.best_params_).fit(z, y)


def _fit_flags(z_emb: np.ndarray, flags: np.ndarray, seed: int) -> dict[str, np.ndarray]:
    """One L2 logistic model per flag on the standardised embedding (a constant where a flag
    has a single value in these rows)."""
    n = len(FLAGS)
    coef, intercept = np.zeros((n, z_emb.shape[1])), np.zeros(n)
    for i in range(n):
        column = flags[:, i]
        if len(np.unique(column)) < 2:
            rate = float(np.clip(column.mean(), 1e-3, 1 - 1e-3))
            intercept[i] = np.log(rate / (1 - rate))
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model = LogisticRegression(C=FLAG_C, max_iter=300, random_state=seed)
            model.fit(z_emb, column)
        coef[i], intercept[i] = model.coef_[0], model.intercept_[0]
    return {"flag_coef": coef, "flag_intercept": intercept}
