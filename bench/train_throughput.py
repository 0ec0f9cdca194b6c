"""Training throughput of `pawpularity train` against a plain timm + AdamW loop, same batches.

Both train Lite0 with the same stages trainable (the default --freeze), on the same planted-cue
demo set, folds, shuffles and number of epochs. The plain loop starts from photos already
decoded (so its time is pure training); ours is timed end to end (decoding, fold hashing,
caching the frozen stages, Lightning). The reference gets its best setup too, and each factor is
printed on its own line: the plain loop on glibc's default heap, then under `tune_malloc()` (the
heap the CLI runs on: the allocator's share), then also channels_last (the memory format's
share), then ours on the same heap (what is left: cached frozen stages and the rest). Each line
also gives the share of the machine's float32 matmul peak it reaches, counting ≈ 3× the plain
model's forward FLOPs per training image (`bench/peak.py`; ours skips the frozen stages' share
of them, so its line is the work it spares, not done). Goal: ours ≥ 1.5× the best plain loop.

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
from peak import forward_flops, matmul_gflops, share

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


def backward(
    model: torch.nn.Module, optimizer: torch.optim.Optimizer, x: torch.Tensor, y: torch.Tensor
) -> None:
    loss = F.mse_loss(model(x).squeeze(1), y)
    optimizer.zero_grad()
    loss.backward()


def plain_loop(
    data: Path, folds: np.ndarray, epochs: int, batch_size: int, channels_last: bool = False
) -> tuple[float, int]:
    """A timm model with a 1-output head, first stages frozen, trained per fold: images/s, and
    the FLOPs of one training image (forward and backward)."""
    table = read_table(data / "train.csv")
    images = load_bank([image_path(data, i) for i in table[ID]], 224)
    target = torch.tensor(table[TARGET].to_numpy(), dtype=torch.float32)
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    seen, per_image, start = 0, 0, time.perf_counter()
    for k in range(int(folds.max()) + 1):
        rows = torch.from_numpy(np.flatnonzero(folds != k))
        model = create_backbone().to(memory_format=fmt)
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
                x = ((images[b].float() / 255 - mean_t) / std_t).contiguous(memory_format=fmt)

                if not per_image:  # ≈ 3× the forward: a backward costs about twice as much
                    per_image = 3 * forward_flops(model, x[:1])
                backward(model, optimizer, x, (target[b] - 38) / 20)
                optimizer.step()
                seen += len(b)
    return seen / (time.perf_counter() - start), per_image


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
        default_heap, per_image = plain_loop(data, folds, args.epochs, config.batch_size)
        tune_malloc()  # from here on every side runs on the heap the CLI uses
        tuned, _ = plain_loop(data, folds, args.epochs, config.batch_size)
        best, _ = plain_loop(data, folds, args.epochs, config.batch_size, channels_last=True)
        start = time.perf_counter()
        metrics = train(data, run, ModelConfig(), config)
        ours = len(folds) * (config.folds - 1) * args.epochs / (time.perf_counter() - start)
        assert (pd.read_csv(run / "folds.csv")["fold"].to_numpy() == folds).all()
    peak = matmul_gflops()
    rows = [
        ("plain loop, default heap", default_heap),
        ("plain loop, tuned heap", tuned),
        ("plain loop, tuned heap + channels_last", best),
        ("pawpularity train (tuned heap)", ours),
    ]
    print(f"float32 matmul peak: {peak:.1f} GFLOP/s; {per_image / 1e9:.2f} GFLOP per image")
    for name, rate in rows:
        print(f"{name:40} {rate:7.1f} images/s  {share(rate * per_image / 1e9, peak)}")
    print(f"allocator (tuned / default heap)       : {tuned / default_heap:5.2f}x")
    print(f"memory format (channels_last / plain)  : {best / tuned:5.2f}x")
    print(f"ours / the best plain loop             : {ours / best:5.2f}x  (goal >= 1.5x)")
    print(f"cv_rmse / baseline_rmse : {metrics['cv_rmse'] / metrics['baseline_rmse']:.3f}")


if __name__ == "__main__":
    main()
