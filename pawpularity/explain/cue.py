"""Where a map points, checked against the planted cue and decoy of a demo set (cues.csv)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from scipy import ndimage

from pawpularity.data.demo import CUES_FILE
from pawpularity.data.images import Box, load_image
from pawpularity.data.schema import image_path
from pawpularity.explain.explainer import Explainer
from pawpularity.explain.methods import Method

PEAK_SMOOTHING = 0.04  # box blur of 4 % of the shorter side before taking the maximum
MARGIN = 0.10  # a hit may fall this share of the image side outside the box
PLATEAU = 0.10  # values within 10 % of the map's range from the top belong to the peak


def peak(saliency: np.ndarray | torch.Tensor) -> tuple[int, int]:
    """(row, column) where a map peaks: its maximum after a light box blur (so one noisy pixel
    cannot win), taken as the centre of the hot spot around it, the connected pixels within
    PLATEAU of the top (a coarse Grad-CAM's top cell is flat up to the image's edge, where its
    first pixel would sit, beside the object rather than on it)."""
    m = torch.as_tensor(np.asarray(saliency, dtype=np.float32))
    k = max(1, round(PEAK_SMOOTHING * min(m.shape))) | 1
    smooth = F.avg_pool2d(m[None, None], k, stride=1, padding=k // 2, count_include_pad=False)
    smooth_np = smooth[0, 0].numpy()
    top, low = float(smooth_np.max()), float(smooth_np.min())
    regions, _ = ndimage.label(smooth_np >= top - PLATEAU * (top - low))
    best = np.unravel_index(int(smooth_np.argmax()), smooth_np.shape)
    rows, cols = np.nonzero(regions == regions[best])
    return round(float(rows.mean())), round(float(cols.mean()))


def hits(point: tuple[int, int], box: Box, shape: tuple[int, int], margin: float = MARGIN) -> bool:
    """Whether a (row, column) point lies in the box grown by `margin` of the image's sides."""
    row, col = point
    x0, y0, x1, y1 = box
    dx, dy = margin * shape[1], margin * shape[0]
    return x0 - dx <= col < x1 + dx and y0 - dy <= row < y1 + dy


def read_cues(data_dir: Path) -> pd.DataFrame:
    """cues.csv indexed by Id, boxes as ints (cue columns empty where there is no cue)."""
    return pd.read_csv(Path(data_dir) / CUES_FILE, dtype={"Id": str}).set_index("Id")


def cue_and_decoy_hits(saliency: np.ndarray, cue: Box, decoy: Box) -> tuple[bool, bool]:
    """Whether the map's peak is on the cue, and whether it is on the decoy."""
    p = peak(saliency)
    shape = (saliency.shape[0], saliency.shape[1])
    return hits(p, cue, shape), hits(p, decoy, shape)


def hit_rates(
    explainer: Explainer,
    data_dir: Path,
    methods: Sequence[Method],
    limit: int | None = None,
) -> dict[str, dict[str, float]]:
    """Per method, the share of the demo photos holding the cue whose map peaks on the cue, and
    the share peaking on the decoy (the score target; maps at the photo's own size)."""
    cues = read_cues(data_dir)
    with_cue = cues[cues["has_cue"] == 1].index[:limit]
    counts = {m.name: [0, 0] for m in methods}
    for image_id in with_cue:
        photo = load_image(image_path(data_dir, image_id))
        row = cues.loc[image_id]
        cue = (int(row.x0), int(row.y0), int(row.x1), int(row.y1))
        decoy = (int(row.dx0), int(row.dy0), int(row.dx1), int(row.dy1))
        for m in methods:
            on_cue, on_decoy = cue_and_decoy_hits(explainer.explain(photo, m), cue, decoy)
            counts[m.name][0] += on_cue
            counts[m.name][1] += on_decoy
    n = max(len(with_cue), 1)
    return {
        m: {"cue": c / n, "decoy": d / n, "photos": len(with_cue)} for m, (c, d) in counts.items()
    }
