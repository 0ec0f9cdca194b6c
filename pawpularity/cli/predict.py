"""`pawpularity predict`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from pawpularity.cli.app import app


@app.command("predict")
def predict_cmd(
    run: Annotated[Path, typer.Argument(help="A training run folder.")],
    paths: Annotated[
        list[str], typer.Argument(help="Photos, folders (recursive), globs, or a train/test CSV.")
    ],
    out: Annotated[Path, typer.Option("--out", help="CSV to write.")] = Path("preds.csv"),
    batch_size: Annotated[int, typer.Option(min=1)] = 32,
    runtime: Annotated[
        str,
        typer.Option(help="auto (ONNX Runtime when the run was exported), ort or eager."),
    ] = "auto",
    workers: Annotated[
        int | None, typer.Option(min=0, help="Photo-decoding processes; default: cores - 1.")
    ] = None,
    resume: Annotated[
        bool, typer.Option("--resume", help="Keep the rows already in --out, score the rest.")
    ] = False,
) -> None:
    """Score photos (averaging the folds); a photo that fails gets its error in its row.

    Exit 0 when every photo scored, 2 when some failed, 1 when none did.
    """
    from pawpularity.training.predict import collect, predict
    from pawpularity.training.run import load_run

    summary = predict(load_run(run, runtime), collect(paths), out, batch_size, workers, resume)
    typer.echo(f"{summary.scored} scored, {summary.failed} failed: {out}")
    raise typer.Exit(summary.exit_code)
