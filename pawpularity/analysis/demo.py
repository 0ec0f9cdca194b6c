"""The main job: build the planted-cue demo set, train, explain, analyse, write the report."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pawpularity.analysis.analyze import AnalyzeConfig, analyze
from pawpularity.data.demo import make_demo
from pawpularity.models.fusion import ModelConfig
from pawpularity.training.cv import TrainConfig, train

DEMO_PHOTOS, DEMO_SEED = 96, 7
DEMO_TRAINING = TrainConfig(folds=2, epochs=8)


def run_demo(
    out: Path, n: int = DEMO_PHOTOS, config: AnalyzeConfig | None = None
) -> dict[str, Any]:
    """OUT/data (the demo set), OUT/run (2-fold CV), OUT/analysis (report.html and the rest).

    Running it again on the same OUT finishes what is missing: the data are rewritten
    identically and a finished run is kept.
    """
    out = Path(out)
    make_demo(out / "data", n=n, seed=DEMO_SEED)
    run = out / "run"
    train(out / "data", run, ModelConfig(), DEMO_TRAINING, resume=(run / "config.json").is_file())
    config = config or AnalyzeConfig(max_images=n, seed=DEMO_SEED)
    return analyze(run, out / "data", out / "analysis", config)
