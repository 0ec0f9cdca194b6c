"""The Typer application every command registers on."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from pawpularity.device import DEVICE_HELP
from pawpularity.models.config import RUNTIMES
from pawpularity.version import __version__

if TYPE_CHECKING:
    from pathlib import Path

    from pawpularity.api import Model

RUN_HELP = "A training run folder, a packed model (NAME.paw) or hf://USER/NAME"  # no full stop
RUNTIME_HELP = (
    f"{', '.join(RUNTIMES)}: ONNX Runtime where it can (an exported run, RISE's batched "
    "passes), insist on it, or PyTorch only. On CUDA (--device) always PyTorch."
)
DEVICE_OPTION = typer.Option("--device", help=DEVICE_HELP)  # every command that runs a model
RISE_MASKS_OPTION = typer.Option(  # explain and analyze
    "--rise-masks",
    help="RISE masks per photo (centred scores: fewer are needed), or auto: add masks until the "
    "map's split-half agreement reaches 0.9 (at most 8000).",
)
INTERVAL_OPTION = typer.Option(  # every command that shows a score
    "--interval",
    help="The share of true scores the score_low–score_high interval holds (split-conformal on "
    "the run's out-of-fold residuals).",
)

app = typer.Typer(
    help="Predict, explain and improve the appeal of pet adoption photos (PetFinder.my "
    "Pawpularity).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"pawpularity {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    """Predict, explain and improve the appeal of pet adoption photos."""


def load_model(run: str | Path, **options: Any) -> Model:
    """`paw.load(run, **options)`, after a `warning:` line on stderr when the run trained on the
    planted-cue demo set (predict, explain, advise and serve all say it first, once a device
    that cannot work has failed alone). A packed model (NAME.paw, hf://USER/NAME) is unpacked
    once, here."""
    import pawpularity as paw
    from pawpularity.device import resolve_device
    from pawpularity.explain.explainer import IMAGENET_RUN
    from pawpularity.files import read_json
    from pawpularity.runs.config import CONFIG
    from pawpularity.runs.pack import resolve_run
    from pawpularity.runs.run import warning_of

    resolve_device(options.get("device", "auto"))
    if str(run) == IMAGENET_RUN:
        return paw.load(run, **options)
    run = resolve_run(run)
    config = run / CONFIG
    if config.is_file() and (warning := warning_of(read_json(config))):
        typer.echo(f"warning: {warning}", err=True)
    return paw.load(run, **options)
