"""`pawpularity predict`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from pawpularity.cli.app import (
    DEVICE_OPTION,
    INTERVAL_OPTION,
    RUN_HELP,
    RUNTIME_HELP,
    app,
    load_model,
)
from pawpularity.runs.config import BATCH_SIZE, INTERVAL

ENGINES = ("local", "ray")


@app.command("predict")
def predict_cmd(
    run: Annotated[
        Path,
        typer.Argument(help=f"{RUN_HELP}."),
    ],
    paths: Annotated[
        list[str], typer.Argument(help="Photos, folders (recursive), globs, or a train/test CSV.")
    ],
    out: Annotated[Path, typer.Option("--out", help="CSV to write.")] = Path("preds.csv"),
    batch_size: Annotated[int, typer.Option(min=1)] = BATCH_SIZE,
    runtime: Annotated[str, typer.Option(help=RUNTIME_HELP)] = "auto",
    device: Annotated[str, DEVICE_OPTION] = "auto",
    interval: Annotated[float, INTERVAL_OPTION] = INTERVAL,
    workers: Annotated[
        int | None,
        typer.Option(
            min=0, help="Photo-decoding processes; default: cores - 1 (at most 4; 16 on CUDA)."
        ),
    ] = None,
    resume: Annotated[
        bool, typer.Option("--resume", help="Keep the rows already in --out, score the rest.")
    ] = False,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace an existing --out (else refused).")
    ] = False,
    engine: Annotated[
        str,
        typer.Option(
            help="local (this process), or ray: actors of a Ray cluster read and score the "
            "photos (pip install 'pawpularity[ray]'; every node must see the paths)."
        ),
    ] = ENGINES[0],
    address: Annotated[
        str | None,
        typer.Option(help="--engine ray: the cluster (auto, ray://HOST:10001); default: local."),
    ] = None,
    concurrency: Annotated[
        int, typer.Option(min=1, help="--engine ray: actors, each with the run loaded once.")
    ] = 1,
) -> None:
    """Score photos (averaging the folds), each with an interval and its percentile among the
    training photos; a photo that fails gets its error in its row.

    Exit 0 when every photo scored, 2 when some failed, 1 when none did.
    """
    from pawpularity.data.photos import collect
    from pawpularity.errors import ConfigError
    from pawpularity.runs.intervals import read_calibration
    from pawpularity.runs.pack import resolve_run

    folder = resolve_run(run)  # a .paw or hf://USER/NAME: its checked, unpacked folder
    if engine not in ENGINES:
        raise ConfigError(f"--engine must be one of {', '.join(ENGINES)}, not {engine!r}")
    items, inputs = collect(paths), [Path(p) for p in paths]
    if engine == "ray":
        from pawpularity.runs.ray_predict import predict_on_ray

        summary = predict_on_ray(
            run,
            items,
            out,
            address,
            concurrency,
            batch_size,
            runtime,
            resume,
            overwrite,
            inputs,
            device,
            interval,
        )
    else:
        model = load_model(folder, runtime=runtime, device=device, interval=interval)
        summary = model.predict(items, out, batch_size, workers, resume, overwrite, inputs)
    typer.echo(f"{summary.scored} scored, {summary.failed} failed: {out}")
    typer.echo(read_calibration(folder).describe(interval))
    raise typer.Exit(summary.exit_code)
