"""`pawpularity advise`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from pawpularity.advise import MARGIN
from pawpularity.cli.app import (
    DEVICE_OPTION,
    INTERVAL_OPTION,
    RUN_HELP,
    RUNTIME_HELP,
    app,
    load_model,
)
from pawpularity.runs.config import INTERVAL


@app.command("advise")
def advise_cmd(
    run: Annotated[
        Path,
        typer.Argument(
            help=f"{RUN_HELP}, or imagenet: the bare backbone's photo checks alone "
            "(check.json per photo: no score, no edit)."
        ),
    ],
    paths: Annotated[list[str], typer.Argument(help="Photos, folders (recursive) or globs.")],
    out: Annotated[Path, typer.Option("--out", help="Folder to write the advice to.")],
    evidence: Annotated[
        Path | None,
        typer.Option(
            help="A `pawpularity analyze` folder (or its flag_effects.csv): each tip then cites "
            "the measured effect of its flag."
        ),
    ] = None,
    margin: Annotated[
        float,
        typer.Option(min=0, help="Score points an edit must gain to be recommended."),
    ] = MARGIN,
    runtime: Annotated[str, typer.Option(help=RUNTIME_HELP)] = "auto",
    device: Annotated[str, DEVICE_OPTION] = "auto",
    interval: Annotated[float, INTERVAL_OPTION] = INTERVAL,
) -> None:
    """Tips and the best scored crop/enhancement per photo: advice.json, best.jpg, compare.png.

    Writes DIR/<photo>/ per photo (DIR/ itself for one photo) and DIR/summary.json.
    Exit 0 when every photo was advised, 2 when some failed, 1 when none was.
    """
    from pawpularity.advise.evidence import read_effects
    from pawpularity.data.photos import collect

    effects = None if evidence is None else read_effects(evidence)  # a bad one fails first
    model = load_model(run, runtime=runtime, device=device, interval=interval)
    summary = model.advise_photos([i.path for i in collect(paths)], out, effects, margin)
    for path, result in summary["photos"].items():
        if "error" in result:
            typer.echo(f"{path}: {result['error']}", err=True)
        elif "score" not in result:  # the bare backbone: the photo checks
            tips = result["tips"] or ["every photo check passes"]
            typer.echo(f"{path}: " + "; ".join(tips))
        else:
            edit = result["best_edit"] or "no edit beat the photo"
            span = f"{result['score_low']:.0f}-{result['score_high']:.0f}"
            scores = f"{result['score']:.1f} (likely {span}) -> {result['best_score']:.1f}"
            typer.echo(f"{path}: {scores} ({edit})")
    typer.echo(f"{summary['advised']} advised, {summary['failed']} failed: {out}/summary.json")
    raise typer.Exit(0 if not summary["failed"] else (2 if summary["advised"] else 1))
