"""`analyze`: explain a sample, test the hypotheses, write the evidence and one HTML report.

DIR/flag_effects.csv   flag, n_with, n_without, mean_with, mean_without, diff, ci_low, ci_high,
                       p_value (every row of train.csv)
DIR/hypotheses.json    one row per hypothesis: id, statement, metric, groups, n, effect, ci_low,
                       ci_high, p_value, p_adjusted, verdict (and method, test, ...)
DIR/guidelines.md      guidelines from supported, small and no-effect results, numbers cited
DIR/report.html        one self-contained page
DIR/photos.csv         per explained photo: fold, score, prediction, every map statistic
DIR/panels/<Id>.png    the best and worst photos with their maps
DIR/summary.json       counts, verdicts, photos that could not be read, seconds
"""

from __future__ import annotations

import io
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from PIL import Image

from pawpularity.analysis import figures
from pawpularity.analysis.config import AnalyzeConfig
from pawpularity.analysis.explained import Explained, explain_sample
from pawpularity.analysis.flags import flag_effects
from pawpularity.analysis.hypotheses import (
    flag_hypotheses,
    judge,
    map_hypotheses,
    quartiles,
)
from pawpularity.analysis.outputs import write_common
from pawpularity.analysis.report import Report, family_figures
from pawpularity.analysis.species import species_hypotheses
from pawpularity.data.schema import FLAGS, ID, TARGET, read_table
from pawpularity.device import resolve_device
from pawpularity.errors import DataError
from pawpularity.files import write_csv, write_json
from pawpularity.runs.pack import resolve_run


def analyze(run_dir: Path, data_dir: Path, out: Path, config: AnalyzeConfig) -> dict[str, Any]:
    """The full analysis of a Kaggle-layout folder with a training run's models."""
    start = time.perf_counter()
    folder = resolve_run(run_dir)  # a .paw or hf://USER/NAME: its checked, unpacked folder
    resolve_device(config.device)  # a device that cannot work fails before any work
    table = read_table(Path(data_dir) / "train.csv")
    flags, effects = flag_effects(table)
    whole_table = flag_hypotheses(effects) + species_hypotheses(table, config.embeddings)
    sample = _sample(table, config.max_images, config.seed)
    ranked = sample.sort_values([TARGET, ID], kind="stable")[ID].tolist()
    best = ranked[::-1][: config.examples]
    worst = ranked[: config.examples]
    names = tuple(m.name for m in config.methods)
    explained = explain_sample(
        folder,
        data_dir,
        sample,
        config.methods,
        config.runtime,
        config.seed,
        [*best, *worst],
        out / "panels",
        config.device,
    )
    if explained.photos.empty:
        first = explained.errors[0]["error"] if explained.errors else "no photos"
        raise DataError(f"none of the {len(sample)} photos could be read, e.g. {first}")
    photos = explained.photos.merge(sample[[ID, *FLAGS]], on=ID)
    hypotheses = whole_table + map_hypotheses(photos, names, config.seed, explained.has_cues)
    rows = judge(hypotheses)
    report = Report(
        "What makes a pet photo popular: evidence from saliency maps",
        {
            "run": str(run_dir),
            "data": f"{data_dir} ({len(table)} photos)",
            "explained": f"{len(photos)} photos ({len(explained.errors)} could not be read), "
            "each by the fold model that did not train on it",
            "methods": ", ".join(names),
            "seed": str(config.seed),
            **_map_facts(photos, names),
        },
        rows,
        flags,
        errors=explained.errors,
    )
    report.figures = {
        "scores": figures.score_distribution(table[TARGET].to_numpy(), photos[TARGET].to_numpy()),
        "forest": figures.forest(flags),
        "maps": _mean_maps(photos, explained),
        **family_figures(hypotheses, rows),
    }
    report.examples = [
        (_caption(photos, image_id, "best" if image_id in best else "worst"), _jpeg(path))
        for image_id in [*best, *worst]
        if (path := explained.panels.get(image_id)) is not None
    ]
    out.mkdir(parents=True, exist_ok=True)
    write_csv(photos, out / "photos.csv")
    summary = write_common(out, flags, rows, report)
    summary |= {
        "explained": len(photos),
        "failed": len(explained.errors),
        "errors": explained.errors,
        "seconds": round(time.perf_counter() - start, 1),
    }
    write_json(out / "summary.json", summary)
    return summary


def _sample(table: pd.DataFrame, max_images: int, seed: int) -> pd.DataFrame:
    """All rows, or a seeded random `max_images` of them in their original order."""
    if max_images < 1:
        raise DataError(f"--max-images must be at least 1, not {max_images}")
    if len(table) <= max_images:
        return table
    keep = np.sort(np.random.default_rng(seed).choice(len(table), max_images, replace=False))
    return table.iloc[keep].reset_index(drop=True)


def _map_facts(photos: pd.DataFrame, methods: tuple[str, ...]) -> dict[str, str]:
    """Per method: how many maps were empty (nothing raises the score: no attention to
    describe) and, on a demo set, how often the map peaks on the cue and on the decoy."""
    facts = {}
    for m in methods:
        text = f"{photos[f'{m}_top10'].isna().sum()} of {len(photos)} maps empty"
        if "has_cue" in photos:
            cue = photos["has_cue"] == 1
            text += (
                f"; peaks on the cue in {photos[f'{m}_cue_hit'][cue].mean():.0%} of the "
                f"{cue.sum()} photos holding it, on the decoy in "
                f"{photos[f'{m}_decoy_hit'].mean():.0%} of all"
            )
        facts[m] = text
    return facts


def _mean_maps(photos: pd.DataFrame, explained: Explained) -> bytes:
    high, low, _, _ = quartiles(photos[TARGET].to_numpy(float))
    groups, counts = {}, {}
    for name, mask in (("top quartile", high), ("bottom quartile", low)):
        ids = photos[ID][mask].tolist()
        counts[name] = len(ids)
        methods = explained.small_maps[photos[ID].iloc[0]]
        groups[name] = {
            m: np.mean([explained.small_maps[i][m] for i in ids], axis=0)
            if ids
            else np.zeros_like(methods[m])
            for m in methods
        }
    return figures.mean_maps(groups, counts)


def _caption(photos: pd.DataFrame, image_id: str, which: str) -> str:
    row = photos[photos[ID] == image_id].iloc[0]
    return (
        f"{which}: {image_id}, score {row[TARGET]:.0f}, predicted {row['prediction']:.1f} "
        f"(fold {row['fold']} model)"
    )


def _jpeg(path: Path) -> bytes:
    """A panel as JPEG bytes: photos compress 5-10x better than in PNG, keeping the report small."""
    buf = io.BytesIO()
    with Image.open(path) as panel:
        panel.convert("RGB").save(buf, "JPEG", quality=85)
    return buf.getvalue()
