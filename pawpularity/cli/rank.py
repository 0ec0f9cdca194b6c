"""`pawpularity rank`."""

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

BY_HELP = (
    "folder: one sub-folder per animal (its name is the animal's id); csv:FILE: a CSV with "
    "photo, animal columns (photo: a path under a PATH folder, or a file name)."
)


@app.command("rank")
def rank_cmd(
    run: Annotated[Path, typer.Argument(help=f"{RUN_HELP}.")],
    paths: Annotated[list[str], typer.Argument(help="Photos, folders (recursive) or globs.")],
    out: Annotated[
        Path, typer.Option("--out", help="Folder for ranking.csv, covers/ and index.html.")
    ],
    by: Annotated[str, typer.Option("--by", help=BY_HELP)] = "folder",
    audit: Annotated[
        bool,
        typer.Option(
            "--audit",
            help="Open the page (and the summary) with the animals whose best photo scores in "
            "the bottom quarter of the training photos, and what to retake.",
        ),
    ] = False,
    resume: Annotated[
        bool, typer.Option("--resume", help="Keep the animals already in --out, rank the rest.")
    ] = False,
    evidence: Annotated[
        Path | None,
        typer.Option(help="A `pawpularity analyze` folder (or its flag_effects.csv) for tips."),
    ] = None,
    margin: Annotated[
        float, typer.Option(min=0, help="Score points an edit must gain to be recommended.")
    ] = MARGIN,
    runtime: Annotated[str, typer.Option(help=RUNTIME_HELP)] = "auto",
    device: Annotated[str, DEVICE_OPTION] = "auto",
    interval: Annotated[float, INTERVAL_OPTION] = INTERVAL,
) -> None:
    """Rank each animal's photos best first and pick its cover: the best photo, or an improved
    edit whose confirmed gain lifts it above the others.

    Writes DIR/ranking.csv (one row per photo), DIR/covers/<animal>.jpg and DIR/index.html
    (a printable contact sheet per animal; it says where two photos' order is a coin toss).
    Exit 0 when every photo scored, 2 when some failed, 1 when none did.
    """
    from pawpularity.advise.evidence import read_effects
    from pawpularity.advise.rank_photos import INDEX, RANKING, group

    groups = group(paths, by)  # bad input fails before the model loads
    effects = None if evidence is None else read_effects(evidence)
    model = load_model(run, runtime=runtime, device=device, interval=interval)
    summary = model.rank_photos(groups, out, effects, margin, audit, resume)
    if summary.retakes is not None:
        typer.echo(
            f"{len(summary.retakes)} animal(s) need a retake (best photo in the bottom quarter):"
        )
        for a in summary.retakes:
            what = "; ".join(a.tips) or "no tip applies to all its photos"
            typer.echo(f"  {a.animal}: best {a.score:.1f} (percentile {a.percentile:.0f}): {what}")
    typer.echo(
        f"{summary.animals} animals, {summary.scored} photos ranked, {summary.failed} failed: "
        f"{out / RANKING}, {out / INDEX}"
    )
    raise typer.Exit(summary.exit_code)
