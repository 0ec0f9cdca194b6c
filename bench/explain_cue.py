"""Do the maps point at the planted cue? The trained demo model against untrained controls.

Trains the contract's recipe (demo --n 96 --seed 7, 2 folds, 8 epochs) unless --run is given,
explains the mean of its folds (what is scored),
builds a demo set with another seed, and prints for each method the share of photos holding
the cue whose map peaks on the cue (goal: Grad-CAM ≥ 95 %, RISE ≥ 90 %, Vanilla ≥ 80 %) and on
the decoy (≤ 10 %); then the same for the pretrained backbone with freshly initialised heads,
over several head seeds (goal: ≤ 60 % on the cue for every method, pooled over the seeds: a
random head weighs the ball's strong ImageNet features with a random sign, so a single seed
hits it for most photos or for few).

    python bench/explain_cue.py [--run RUN] [--n 96] [--seed 8] [--control-seeds 5]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import pawpularity as paw
from pawpularity.data import DEMO_PHOTOS, DEMO_SEED
from pawpularity.data.demo import make_demo
from pawpularity.explain.base import Outputs
from pawpularity.explain.cue import hit_rates
from pawpularity.explain.explainer import Explainer, imagenet_ensemble
from pawpularity.explain.methods import build
from pawpularity.models.config import ModelConfig
from pawpularity.runtime import tune_malloc
from pawpularity.training.config import TrainConfig
from pawpularity.training.cv import train

METHODS = ("gradcam", "gradcampp", "rise", "vanilla", "smoothgrad")
GOALS = {"gradcam": 0.95, "rise": 0.90, "vanilla": 0.80}


def show(label: str, rates: dict[str, dict[str, float]]) -> None:
    cells = "".join(f"{rates[m]['cue']:>9.0%} / {rates[m]['decoy']:>3.0%}" for m in METHODS)
    print(f"{label:<24}{cells}", flush=True)


def pooled(runs: list[dict[str, dict[str, float]]]) -> dict[str, dict[str, float]]:
    """Hit rates over the photos of every run together (each run saw the same photos)."""
    return {
        m: {k: sum(r[m][k] for r in runs) / len(runs) for k in ("cue", "decoy")} for m in METHODS
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--run", type=Path)
    parser.add_argument("--n", type=int, default=96, help="photos in the evaluation set")
    parser.add_argument("--seed", type=int, default=8, help="seed of the evaluation set")
    parser.add_argument("--control-seeds", type=int, default=5)
    args = parser.parse_args()
    tune_malloc()
    with tempfile.TemporaryDirectory() as tmp:
        run = args.run
        if run is None:
            make_demo(Path(tmp) / "train", n=DEMO_PHOTOS, seed=DEMO_SEED)
            run = Path(tmp) / "run"
            train(Path(tmp) / "train", run, ModelConfig(), TrainConfig(folds=2))
        data = Path(tmp) / "eval"
        make_demo(data, n=args.n, seed=args.seed)
        methods = build(METHODS)
        print(f"{'model':<24}" + "".join(f"{m:>16}" for m in METHODS))
        show("trained, folds' mean", hit_rates(paw.load(run).explainer, data, methods))
        controls = [
            hit_rates(Explainer(Outputs(imagenet_ensemble(s)), seed=s), data, methods)
            for s in range(1, args.control_seeds + 1)
        ]
        for s, rates in enumerate(controls, 1):
            show(f"control, heads seed {s}", rates)
        show("control, pooled", pooled(controls))
    print("cells: share of photos with the cue whose map peaks on the cue / on the decoy")
    print("goals: " + ", ".join(f"{m} ≥ {g:.0%}" for m, g in GOALS.items()))
    print("       trained: decoy ≤ 10 % for every method; control pooled: ≤ 60 % on the cue")


if __name__ == "__main__":
    main()
