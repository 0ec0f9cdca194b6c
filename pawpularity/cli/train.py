"""`pawpularity train`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from pawpularity.cli.app import app
from pawpularity.models.config import LOSSES, ModelConfig
from pawpularity.runs.config import HEAD_KINDS, MAX_FOLDS
from pawpularity.training.config import AUGMENTS, CACHES, Devices, HeadConfig, TrainConfig

MODEL, TRAIN, LAYOUT = ModelConfig(), TrainConfig(), Devices()


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
    ] = MODEL.backbone,
    folds: Annotated[
        int, typer.Option(min=2, max=MAX_FOLDS, help="Cross-validation folds.")
    ] = TRAIN.folds,
    epochs: Annotated[int, typer.Option(min=1)] = TRAIN.epochs,
    batch_size: Annotated[int, typer.Option(min=1)] = TRAIN.batch_size,
    lr: Annotated[float, typer.Option(help="AdamW learning rate (cosine decay).")] = TRAIN.lr,
    image_size: Annotated[
        int | None, typer.Option(help="Square input side; default: the backbone's own.")
    ] = MODEL.image_size,
    freeze: Annotated[
        str,
        typer.Option(
            help="none, backbone, or N: freeze the first N stages (-N: all but "
            "the last N). Frozen stages are computed once and cached."
        ),
    ] = TRAIN.freeze,
    loss: Annotated[
        str, typer.Option(help=f"{' or '.join(LOSSES)}: MSE on the score, or BCE on score/100.")
    ] = MODEL.loss,
    cache: Annotated[
        str,
        typer.Option(
            help=f"{'|'.join(CACHES)}: where the frozen stages' outputs (photo and mirror) are "
            "kept: in memory, in a memory-mapped file in the run folder, or nowhere (photos "
            "are streamed). auto: memory if they fit, else disk if it has room, else off."
        ),
    ] = TRAIN.cache,
    augment: Annotated[
        str,
        typer.Option(
            help=f"{'|'.join(AUGMENTS)}: mirror images only, or also zoom, shift and "
            "brightness/contrast; full needs the photos: --cache off (auto streams them)."
        ),
    ] = TRAIN.augment,
    seed: Annotated[int, typer.Option()] = TRAIN.seed,
    pretrained: Annotated[str, typer.Option(help="imagenet or none.")] = TRAIN.pretrained,
    weights: Annotated[
        Path | None, typer.Option(help="Backbone weights: .safetensors or a PyTorch state dict.")
    ] = None,
    resume: Annotated[bool, typer.Option("--resume", help="Continue an interrupted run.")] = False,
    head: Annotated[
        str,
        typer.Option(
            help=f"net (fine-tune the network), or {' / '.join(HEAD_KINDS)} on --embeddings."
        ),
    ] = "net",
    embeddings: Annotated[
        list[Path] | None,
        typer.Option(help="Folder from `pawpularity embed` (repeat to join several)."),
    ] = None,
    no_flags: Annotated[
        bool, typer.Option("--no-flags", help="--head svr|ridge: leave the 12 flags out.")
    ] = False,
    extra: Annotated[
        list[str] | None,
        typer.Option(
            help="--head svr|ridge: a column joining the features (repeatable): species, "
            "p(dog) vs cat from the ImageNet classifier of the embeddings' backbone."
        ),
    ] = None,
    accelerator: Annotated[
        str, typer.Option(help="auto, cpu, gpu, ... (Lightning).")
    ] = LAYOUT.accelerator,
    devices: Annotated[
        int, typer.Option(min=1, help="Devices (processes) per node.")
    ] = LAYOUT.devices,
    num_nodes: Annotated[
        int, typer.Option(min=1, help="Machines, e.g. under SLURM.")
    ] = LAYOUT.num_nodes,
    strategy: Annotated[
        str, typer.Option(help="auto, ddp, ddp_spawn, ... (Lightning); ddp for several devices.")
    ] = LAYOUT.strategy,
) -> None:
    """Train one model per fold (leak-free folds) and write out-of-fold metrics.

    --batch-size is the global batch, split over devices × nodes.
    """
    from pawpularity.errors import ConfigError

    if head == "net" and (embeddings or extra):
        raise ConfigError(
            f"--embeddings and --extra feed --head {'|'.join(HEAD_KINDS)}; add one of those"
        )
    if head != "net":
        from pawpularity.training.head_cv import train_head

        head_config = HeadConfig(head, folds, seed, flags=not no_flags, extra=tuple(extra or ()))
        metrics = train_head(data_dir, embeddings or [], out, head_config, resume)
        _report(metrics, out)
        return

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
        cache=cache,
        augment=augment,
    )
    from pawpularity.training.cv import train

    layout = Devices(accelerator, devices, num_nodes, strategy)
    metrics = train(data_dir, out, model, config, resume=resume, devices=layout)
    if metrics:  # empty in the 2nd, 3rd, ... process of a multi-device run
        _report(metrics, out)


def _report(metrics: dict[str, Any], out: Path) -> None:
    typer.echo(json.dumps({k: metrics[k] for k in ("cv_rmse", "baseline_rmse", "fold_rmse")}))
    typer.echo(f"{against_baseline(metrics)}; run written to {out}")


def against_baseline(metrics: dict[str, Any]) -> str:
    """'cv_rmse 6.88 against a baseline of 18.10 (0.38×)': how much better than the mean."""
    cv, base = metrics["cv_rmse"], metrics["baseline_rmse"]
    return f"cv_rmse {cv:.2f} against a baseline of {base:.2f} ({cv / base:.2f}×)"
