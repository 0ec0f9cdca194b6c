"""The `pawpularity` command: thin wrappers over the library, one line per error."""

from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path
from typing import Annotated

import typer

from pawpularity import __version__
from pawpularity.errors import PawpularityError
from pawpularity.explain import RISE_MASKS
from pawpularity.models import DEFAULT_BACKBONE, DEFAULT_FREEZE
from pawpularity.runtime import tune_malloc

app = typer.Typer(
    help="Predict, explain and improve the appeal of pet adoption photos (PetFinder.my "
    "Pawpularity).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
data_app = typer.Typer(
    help="Get, check and make data sets in the Kaggle layout.", no_args_is_help=True
)
app.add_typer(data_app, name="data")


def _version(value: bool) -> None:
    if value:
        typer.echo(f"pawpularity {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    """Predict, explain and improve the appeal of pet adoption photos."""


@data_app.command("check")
def data_check(
    data_dir: Annotated[
        Path, typer.Argument(help="Folder with train.csv (or test.csv) and images.")
    ],
) -> None:
    """List every problem of a Kaggle-layout folder at once; exit 1 if there is any."""
    from pawpularity.data.check import check_dataset

    report = check_dataset(data_dir)
    for line in report.problems:
        typer.echo(f"problem: {line}")
    for line in report.notes:
        typer.echo(f"note: {line}")
    typer.echo(report.summary)
    raise typer.Exit(0 if report.ok else 1)


@data_app.command("download")
def data_download(
    data_dir: Annotated[Path, typer.Argument(help="Where to put train.csv, test.csv and images.")],
) -> None:
    """Download the Kaggle competition files with your own Kaggle credentials."""
    from pawpularity.data.download import download_competition

    download_competition(data_dir)
    typer.echo(f"downloaded to {data_dir}")


@data_app.command("demo")
def data_demo(
    data_dir: Annotated[Path, typer.Argument(help="Folder to create (Kaggle layout).")],
    n: Annotated[int, typer.Option("--n", min=2, help="Number of photos.")] = 96,
    seed: Annotated[int, typer.Option("--seed", help="Random seed; same seed, same bytes.")] = 0,
) -> None:
    """Build a demo set from the shipped photos, with a planted cue that raises the score."""
    from pawpularity.data.demo import make_demo

    make_demo(data_dir, n=n, seed=seed)
    typer.echo(f"wrote {n} photos, train.csv and cues.csv to {data_dir}")


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


@app.command("predict")
def predict_cmd(
    run: Annotated[Path, typer.Argument(help="A training run folder.")],
    paths: Annotated[
        list[str], typer.Argument(help="Photos, folders (recursive), globs, or a train/test CSV.")
    ],
    out: Annotated[Path, typer.Option("--out", help="CSV to write.")] = Path("preds.csv"),
    batch_size: Annotated[int, typer.Option(min=1)] = 32,
) -> None:
    """Score photos (averaging the folds); a photo that fails gets its error in its row.

    Exit 0 when every photo scored, 2 when some failed, 1 when none did.
    """
    from pawpularity.training.predict import collect, predict
    from pawpularity.training.run import load_run

    summary = predict(load_run(run), collect(paths), out, batch_size)
    typer.echo(f"{summary.scored} scored, {summary.failed} failed: {out}")
    raise typer.Exit(summary.exit_code)


@app.command("explain")
def explain_cmd(
    run: Annotated[
        str, typer.Argument(help="A training run folder, or `imagenet` for the bare backbone.")
    ],
    paths: Annotated[list[str], typer.Argument(help="Photos, folders (recursive) or globs.")],
    out: Annotated[Path, typer.Option("--out", help="Folder to write maps and panels to.")],
    methods: Annotated[
        str, typer.Option(help="Comma-separated: vanilla, smoothgrad, gradcam, gradcampp, rise.")
    ] = "vanilla,smoothgrad,gradcam,gradcampp,rise",
    target: Annotated[
        str | None,
        typer.Option(
            help="score (the default for a run), flag:NAME (a predicted flag's logit) or "
            "imagenet (the backbone's top class; the default for `imagenet`)."
        ),
    ] = None,
    rise_masks: Annotated[
        int, typer.Option(min=1, help="RISE masks (centred scores: fewer are needed).")
    ] = RISE_MASKS,
    seed: Annotated[int, typer.Option()] = 0,
    fold: Annotated[int, typer.Option(min=0, help="Which fold's model to explain.")] = 0,
    sanity: Annotated[
        bool,
        typer.Option(
            "--sanity",
            help="Also re-initialise the model step by step and "
            "report how much each map changes (Spearman ρ).",
        ),
    ] = False,
    runtime: Annotated[
        str, typer.Option(help="Batched passes (RISE, faithfulness): auto, ort or eager.")
    ] = "auto",
) -> None:
    """Saliency maps and their faithfulness: <photo>/<method>.npy|.png, panel.png, summary.json.

    Exit 0 when every photo was explained, 2 when some failed, 1 when none was.
    """
    from pawpularity.explain.methods import parse_methods
    from pawpularity.explain.photos import ExplainConfig, explain_photos
    from pawpularity.training.predict import collect

    config = ExplainConfig(
        methods=parse_methods(methods),
        target=target,
        rise_masks=rise_masks,
        seed=seed,
        fold=fold,
        sanity=sanity,
        runtime=runtime,
    )
    summary = explain_photos(run, [item.path for item in collect(paths)], out, config)
    for name, m in summary["means"].items():
        typer.echo(
            f"{name:<10} deletion {m['deletion_auc']:.3f}  insertion {m['insertion_auc']:.3f}  "
            f"{m['seconds']:.2f} s/photo"
        )
    typer.echo(f"{summary['explained']} explained, {summary['failed']} failed: {out}/summary.json")
    raise typer.Exit(0 if not summary["failed"] else (2 if summary["explained"] else 1))


def main() -> None:
    """Entry point: run the app, turning the package's own errors into one line and exit 1."""
    tune_malloc()
    warnings.formatwarning = lambda message, *args, **kwargs: f"warning: {message}\n"
    try:
        app()
    except PawpularityError as e:
        typer.echo(f"error: {e}", err=True)
        sys.exit(1)
