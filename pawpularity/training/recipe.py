"""The 1st-place recipe in one call: frozen embeddings → SVR heads, a fine-tuned net, a blend.

DIR/emb/<backbone>   `embed` of every backbone, flip TTA: pooled features and ImageNet logits
                     (pooled only for a backbone without ImageNet's classifier, e.g. CLIP)
DIR/svr-<backbone>   an SVR head on one backbone's embeddings (with the 12 flags)
DIR/svr-all          an SVR head on all of them side by side (with two backbones or more)
DIR/net              the fine-tuned network (`train`'s default recipe), unless net is None
DIR/blend            the nested blend of every member above (fitted again on each call)
DIR/recipe.csv       member, cv_rmse, baseline_rmse: every member's and the blend's

Every member shares the folds (same `folds` and `seed`), so the blend is honest. Each stage
resumes where it stopped (embed and train continue, a finished one is read back, one started
with other settings is refused), so running the same call again finishes an interrupted recipe.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pandas as pd

from pawpularity.errors import ConfigError
from pawpularity.files import write_csv
from pawpularity.models.config import ModelConfig
from pawpularity.runs.config import EmbedConfig
from pawpularity.runs.embeddings import embed
from pawpularity.training.blend import blend
from pawpularity.training.config import HeadConfig, RecipeConfig, TrainConfig
from pawpularity.training.cv import train
from pawpularity.training.head_cv import train_head


def recipe(data: Path, out: Path, config: RecipeConfig, device: str = "auto") -> pd.DataFrame:
    """Run (or finish) every stage into `out`; the table of members' and the blend's cv_rmse."""
    if len(set(config.backbones)) != len(config.backbones) or not config.backbones:
        raise ConfigError("--backbones: name one backbone or more, each once")
    data, out = Path(data), Path(out)
    heads = HeadConfig("svr", config.folds, config.seed)
    dirs = []
    for name in config.backbones:
        emb = out / "emb" / name
        settings = EmbedConfig(name, config.image_size, "flip", config.pretrained, features="auto")
        embed(data, emb, settings, device=device)
        dirs.append(emb)
    members: dict[str, Path] = {}  # name → run folder
    rows = []
    for name, emb in zip(config.backbones, dirs, strict=True):
        members[f"svr-{name}"] = out / f"svr-{name}"
        rows.append(_row(f"svr-{name}", train_head(data, [emb], out / f"svr-{name}", heads, True)))
    if len(dirs) > 1:
        members["svr-all"] = out / "svr-all"
        rows.append(_row("svr-all", train_head(data, dirs, out / "svr-all", heads, True)))
    if config.net is not None:
        members["net"] = out / "net"
        model = ModelConfig(backbone=config.net, image_size=config.image_size)
        train_config = TrainConfig(
            folds=config.folds, epochs=config.epochs, seed=config.seed,
            pretrained=config.pretrained,
        )  # fmt: skip
        rows.append(_row("net", train(data, out / "net", model, train_config, resume=True)))
    if len(members) > 1:  # seconds of work: always fitted afresh on the members of this call
        shutil.rmtree(out / "blend", ignore_errors=True)
        rows.append(_row("blend", blend(list(members.values()), out / "blend")))
    table = pd.DataFrame(rows)
    write_csv(table, out / "recipe.csv")
    return table


def _row(member: str, metrics: dict[str, Any]) -> dict[str, Any]:
    return {
        "member": member,
        "cv_rmse": round(float(metrics["cv_rmse"]), 3),
        "baseline_rmse": round(float(metrics["baseline_rmse"]), 3),
    }
