"""`pawpularity data check|download|demo`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from pawpularity.cli.app import app
from pawpularity.data import DEMO_PHOTOS, DEMO_SEED

data_app = typer.Typer(
    help="Get, check and make data sets in the Kaggle layout.", no_args_is_help=True
)
app.add_typer(data_app, name="data")


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
    n: Annotated[int, typer.Option("--n", min=2, help="Number of photos.")] = DEMO_PHOTOS,
    seed: Annotated[
        int, typer.Option("--seed", help="Random seed; same seed, same bytes.")
    ] = DEMO_SEED,
    full_size: Annotated[
        bool,
        typer.Option(
            "--full-size",
            help="Photos at the sizes of real adoption photos (720×960 portrait or 960×720 "
            "landscape JPEGs, quality 90) instead of 256 px high: with --n 9912 a Kaggle-sized "
            "set, offline.",
        ),
    ] = False,
) -> None:
    """Build a demo set from the shipped photos, with a planted cue that raises the score."""
    from pawpularity.data.demo import make_demo

    make_demo(data_dir, n=n, seed=seed, full_size=full_size)
    typer.echo(f"wrote {n} photos, train.csv and cues.csv to {data_dir}")
