"""Training throughput of `pawpularity train` against a plain timm + AdamW loop, same batches.

Both train Lite0 with the same stages trainable (the default --freeze), on the same planted-cue
demo set, folds, shuffles and number of epochs. The plain loop starts from photos already
decoded (so its time is pure training); ours is timed end to end (decoding, fold hashing,
caching the frozen stages, Lightning), after `tune_malloc()` as the CLI does. The plain loop
runs first, with the default allocator. Prints images/s of each and the ratio (goal ≥ 1.5×).

    python bench/train_throughput.py [--n 96] [--epochs 8]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

from pawpularity.data.dataset import load_bank
from pawpularity.data.demo import make_demo
from pawpularity.data.folds import assign_folds
from pawpularity.data.schema import ID, TARGET, image_path, read_table
from pawpularity.models import DEFAULT_FREEZE
from pawpularity.models.backbones import create_backbone, feature_chain, preprocessing, stages
from pawpularity.models.config import ModelConfig
from pawpularity.runtime import tune_malloc
from pawpularity.training.config import TrainConfig
from pawpularity.training.cv import train
from pawpularity.training.module import EpochSampler


def plain_loop(data: Path, folds: np.ndarray, epochs: int, batch_size: int) -> float:
    """A timm model with a 1-output head, first stages frozen, trained per fold; images/s."""
    table = read_table(data / "train.csv")
    images = load_bank([image_path(data, i) for i in table[ID]], 224)
    target = torch.tensor(table[TARGET].to_numpy(), dtype=torch.float32)
    seen, start = 0, time.perf_counter()
    for k in range(int(folds.max()) + 1):
        rows = torch.from_numpy(np.flatnonzero(folds != k))
        model = create_backbone()
        model.reset_classifier(1)
        trainable = [
            n for g in stages(model, feature_chain(model))[int(DEFAULT_FREEZE) :] for n in g
        ]
        for name, p in model.named_parameters():
            p.requires_grad_(name.startswith((*trainable, "classifier")))
        mean, std, _ = preprocessing(model)
        mean_t, std_t = torch.tensor(mean).view(1, 3, 1, 1), torch.tensor(std).view(1, 3, 1, 1)
        optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-3)
        sampler = EpochSampler(len(rows), 1, k)
        for epoch in range(epochs):
            sampler.set_epoch(epoch)
            order = rows[torch.tensor(list(sampler))]
            for i in range(0, len(order), batch_size):
                b = order[i : i + batch_size]
                x = (images[b].float() / 255 - mean_t) / std_t
                loss = F.mse_loss(model(x).squeeze(1), (target[b] - 38) / 20)
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                seen += len(b)
    return seen / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=96)
    parser.add_argument("--epochs", type=int, default=8)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data, run = Path(tmp) / "data", Path(tmp) / "run"
        make_demo(data, n=args.n, seed=7)
        config = TrainConfig(folds=2, epochs=args.epochs)
        table = read_table(data / "train.csv")
        paths = [image_path(data, i) for i in table[ID]]
        folds = assign_folds(paths, table[TARGET].to_numpy(), config.folds, config.seed)
        reference = plain_loop(data, folds, args.epochs, config.batch_size)
        tune_malloc()
        start = time.perf_counter()
        metrics = train(data, run, ModelConfig(), config)
        ours = len(folds) * (config.folds - 1) * args.epochs / (time.perf_counter() - start)
        assert (pd.read_csv(run / "folds.csv")["fold"].to_numpy() == folds).all()
    print(f"plain timm + AdamW loop : {reference:7.1f} training images/s (photos pre-decoded)")
    print(f"pawpularity train       : {ours:7.1f} training images/s (end to end)")
    print(f"ratio                   : {ours / reference:7.2f}x  (goal >= 1.5x)")
    print(f"cv_rmse / baseline_rmse : {metrics['cv_rmse'] / metrics['baseline_rmse']:.3f}")


if __name__ == "__main__":
    main()
