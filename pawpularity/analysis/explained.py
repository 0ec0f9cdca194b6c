"""Explain a sample of a Kaggle-layout folder out of fold, and measure every map.

Each photo is explained by the fold model that did not train on it (RUN/oof.csv names the fold
a photo was validated in); a photo the run never saw may take any fold's model. Besides the score
maps, the bare ImageNet backbone's map of the cat and dog classes (`pet` target, the registry's
locating method: Grad-CAM) says where the pet is. Broken photos are reported and the rest go on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from PIL import Image
from tqdm import tqdm

from pawpularity.analysis.maps import (
    attention,
    box_mask,
    contrast,
    entropy,
    peak_count,
    pet_region,
    region_focus,
    shrink,
    to_grid,
    top_mass,
)
from pawpularity.data.demo import is_demo_set
from pawpularity.data.images import Box, load_image
from pawpularity.data.schema import ID, TARGET, image_path
from pawpularity.device import announce, resolve_device
from pawpularity.errors import ConfigError, RunError
from pawpularity.explain.base import PET_COLUMN, SCORE_COLUMN, Outputs
from pawpularity.explain.cue import hits, peak, read_cues
from pawpularity.explain.draw import normalised, panel
from pawpularity.explain.explainer import Explainer, imagenet_explainer
from pawpularity.explain.methods import Method, locator
from pawpularity.files import photo_error
from pawpularity.models.ensemble import FoldEnsemble
from pawpularity.runs.run import load_run

STATS = ("top10", "entropy", "peaks", "pet_mass", "pet_excess", "contrast")


@dataclass
class Explained:
    """Per photo: its row of numbers; per photo and method: the normalised map, 64×64."""

    photos: pd.DataFrame  # Id, fold, Pawpularity, prediction, then <method>_<stat> columns
    errors: list[dict[str, str]]
    small_maps: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)
    panels: dict[str, Path] = field(default_factory=dict)  # Id -> panel.png
    has_cues: bool = False


def oof_folds(run_dir: Path, ids: Sequence[str], n_folds: int) -> list[int]:
    """The fold whose model did not train on each photo: its validation fold in RUN/oof.csv; a
    photo the run never saw gets folds in turn (no model trained on it)."""
    path = Path(run_dir) / "oof.csv"
    if not path.is_file():
        raise RunError(f"{path}: missing; the run did not finish (resume it with --resume)")
    oof = pd.read_csv(path, dtype={ID: str})
    if not {ID, "fold"} <= set(oof.columns):
        raise RunError(f"{path}: needs the columns Id and fold")
    fold = dict(zip(oof[ID], oof["fold"].astype(int), strict=True))
    return [fold.get(image_id, k % n_folds) for k, image_id in enumerate(ids)]


def fold_explainers(
    run_dir: Path, runtime: str, seed: int, device: str | torch.device = "cpu"
) -> list[Explainer]:
    """One explainer per fold model of a network run (maps need a network's gradients), on
    `device`."""
    run = load_run(run_dir, "eager", device=device)
    if run.kind != "net":
        raise ConfigError(f"{run_dir} is a {run.kind} run: analyze explains a network run")
    return [
        Explainer(Outputs(FoldEnsemble([net])), runtime=runtime, seed=seed, device=run.device)
        for net in run.ensemble().members
    ]


def explain_sample(
    run_dir: Path,
    data_dir: Path,
    table: pd.DataFrame,
    methods: Sequence[Method],
    runtime: str = "auto",
    seed: int = 0,
    panel_ids: Sequence[str] = (),
    panel_dir: Path | None = None,
    device: str | torch.device = "cpu",
) -> Explained:
    """Explain every row of `table` (Kaggle columns) with the score maps of `methods`, the
    models on `device` (`--device`; "auto" says in a note what it picked)."""
    where = resolve_device(device)
    explainers = fold_explainers(run_dir, runtime, seed, where)
    pets = imagenet_explainer("eager", seed, where)
    announce(device, where)
    pet_method = locator(pets.supports)
    has_cues = is_demo_set(data_dir)
    cues = _cue_rows(data_dir) if has_cues else {}
    ids = table[ID].tolist()
    folds = oof_folds(run_dir, ids, len(explainers))
    rows: list[dict[str, Any]] = []
    errors: list[dict[str, str]] = []
    result = Explained(pd.DataFrame(), errors, has_cues=has_cues)
    for (_, record), fold in tqdm(
        zip(table.iterrows(), folds, strict=True), total=len(ids), desc="analysing", leave=False
    ):
        image_id = str(record[ID])
        path = image_path(data_dir, image_id)
        try:
            photo = load_image(path)
            explainer = explainers[fold]
            x = explainer.tensor(photo)
            maps = {m.name: explainer.map(m, x, SCORE_COLUMN).numpy() for m in methods}
            pet_map = _resized(pets.map(pet_method, pets.tensor(photo), PET_COLUMN), x.shape[-1])
            row = {
                ID: image_id,
                "fold": fold,
                TARGET: float(record[TARGET]),
                "prediction": float(explainer.outputs(x)[0, SCORE_COLUMN]),
            }
            pixels = x[0].cpu().numpy()
            small = {}
            for method, saliency in maps.items():
                row |= _measure(method, saliency, pixels, pet_map)
                small[method] = shrink(normalised(saliency))
            if image_id in cues:
                row |= _cue_numbers(maps, cues[image_id], photo)
            if image_id in panel_ids and panel_dir is not None:
                result.panels[image_id] = _panel(
                    photo, row, maps, pet_map, panel_dir / f"{image_id}.png"
                )
        except Exception as e:  # this photo's failure, whatever it is: the others go on
            errors.append({ID: image_id, "path": str(path), "error": photo_error(e)})
            continue
        rows.append(row)
        result.small_maps[image_id] = small
    result.photos = pd.DataFrame(rows)
    return result


def _measure(
    method: str, saliency: np.ndarray, pixels: np.ndarray, pet_map: np.ndarray
) -> dict[str, float]:
    """The STATS of one score map; NaN for a constant map (no attention to describe)."""
    p = attention(saliency)
    if p is None:
        return {f"{method}_{s}": float("nan") for s in STATS}
    pet = pet_region(pet_map)
    on_pet = float(p[pet].sum())
    values = {
        "top10": top_mass(p),
        "entropy": entropy(p),
        "peaks": float(peak_count(saliency)),
        "pet_mass": on_pet,
        "pet_excess": on_pet - float(pet.mean()),  # above the pet's share of the photo: chance
        "contrast": contrast(pixels, p),
    }
    return {f"{method}_{k}": v for k, v in values.items()}


def _cue_numbers(
    maps: dict[str, np.ndarray], cue_row: dict[str, Any], photo: Image.Image
) -> dict[str, float]:
    """How much more each map attends the demo's cue and decoy than the rest of the photo
    (`maps.focus`; 0 for an object the photo lacks), and whether its peak falls on each
    (explain.cue's rule; an empty map peaks nowhere)."""
    boxes: dict[str, Box | None] = {
        "cue": _box(cue_row, "x0", "y0", "x1", "y1") if int(cue_row["has_cue"]) else None,
        "decoy": _box(cue_row, "dx0", "dy0", "dx1", "dy1") if int(cue_row["has_decoy"]) else None,
    }
    row: dict[str, float] = {"has_cue": float(boxes["cue"] is not None)}
    for method, saliency in maps.items():
        level = normalised(saliency)
        top = peak(saliency) if level.any() else None
        for name, box in boxes.items():
            focus = hit = 0.0
            if box is not None:
                cells = to_grid(box, photo.size, saliency.shape[0])
                focus = region_focus(level, box_mask(cells, saliency.shape[0]))
                hit = float(top is not None and hits(top, cells, saliency.shape))
            row[f"{method}_{name}_attention"], row[f"{method}_{name}_hit"] = focus, hit
    return row


def _cue_rows(data_dir: Path) -> dict[str, dict[str, Any]]:
    """cues.csv of a demo set: Id -> its row."""
    rows = read_cues(data_dir).to_dict("index")
    return {str(i): {str(k): v for k, v in row.items()} for i, row in rows.items()}


def _box(row: dict[str, Any], *names: str) -> Box:
    x0, y0, x1, y1 = (int(row[n]) for n in names)
    return x0, y0, x1, y1


def _resized(saliency: torch.Tensor, side: int) -> np.ndarray:
    if saliency.shape[-1] != side:
        saliency = F.interpolate(saliency[None, None], size=(side, side), mode="bilinear")[0, 0]
    return saliency.numpy()


def _panel(
    photo: Image.Image,
    row: dict[str, Any],
    maps: dict[str, np.ndarray],
    pet_map: np.ndarray,
    path: Path,
) -> Path:
    """The photo and its maps (and where the pet is), stretched back to the photo's shape."""
    title = f"score {row[TARGET]:.0f} · predicted {row['prediction']:.0f}"
    shown = {**maps, "pet (ImageNet)": pet_map}
    panel(photo, title, shown, path)
    return path
