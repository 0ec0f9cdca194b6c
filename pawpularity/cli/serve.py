"""`pawpularity serve`."""

from __future__ import annotations

import tempfile
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
from pawpularity.runs.config import INTERVAL


@app.command("serve")
def serve_cmd(
    run: Annotated[
        Path | None,
        typer.Argument(
            help=f"{RUN_HELP}. Without one: the "
            "ImageNet backbone alone, which checks photos (a pet in it, sharp, well lit) but "
            "scores none.",
            metavar="RUN",
            show_default=False,
        ),
    ] = None,
    host: Annotated[
        str, typer.Option(help="Address to listen on (0.0.0.0: every network interface).")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535)] = 8000,
    evidence: Annotated[
        Path | None,
        typer.Option(help="A `pawpularity analyze` folder: tips then cite measured effects."),
    ] = None,
    results: Annotated[
        Path | None,
        typer.Option(
            help="Folder for the advice files served under /results/ (default: temporary)."
        ),
    ] = None,
    runtime: Annotated[str, typer.Option(help=RUNTIME_HELP)] = "auto",
    device: Annotated[str, DEVICE_OPTION] = "auto",
    interval: Annotated[float, INTERVAL_OPTION] = INTERVAL,
    allow_origin: Annotated[
        list[str] | None,
        typer.Option(
            help="An origin (https://shelter.example) whose pages may call the API; repeat for "
            "more. Others' cross-origin POSTs are refused."
        ),
    ] = None,
) -> None:
    """The web page (/) and REST API (/api/check, /api/score, /api/explain, /api/advise,
    /api/rank; docs at /docs). Scores, maps, advice and ranking need a trained RUN."""
    from pawpularity.advise.evidence import read_effects
    from pawpularity.device import resolve_device
    from pawpularity.errors import ConfigError
    from pawpularity.explain.explainer import IMAGENET_RUN
    from pawpularity.runtime import untune_malloc
    from pawpularity.serve.app import create_app
    from pawpularity.serve.guards import bind, server

    if results is not None and results.exists() and not results.is_dir():
        raise ConfigError(f"--results {results} is a file: give a folder for the advice files")
    resolve_device(device)  # a device that cannot work fails before the port is taken
    sock = bind(host, port)  # a port in use fails now, not after the warm-up
    untune_malloc()  # a server's memory must stay flat across requests of every size
    effects = None if evidence is None else read_effects(evidence)
    model = load_model(run or IMAGENET_RUN, runtime=runtime, device=device, interval=interval)
    if run is None:
        typer.echo(
            "no RUN: photo checks only (the ImageNet backbone); scores need a trained run",
            err=True,
        )
    typer.echo("warming up (shipped photos through every model call) ...", err=True)
    with tempfile.TemporaryDirectory(prefix="pawpularity-results-") as temporary:
        folder = results or Path(temporary)
        api = create_app(model, folder, effects, warm=True, allow_origins=allow_origin or ())
        typer.echo(f"serving on http://{host}:{port}/ (API docs: /docs)", err=True)
        server(api, host, port).run(sockets=[sock])
