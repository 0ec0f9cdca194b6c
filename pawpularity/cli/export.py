"""`pawpularity export`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from pawpularity.cli.app import app


@app.command("export")
def export_cmd(
    run: Annotated[Path, typer.Argument(help="A training run folder (network or --head run).")],
    fmt: Annotated[str, typer.Option("--format", help="onnx (the only format so far).")] = "onnx",
) -> None:
    """Export the run for ONNX Runtime (one graph of every fold) and check it against PyTorch.

    `predict` then uses the graphs automatically (`--runtime eager` to skip them).
    """
    from pawpularity.runs.export import export_run

    report = export_run(run, fmt)
    typer.echo(json.dumps(report))
