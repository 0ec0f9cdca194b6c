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
    """Blend runs with non-negative weights fitted on their out-of-fold predictions.

    The blend's CV is nested (the weights that score a fold never saw it); `predict` takes
    the blend folder like any run.
    """
    from pawpularity.training.blend import blend

    metrics = blend(runs, out)
    keys = ("cv_rmse", "baseline_rmse", "fold_rmse", "weights")
    typer.echo(json.dumps({k: metrics[k] for k in keys}))
    typer.echo(f"blend written to {out}")
