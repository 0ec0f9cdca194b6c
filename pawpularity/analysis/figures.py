"""The report's figures as PNG bytes (matplotlib's Agg canvas; pyplot is never imported)."""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from pawpularity.explain.draw import COLORMAP

DPI = 100
VERDICT_COLOURS = {
    "supported": "#1a7f37",
    "small": "#4d8f2a",
    "no effect": "#555555",
    "opposite": "#b42318",
    "inconclusive": "#8a6d00",
}


def png(figure: Figure) -> bytes:
    """The figure rendered to PNG bytes."""
    FigureCanvasAgg(figure)
    buf = io.BytesIO()
    figure.savefig(buf, format="png", dpi=DPI, bbox_inches="tight")
    return buf.getvalue()


def score_distribution(scores: np.ndarray, sample: np.ndarray | None = None) -> bytes:
    """Histogram of the scores (1–100), and of the explained sample's if given."""
    fig = Figure(figsize=(7, 3.2))
    ax = fig.add_subplot()
    bins = [float(b) for b in np.arange(0.5, 101, 5)]
    ax.hist(scores, bins=bins, color="#4c72b0", alpha=0.8, label=f"all photos (n = {len(scores)})")
    if sample is not None:
        label = f"explained (n = {len(sample)})"
        ax.hist(sample, bins=bins, histtype="step", color="#dd8452", lw=2, label=label)
    ax.axvline(float(np.mean(scores)), color="black", ls="--", lw=1, label="mean")
    ax.set(xlabel="Pawpularity", ylabel="photos", xlim=(0, 101))
    ax.legend(frameon=False, fontsize=8)
    return png(fig)


def forest(flags: pd.DataFrame) -> bytes:
    """Each flag's difference in mean score (with − without) and its 95 % interval."""
    fig = Figure(figsize=(7, 0.35 * len(flags) + 1.2))
    ax = fig.add_subplot()
    y = np.arange(len(flags))[::-1]
    ok = flags["ci_low"].notna().to_numpy()
    err = np.vstack([flags["diff"] - flags["ci_low"], flags["ci_high"] - flags["diff"]])
    ax.errorbar(flags["diff"][ok], y[ok], xerr=err[:, ok], fmt="o", color="#4c72b0", capsize=3)
    ax.plot(flags["diff"][~ok], y[~ok], "x", color="grey")
    ax.axvline(0, color="black", lw=1)
    labels = [f"{f} (n = {n})" for f, n in zip(flags["flag"], flags["n_with"], strict=True)]
    ax.set_yticks(y, labels, fontsize=8)
    ax.set_xlabel("score difference, flag set − not set (points, 95 % CI)")
    return png(fig)


def mean_maps(groups: dict[str, dict[str, np.ndarray]], counts: dict[str, int]) -> bytes:
    """Rows: methods; columns: each group's mean normalised map, then their difference."""
    names = list(groups)
    methods = list(next(iter(groups.values())))
    fig = Figure(figsize=(2.6 * (len(names) + 1), 2.5 * len(methods)))
    for i, m in enumerate(methods):
        for j, g in enumerate(names):
            ax = fig.add_subplot(len(methods), len(names) + 1, i * (len(names) + 1) + j + 1)
            ax.imshow(groups[g][m], cmap=COLORMAP, vmin=0, vmax=1)
            ax.set_title(f"{m}\n{g} (n = {counts[g]})", fontsize=8)
            ax.axis("off")
        diff = groups[names[0]][m] - groups[names[-1]][m]
        ax = fig.add_subplot(len(methods), len(names) + 1, (i + 1) * (len(names) + 1))
        bound = float(np.abs(diff).max()) or 1.0
        ax.imshow(diff, cmap="coolwarm", vmin=-bound, vmax=bound)
        ax.set_title(f"{m}\n{names[0]} − {names[-1]}", fontsize=8)
        ax.axis("off")
    return png(fig)


@dataclass(frozen=True)
class Plot:
    """The data behind one hypothesis: `groups` (values per group, side by side), `histogram`
    (one sample against 0) or `scatter` (x, y)."""

    kind: str
    samples: tuple[np.ndarray, ...]
    labels: tuple[str, ...]


def hypothesis_grid(panels: Sequence[tuple[str, str, Plot]]) -> bytes:
    """One small plot per hypothesis: (title, verdict, its data), titled with the verdict."""
    columns = min(3, len(panels))
    rows = math.ceil(len(panels) / columns)
    fig = Figure(figsize=(4 * columns, 3.2 * rows))
    rng = np.random.default_rng(0)  # jitter only
    for k, (title, verdict, plot) in enumerate(panels):
        ax = fig.add_subplot(rows, columns, k + 1)
        samples = [v[np.isfinite(v)] for v in plot.samples]
        if plot.kind == "histogram":
            ax.hist(samples[0], bins=20, color="#4c72b0")
            ax.axvline(0, color="black", lw=1)
            ax.set_xlabel(plot.labels[0], fontsize=8)
        elif plot.kind == "scatter":
            ax.scatter(plot.samples[0], plot.samples[1], s=10, alpha=0.6, color="#4c72b0")
            ax.set_xlabel(plot.labels[0], fontsize=8)
            ax.set_ylabel(plot.labels[1], fontsize=8)
        else:
            for j, v in enumerate(samples):
                ax.scatter(j + rng.uniform(-0.15, 0.15, len(v)), v, s=8, alpha=0.5)
                if len(v):
                    ax.plot([j - 0.25, j + 0.25], [v.mean()] * 2, color="black", lw=2)
            ax.set_xticks(range(len(samples)), plot.labels, fontsize=8)
        ax.set_title(f"{title}: {verdict}", fontsize=9, color=VERDICT_COLOURS.get(verdict))
        ax.tick_params(labelsize=7)
    fig.tight_layout()
    return png(fig)
