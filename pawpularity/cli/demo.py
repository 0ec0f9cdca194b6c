"""`pawpularity demo`: the main job."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from pawpularity.cli.analyze import report
from pawpularity.cli.app import app


@app.command("demo")
def demo_cmd(
    out: Annotated[Path, typer.Option("--out", help="Folder for the data, run and analysis.")] = (
        Path("pawpularity-demo")
    ),
    n: Annotated[int, typer.Option("--n", min=8, help="Photos in the demo set.")] = 96,
    methods: Annotated[
        str, typer.Option(help="Comma-separated saliency methods for the analysis.")
    ] = "gradcam,rise",
) -> None:
    """Build the planted-cue demo set, train (2-fold CV), explain, analyse; print the report.

    Writes OUT/data, OUT/run and OUT/analysis (report.html, hypotheses.json, guidelines.md, ...).
    Run again on the same OUT, it keeps the finished training run.
    """
    from pawpularity.analysis.analyze import AnalyzeConfig
    from pawpularity.analysis.demo import DEMO_SEED, run_demo
    from pawpularity.explain.methods import parse_methods

    config = AnalyzeConfig(methods=parse_methods(methods), max_images=n, seed=DEMO_SEED)
    report(run_demo(out, n=n, config=config))
