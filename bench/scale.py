"""How `predict` and `embed` scale with the number of photos: time and peak memory per photo.

Synthetic photos (random crops of the shipped ones, 256 px high) at each size; each command runs
in its own process as a user would start it, and its peak resident memory (the main process:
decoding workers hold a few batches each) comes from the OS. The run scored is a 2-fold Lite0
network run at 224 px exported to ONNX (its weights do not matter for speed). Both should stay
flat per photo; the first size pays the start-up (imports, loading models) over fewer photos.
Each row also gives the share of the machine's float32 matmul peak (`bench/peak.py`, measured in
the same run) that the command's model work reaches: the FLOPs its graph runs per photo (the
run's folds with their shared stages once; the embedding backbone) × photos / seconds, start-up
and decoding included. Run on an idle CPU.

    python bench/scale.py [--sizes 1000,10000]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from inference_speed import fold_models
from peak import forward_flops, matmul_gflops, share
from PIL import Image
from torch import nn

import pawpularity as paw
from pawpularity.data.demo import PHOTOS_DIR
from pawpularity.models.checkpoint import save_weights
from pawpularity.models.config import ModelConfig
from pawpularity.models.ensemble import FoldEnsemble
from pawpularity.runs.config import EmbedConfig
from pawpularity.runs.embeddings import embedding_backbone
from pawpularity.runs.export import export_run
from pawpularity.training.config import TrainConfig


def make_photos(folder: Path, n: int, seed: int = 0) -> None:
    folder.mkdir(parents=True)
    rng = np.random.default_rng(seed)
    shipped = [Image.open(p).convert("RGB") for p in sorted(PHOTOS_DIR.glob("*.jpg"))]
    for i in range(n):
        photo = shipped[i % len(shipped)]
        w, h = photo.size
        cw, ch = int(w * rng.uniform(0.6, 1)), int(h * rng.uniform(0.6, 1))
        x, y = rng.integers(0, w - cw + 1), rng.integers(0, h - ch + 1)
        crop = photo.crop((x, y, x + cw, y + ch))
        crop.resize((int(256 * cw / ch), 256)).save(folder / f"{i:06d}.jpg", quality=90)


def make_run(path: Path) -> Path:
    """A 2-fold network run folder (ImageNet backbone, heads untrained), exported to ONNX."""
    model = ModelConfig(image_size=224)
    nets = fold_models(2)  # the frozen stages shared, tails and heads of their own
    for k, net in enumerate(nets):
        save_weights(net, path / f"fold{k}")
    config = {"model": model.to_dict(), "train": asdict(TrainConfig(folds=2))}
    (path / "config.json").write_text(json.dumps(config))
    # a stand-in calibration for the intervals (speed does not depend on it): spread targets,
    # a constant out-of-fold prediction
    ids, targets = [f"p{i}" for i in range(100)], np.linspace(1, 100, 100)
    oof = {"Id": ids, "fold": np.arange(100) % 2, "target": targets, "prediction": 38.0}
    pd.DataFrame(oof).to_csv(path / "oof.csv", index=False)
    export_run(path)
    return path


class Unflagged(nn.Module):
    """An ensemble scored without flags, as `predict` runs it: one input, for `forward_flops`."""

    def __init__(self, ensemble: FoldEnsemble) -> None:
        super().__init__()
        self.ensemble = ensemble

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return self.ensemble(x, torch.full((len(x), 12), float("nan")))


def run_gflop(run: Path) -> float | None:
    """The FLOPs of scoring one photo with a network run's folds (G), shared stages once, as
    `predict` and the server run them; None for a head or blend run (not one network's work)."""
    loaded = paw.load(run, runtime="eager")
    if loaded.run is None or loaded.run.kind != "net":
        return None
    ensemble = loaded.run.ensemble()
    size = ensemble.image_size
    return forward_flops(Unflagged(ensemble), torch.rand(1, 3, size, size)) / 1e9


def gflop_per_photo(run: Path) -> dict[str, float]:
    """The FLOPs per photo of each command's model (G): the network run's folds, and the
    default embedding backbone."""
    cfg = EmbedConfig()  # what `embed` runs by default
    backbone = embedding_backbone(cfg.backbone, cfg.pretrained, cfg.weights).eval()
    scoring = run_gflop(run)
    assert scoring is not None, "make_run writes a network run"
    return {
        "predict": scoring,
        "embed": forward_flops(backbone, torch.rand(1, 3, 224, 224)) / 1e9,
    }


# Starts the command and prints its peak resident memory (KiB). A child forked from this big
# process would report this process's size as its own peak (Linux carries the forked memory's
# high-water mark over exec), so a small launcher forks it instead.
LAUNCHER = (
    "import os, subprocess, sys; "
    "child = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL); "
    "_, status, usage = os.wait4(child.pid, 0); print(usage.ru_maxrss); "
    "sys.exit(os.waitstatus_to_exitcode(status) and 1)"
)


def measure(args: list[str]) -> tuple[float, float]:
    """(seconds, peak MiB of resident memory) of one CLI command in its own process."""
    command = [sys.executable, "-c", LAUNCHER, sys.executable, "-m", "pawpularity", *args]
    start = time.perf_counter()
    with tempfile.TemporaryFile() as stderr:
        done = subprocess.run(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=stderr, text=True)  # fmt: skip
        seconds = time.perf_counter() - start
        if done.returncode:
            stderr.seek(0)
            tail = stderr.read().decode(errors="replace").strip().splitlines()[-5:]
            raise SystemExit(f"failed: pawpularity {' '.join(args)}\n" + "\n".join(tail))
    return seconds, int(done.stdout.split()[-1]) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="1000,10000")
    sizes = [int(s) for s in parser.parse_args().sizes.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        work = gflop_per_photo(make_run(root / "run"))
        peak = matmul_gflops()
        print(f"float32 matmul peak {peak:.1f} GFLOP/s; GFLOP per photo: "
              + ", ".join(f"{k} {v:.2f}" for k, v in work.items()))  # fmt: skip
        make_photos(root / "warm", 8)
        measure(["embed", str(root / "warm"), "--out", str(root / "warm_emb")])  # caches the export
        print(f"{'command':8} {'photos':>7} {'seconds':>8} {'ms/photo':>9} {'peak MiB':>9}")
        rows: dict[str, list[tuple[float, float]]] = {}
        for n in sizes:
            photos = root / f"photos{n}"
            make_photos(photos, n)
            commands = {
                "predict": [
                    "predict",
                    str(root / "run"),
                    str(photos),
                    "--out",
                    str(root / f"p{n}.csv"),
                ],
                "embed": ["embed", str(photos), "--out", str(root / f"emb{n}")],
            }
            for name, args in commands.items():
                seconds, mib = measure(args)
                rows.setdefault(name, []).append((1000 * seconds / n, mib))
                print(f"{name:8} {n:7d} {seconds:8.1f} {1000 * seconds / n:9.2f} {mib:9.0f}  "
                      f"{share(work[name] * n / seconds, peak)}")  # fmt: skip
        for name, ((ms0, mib0), *_, (ms1, mib1)) in rows.items() if len(sizes) > 1 else ():
            print(
                f"{name}: {sizes[-1]} vs {sizes[0]} photos: ms/photo {ms1 / ms0:.2f}×, "
                f"peak memory {mib1 / mib0:.2f}× (flat: about 1×)"
            )


if __name__ == "__main__":
    main()
