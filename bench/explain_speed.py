"""Explanation speed against the reference libraries and a plain RISE, measured in one run.

(a) Grad-CAM per photo: ours (channels_last model and input, as `pawpularity explain` runs it)
    vs pytorch-grad-cam's GradCAM on the same layer, both of the model as saved (contiguous)
    and of the same channels_last copy with channels_last input (the library's best setup
    here); maps checked to agree first, each factor on its own line, with the share of the
    float32 matmul peak (`bench/peak.py`). Goal ≤ 1.0× the library at its best.
(b) Vanilla Gradient per photo: ours vs Captum's Saliency(abs=True), the same way. Goal ≤ 1.0×.
Both sides run on the heap the CLI uses (`tune_malloc()` before anything).
(c) RISE on one photo: ours (centred, Rise.masks masks, ONNX Runtime via make_scorer("auto"))
    vs eager PyTorch with 4000 uncentred masks (the paper's estimator; channels_last model and
    input, the fastest eager setup here). Goal ≤ 0.10× the time while the Spearman ρ to a
    converged map (centred, 16000 masks, an independent seed) is at least the eager run's.
    Each factor on its own line: the number of masks (our estimator and mask count on the same
    eager setup, its map checked equal to ours) and ONNX Runtime; with the share of the float32
    matmul peak. The one-time ONNX export is timed apart (a fresh cache folder) and excluded.
With --sweep N1,N2,...: the same RISE comparison on three photos for each N, and the smallest N
that meets both goals on all of them (how the default of `Rise.masks` was chosen).

    python bench/explain_speed.py [--run RUN] [--photo PATH] [--sweep 500,750,1000,1500]

Without --run, a demo set is built and the default model trained on 2 folds (minutes).
"""

from __future__ import annotations

import argparse
import copy
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TypeVar

import torch
import torch.nn.functional as F
from captum.attr import Saliency
from peak import forward_flops, matmul_gflops, share
from pytorch_grad_cam import GradCAM
from scipy.stats import spearmanr

import pawpularity as paw
from pawpularity.data.dataset import load_prepared
from pawpularity.data.demo import PHOTOS_DIR, make_demo
from pawpularity.explain.base import SCORE_COLUMN, Context, Outputs, Scorer
from pawpularity.explain.gradcam import gradcam
from pawpularity.explain.methods import Rise
from pawpularity.explain.rise import Masks, P, rise
from pawpularity.explain.runtime import EagerScorer, make_scorer
from pawpularity.explain.vanilla import vanilla
from pawpularity.models.backbones import gradcam_layer
from pawpularity.models.config import ModelConfig
from pawpularity.runtime import tune_malloc
from pawpularity.training.config import TrainConfig
from pawpularity.training.cv import train

RISE_MASKS = Rise.masks

PHOTOS = ("dog_beagle_10.jpg", "cat_Bengal_16.jpg", "dog_pug_16.jpg")
REFERENCE_MASKS, CONVERGED_MASKS = 4000, 16000
SEEDS = {"ours": 0, "reference": 1, "converged": 1000}  # independent masks for each map
REPEATS = 10
T = TypeVar("T")


class Column(torch.nn.Module):
    """The reference libraries' view of the model: the score, one value per photo."""

    def __init__(self, model: Outputs) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)[:, SCORE_COLUMN]


def median_times(*fns: Callable[[], object]) -> list[float]:
    """Median seconds per call of each function, calls interleaved (fair under a busy CPU)."""
    for fn in fns:
        fn()
        fn()
    times: list[list[float]] = [[] for _ in fns]
    for _ in range(REPEATS):
        for fn, t in zip(fns, times, strict=True):
            start = time.perf_counter()
            fn()
            t.append(time.perf_counter() - start)
    return [statistics.median(t) for t in times]


def timed(fn: Callable[[], T]) -> tuple[T, float]:
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start


@torch.inference_mode()
def eager_uncentred(model: Outputs, x: torch.Tensor, n: int, seed: int) -> torch.Tensor:
    """The paper's RISE, Σ y_i m_i / (N p), on eager PyTorch with the same mask recipe."""
    size = x.shape[-1]
    total = torch.zeros(size * size, dtype=torch.float64)
    for m in Masks(n, size, Rise.grid, seed=seed).batches(32):
        y = model(x * m)[:, SCORE_COLUMN]
        total += (y @ m.reshape(len(m), -1)).double()
    return (total / (n * P)).float().reshape(size, size)


def rho(a: torch.Tensor, b: torch.Tensor) -> float:
    """Spearman ρ over the pixels of both maps, average-pooled to about 56×56."""
    k = max(1, a.shape[-1] // 56)
    pooled = [F.avg_pool2d(m[None, None], k).flatten().numpy() for m in (a, b)]
    return float(spearmanr(*pooled)[0])


def trained_run(tmp: Path) -> Path:
    print("no --run: building a demo set and training the default model on 2 folds ...")
    make_demo(tmp / "data", n=96, seed=0)
    train(tmp / "data", tmp / "run", ModelConfig(), TrainConfig(folds=2))
    return tmp / "run"


def gradient_methods(model: Outputs, layer: str, x: torch.Tensor) -> None:
    """Grad-CAM and the vanilla gradient, ours against each reference library on the model as
    saved (contiguous) and on the same channels_last copy with channels_last input as ours (its
    best setup here); maps checked to agree before anything is timed."""
    converted = copy.deepcopy(model).to(memory_format=torch.channels_last)
    ctx = Context(converted, layer, lambda: EagerScorer(converted))
    x_cl = x.contiguous(memory_format=torch.channels_last)
    peak = matmul_gflops()
    (plain_layer,) = model.ensemble.layer_modules(layer)
    (fast_layer,) = converted.ensemble.layer_modules(layer)
    score = [lambda o: o]
    with (
        GradCAM(model=Column(model), target_layers=[plain_layer]) as plain,
        GradCAM(model=Column(converted), target_layers=[fast_layer]) as fast,
    ):
        ours_map = gradcam(ctx, x_cl, SCORE_COLUMN).relu()
        theirs_map = torch.from_numpy(fast(input_tensor=x_cl, targets=score)[0])
        both_empty = bool(ours_map.max() <= ours_map.min() and theirs_map.max() <= theirs_map.min())
        sized = F.interpolate(ours_map[None, None], size=theirs_map.shape)[0, 0]
        agree = 1.0 if both_empty else rho(sized, theirs_map)  # empty on both sides: the same
        assert agree > 0.99, f"Grad-CAM maps disagree (rho {agree:.3f}): nothing timed"
        work = 3 * forward_flops(model, x) / 1e9  # a forward and a backward to the input
        ours, contiguous, same = median_times(
            lambda: gradcam(ctx, x_cl, SCORE_COLUMN),
            lambda: plain(input_tensor=x, targets=score),
            lambda: fast(input_tensor=x_cl, targets=score),
        )
    report("(a) Grad-CAM", "pytorch-grad-cam", ours, contiguous, same, work, peak, agree)
    saliency, fast_saliency = Saliency(Column(model)), Saliency(Column(converted))
    ours_map = vanilla(ctx, x_cl, SCORE_COLUMN)
    theirs_map = fast_saliency.attribute(x_cl.clone().requires_grad_(), abs=True)[0].amax(0)
    agree = rho(ours_map, theirs_map.detach())
    assert agree > 0.99, f"vanilla maps disagree (rho {agree:.3f}): nothing timed"
    work = 3 * forward_flops(model, x) / 1e9
    ours, contiguous, same = median_times(
        lambda: vanilla(ctx, x_cl, SCORE_COLUMN),
        lambda: saliency.attribute(x.clone().requires_grad_(), abs=True),
        lambda: fast_saliency.attribute(x_cl.clone().requires_grad_(), abs=True),
    )
    report("(b) Vanilla", "captum Saliency", ours, contiguous, same, work, peak, agree)


def report(
    name: str,
    library: str,
    ours: float,
    contiguous: float,
    same: float,
    gflop: float,
    peak: float,
    agree: float,
) -> None:
    print(f"{name}: maps agree (rho {agree:.3f}); {gflop:.2f} GFLOP per photo")
    for who, seconds in (
        ("ours (channels_last)", ours),
        (f"{library}, contiguous", contiguous),
        (f"{library}, channels_last", same),
    ):
        print(f"    {who:34} {seconds * 1e3:7.1f} ms  {share(gflop / seconds, peak)}")
    print(
        f"    memory format (the library's time, channels_last / contiguous): "
        f"{same / contiguous:.2f}x"
    )
    print(
        f"    time, ours / the library at its best: {ours / min(same, contiguous):.2f}x "
        "(goal <= 1.0)"
    )


@dataclass
class Case:
    """RISE on one photo: the eager reference and ours for each N, against a converged map."""

    eager_s: float
    eager_rho: float
    ours: dict[int, tuple[float, float]]  # N → (time ratio to the eager run, ρ)
    eager_centred_s: dict[int, float]  # N → seconds of ours' estimator on eager PyTorch

    def meets(self, n: int) -> bool:
        ratio, r = self.ours[n]
        return ratio <= 0.10 and r >= self.eager_rho


def rise_case(model: Outputs, scorer: Scorer, photo: Path, masks: list[int]) -> Case:
    size = model.ensemble.image_size
    x = load_prepared(photo, size)[None].float() / 255
    converted = copy.deepcopy(model).to(memory_format=torch.channels_last)
    x_cl = x.contiguous(memory_format=torch.channels_last)
    eager_uncentred(converted, x_cl, 32, 0)  # warm-up
    reference, eager_s = timed(
        partial(eager_uncentred, converted, x_cl, REFERENCE_MASKS, SEEDS["reference"])
    )
    maps, seconds, eager_centred = {}, {}, {}
    ours = Context(None, "", lambda: scorer, seed=SEEDS["ours"])
    eager = Context(None, "", lambda: EagerScorer(converted), seed=SEEDS["ours"])
    for n in masks:  # right after the reference: the machine's load is alike
        (same, _), eager_centred[n] = timed(
            partial(rise, eager, x_cl, SCORE_COLUMN, n, Rise.grid, Rise.batch)
        )
        (maps[n], _), seconds[n] = timed(
            partial(rise, ours, x, SCORE_COLUMN, n, Rise.grid, Rise.batch)
        )
        if (off := rho(same, maps[n])) < 0.999:
            raise SystemExit(f"RISE with {n} masks: eager and ours agree to rho {off:.4f} only")
    again = Context(None, "", lambda: scorer, seed=SEEDS["converged"])
    converged, _ = rise(again, x, SCORE_COLUMN, CONVERGED_MASKS, Rise.grid, Rise.batch)
    return Case(
        eager_s,
        rho(reference, converged),
        {n: (seconds[n] / eager_s, rho(maps[n], converged)) for n in masks},
        eager_centred,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--run", type=Path, help="a finished training run (default: train one)")
    parser.add_argument("--photo", type=Path, default=PHOTOS_DIR / PHOTOS[0])
    parser.add_argument("--sweep", help="comma-separated mask counts to try on three photos")
    args = parser.parse_args()
    tune_malloc()  # as the CLI does
    with tempfile.TemporaryDirectory() as tmp:
        loaded = paw.load(args.run or trained_run(Path(tmp)), runtime="eager", fold=0)
        assert loaded.run is not None
        # The model as it was saved (contiguous); ours converts a copy to channels_last.
        ensemble = loaded.run.ensemble().to(memory_format=torch.contiguous_format)
        model, net = Outputs(ensemble), ensemble.members[0]
        layer = gradcam_layer(net.config.backbone, net.backbone)
        print(
            f"model: {loaded.run.path} fold0 ({net.config.backbone}, {loaded.image_size} px), "
            f"{torch.get_num_threads()} threads; photo: {args.photo.name}"
        )
        x = load_prepared(args.photo, loaded.image_size)[None].float() / 255
        gradient_methods(model, layer, x)

        os.environ["PAWPULARITY_CACHE"] = tmp  # a fresh cache: the export is really timed
        scorer, export_s = timed(partial(make_scorer, model, "auto"))
        print(
            f"(c) RISE: {type(scorer).__name__}, one-time ONNX export {export_s:.1f} s "
            "(excluded below)"
        )
        scorer(x.expand(32, -1, -1, -1))  # the session's first run allocates its buffers
        masks = sorted({RISE_MASKS, *(int(n) for n in (args.sweep or "").split(",") if n)})
        case = rise_case(model, scorer, args.photo, masks)
        ratio, our_rho = case.ours[RISE_MASKS]
        ours_s, same_s = ratio * case.eager_s, case.eager_centred_s[RISE_MASKS]
        gflop = forward_flops(model, x) / 1e9  # per masked photo
        peak = matmul_gflops()

        def rate(masks: int, seconds: float) -> str:
            return share(masks * gflop / seconds, peak)

        print(
            f"    eager {REFERENCE_MASKS} uncentred {case.eager_s:6.1f} s  "
            f"rho {case.eager_rho:.3f}  {rate(REFERENCE_MASKS, case.eager_s)}\n"
            f"    eager {RISE_MASKS:4d} centred   {same_s:6.1f} s  (our estimator, the same "
            f"masks; maps checked equal)  {rate(RISE_MASKS, same_s)}\n"
            f"    ours  {RISE_MASKS:4d} centred   {ours_s:6.1f} s  rho {our_rho:.3f}  "
            f"{rate(RISE_MASKS, ours_s)}\n"
            f"    number of masks ({REFERENCE_MASKS} uncentred -> {RISE_MASKS} centred, eager): "
            f"{case.eager_s / same_s:.2f}x faster\n"
            f"    ONNX Runtime (eager -> ours, {RISE_MASKS} masks): {same_s / ours_s:.2f}x faster\n"
            f"    time ratio ours / eager-{REFERENCE_MASKS} {ratio:.3f}x (goal <= 0.10), "
            f"rho goal {'met' if our_rho >= case.eager_rho else 'MISSED'}\n"
            f"    (rho: Spearman to a converged map, centred, {CONVERGED_MASKS} masks, "
            f"another seed; float32 matmul peak {peak:.1f} GFLOP/s, {gflop:.2f} GFLOP a pass)"
        )
        if args.sweep:
            others = [PHOTOS_DIR / p for p in PHOTOS if p != args.photo.name][:2]
            sweep(
                masks,
                {args.photo.name: case}
                | {p.name: rise_case(model, scorer, p, masks) for p in others},
            )


def sweep(masks: list[int], cases: dict[str, Case]) -> None:
    print(f"\nsweep (per N: time ratio to eager-{REFERENCE_MASKS} / rho; * misses a goal)")
    print(f"  {'photo':22s} {'eager':>7s} {'rho':>5s} | " + " ".join(f"{n:>13d}" for n in masks))
    for name, case in cases.items():
        cells = [
            f"{case.ours[n][0]:.3f}/{case.ours[n][1]:.3f}{' ' if case.meets(n) else '*'}"
            for n in masks
        ]
        print(f"  {name:22s} {case.eager_s:5.1f} s {case.eager_rho:.3f} | " + " ".join(cells))
    passing = [n for n in masks if all(case.meets(n) for case in cases.values())]
    print(f"recommended --rise-masks: {passing[0] if passing else 'none of ' + str(masks)}")


if __name__ == "__main__":
    main()
