"""Explain photos with a run: raw maps, overlays, a panel per photo and a summary of faithfulness.

DIR/<photo stem>/<method>.npy   the raw float32 map, H×W of the photo (EXIF orientation applied)
DIR/<photo stem>/<method>.png   the map over the photo
DIR/<photo stem>/panel.png      the photo, its score and every map side by side
DIR/summary.json                per photo and method: deletion/insertion AUC, seconds, sanity ρ;
                                per method the means; broken photos with their error
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from timm.data import ImageNetInfo
from tqdm import tqdm

from pawpularity.data.dataset import prepare, unit_pixels
from pawpularity.data.images import load_image
from pawpularity.errors import ConfigError, ImageError
from pawpularity.explain import RISE_MASKS
from pawpularity.explain.base import (
    IMAGENET_OFFSET,
    SCORE_COLUMN,
    Context,
    Outputs,
    Target,
    target_value,
)
from pawpularity.explain.draw import panel, save_overlay
from pawpularity.explain.faithfulness import deletion_insertion
from pawpularity.explain.methods import METHODS
from pawpularity.explain.runtime import make_scorer
from pawpularity.explain.sanity import cascade, spearman
from pawpularity.models.backbones import gradcam_layer, preprocessing
from pawpularity.models.checkpoint import build_model, write_json
from pawpularity.models.fusion import ModelConfig, PawpularityNet
from pawpularity.training.run import load_run

IMAGENET_RUN = "imagenet"  # RUN value for the bare default backbone (ImageNet weights, no training)


@dataclass
class ExplainConfig:
    methods: tuple[str, ...] = tuple(METHODS)
    target: str | None = None  # None: "score" for a run, "imagenet" for the bare backbone
    rise_masks: int = RISE_MASKS
    seed: int = 0
    fold: int = 0
    sanity: bool = False
    runtime: str = "auto"  # RISE and faithfulness passes: auto (ONNX Runtime if any) | ort | eager


def load_model(run: str | Path, fold: int = 0, seed: int = 0) -> PawpularityNet:
    """The model of one fold of a run, or the bare ImageNet backbone (with untrained heads)."""
    if str(run) == IMAGENET_RUN:
        torch.manual_seed(seed)
        net = build_model(ModelConfig(), pretrained="imagenet")
        net.config.image_size = preprocessing(net.backbone)[2]
        return net.eval()
    nets = load_nets(Path(run))
    if not 0 <= fold < len(nets):
        raise ConfigError(f"--fold {fold}: {run} has folds 0 to {len(nets) - 1}")
    return nets[fold]


def load_nets(run: Path) -> list[PawpularityNet]:
    """Every fold's network of a run, eager (maps need gradients); a ConfigError for head and
    blend runs, which have none."""
    nets = load_run(run, "eager").nets
    if not nets:
        raise ConfigError(f"{run} is a --head or blend run: maps and advice need a network run")
    return nets


class Explainer:
    """One model made explainable: eager for gradients, a batched scorer for RISE and curves."""

    def __init__(
        self, net: PawpularityNet, config: ExplainConfig | None = None, runtime: str | None = None
    ) -> None:
        config = config or ExplainConfig()
        outputs = Outputs(net)
        scorer = make_scorer(outputs, runtime or config.runtime)  # exports the contiguous model
        outputs.to(memory_format=torch.channels_last)  # faster convolutions for gradients
        layer = gradcam_layer(net.config.backbone, net.backbone)
        self.ctx = Context(outputs, layer, scorer, config.seed, config.rise_masks)
        self.size = int(net.config.image_size or 224)

    def tensor(self, photo: Image.Image) -> torch.Tensor:
        x = unit_pixels(prepare(photo, self.size)[None])
        return x.contiguous(memory_format=torch.channels_last)

    def map(self, method: str, x: torch.Tensor, column: int) -> torch.Tensor:
        """The S×S map of a prepared photo x (see `tensor`) for one output column."""
        return METHODS[method](self.ctx, x, column).detach().float()

    def explain(self, photo: Image.Image, method: str, target: str = "score") -> np.ndarray:
        """The raw float32 map of a photo at its own size (H×W, EXIF orientation applied)."""
        x = self.tensor(photo)
        parsed = Target.parse(target)
        column = parsed.column(self.ctx.scorer(x) if parsed.kind == "imagenet" else None)
        return to_photo_size(self.map(method, x, column), photo)


def explain_photos(
    run: str | Path, paths: Sequence[Path], out: Path, config: ExplainConfig
) -> dict[str, Any]:
    """Explain every photo; a broken one is recorded in the summary and the rest go on."""
    net = load_model(run, config.fold, config.seed)
    bare = str(run) == IMAGENET_RUN
    target = Target.parse(config.target or ("imagenet" if bare else "score"))
    if bare and target.kind not in ("imagenet", "pet"):
        raise ConfigError(
            "the bare ImageNet backbone has no trained score: use --target imagenet or pet"
        )
    main = Explainer(net, config)
    needs_scorer = "rise" in config.methods
    controls = [
        (label, Explainer(randomised, config, None if needs_scorer else "eager"))
        for label, randomised in (cascade(net, config.seed) if config.sanity else [])
    ]
    out.mkdir(parents=True, exist_ok=True)
    images: dict[str, Any] = {}
    folders: set[str] = set()
    for path in tqdm(paths, desc="explaining", unit="photo", leave=False):
        try:
            photo = load_image(path)
        except ImageError as e:
            images[str(path)] = {"error": str(e)}
            continue
        folder = out / unique_name(Path(path).stem, folders)
        folder.mkdir(exist_ok=True)
        images[str(path)] = _explain_one(main, controls, photo, target, config.methods, folder)
    explained = [e["methods"] for e in images.values() if "methods" in e]
    summary = {
        "run": str(run),
        **asdict(config),
        "target": str(target),
        "explained": len(explained),
        "failed": len(images) - len(explained),
        "images": images,
        "means": _means(explained, config.methods),
    }
    write_json(out / "summary.json", summary)
    return summary


def _explain_one(
    main: Explainer,
    controls: list[tuple[str, Explainer]],
    photo: Image.Image,
    target: Target,
    methods: Sequence[str],
    folder: Path,
) -> dict[str, Any]:
    x = main.tensor(photo)
    outputs = main.ctx.scorer(x)
    column = target.column(outputs)
    entry: dict[str, Any] = {
        "out": folder.name,
        "score": float(outputs[0, SCORE_COLUMN]),
        "target": _describe(target, column),
        "target_value": float(target_value(outputs, column)[0]),
        "methods": {},
    }
    full_maps, captions = {}, {}
    for name in methods:
        start = time.perf_counter()
        saliency = main.map(name, x, column)
        seconds = time.perf_counter() - start
        deletion, insertion = deletion_insertion(main.ctx.scorer, x, saliency, column)
        record: dict[str, Any] = {
            "deletion_auc": deletion,
            "insertion_auc": insertion,
            "seconds": round(seconds, 4),
        }
        if controls:
            record["sanity"] = {
                label: spearman(saliency, control.map(name, x, column))
                for label, control in controls
            }
        entry["methods"][name] = record
        full = to_photo_size(saliency, photo)
        _save_npy(full, folder / f"{name}.npy")
        save_overlay(photo, full, folder / f"{name}.png")
        full_maps[name] = full
        captions[name] = f"del {deletion:.2f} / ins {insertion:.2f}"
    title = f"score {entry['score']:.1f}"
    if target.kind != "score":
        title += f" · {entry['target']} {entry['target_value']:.2f}"
    panel(photo, title, full_maps, folder / "panel.png", captions=captions)
    return entry


def _describe(target: Target, column: int) -> str:
    if target.kind == "imagenet":
        index = column - IMAGENET_OFFSET
        return f"imagenet:{index} {ImageNetInfo().index_to_description(index)}"
    return str(target)


def to_photo_size(saliency: torch.Tensor, photo: Image.Image) -> np.ndarray:
    """The S×S map resized (bilinear) to the photo's own H×W."""
    w, h = photo.size
    full = F.interpolate(saliency[None, None], size=(h, w), mode="bilinear", align_corners=False)
    return full[0, 0].numpy().astype(np.float32)


def _save_npy(array: np.ndarray, path: Path) -> None:
    tmp = path.with_suffix(".tmp")
    with tmp.open("wb") as f:
        np.save(f, array)
    os.replace(tmp, path)


def unique_name(stem: str, used: set[str]) -> str:
    """stem, or stem_2, stem_3, ... when photos in different folders share a name."""
    name, k = stem, 1
    while name in used:
        k += 1
        name = f"{stem}_{k}"
    used.add(name)
    return name


def _means(done: list[dict[str, Any]], methods: Sequence[str]) -> dict[str, Any]:
    """Per method: the mean of every number recorded per photo (sanity ρ per step too)."""
    means: dict[str, Any] = {}
    for name in methods:
        records = [d[name] for d in done]
        if not records:
            continue
        means[name] = {
            k: float(np.mean([r[k] for r in records]))
            for k in ("deletion_auc", "insertion_auc", "seconds")
        }
        if "sanity" in records[0]:
            means[name]["sanity"] = {
                label: float(np.nanmean([r["sanity"][label] for r in records]))
                for label in records[0]["sanity"]
            }
    return means
