"""`pawpularity demo`: the main job."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from pawpularity.analysis.config import MAP_METHODS, AnalyzeConfig
from pawpularity.cli.analyze import METHODS_HELP, report
from pawpularity.cli.app import app
from pawpularity.cli.train import against_baseline
from pawpularity.data import DEMO_PHOTOS, DEMO_SEED

DEMO_FOLDS = 2  # a quick honest CV: every photo gets an out-of-fold score and map


@app.command("demo")
def demo_cmd(
    out: Annotated[Path, typer.Option("--out", help="Folder for the data, run and analysis.")] = (
        Path("pawpularity-demo")
    ),
    n: Annotated[int, typer.Option("--n", min=8, help="Photos in the demo set.")] = DEMO_PHOTOS,
    methods: Annotated[str, typer.Option(help=METHODS_HELP)] = ",".join(MAP_METHODS),
) -> None:
    """Build the planted-cue demo set, train (2-fold CV), explain, analyse; print the report.

    Writes OUT/data, OUT/run and OUT/analysis (report.html, hypotheses.json, guidelines.md, ...).
    Run again on the same OUT, it keeps the finished training run.
    """
    from pawpularity.explain.methods import build, parse_methods

    chosen = build(parse_methods(methods))
    report(run_demo(out, n, AnalyzeConfig(methods=chosen, max_images=n, seed=DEMO_SEED)))


def run_demo(out: Path, n: int, config: AnalyzeConfig) -> dict[str, Any]:
    """OUT/data (the demo set), OUT/run (2-fold CV), OUT/analysis (report.html and the rest).

    Running it again on the same OUT finishes what is missing: the data are rewritten
    identically and a finished run is kept.
    """
    from pawpularity.analysis.analyze import analyze
    from pawpularity.data.demo import make_demo
    from pawpularity.models.config import ModelConfig
    from pawpularity.runs.config import CONFIG
    from pawpularity.training.config import TrainConfig
    from pawpularity.training.cv import train

    make_demo(out / "data", n=n, seed=DEMO_SEED)
    run = out / "run"
    training = TrainConfig(folds=DEMO_FOLDS)
    metrics = train(out / "data", run, ModelConfig(), training, resume=(run / CONFIG).is_file())
    typer.echo(f"training: {against_baseline(metrics)}")
    return analyze(run, out / "data", out / "analysis", config)
