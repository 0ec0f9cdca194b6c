"""`pawpularity blend`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from pawpularity.cli.app import app


@app.command("blend")
def blend_cmd(
    runs: Annotated[list[Path], typer.Argument(help="Finished runs on the same data and folds.")],
    out: Annotated[Path, typer.Option("--out", help="Blend run folder to write.")],
) -> None:
    """Blend runs by a weighted average (weights ≥ 0 summing to 1) fitted on their out-of-fold
    predictions.

    The blend's CV is nested (the weights that score a fold never saw it); when it is worse than
    the best member's, the blend says so and keeps that member's predictions. `predict` takes
    the blend folder like any run.
    """
    from pawpularity.training.blend import blend

    metrics = blend(runs, out)
    keys = ("cv_rmse", "baseline_rmse", "fold_rmse", "weights")
    typer.echo(json.dumps({k: metrics[k] for k in keys}))
    if metrics["note"]:
        typer.echo(f"note: {metrics['note']}")
    typer.echo(f"blend written to {out}")
