"""`pawpularity train`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from pawpularity.cli.app import app
from pawpularity.models import DEFAULT_BACKBONE, DEFAULT_FREEZE


@app.command("train")
def train_cmd(
    data_dir: Annotated[
        Path, typer.Argument(help="Kaggle-layout folder: train.csv + train/<Id>.jpg.")
    ],
    out: Annotated[Path, typer.Option("--out", help="Run folder to write.")],
    backbone: Annotated[
        str,
        typer.Option(
            help="tf_efficientnet_lite0 (offline), resnet50, vgg16_bn, "
            "densenet121, efficientnet_b0 or any timm name."
        ),
    ] = DEFAULT_BACKBONE,
    folds: Annotated[int, typer.Option(min=2, help="Cross-validation folds.")] = 5,
    epochs: Annotated[int, typer.Option(min=1)] = 8,
    batch_size: Annotated[int, typer.Option(min=1)] = 16,
    lr: Annotated[float, typer.Option(help="AdamW learning rate (cosine decay).")] = 5e-4,
    image_size: Annotated[
        int | None, typer.Option(help="Square input side; default: the backbone's own.")
    ] = None,
    freeze: Annotated[
        str,
        typer.Option(
            help="none, backbone, or N: freeze the first N stages (-N: all but "
            "the last N). Frozen stages are computed once and cached."
        ),
    ] = DEFAULT_FREEZE,
    loss: Annotated[str, typer.Option(help="mse (regression) or bce (on score/100).")] = "mse",
    seed: Annotated[int, typer.Option()] = 0,
    pretrained: Annotated[str, typer.Option(help="imagenet or none.")] = "imagenet",
    weights: Annotated[
        Path | None, typer.Option(help="Backbone weights: .safetensors or a PyTorch state dict.")
    ] = None,
    resume: Annotated[bool, typer.Option("--resume", help="Continue an interrupted run.")] = False,
) -> None:
    """Train one model per fold (leak-free folds) and write out-of-fold metrics."""
    from pawpularity.models.fusion import ModelConfig
    from pawpularity.training.cv import TrainConfig, train

    model = ModelConfig(backbone=backbone, image_size=image_size, loss=loss)
    config = TrainConfig(
        folds=folds,
        epochs=epochs,
        batch_size=batch_size,
        lr=lr,
        freeze=freeze,
        seed=seed,
        pretrained=pretrained,
        weights=str(weights) if weights else None,
    )
    metrics = train(data_dir, out, model, config, resume=resume)
    typer.echo(json.dumps({k: metrics[k] for k in ("cv_rmse", "baseline_rmse", "fold_rmse")}))
    typer.echo(f"run written to {out}")
