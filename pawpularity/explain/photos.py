"""Explain photos and write the results: raw maps, overlays, a panel per photo and a summary.

DIR/<photo stem>/<method>.npy   the raw float32 map, H×W of the photo (EXIF orientation applied;
                                at most MAP_SIDE pixels on the longer side, summary.json gives
                                the photo's size and the map's)
DIR/<photo stem>/<method>.png   the map over the photo
DIR/<photo stem>/panel.png      the photo, its score and every map side by side
DIR/summary.json                per photo and method: empty, deletion/insertion AUC (null for an
                                empty map) beside those of a random map and of the map blurred,
                                and ROAD (MoRF, LeRF, combined) unless --no-road,
                                seconds, sanity ρ; per method the means, by how much it beats the
                                random map and the count of empty maps; RISE maps: masks used,
                                split-half agreement, converged; broken photos with their error
DIR/report.md                   per method: its AUCs against the baselines, in words
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image
from timm.data import ImageNetInfo
from tqdm import tqdm

from pawpularity.data.images import load_image
from pawpularity.errors import ConfigError
from pawpularity.explain.base import IMAGENET_OFFSET, SCORE_COLUMN, Outputs, Target, target_value
from pawpularity.explain.config import ExplainConfig
from pawpularity.explain.draw import fitted, panel, save_overlay
from pawpularity.explain.explainer import Explainer, resize_map
from pawpularity.explain.faithfulness import blurred_map, deletion_insertion, random_map
from pawpularity.explain.methods import Method
from pawpularity.explain.road import ROAD_KEYS, road
from pawpularity.explain.sanity import cascade, spearman
from pawpularity.files import photo_error, save_npy, unique_name, write_json

SUMMARY = "summary.json"
REPORT = "report.md"
MAP_SIDE = 2048  # a map's longer side at most: 16 MB of float32, whatever the photo's size
EMPTY_MAP = "nothing in this photo raises the score"  # an empty map's caption (score target)
AUC_KEYS = ("deletion_auc", "insertion_auc")


def explain_photos(
    explainer: Explainer,
    paths: Sequence[Path],
    out: Path,
    config: ExplainConfig,
    about: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Explain every photo; a broken one is recorded in the summary and the rest go on.

    about: facts for summary.json (the run, its fold, ...).
    """
    target = explainer.target(config.target or ("score" if explainer.scored else "imagenet"))
    methods = [explainer.method(m) for m in config.methods]  # each checked before any work
    controls = _controls(explainer) if config.sanity else []
    out.mkdir(parents=True, exist_ok=True)
    images: dict[str, Any] = {}
    folders = {SUMMARY, REPORT}
    for path in tqdm(paths, desc="explaining", unit="photo", leave=False):
        try:
            photo = load_image(path)
            folder = out / unique_name(Path(path).stem, folders)
            folder.mkdir(exist_ok=True)
            images[str(path)] = _explain_one(
                explainer, controls, photo, target, methods, folder, config.road
            )
        except Exception as e:  # this photo's failure, whatever it is: the others go on
            images[str(path)] = {"error": photo_error(e)}
    explained = [e["methods"] for e in images.values() if "methods" in e]
    names = [m.name for m in methods]
    summary = {
        **(about or {}),
        "methods": names,
        "method_params": {m.name: m.params() for m in methods},
        "target": str(target),
        "sanity": config.sanity,
        "road": config.road,
        "seed": explainer.seed,
        "runtime": explainer.runtime,
        "device": str(explainer.device),
        "explained": len(explained),
        "failed": len(images) - len(explained),
        "images": images,
        "means": _means(explained, names),
    }
    write_json(out / SUMMARY, summary)
    (out / REPORT).write_text(report(summary["means"], len(explained)))
    return summary


def _controls(explainer: Explainer) -> list[tuple[str, Explainer]]:
    """Explainers of the model randomised step by step (the sanity cascade)."""
    model = explainer.ctx.model
    if model is None:
        raise ConfigError("--sanity randomises a network's weights: it needs a network run")
    return [
        (label, Explainer(Outputs(randomised), runtime=explainer.runtime, seed=explainer.seed))
        for label, randomised in cascade(model.ensemble, explainer.seed)
    ]


def _explain_one(
    main: Explainer,
    controls: list[tuple[str, Explainer]],
    photo: Image.Image,
    target: Target,
    methods: Sequence[Method],
    folder: Path,
    with_road: bool = False,
) -> dict[str, Any]:
    x = main.tensor(photo)
    outputs = main.outputs(x)
    column = main.column(target, x)
    map_size = fitted(photo.size, MAP_SIDE)
    entry: dict[str, Any] = {
        "out": folder.name,
        "size": list(photo.size),
        "map_size": list(map_size),
        # the bare ImageNet backbone's score column comes from heads that never trained: none
        "score": float(outputs[0, SCORE_COLUMN]) if main.scored else None,
        "target": _describe(target, column),
        "target_value": float(target_value(outputs, column)[0]),
        "methods": {},
    }
    maps, captions = {}, {}
    chance: dict[str, float | None] | None = None  # the random map's, measured once per photo
    keys = (*AUC_KEYS, *(ROAD_KEYS if with_road else ()))

    def aucs(saliency: torch.Tensor, measure_road: bool = with_road) -> dict[str, float | None]:
        deletion, insertion = deletion_insertion(main.scorer, x, saliency, column)
        got: dict[str, float | None] = {"deletion_auc": deletion, "insertion_auc": insertion}
        return got | (road(main.scorer, x, saliency, column, main.seed) if measure_road else {})

    for method in methods:
        start = time.perf_counter()
        saliency, notes = main.map_notes(method, x, column)
        seconds = time.perf_counter() - start
        empty = is_empty(saliency)  # ranks no pixel: no faithfulness to measure
        measured = dict.fromkeys(keys) if empty else aucs(saliency)
        if not empty and chance is None:
            chance = aucs(random_map(tuple(saliency.shape), main.seed))
        record: dict[str, Any] = {
            "empty": empty,
            **measured,
            "random": dict.fromkeys(keys) if empty or chance is None else chance,
            "blurred": dict.fromkeys(AUC_KEYS) if empty else aucs(blurred_map(saliency), False),
            "seconds": round(seconds, 4),
            **notes,  # RISE: masks, split_half, converged
        }
        deletion, insertion = measured["deletion_auc"], measured["insertion_auc"]
        if controls:
            record["sanity"] = {
                label: spearman(saliency, control.map(method, x, column))
                for label, control in controls
            }
        entry["methods"][method.name] = record
        sized = resize_map(saliency, map_size)
        save_npy(folder / f"{method.name}.npy", sized)
        save_overlay(photo, sized, folder / f"{method.name}.png")
        maps[method.name] = sized
        captions[method.name] = (
            (EMPTY_MAP if target.kind == "score" else "empty map: nothing raises the target")
            if empty
            else f"del {deletion:.2f} / ins {insertion:.2f}{_agreement(notes)}"
        )
    parts = [f"score {entry['score']:.1f}"] if main.scored else []
    if target.kind != "score":
        parts.append(f"{entry['target']} {entry['target_value']:.2f}")
    title = " · ".join(parts)
    panel(photo, title, maps, folder / "panel.png", captions=captions)
    return entry


def _agreement(notes: dict[str, Any]) -> str:
    """' · halves r 0.93' for a map that measures it (and '(not converged)' below 0.9)."""
    if "split_half" not in notes:
        return ""
    return (
        f" · halves r {notes['split_half']:.2f}{'' if notes['converged'] else ' (not converged)'}"
    )


def _describe(target: Target, column: int) -> str:
    if target.kind == "imagenet":
        index = column - IMAGENET_OFFSET
        return f"imagenet:{index} {ImageNetInfo().index_to_description(index)}"
    return str(target)


def is_empty(saliency: torch.Tensor) -> bool:
    """A constant map (a Grad-CAM where nothing raises the target is all zeros)."""
    return bool(saliency.max() <= saliency.min())


def _means(done: list[dict[str, Any]], methods: Sequence[str]) -> dict[str, Any]:
    """Per method: the mean of every number recorded per photo (sanity ρ per step too; the
    AUCs and their baselines' over the maps that are not empty, None when all are), by how much
    it beats the random map, and how many maps were empty."""
    means: dict[str, Any] = {}
    for name in methods:
        records = [d[name] for d in done]
        if not records:
            continue
        keys = tuple(k for k in (*AUC_KEYS, *ROAD_KEYS) if k in records[0])
        means[name] = {
            **_mean_of(records, (*keys, "seconds")),
            **{
                baseline: _mean_of([r[baseline] for r in records], tuple(records[0][baseline]))
                for baseline in ("random", "blurred")
            },
            "empty": sum(r["empty"] for r in records),
        }
        means[name]["beats_random"] = _beats(means[name])
        if "split_half" in records[0]:
            means[name] |= _mean_of(records, ("split_half", "masks"))
            means[name]["not_converged"] = sum(not r["converged"] for r in records)
        if "sanity" in records[0]:
            means[name]["sanity"] = {
                label: float(np.nanmean([r["sanity"][label] for r in records]))
                for label in records[0]["sanity"]
            }
    return means


def _mean_of(records: list[dict[str, Any]], keys: tuple[str, ...]) -> dict[str, float | None]:
    return {
        k: float(np.mean(values))
        if (values := [r[k] for r in records if r[k] is not None])
        else None
        for k in keys
    }


def _beats(mean: dict[str, Any]) -> dict[str, float | None]:
    """How much better than the random map: deletion lower by, insertion higher by (positive:
    better; None when nothing was measured)."""
    chance = mean["random"]
    if mean["deletion_auc"] is None or chance["deletion_auc"] is None:
        return {"deletion": None, "insertion": None}
    return {
        "deletion": chance["deletion_auc"] - mean["deletion_auc"],
        "insertion": mean["insertion_auc"] - chance["insertion_auc"],
    }


def report(means: dict[str, Any], explained: int) -> str:
    """report.md: each method's faithfulness against the baselines, in words."""
    lines = [
        "# Faithfulness of the maps",
        "",
        f"Means over {explained} photos (maps that are empty left out). Deletion: lower is "
        "better; insertion: higher is better. A random map ranks pixels by chance; a blurred "
        "copy of the map is known to score better on these curves without pointing more "
        "precisely, so read a method beside it.",
        "",
        "| method | deletion | random | blurred | insertion | random | blurred | empty |",
        "|---|---|---|---|---|---|---|---|",
    ]
    words = []
    for name, m in means.items():
        row = [m["deletion_auc"], m["random"]["deletion_auc"], m["blurred"]["deletion_auc"]]
        row += [m["insertion_auc"], m["random"]["insertion_auc"], m["blurred"]["insertion_auc"]]
        cells = " | ".join("-" if v is None else f"{v:.3f}" for v in row)
        lines.append(f"| {name} | {cells} | {m['empty']} |")
        words.append(f"- {name}: {_verdict(m['beats_random'])}")
        if m.get("road") is not None and m["random"].get("road") is not None:
            better = m["road"] - m["random"]["road"]
            how = "better" if better > 0 else "worse"
            words.append(
                f"- {name}: ROAD {m['road']:.3f} (MoRF {m['road_morf']:.3f}, LeRF "
                f"{m['road_lerf']:.3f}; higher is better) against the random map's "
                f"{m['random']['road']:.3f}: {abs(better):.3f} {how}."
            )
        if m.get("not_converged"):
            words.append(
                f"- {name}: {m['not_converged']} of {explained} maps did not converge (the maps "
                f"of two halves of their masks agree to r {m['split_half']:.2f} on average, below "
                "0.9): add masks (--rise-masks auto, or a larger count)."
            )
    return "\n".join([*lines, "", *words, ""])


def _verdict(beats: dict[str, float | None]) -> str:
    deletion, insertion = beats["deletion"], beats["insertion"]
    if deletion is None or insertion is None:
        return "nothing measured (every map was empty)."
    said = f"deletion {abs(deletion):.3f} {'lower' if deletion > 0 else 'higher'}, insertion "
    said += f"{abs(insertion):.3f} {'higher' if insertion > 0 else 'lower'} than the random map's"
    if deletion > 0 and insertion > 0:
        return f"beats the random map on both curves ({said})."
    if deletion > 0 or insertion > 0:
        return f"beats the random map on one curve only ({said})."
    return f"does not beat the random map ({said})."
