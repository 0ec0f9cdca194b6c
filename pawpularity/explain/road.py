"""ROAD (Rong et al. 2022, "A Consistent and Efficient Evaluation Strategy for Attribution
Methods"): remove pixels by the map's ranking, fill them in by noisy linear imputation, and see
the target move. Unlike deletion (black pixels), imputed pixels carry no tell-tale shape, so the
model cannot read the removal pattern itself.

At each percentile p of PERCENTILES the p % most relevant pixels (MoRF: a faithful map makes the
target fall) or the p % least relevant (LeRF: it should barely move) are removed; each removed
pixel becomes the weighted mean of its 8 neighbours (known ones, and removed ones solved
together: a sparse linear system per image), plus a little seeded noise. The imputation follows
the authors' `NoisyLinearImputer` (MIT, Tobias Leemann; as in pytorch-grad-cam's
`metrics/road.py`), vectorised. As for deletion and insertion, the target is divided by its value
on the whole photo: `road_morf` (lower is better) and `road_lerf` (higher is better) are the
means over the percentiles, `road` = (lerf − morf) / 2 as pytorch-grad-cam combines them.
"""

from __future__ import annotations

import numpy as np
import torch
from scipy.sparse import csc_matrix
from scipy.sparse.linalg import spsolve

from pawpularity.explain.base import Scorer, target_value

PERCENTILES = (10, 20, 30, 40, 50, 60, 70, 80, 90)
ROAD_KEYS = ("road_morf", "road_lerf", "road")
NOISE = 0.01  # added to imputed pixels, in units of the [0, 1] pixel range
# (row, column) offset → weight: the 4 direct neighbours count twice the 4 diagonal ones
NEIGHBOURS = (((1, 1), 1 / 12), ((0, 1), 1 / 6), ((-1, 1), 1 / 12), ((1, -1), 1 / 12),
              ((0, -1), 1 / 6), ((-1, -1), 1 / 12), ((1, 0), 1 / 6), ((-1, 0), 1 / 6))  # fmt: skip


def impute(
    image: np.ndarray, keep: np.ndarray, noise: float, rng: np.random.Generator
) -> np.ndarray:
    """C×H×W `image` with the pixels where `keep` (H×W bool) is False replaced by the weighted
    mean of their neighbours, all solved at once, plus N(0, noise²)."""
    c, h, w = image.shape
    flat, known = image.reshape(c, -1), keep.ravel()
    missing = np.flatnonzero(~known)
    n = len(missing)
    if n == 0:
        return image.copy()
    index = np.full(h * w, -1)
    index[missing] = np.arange(n)
    row, col = np.divmod(missing, w)
    rows, cols, values = [np.arange(n)], [np.arange(n)], []
    weights, rhs = np.zeros(n), np.zeros((n, c))
    for (dy, dx), weight in NEIGHBOURS:
        r, q = row + dy, col + dx
        inside = np.flatnonzero((r >= 0) & (r < h) & (q >= 0) & (q < w))
        neighbour = r[inside] * w + q[inside]
        weights[inside] += weight
        given = known[neighbour]
        rhs[inside[given]] -= weight * flat[:, neighbour[given]].T
        rows.append(inside[~given])
        cols.append(index[neighbour[~given]])
        values.append(np.full(int((~given).sum()), weight))
    system = csc_matrix(
        (np.concatenate([-weights, *values]), (np.concatenate(rows), np.concatenate(cols))),
        shape=(n, n),
    )
    solved = np.asarray(spsolve(system, rhs)).reshape(n, c)
    out = flat.copy()
    out[:, missing] = solved.T + noise * rng.standard_normal((c, n))
    return out.reshape(c, h, w)


def road(
    scorer: Scorer, x: torch.Tensor, saliency: torch.Tensor, column: int, seed: int = 0
) -> dict[str, float | None]:
    """{"road_morf", "road_lerf", "road"} of a map for one photo x (1×3×S×S in [0, 1])."""
    if saliency.shape != x.shape[-2:]:
        raise ValueError(f"a {tuple(saliency.shape)} map for a {tuple(x.shape[-2:])} input")
    rng = np.random.default_rng(seed)
    image = x[0].detach().double().cpu().numpy()
    order = np.argsort(-saliency.detach().double().cpu().numpy().ravel(), kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size)
    count = order.size
    imputed = []
    for most_first in (True, False):
        for p in PERCENTILES:
            k = round(count * p / 100)
            removed = rank < k if most_first else rank >= count - k
            keep = ~removed.reshape(saliency.shape)
            imputed.append(np.clip(impute(image, keep, NOISE, rng), 0.0, 1.0))
    batch = torch.from_numpy(np.stack(imputed)).to(x.dtype).to(x.device)
    values = target_value(scorer(torch.cat([x, batch])), column).double().cpu()
    curves = (values[1:] / values[0]).view(2, len(PERCENTILES)).mean(1)
    morf, lerf = float(curves[0]), float(curves[1])
    return dict(zip(ROAD_KEYS, (morf, lerf, (lerf - morf) / 2), strict=True))
