"""`pawpularity analyze`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from pawpularity.analysis.config import MAP_METHODS, AnalyzeConfig
from pawpularity.cli.app import DEVICE_OPTION, RISE_MASKS_OPTION, RUN_HELP, RUNTIME_HELP, app
from pawpularity.errors import ConfigError
from pawpularity.explain.methods import Rise, described

METHODS_HELP = f"Comma-separated saliency methods for the score maps ({described()})."
DEFAULTS = AnalyzeConfig()


@app.command("analyze")
def analyze_cmd(
    run: Annotated[
        Path | None, typer.Argument(help=f"{RUN_HELP} (not with --metadata-only).")
    ] = None,
    data: Annotated[
        Path | None,
        typer.Argument(help="A Kaggle-layout folder: train.csv and train/<Id>.jpg."),
    ] = None,
    out: Annotated[Path, typer.Option("--out", help="Folder to write the analysis to.")] = Path(
        "analysis"
    ),
    metadata_only: Annotated[
        Path | None,
        typer.Option(
            "--metadata-only",
            help="A train.csv: flag effects, score distribution and report, no images or model.",
        ),
    ] = None,
    embeddings: Annotated[
        Path | None,
        typer.Option(
            help="An `embed` folder of the same photos (a backbone with ImageNet's classifier): "
            "its species adds H6, dogs versus cats, on the whole table.",
        ),
    ] = DEFAULTS.embeddings,
    methods: Annotated[str, typer.Option(help=METHODS_HELP)] = ",".join(MAP_METHODS),
    max_images: Annotated[
        int, typer.Option(min=1, help="Photos to explain (a seeded random sample of DATA).")
    ] = DEFAULTS.max_images,
    seed: Annotated[
        int, typer.Option(help="Seeds the sample, RISE and every resampling.")
    ] = DEFAULTS.seed,
    rise_masks: Annotated[str, RISE_MASKS_OPTION] = str(Rise.masks),
    runtime: Annotated[str, typer.Option(help=RUNTIME_HELP)] = DEFAULTS.runtime,
    device: Annotated[str, DEVICE_OPTION] = DEFAULTS.device,
) -> None:
    """Test hypotheses about popular photos with saliency maps and statistics.

    Writes hypotheses.json, flag_effects.csv, guidelines.md and report.html (plus photos.csv,
    panels/ and summary.json). Exit 0 when every photo was explained, 2 when some could not be
    read.
    """
    if metadata_only is not None:
        from pawpularity.analysis.metadata import analyze_metadata  # no PyTorch: fast

        if run is not None or data is not None:
            raise ConfigError("--metadata-only takes a train.csv alone: drop RUN and DATA")
        summary = analyze_metadata(metadata_only, out, embeddings)
    elif run is None or data is None:
        raise ConfigError("give RUN and DATA (or --metadata-only train.csv)")
    else:
        from pawpularity.analysis.analyze import analyze
        from pawpularity.explain.methods import build, parse_methods, parse_rise_masks

        config = AnalyzeConfig(
            methods=build(parse_methods(methods), Rise(masks=parse_rise_masks(rise_masks))),
            max_images=max_images,
            seed=seed,
            runtime=runtime,
            device=device,
            embeddings=embeddings,
        )
        summary = analyze(run, data, out, config)
    report(summary)
    raise typer.Exit(2 if summary.get("failed") else 0)


def report(summary: dict[str, Any]) -> None:
    """The verdict counts, unreadable photos and the report's path, for `analyze` and `demo`."""
    verdicts = ", ".join(f"{n} {v}" for v, n in sorted(summary["verdicts"].items()))
    typer.echo(f"{summary['hypotheses']} hypotheses: {verdicts}")
    if summary.get("failed"):
        typer.echo(f"{summary['failed']} photos could not be read (see summary.json)")
    typer.echo(f"report: {summary['report']}")
