"""How `predict` and `embed` scale with the number of photos: time and peak memory per photo.

Synthetic photos (random crops of the shipped ones, 256 px high) at each size; each command runs
in its own process as a user would start it, and its peak resident memory (the main process:
decoding workers hold a few batches each) comes from the OS. The run scored is a 2-fold Lite0
network run at 224 px exported to ONNX (its weights do not matter for speed). Both should stay
flat per photo; the first size pays the start-up (imports, loading models) over fewer photos.
The CPU may be shared: compare rows, not absolute numbers.

    python bench/scale.py [--sizes 1000,10000]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
from PIL import Image

from pawpularity.data.demo import PHOTOS_DIR
from pawpularity.models.checkpoint import build_model, save_weights
from pawpularity.models.config import ModelConfig
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


def make_run(path: Path) -> None:
    """A 2-fold network run folder (ImageNet backbone, untrained heads), exported to ONNX."""
    model = ModelConfig(image_size=224)
    for k in range(2):
        save_weights(build_model(model), path / f"fold{k}")
    config = {"model": model.to_dict(), "train": asdict(TrainConfig(folds=2))}
    (path / "config.json").write_text(json.dumps(config))
    export_run(path)


def measure(args: list[str]) -> tuple[float, float]:
    """(seconds, peak MiB of resident memory) of one CLI command in its own process."""
    start = time.perf_counter()
    with tempfile.TemporaryFile() as stderr:
        proc = subprocess.Popen([sys.executable, "-m", "pawpularity", *args],
                                stdout=subprocess.DEVNULL, stderr=stderr)  # fmt: skip
        _, status, usage = os.wait4(proc.pid, 0)
        if status:
            stderr.seek(0)
            tail = stderr.read().decode(errors="replace").strip().splitlines()[-5:]
            raise SystemExit(f"failed: pawpularity {' '.join(args)}\n" + "\n".join(tail))
    return time.perf_counter() - start, usage.ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="1000,10000")
    sizes = [int(s) for s in parser.parse_args().sizes.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        make_run(root / "run")
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
                    str(root / "p.csv"),
                ],
                "embed": ["embed", str(photos), "--out", str(root / f"emb{n}")],
            }
            for name, args in commands.items():
                seconds, mib = measure(args)
                rows.setdefault(name, []).append((1000 * seconds / n, mib))
                print(f"{name:8} {n:7d} {seconds:8.1f} {1000 * seconds / n:9.2f} {mib:9.0f}")
        for name, ((ms0, mib0), *_, (ms1, mib1)) in rows.items() if len(sizes) > 1 else ():
            print(
                f"{name}: {sizes[-1]} vs {sizes[0]} photos: ms/photo {ms1 / ms0:.2f}×, "
                f"peak memory {mib1 / mib0:.2f}× (flat: about 1×)"
            )


if __name__ == "__main__":
    main()
