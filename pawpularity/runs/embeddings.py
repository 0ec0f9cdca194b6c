"""Backbone features of every photo, streamed to disk in batches, resumable.

DIR/embeddings.npy   N×D float32, one row per photo (NaN where the photo could not be read):
                     the pooled features, the 1000 ImageNet logits, or both (pooled first)
DIR/species.npy      N float32: p(dog) / (p(cat) + p(dog)) from the ImageNet softmax; only for a
                     backbone with ImageNet's classifier (meta `species`)
DIR/ids.csv          Id, path, error
DIR/meta.json        backbone, weights, image_size, mean, std, tta, features, species, dim, n,
                     done

While running, rows go to DIR/*.partial.npy (written in place) and `done` in meta.json counts the
rows safely on disk; the same command again continues from there.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import pandas as pd
import torch
from numpy.lib.format import open_memmap
from tqdm import tqdm

from pawpularity.data.dataset import decoded, photo_loader, unit_pixels
from pawpularity.data.photos import collect
from pawpularity.data.schema import ID, image_path, read_table
from pawpularity.device import announce, autocast, pin_memory, resolve_device, runtime_for
from pawpularity.errors import ConfigError, RunError
from pawpularity.files import read_json, write_csv, write_json
from pawpularity.models.backbones import (
    TimmModel,
    create_backbone,
    embedding_size,
    has_imagenet_head,
    input_size,
    preprocessing,
)
from pawpularity.models.embedder import Embedder
from pawpularity.models.onnx import OrtModule, cached_export, check_runtime, weights_key
from pawpularity.runs.config import BATCH_SIZE, FEATURES, TTAS, EmbedConfig
from pawpularity.runs.embedded import EMBEDDINGS, IDS, META, SPECIES, Embeddings, load_embeddings
from pawpularity.runtime import flat_malloc

FLUSH_EVERY = 8  # batches between progress records (a crash loses at most this much work)


def partial(name: str) -> str:
    """The file a finished one is written to while running: embeddings.partial.npy, ..."""
    return name.removesuffix(".npy") + ".partial.npy"


Features = Callable[[torch.Tensor], torch.Tensor]  # B×3×S×S pixels in [0, 1] → B×D (CPU)


def photos(data: Path) -> tuple[list[str], list[Path]]:
    """(Ids, paths): the rows of DATA/train.csv, or every photo under a plain folder."""
    if (data / "train.csv").is_file():
        ids = [str(i) for i in read_table(data / "train.csv")[ID]]
        return ids, [image_path(data, i) for i in ids]
    paths = [item.path for item in collect([data])]
    base = data if data.is_dir() else data.parent
    return [str(p.relative_to(base)) if p.is_relative_to(base) else str(p) for p in paths], paths


def embed(
    data: Path,
    out: Path,
    config: EmbedConfig,
    runtime: str = "auto",
    batch_size: int = BATCH_SIZE,
    device: str | torch.device = "cpu",
) -> Embeddings:
    """Write the features (and species) of every photo of `data` to `out` (continues a partial
    run).

    device: where the backbone runs (`--device`; on CUDA eager PyTorch under autocast, photos
    decoded into pinned memory by every core but one).
    """
    if config.tta not in TTAS:
        raise ConfigError(f"--tta must be one of {', '.join(TTAS)}, not {config.tta!r}")
    where = resolve_device(device)
    runtime = runtime_for(where, runtime)
    check_runtime(runtime)
    ids, paths = photos(Path(data))
    backbone = embedding_backbone(config.backbone, config.pretrained, config.weights)
    species = has_imagenet_head(backbone)
    kind = ("both" if species else "pooled") if config.features == "auto" else config.features
    embedder = make_embedder(backbone, config.tta, kind, species)
    mean, std, _ = preprocessing(backbone)
    size = input_size(backbone, config.image_size)
    meta: dict[str, Any] = {
        "backbone": config.backbone,
        "pretrained": config.pretrained,
        "weights": str(Path(config.weights).resolve()) if config.weights else None,
        "image_size": size,
        "mean": list(mean),
        "std": list(std),
        "tta": config.tta,
        "features": kind,
        "species": species,
        "dim": feature_size(backbone, kind),
        "n": len(ids),
        "data": str(Path(data).resolve()),
    }
    done = _start(out, meta, ids, paths)
    if done < len(ids):
        announce(device, where)
        features = features_fn(embedder, size, runtime, where)
        with flat_malloc(isinstance(features, GraphFeatures)):
            _fill(out, meta, paths, done, features, batch_size, where)
    for name in _files(meta):  # finished: the partial files become the embeddings
        if (out / partial(name)).is_file():
            os.replace(out / partial(name), out / name)
    return load_embeddings(out)


def make_embedder(backbone: TimmModel, tta: str, features: str, species: bool) -> Embedder:
    """The embedder of `--tta` and `--features` (a ConfigError for others), with the species
    column after the features if `species`."""
    if features not in FEATURES[:3]:  # `auto` is resolved by `embed`
        raise ConfigError(f"--features must be one of {', '.join(FEATURES)}, not {features!r}")
    pooled, logits = features in ("pooled", "both"), features in ("logits", "both")
    return Embedder(backbone, tta == "flip", pooled, logits, species)


def feature_size(backbone: TimmModel, features: str) -> int:
    """Width of an embeddings row of `--features`: D pooled, 1000 logits or D + 1000."""
    return (embedding_size(backbone) if features != "logits" else 0) + (
        1000 if features != "pooled" else 0
    )


def _files(meta: dict[str, Any]) -> dict[str, int]:
    """The files of an embeddings folder → their columns per photo, in the embedder's order."""
    return {EMBEDDINGS: int(meta["dim"])} | ({SPECIES: 1} if meta.get("species") else {})


def embedding_backbone(name: str, pretrained: str, weights: str | None) -> Any:
    """The backbone as `create_backbone` gives it; random weights (--pretrained none) are seeded,
    so scoring later rebuilds the very same ones."""
    torch.manual_seed(0)
    return create_backbone(name, pretrained, Path(weights) if weights else None)


def _start(out: Path, meta: dict[str, Any], ids: list[str], paths: list[Path]) -> int:
    """Rows already done: 0 for a new folder, `done` when continuing the same settings."""
    if (out / META).is_file():
        saved = read_json(out / META)
        differ = [k for k in meta if saved.get(k) != meta[k]]
        if differ:
            raise RunError(
                f"{out} holds embeddings made with other settings ({', '.join(differ)}): "
                "pick a new --out"
            )
        if (out / EMBEDDINGS).is_file() or (out / partial(EMBEDDINGS)).is_file():
            return int(saved.get("done", 0))
    elif out.exists() and any(out.iterdir()):
        raise RunError(f"{out} exists and is not an embeddings folder: pick a new --out")
    out.mkdir(parents=True, exist_ok=True)
    write_csv(pd.DataFrame({ID: ids, "path": [str(p) for p in paths], "error": ""}), out / IDS)
    for name, width in _files(meta).items():
        shape = (len(ids), width) if name == EMBEDDINGS else (len(ids),)
        open_memmap(out / partial(name), mode="w+", dtype=np.float32, shape=shape)
    write_json(out / META, {**meta, "done": 0})
    return 0


def _fill(
    out: Path,
    meta: dict[str, Any],
    paths: list[Path],
    done: int,
    features: Features,
    batch_size: int,
    device: torch.device | None = None,
) -> None:
    """Rows `done`.. of each file written in place with plain file writes (a memory map would
    hold every written page in the process's memory); ids.csv rewritten only when new errors
    came. Photos travel to `device` as uint8, from pinned memory on a GPU."""
    device = device or torch.device("cpu")
    widths = _files(meta)
    table = pd.read_csv(out / IDS, dtype=str, keep_default_na=False)
    loader = photo_loader(
        paths, meta["image_size"], done, batch_size, pin_memory=pin_memory(device)
    )
    bar = tqdm(total=len(paths), initial=done, unit="img", desc="embedding", leave=False)
    new_errors = False
    with ExitStack() as stack:
        # each file with where its row 0 begins
        files = [
            (stack.enter_context(open(out / partial(n), "r+b")), _row0(out / partial(n)), w)
            for n, w in widths.items()
        ]
        for b, (index, pixels, errors) in enumerate(loader):
            good, chosen = decoded(pixels, errors)
            block = np.full((len(index), sum(widths.values())), np.nan, np.float32)
            if good:
                block[good] = features(unit_pixels(chosen.to(device, non_blocking=True))).numpy()
            column = 0
            for f, start, width in files:
                f.seek(start + int(index[0]) * 4 * width)
                f.write(np.ascontiguousarray(block[:, column : column + width]).tobytes())
                column += width
            for i, e in zip(index.tolist(), errors, strict=True):
                if e:
                    table.loc[i, "error"], new_errors = e, True
            bar.update(len(index))
            if (b + 1) % FLUSH_EVERY == 0 or int(index[-1]) + 1 == len(paths):
                rows = [f for f, _, _ in files]
                _record(out, rows, table if new_errors else None, meta, int(index[-1]) + 1)
                new_errors = False
    bar.close()


def _row0(path: Path) -> int:
    return int(open_memmap(path, mode="r").offset)


def _record(
    out: Path,
    files: Sequence[BinaryIO],
    table: pd.DataFrame | None,
    meta: dict[str, Any],
    done: int,
) -> None:
    """Make the first `done` rows durable: data, then new errors, then the count that promises
    them."""
    for rows in files:
        rows.flush()
        os.fsync(rows.fileno())
    if table is not None:
        write_csv(table, out / IDS)
    write_json(out / META, {**meta, "done": done})


def features_fn(
    embedder: Embedder,
    size: int,
    runtime: str = "auto",
    device: torch.device | None = None,
) -> Features:
    """The embedder on ONNX Runtime (exported once, cached; CPU only) or eager PyTorch on
    `device` (channels_last, under autocast where the device has an AUTOCAST dtype). Features
    come back as float32 CPU tensors."""
    device = device or torch.device("cpu")
    runtime = runtime_for(device, runtime)
    check_runtime(runtime)
    if runtime != "eager":
        try:
            key = weights_key(embedder, f"embedder|{size}|{embedder.kind}")
            example = (torch.rand(2, 3, size, size),)
            return GraphFeatures(
                OrtModule(cached_export(embedder, example, key, (["pixels"], ["features"])))
            )
        except ConfigError as e:
            if runtime == "ort":
                raise
            warnings.warn(f"embeddings run on eager PyTorch (slower): {e}", stacklevel=2)
    fast = embedder.to(device).to(memory_format=torch.channels_last)

    @torch.inference_mode()
    def eager(x: torch.Tensor) -> torch.Tensor:
        x = x.to(device, non_blocking=True).contiguous(memory_format=torch.channels_last)
        with autocast(device):
            return fast(x).float().cpu()

    return eager


class GraphFeatures:
    """An exported embedder (pixels → features) as a features function."""

    def __init__(self, graph: OrtModule) -> None:
        self.graph = graph

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return self.graph(x)[0]
