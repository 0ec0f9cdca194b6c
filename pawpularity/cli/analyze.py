"""`pawpularity analyze`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from pawpularity.cli.app import app
from pawpularity.errors import ConfigError
from pawpularity.explain import RISE_MASKS


@app.command("analyze")
def analyze_cmd(
    run: Annotated[
        Path | None, typer.Argument(help="A training run folder (not with --metadata-only).")
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
    methods: Annotated[
        str, typer.Option(help="Comma-separated saliency methods for the score maps.")
    ] = "gradcam,rise",
    max_images: Annotated[
        int, typer.Option(min=1, help="Photos to explain (a seeded random sample of DATA).")
    ] = 200,
    seed: Annotated[int, typer.Option(help="Seeds the sample, RISE and every resampling.")] = 0,
    rise_masks: Annotated[int, typer.Option(min=1, help="RISE masks per photo.")] = RISE_MASKS,
    runtime: Annotated[
        str, typer.Option(help="RISE's batched passes: auto, ort or eager.")
    ] = "auto",
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
        summary = analyze_metadata(metadata_only, out)
    elif run is None or data is None:
        raise ConfigError("give RUN and DATA (or --metadata-only train.csv)")
    else:
        from pawpularity.analysis.analyze import AnalyzeConfig, analyze
        from pawpularity.explain.methods import parse_methods

        config = AnalyzeConfig(
            methods=parse_methods(methods),
            max_images=max_images,
            seed=seed,
            rise_masks=rise_masks,
            runtime=runtime,
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
