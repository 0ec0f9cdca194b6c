"""`pawpularity check`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from pawpularity.cli.app import DEVICE_OPTION, app


@app.command("check")
def check_cmd(
    paths: Annotated[
        list[str], typer.Argument(help="Photos, folders (recursive), globs, or a train/test CSV.")
    ],
    out: Annotated[Path, typer.Option("--out", help="CSV to write.")] = Path("checks.csv"),
    device: Annotated[str, DEVICE_OPTION] = "auto",
    resume: Annotated[
        bool, typer.Option("--resume", help="Keep the rows already in --out, check the rest.")
    ] = False,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace an existing --out (else refused).")
    ] = False,
) -> None:
    """Check photos without a trained model (the offline ImageNet backbone alone): is a cat or
    dog in it, does it fill the frame, does the frame cut it, is it sharp and well exposed.

    Writes one row per photo: path, pet_probability, pet_share, sharpness, brightness, clipped
    (share of blown-out pixels), ok_pet, ok_size, ok_frame, ok_sharp, ok_exposure (1 or 0), tips
    (joined by " | "), error. Prints the tips of each photo that fails a check.
    Exit 0 when every photo was checked, 2 when some failed, 1 when none was.
    """
    import pandas as pd

    import pawpularity as paw
    from pawpularity.advise.check import TIP_SEPARATOR, VERDICTS
    from pawpularity.data.photos import collect

    items, inputs = collect(paths), [Path(p) for p in paths]
    model = paw.load(paw.IMAGENET_RUN, device=device)
    summary = model.check_photos(items, out, resume, overwrite, inputs)
    rows = pd.read_csv(out, keep_default_na=False, dtype=str)
    checked = rows[rows["error"] == ""]
    retake = checked[(checked[list(VERDICTS)] != "1").any(axis=1)]
    for path, tips in zip(retake["path"], retake["tips"], strict=True):
        typer.echo(f"{path}:")
        for tip in tips.split(TIP_SEPARATOR):
            typer.echo(f"  - {tip}")
    for error in rows.loc[rows["error"] != "", "error"]:
        typer.echo(error, err=True)
    passed = summary.scored - len(retake)
    typer.echo(
        f"{summary.scored} checked ({passed} pass every check), {summary.failed} failed: {out}"
    )
    raise typer.Exit(summary.exit_code)
