"""Scoring and embedding speed on ONNX Runtime against eager timm, measured in the same run.

1. Score latency at batch 1 and throughput at batch 32: a fold's fusion model (Lite0 at 224,
   ImageNet backbone, untrained head: speed does not depend on the weights) in eager PyTorch
   (inference mode) against its graph from `pawpularity export` on ONNX Runtime.
   Goals: latency ≤ 0.3×, throughput ≥ 3×.
2. Embedding throughput: a plain loop (decode each photo, eager timm `forward_features` +
   pooling, batches of 32) against `pawpularity embed` end to end (decoding workers, ONNX
   Runtime; the one-off export is timed apart). Goal ≥ 2×.

The eager references run first, with the default allocator; `tune_malloc()` (as the CLI does)
is applied before ours. The CPU may be shared: read the ratios, not the absolute numbers.

    python bench/inference_speed.py [--photos 256]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from pawpularity.data.dataset import load_prepared
from pawpularity.data.demo import PHOTOS_DIR
from pawpularity.models.checkpoint import build_model
from pawpularity.models.fusion import ModelConfig
from pawpularity.models.onnx import OrtModule, export
from pawpularity.runtime import tune_malloc
from pawpularity.training.embeddings import EmbedConfig, embed
from pawpularity.training.export import Scoring

S = 224


def latency(fn: Callable[[], object], repeats: int = 30) -> float:
    """Median seconds of one call, after two warm-up calls."""
    fn(), fn()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return float(np.median(times))


def photo_folder(root: Path, n: int) -> Path:
    """n photos: the shipped ones copied round-robin (bytes differ only by name)."""
    folder = root / "photos"
    folder.mkdir()
    shipped = sorted(PHOTOS_DIR.glob("*.jpg"))
    for i in range(n):
        (folder / f"{i:05d}.jpg").write_bytes(shipped[i % len(shipped)].read_bytes())
    return folder


def plain_embedding_loop(paths: list[Path], model: torch.nn.Module, batch: int = 32) -> float:
    """Images/s of decoding + eager timm pooled features, the way a script would do it."""
    mean = torch.tensor([0.5, 0.5, 0.5]).view(1, 3, 1, 1)
    start = time.perf_counter()
    with torch.inference_mode():
        for i in range(0, len(paths), batch):
            x = torch.stack([load_prepared(p, S) for p in paths[i : i + batch]]).float() / 255
            model.forward_head(model.forward_features((x - mean) / mean), pre_logits=True)
    return len(paths) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--photos", type=int, default=256)
    args = parser.parse_args()
    torch.manual_seed(0)
    net = build_model(ModelConfig()).eval()
    one, many = torch.rand(1, 3, S, S), torch.rand(32, 3, S, S)
    nan1, nan32 = torch.full((1, 12), float("nan")), torch.full((32, 12), float("nan"))
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        folder = photo_folder(root, args.photos)
        paths = sorted(folder.iterdir())
        with torch.inference_mode():
            eager_1 = latency(lambda: net(one, nan1))
            eager_32 = 32 / latency(lambda: net(many, nan32), repeats=5)
        eager_embed = plain_embedding_loop(paths, net.backbone)

        tune_malloc()
        t = time.perf_counter()
        export(Scoring(net), (many[:2], nan32[:2]), root / "model.onnx", ["pixels", "flags"],
               ["score", "flag_probs"])  # fmt: skip
        export_s = time.perf_counter() - t
        graph = OrtModule(root / "model.onnx")
        ort_1 = latency(lambda: graph(one, nan1))
        ort_32 = 32 / latency(lambda: graph(many, nan32), repeats=5)
        cfg = EmbedConfig("tf_efficientnet_lite0")
        t = time.perf_counter()
        embed(folder, root / "warm", cfg, "ort")  # exports the embedder into the cache
        first_embed_s = time.perf_counter() - t
        t = time.perf_counter()
        embed(folder, root / "emb", cfg, "ort")
        ours_embed = args.photos / (time.perf_counter() - t)

    print(f"export of the fusion model: {export_s:.1f} s (once per run)")
    print(f"score latency, batch 1:    eager {1000 * eager_1:7.1f} ms   ORT {1000 * ort_1:7.1f} ms"
          f"   ratio {ort_1 / eager_1:.2f}x  (goal <= 0.3x)")  # fmt: skip
    print(f"score throughput, batch 32: eager {eager_32:6.1f} img/s ORT {ort_32:6.1f} img/s"
          f"   ratio {ort_32 / eager_32:.2f}x  (goal >= 3x)")  # fmt: skip
    print(f"embedding, {args.photos} photos: plain eager loop {eager_embed:6.1f} img/s, "
          f"`embed` {ours_embed:6.1f} img/s   ratio {ours_embed / eager_embed:.2f}x  (goal >= 2x;"
          f" the first, exporting unless cached, took {first_embed_s:.1f} s)")  # fmt: skip


if __name__ == "__main__":
    main()
