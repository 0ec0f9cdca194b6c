"""Scoring and embedding speed on ONNX Runtime against eager PyTorch, measured in the same run.

1. Score latency at batch 1 and throughput at batch 32: a fold's fusion model (Lite0 at 224,
   ImageNet backbone, untrained head: speed does not depend on the weights) in eager PyTorch
   (inference mode) against its graph on ONNX Runtime. Goals: latency ≤ 0.3×, throughput ≥ 3×
   the eager model at its best.
2. Embedding throughput: a plain loop (decode each photo, eager timm `forward_features` +
   pooling, batches of 32) against `pawpularity embed` end to end (decoding workers, ONNX
   Runtime; the one-off export is timed apart). Goal ≥ 2× the loop at its best.
3. Scoring a K-fold run (K = 2 and 5; folds that share the stages `--freeze` kept frozen, tails
   and heads of their own): every fold's whole graph on ONNX Runtime, averaged (what `predict`
   did before), against the one graph `pawpularity export` writes now, which computes the shared
   stages once. Both on the same heap, throughput at batch 32.

The references get their best setup, and each factor is printed on its own line: eager and the
plain loop first on glibc's default heap, then under `tune_malloc()` (the heap the CLI uses: the
allocator's share), then also channels_last, model and input (the memory format's share); ours
last, as the CLI runs them (`embed` streams on glibc's default heap: ONNX Runtime keeps its own
arena). Each side is timed on its own: interleaving calls would let ONNX Runtime's threads,
which spin for a while after each run, slow the eager calls beside them. Outputs are checked to
agree before anything is timed: channels_last and the ONNX graph against the eager model,
`embed`'s rows against the plain loop's features. Each line gives the share of the machine's
float32 matmul peak it reaches (`bench/peak.py`, measured in the same run; the FLOPs of the
model's convolutions and linear layers). Run on an idle CPU:

    python bench/inference_speed.py [--photos 256] [--folds 2,5]
"""

from __future__ import annotations

import argparse
import copy
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch
from peak import forward_flops, matmul_gflops, share

from pawpularity.data.dataset import load_prepared
from pawpularity.data.demo import PHOTOS_DIR
from pawpularity.models import DEFAULT_FREEZE
from pawpularity.models.backbones import preprocessing
from pawpularity.models.checkpoint import build_model
from pawpularity.models.config import ModelConfig
from pawpularity.models.ensemble import FoldEnsemble
from pawpularity.models.fusion import PawpularityNet, apply_freeze
from pawpularity.models.onnx import OrtModule, export
from pawpularity.runs.config import EmbedConfig
from pawpularity.runs.embeddings import embed, embedding_backbone
from pawpularity.runs.folds import Scoring
from pawpularity.runtime import tune_malloc

S = 224


def latency(fn: Callable[[], object], repeats: int = 100) -> float:
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


def plain_embedding_loop(
    paths: list[Path], model: torch.nn.Module, channels_last: bool = False, batch: int = 32
) -> tuple[float, np.ndarray]:
    """Images/s of decoding + eager timm pooled features, the way a script would do it, and the
    features."""
    mean, std, _ = preprocessing(model)
    mean_t, std_t = torch.tensor(mean).view(1, 3, 1, 1), torch.tensor(std).view(1, 3, 1, 1)
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    rows = []
    start = time.perf_counter()
    with torch.inference_mode():
        for i in range(0, len(paths), batch):
            x = torch.stack([load_prepared(p, S) for p in paths[i : i + batch]]).float() / 255
            x = ((x - mean_t) / std_t).contiguous(memory_format=fmt)
            rows.append(model.forward_head(model.forward_features(x), pre_logits=True))
    return len(paths) / (time.perf_counter() - start), torch.cat(rows).numpy()


def speeds(
    model: Callable[..., object], one: torch.Tensor, many: torch.Tensor
) -> tuple[float, float]:
    """(seconds per call at batch 1, images/s at batch 32) of a scoring model."""
    nan1, nan32 = torch.full((1, 12), float("nan")), torch.full((32, 12), float("nan"))
    with torch.inference_mode():
        single = latency(lambda: model(one, nan1))
        return single, 32 / latency(lambda: model(many, nan32), repeats=10)


def gap(a: Sequence[torch.Tensor], b: Sequence[torch.Tensor]) -> float:
    """The largest difference between two models' (scores, flag outputs)."""
    return max(float((x - y).abs().max()) for x, y in zip(a, b, strict=True))


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
    fast = copy.deepcopy(net).to(memory_format=torch.channels_last)
    one, many = torch.rand(1, 3, S, S), torch.rand(32, 3, S, S)
    cl = torch.channels_last
    one_cl, many_cl = one.contiguous(memory_format=cl), many.contiguous(memory_format=cl)
    nan32 = torch.full((32, 12), float("nan"))
    cfg = EmbedConfig("tf_efficientnet_lite0")
    backbone = embedding_backbone(cfg.backbone, cfg.pretrained, cfg.weights).eval()
    backbone_cl = copy.deepcopy(backbone).to(memory_format=cl)
    with torch.inference_mode():
        reference = net(many, nan32)
        off = gap(fast(many_cl, nan32), reference)
    if off > 1e-3:
        raise SystemExit(f"channels_last scores differ by {off:.2e}: not timed")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        folder = photo_folder(root, args.photos)
        paths = sorted(folder.iterdir())
        # glibc's default heap: nothing has tuned it yet
        eager = {"default heap": speeds(net, one, many)}
        plain = {"default heap": plain_embedding_loop(paths, backbone)}
        tune_malloc()  # from here on every side runs on the heap the CLI uses
        eager["tuned heap"] = speeds(net, one, many)
        eager["tuned heap + channels_last"] = speeds(fast, one_cl, many_cl)
        plain["tuned heap"] = plain_embedding_loop(paths, backbone)
        plain["tuned heap + channels_last"] = plain_embedding_loop(paths, backbone_cl, True)

        t = time.perf_counter()
        export(Scoring(FoldEnsemble([net])), (many[:2], nan32[:2]), root / "model.onnx", *NAMES)
        export_s = time.perf_counter() - t
        graph = OrtModule(root / "model.onnx")
        scores, probs = graph(many, nan32)[:2]  # B×1 and B×1×12: one fold
        ort_gap = gap((scores[:, 0], probs[:, 0]), (reference[0], reference[1].sigmoid()))
        if ort_gap > 1e-3:
            raise SystemExit(f"ONNX Runtime differs from eager by {ort_gap:.2e}: not timed")
        ort = speeds(graph, one, many)
        t = time.perf_counter()
        embed(folder, root / "warm", cfg, "ort")  # exports the embedder into the cache
        first_embed_s = time.perf_counter() - t
        rows = np.load(root / "warm" / "embeddings.npy")[:, : backbone.num_features]
        features = plain["default heap"][1]
        embed_gap = float(np.abs(rows - features).max() / np.abs(features).max())
        if embed_gap > 1e-3:
            raise SystemExit(f"`embed` rows differ from the plain loop's by {embed_gap:.1e}")
        t = time.perf_counter()
        embed(folder, root / "emb", cfg, "ort")
        ours_embed = args.photos / (time.perf_counter() - t)
        sharing = fold_sharing(root, [int(k) for k in args.folds.split(",")])

    peak = matmul_gflops()
    score_flops = forward_flops(net, one) / 1e9
    embed_flops = forward_flops(backbone, one) / 1e9
    print(f"float32 matmul peak: {peak:.1f} GFLOP/s; a score {score_flops:.2f} GFLOP, an "
          f"embedding {embed_flops:.2f} GFLOP per photo")  # fmt: skip
    print(f"checked first: channels_last max |Δ| {off:.1e}, ONNX Runtime {ort_gap:.1e}, "
          f"`embed` rows {embed_gap:.1e} of the largest feature")  # fmt: skip
    print(f"export of the fusion model: {export_s:.1f} s (once per run)")
    print("\nratios: latency new/old (lower is faster), throughput new/old (higher is faster)")
    title = "scoring, a fold's model"
    print(f"{title:40} {'batch 1 (ms)':>12} {'batch 32 (img/s)':>17}")
    for name, (lat, thr) in [
        *((f"eager, {k}", v) for k, v in eager.items()),
        ("ONNX Runtime, tuned heap", ort),
    ]:
        print(f"{name:40} {1000 * lat:7.1f}   {thr:7.1f}  {share(thr * score_flops, peak)}")
    cl, tuned, default = (
        eager[k] for k in ("tuned heap + channels_last", "tuned heap", "default heap")
    )
    print(f"allocator (tuned / default heap)  : latency {tuned[0] / default[0]:.2f}x, "
          f"throughput {tuned[1] / default[1]:.2f}x")  # fmt: skip
    print(f"memory format (channels_last)     : latency {cl[0] / tuned[0]:.2f}x, "
          f"throughput {cl[1] / tuned[1]:.2f}x")  # fmt: skip
    fastest = min(lat for lat, _ in eager.values())  # each measure against eager at its best
    widest = max(thr for _, thr in eager.values())
    print(f"ONNX Runtime / the best eager     : latency {ort[0] / fastest:.2f}x (goal <= 0.3x), "
          f"throughput {ort[1] / widest:.2f}x (goal >= 3x)")  # fmt: skip

    print(f"\n{f'embedding, {args.photos} photos':40} {'img/s':>7}")
    for name, (rate, _) in plain.items():
        print(f"{'plain loop, ' + name:40} {rate:7.1f}  {share(rate * embed_flops, peak)}")
    print(f"{'`embed` (ORT, decoding workers)':40} {ours_embed:7.1f}  "
          f"{share(ours_embed * embed_flops, peak)}")  # fmt: skip
    top = max(rate for rate, _ in plain.values())
    heap = plain["tuned heap"][0] / plain["default heap"][0]
    print(f"allocator (tuned / default heap)  : {heap:.2f}x")
    layout = plain["tuned heap + channels_last"][0] / plain["tuned heap"][0]
    print(f"memory format (channels_last)     : {layout:.2f}x")
    print(f"`embed` / the best plain loop     : {ours_embed / top:.2f}x  (goal >= 2x; the first "
          f"run, exporting unless cached, took {first_embed_s:.1f} s)")  # fmt: skip
    print()
    print("\n".join(sharing))


if __name__ == "__main__":
    main()
