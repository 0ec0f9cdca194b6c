"""Cross-validated scikit-learn heads on saved embeddings.

The run folder is laid out as for the network heads (cv.py): config.json (kind "head"),
folds.csv (the same leak-free folds), fold<k>/head.safetensors, fold<k>/predictions.csv,
oof.csv, metrics.json. Scoring new photos (`runs.heads`) re-embeds them with each source's
backbone, features and species, as recorded in config.json.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pawpularity.data.folds import near_duplicate_groups
from pawpularity.data.schema import FLAGS, ID, TARGET, image_path, read_table
from pawpularity.errors import ConfigError, DataError
from pawpularity.runs.config import HEAD_KINDS
from pawpularity.runs.embedded import load_embeddings
from pawpularity.runs.heads import FoldHead, species_source
from pawpularity.training.config import HeadConfig
from pawpularity.training.heads import fit_head, params
from pawpularity.training.runfolder import (
    check_present,
    run_folds,
    start_run,
    summarise,
    trained_on,
    write_fold_predictions,
)
from pawpularity.version import __version__

# What a run keeps of each embeddings folder's meta.json: enough to embed new photos alike.
SOURCE_KEYS = (
    "backbone",
    "pretrained",
    "weights",
    "image_size",
    "tta",
    "features",
    "species",
    "dim",
)


def train_head(
    data_dir: Path,
    embeddings: Sequence[Path],
    out: Path,
    config: HeadConfig,
    resume: bool = False,
) -> dict[str, Any]:
    """Fit one head per fold on the embeddings of DATA's photos; metrics as for `train`."""
    start = time.perf_counter()
    if config.head not in HEAD_KINDS:
        raise ConfigError(
            f"--head must be one of {', '.join(HEAD_KINDS)} or net, not {config.head!r}"
        )
    if not embeddings:
        raise DataError("--head needs --embeddings DIR (make it with `pawpularity embed DATA`)")
    table = read_table(Path(data_dir) / "train.csv")
    paths = [image_path(data_dir, i) for i in table[ID]]
    check_present(paths)
    x, sources = _features(list(table[ID]), embeddings, config.extra)
    start_run(out, _wanted(data_dir, len(table), config, sources), resume)
    folds = run_folds(out, table, paths, config.folds, config.seed)
    groups = near_duplicate_groups(paths)
    flags = table[list(FLAGS)].to_numpy(np.float64)
    target = table[TARGET].to_numpy(np.float64)
    prep_seconds = time.perf_counter() - start
    for k in range(config.folds):
        fold_dir = out / f"fold{k}"
        if (fold_dir / "predictions.csv").is_file():
            continue
        fold_start = time.perf_counter()
        tr, va = np.flatnonzero(folds != k), np.flatnonzero(folds == k)
        head = fit_head(
            config.head, x[tr], flags[tr], target[tr], groups[tr], config.flags, config.seed
        )
        head.save(fold_dir)
        score, probs = head.predict(x[va], flags[va])
        free, _ = head.predict(x[va], None)
        preds = pd.DataFrame(
            {
                ID: table[ID].to_numpy()[va],
                "target": target[va],
                "baseline": float(target[tr].mean()),
                "prediction": score,
                "prediction_no_flags": free,
            }
            | {f"p_{flag}": probs[:, i] for i, flag in enumerate(FLAGS)}
        )
        preds["seconds"] = time.perf_counter() - fold_start
        write_fold_predictions(preds, fold_dir)
    chosen = [params(FoldHead.load(out / f"fold{k}", config.head)) for k in range(config.folds)]
    return summarise(out, table, config.folds, prep_seconds, {"head_params": chosen})


def _features(
    ids: list[str], dirs: Sequence[Path], extra: Sequence[str]
) -> tuple[np.ndarray, list[dict[str, Any]]]:
    """The embeddings of `ids`, side by side over the folders (the species column of `extra`
    right after its folder's), and each folder's description."""
    blocks, sources = [], []
    folders = [load_embeddings(Path(d)) for d in dirs]
    species = species_source([e.meta for e in folders], extra)
    for k, (d, e) in enumerate(zip(dirs, folders, strict=True)):
        where = {i: r for r, i in enumerate(e.ids)}
        missing = [i for i in ids if i not in where]
        if missing:
            raise DataError(
                f"{d}: {len(missing)} of {len(ids)} Ids of train.csv have no embedding, e.g. "
                f"{missing[0]} (embed the same DATA folder)"
            )
        rows = [where[i] for i in ids]
        block = np.asarray(e.features[rows], np.float64)
        if k == species and e.species is not None:
            block = np.hstack([block, np.asarray(e.species[rows], np.float64)[:, None]])
        broken = [ids[r] for r in np.flatnonzero(~np.isfinite(block).all(1))]
        if broken:
            raise DataError(
                f"{d}: {len(broken)} photos could not be embedded, e.g. {broken[0]} (see its "
                "ids.csv; fix or drop them from train.csv and embed again)"
            )
        blocks.append(block)
        sources.append({"path": str(e.path.resolve())} | {k: e.meta.get(k) for k in SOURCE_KEYS})
    return np.hstack(blocks), sources


def _wanted(
    data_dir: Path, rows: int, config: HeadConfig, sources: list[dict[str, Any]]
) -> dict[str, Any]:
    return {
        "pawpularity": __version__,
        "kind": "head",
        **trained_on(data_dir, rows),
        "head": asdict(config),
        "embeddings": {str(i): s for i, s in enumerate(sources)},
        "flags": list(FLAGS),
    }
