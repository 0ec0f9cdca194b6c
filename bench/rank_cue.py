"""Does `rank` put the planted cue first? The proof of tests/advise/test_rank_cue.py at any size.

Trains the contract's recipe (demo --n 96 --seed 7, 2 folds, 8 epochs) unless --run is given,
builds a demo set with another seed, groups its photos by the shipped photo each was made from
(one animal per shipped photo, advise/rank_cue.py), ranks them as `pawpularity rank` does, and
prints the share of each animal's (cue, no cue) pairs ranked with the cue first (goal ≥ 90 %),
with the time per photo. --out keeps the ranking (ranking.csv, covers/, index.html).

    python bench/rank_cue.py [--run RUN] [--n 100] [--seed 11] [--out DIR] [--device auto]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import pawpularity as paw
from pawpularity.advise.rank_cue import cue_pairs, demo_animals
from pawpularity.data import DEMO_PHOTOS, DEMO_SEED
from pawpularity.data.demo import make_demo
from pawpularity.models.config import ModelConfig
from pawpularity.runtime import tune_malloc
from pawpularity.training.config import TrainConfig
from pawpularity.training.cv import train

GOAL = 0.9


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--run", type=Path)
    parser.add_argument("--n", type=int, default=100, help="photos in the evaluation set")
    parser.add_argument("--seed", type=int, default=11, help="seed of the evaluation set")
    parser.add_argument("--out", type=Path, help="keep the ranking here (a new folder)")
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()
    tune_malloc()
    with tempfile.TemporaryDirectory() as tmp:
        run = args.run
        if run is None:
            make_demo(Path(tmp) / "train", n=DEMO_PHOTOS, seed=DEMO_SEED)
            run = Path(tmp) / "run"
            train(Path(tmp) / "train", run, ModelConfig(), TrainConfig(folds=2))  # GPU if any
        data = Path(tmp) / "eval"
        make_demo(data, n=args.n, seed=args.seed)
        animals = demo_animals(data)
        out = args.out or Path(tmp) / "ranking"
        model = paw.load(run, device=args.device)
        start = time.perf_counter()
        summary = model.rank_photos(animals, out)
        seconds = time.perf_counter() - start
        right, pairs = cue_pairs(out, data)
    photos = summary.scored + summary.failed
    print(
        f"{len(animals)} animals with and without the cue, {photos} photos, "
        f"{seconds / photos:.2f} s a photo on {model.device}"
    )
    verdict = "PASS" if right >= GOAL * pairs else "FAIL"
    share = f"{right / pairs:.1%}; goal ≥ {GOAL:.0%}"
    print(f"cue ranked first in {right} of {pairs} pairs ({share}): {verdict}")


if __name__ == "__main__":
    main()
