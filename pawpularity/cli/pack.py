"""`pawpularity pack`."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated

import typer

from pawpularity.cli.app import app


@app.command("pack")
def pack_cmd(
    run: Annotated[
        Path, typer.Argument(help="A finished training run folder (network or --head).")
    ],
    out: Annotated[
        Path | None,
        typer.Option("--out", help="The file to write, NAME.paw (optional with --push)."),
    ] = None,
    export: Annotated[
        bool,
        typer.Option(
            "--export",
            help="Export the run's ONNX graphs first (`pawpularity export`) when it has none "
            "fresh, so the packed model scores on ONNX Runtime.",
        ),
    ] = False,
    push: Annotated[
        str | None,
        typer.Option(
            "--push",
            help="Also upload it to the Hugging Face Hub model repo USER/NAME, as NAME.paw with "
            "its card as README.md (pip install 'pawpularity\\[hub]'; a token from `hf auth "
            "login` or HF_TOKEN); load it with hf://USER/NAME.",
        ),
    ] = None,
) -> None:
    """Pack a trained run into one file that predict, serve, advise and pawpularity.load take
    like a run folder: config, safetensors weights, fresh ONNX graphs, the out-of-fold residuals
    behind the intervals, a model card (card.md) and a manifest of every member's sha256.
    """
    from pawpularity.errors import ConfigError
    from pawpularity.runs.pack import SUFFIX, hub_push, hub_repo, import_hub, pack_run

    if out is None and push is None:
        raise ConfigError(f"give --out NAME{SUFFIX} (or --push USER/NAME)")
    if push is not None:
        hub_repo(push)
        import_hub()  # a missing extra fails before the packing
    from pawpularity.runs.run import load_run

    loaded = load_run(run, "auto")  # complete, and whether its graphs are fresh
    if export and loaded.runtime != "ort":
        from pawpularity.runs.export import export_run

        export_run(loaded.path)
        loaded = load_run(run, "auto")
    with tempfile.TemporaryDirectory() as tmp:
        target = out or Path(tmp) / f"{push.split('/')[1] if push else 'model'}{SUFFIX}"
        manifest = pack_run(loaded, target)
        size = target.stat().st_size / 1e6
        where = f": {target}" if out else ""
        typer.echo(f"packed {len(manifest['members'])} files ({size:.1f} MB){where}")
        if push is not None:
            typer.echo(f"pushed to {hub_push(target, push)} (load it with hf://{push})")
