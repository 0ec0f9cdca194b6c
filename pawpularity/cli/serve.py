"""`pawpularity serve`."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated

import typer

from pawpularity.cli.app import RUNTIME_HELP, app


@app.command("serve")
def serve_cmd(
    run: Annotated[Path, typer.Argument(help="A training run folder.")],
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
) -> None:
    """The web page (/) and REST API (/api/score, /api/explain, /api/advise; docs at /docs)."""
    import uvicorn

    import pawpularity as paw
    from pawpularity.advise.evidence import read_effects
    from pawpularity.runtime import untune_malloc
    from pawpularity.serve.app import create_app

    untune_malloc()  # a server's memory must stay flat across requests of every size
    effects = None if evidence is None else read_effects(evidence)
    model = paw.load(run, runtime=runtime)
    typer.echo("warming up (shipped photos through every model call) ...", err=True)
    with tempfile.TemporaryDirectory(prefix="pawpularity-results-") as temporary:
        api = create_app(model, results or Path(temporary), effects, warm=True)
        typer.echo(f"serving on http://{host}:{port}/ (API docs: /docs)", err=True)
        uvicorn.run(api, host=host, port=port, log_level="warning")
