"""Scoring and embedding speed on ONNX Runtime against eager timm, measured in the same run.

1. Score latency at batch 1 and throughput at batch 32: a fold's fusion model (Lite0 at 224,
   ImageNet backbone, untrained head: speed does not depend on the weights) in eager PyTorch
   (inference mode) against its graph on ONNX Runtime.
   Goals: latency ≤ 0.3×, throughput ≥ 3×.
2. Embedding throughput: a plain loop (decode each photo, eager timm `forward_features` +
   pooling, batches of 32) against `pawpularity embed` end to end (decoding workers, ONNX
   Runtime; the one-off export is timed apart). Goal ≥ 2×.
3. Scoring a K-fold run (K = 2 and 5; folds that share the stages `--freeze` kept frozen, tails
   and heads of their own): every fold's whole graph on ONNX Runtime, averaged (what `predict`
   did before), against the one graph `pawpularity export` writes now, which computes the shared
   stages once. The scores must agree within 1e-4 before anything is timed; both run with the
   same allocator setting, throughput at batch 32.

The eager references of 1 and 2 run first, with the default allocator; `tune_malloc()` (as the
CLI does) is applied before ours and stays for 3. The CPU may be shared: read the ratios, not
the absolute numbers.

    python bench/inference_speed.py [--photos 256] [--folds 2,5]
"""

from __future__ import annotations

import argparse
import copy
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from pawpularity.data.dataset import load_prepared
from pawpularity.data.demo import PHOTOS_DIR
from pawpularity.models import DEFAULT_FREEZE
from pawpularity.models.checkpoint import build_model
from pawpularity.models.config import ModelConfig
from pawpularity.models.ensemble import FoldEnsemble
from pawpularity.models.fusion import PawpularityNet, apply_freeze
from pawpularity.models.onnx import OrtModule, export
from pawpularity.runs.config import EmbedConfig
from pawpularity.runs.embeddings import embed
from pawpularity.runs.folds import Scoring
from pawpularity.runtime import tune_malloc

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


NAMES = (["pixels", "flags"], ["scores", "flag_probs"])


def fold_models(k: int) -> list[PawpularityNet]:
    """k fold models as training leaves them: the stages the default --freeze keeps frozen are
    the same ImageNet weights in every fold; the tails and heads differ (noise stands in for
    fine-tuning; speed does not depend on the weights)."""
    torch.manual_seed(0)
    template = build_model(ModelConfig()).eval()
    cut = apply_freeze(template, DEFAULT_FREEZE)
    nets = []
    for i in range(k):
        net = copy.deepcopy(template)
        modules = dict(net.backbone.named_modules())
        trained = [modules[n] for n in net.chain()[cut:]] + [net.flag_head, net.meta, net.fusion]
        g = torch.Generator().manual_seed(i)
        with torch.no_grad():
            for p in (p for m in trained for p in m.parameters()):
                p.add_(0.01 * p.float().std(correction=0) * torch.randn(p.shape, generator=g))
        nets.append(net)
    return nets


def fold_sharing(root: Path, ks: list[int]) -> list[str]:
    """Section 3: per K, the full graphs' throughput, ours, their ratio and the largest gap."""
    nets = fold_models(max(ks))
    x, nan = torch.rand(32, 3, S, S), torch.full((32, 12), float("nan"))
    example = (x[:2], nan[:2])
    full = []
    for i, net in enumerate(nets):  # the reference: each fold's whole graph
        export(Scoring(FoldEnsemble([net])), example, root / f"fold{i}.onnx", *NAMES)
        full.append(OrtModule(root / f"fold{i}.onnx"))
    one = 32 / latency(lambda: full[0](x, nan), repeats=5)
    lines = [f"one fold's graph alone, batch 32: {one:6.1f} img/s"]
    for k in ks:
        export(Scoring(FoldEnsemble(nets[:k])), example, root / f"run{k}.onnx", *NAMES)
        ours = OrtModule(root / f"run{k}.onnx")

        def theirs(graphs: list[OrtModule] = full[:k]) -> torch.Tensor:
            return torch.stack([g(x, nan)[0][:, 0] for g in graphs]).mean(0)

        def shared(graph: OrtModule = ours) -> torch.Tensor:
            return graph(x, nan)[0].mean(1)

        gap = float((theirs() - shared()).abs().max())
        if gap > 1e-4:
            raise SystemExit(f"{k} folds: scores differ by {gap:.2e} (> 1e-4): not timed")
        ref = 32 / latency(theirs, repeats=5)
        new = 32 / latency(shared, repeats=5)
        lines.append(
            f"{k}-fold run, batch 32: every fold's graph {ref:6.1f} img/s, one graph with the "
            f"shared stages once {new:6.1f} img/s   ratio {new / ref:.2f}x  (costs "
            f"{one / new:.2f} single models instead of {k}; max |Δscore| {gap:.1e})"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--photos", type=int, default=256)
    parser.add_argument("--folds", default="2,5", help="fold counts of section 3")
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
        export(Scoring(FoldEnsemble([net])), (many[:2], nan32[:2]), root / "model.onnx", *NAMES)
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
        sharing = fold_sharing(root, [int(k) for k in args.folds.split(",")])

    print(f"export of the fusion model: {export_s:.1f} s (once per run)")
    print(f"score latency, batch 1:    eager {1000 * eager_1:7.1f} ms   ORT {1000 * ort_1:7.1f} ms"
          f"   ratio {ort_1 / eager_1:.2f}x  (goal <= 0.3x)")  # fmt: skip
    print(f"score throughput, batch 32: eager {eager_32:6.1f} img/s ORT {ort_32:6.1f} img/s"
          f"   ratio {ort_32 / eager_32:.2f}x  (goal >= 3x)")  # fmt: skip
    print(f"embedding, {args.photos} photos: plain eager loop {eager_embed:6.1f} img/s, "
          f"`embed` {ours_embed:6.1f} img/s   ratio {ours_embed / eager_embed:.2f}x  (goal >= 2x;"
          f" the first, exporting unless cached, took {first_embed_s:.1f} s)")  # fmt: skip
    print("\n".join(sharing))


if __name__ == "__main__":
    main()
