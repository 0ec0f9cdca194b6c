"""CUDA against the CPU in one unattended run: results checked first, then images/s of each path.

Checks, before anything is timed (a failure is printed, the timings still run, exit code 1):
  - scores of a trained run on CUDA (float16 autocast) against the CPU in fp32: every photo's
    score within 0.5 points and its flag probabilities within 0.01 (TOLERANCES);
  - maps on CUDA against the CPU (the CPU's default path: RISE's batches on ONNX Runtime):
    Grad-CAM and Vanilla Gradient (fp32 on both) and RISE (the same masks): Spearman ρ of the
    pooled maps (explain.sanity.spearman) ≥ 0.99 for every photo.
Then, for tf_efficientnet_lite0 (offline ImageNet weights) and resnet50 (random weights,
pretrained "none"), CUDA and CPU in the same run, images/s of:
  - training, end to end as `train` runs (decoding, caching, Lightning), with the frozen stages
    cached (the default) and streaming (every stage computed on every step);
  - decoding alone (the loader `predict` and `embed` use, with the workers each device gets),
    beside `embed` and `predict` end to end: the goal is that on CUDA they run at about the
    decoding rate (bound by JPEG decoding, not by the model);
  - RISE (Rise.masks masks) and Grad-CAM, per photo;
with the GPU's mean utilisation while each CUDA figure was measured (torch.cuda.utilization,
else nvidia-smi sampled in a thread; "n/a" when neither works), and the share of each device's
float32 matmul peak (`bench/peak.py`, measured first on both; TF32 off) the figure reaches from
its model's FLOPs (`predict`: the run's folds, shared stages once; training and Grad-CAM: 3× a
fold's forward; RISE: one forward per mask). The CPU side is each command's default there:
ONNX Runtime for `embed`, RISE and `predict` of an exported run (exports are timed apart), eager
PyTorch for gradients and training.

The whole run keeps to --budget seconds (default 450, under 8 minutes): sizes are fixed small,
each section is skipped with a note once too little time is left, and an alarm stops whatever
runs at the budget and prints what was measured. Without CUDA it prints one line and exits 0.
--dry-run runs every section with the CPU standing in for CUDA (bfloat16 autocast) at tiny
sizes: a check of this script, not of any speed.

    python bench/gpu.py [--budget 450] [--dry-run]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from types import FrameType, ModuleType
from typing import Any

import numpy as np
import torch
from peak import forward_flops, matmul_gflops
from scale import Unflagged, run_gflop

import pawpularity as paw
from pawpularity import device as D
from pawpularity.data.dataset import photo_loader
from pawpularity.data.demo import PHOTOS_DIR, make_demo
from pawpularity.data.images import load_image
from pawpularity.data.photos import collect
from pawpularity.data.schema import FLAGS
from pawpularity.explain.methods import Rise
from pawpularity.explain.sanity import spearman
from pawpularity.models.checkpoint import build_model
from pawpularity.models.config import ModelConfig
from pawpularity.models.ensemble import FoldEnsemble
from pawpularity.runs.config import BATCH_SIZE, EmbedConfig
from pawpularity.runs.embeddings import embed
from pawpularity.runs.export import export_run
from pawpularity.runtime import tune_malloc
from pawpularity.training import cv
from pawpularity.training.config import Devices, TrainConfig

# Autocast dtype → (|Δscore| points, |Δflag probability|, Spearman ρ of maps) allowed. bfloat16
# keeps 8 bits of mantissa to float16's 11: only the dry run's CPU stand-in uses it.
TOLERANCES = {"float16": (0.5, 0.01, 0.99), "bfloat16": (4.0, 0.08, 0.8)}
BACKBONES = {"tf_efficientnet_lite0": "imagenet", "resnet50": "none"}  # → starting weights
MAPS = ("gradcam", "vanilla", "rise")
CPU = torch.device("cpu")


@dataclass(frozen=True)
class Sizes:
    train_photos: int = 64  # demo photos; 2 folds, so each epoch trains on all of them once
    epochs: int = 2
    gpu_photos: int = 4096  # photos through predict/embed/decoding on CUDA
    cpu_photos: int = 384  # ... and on the CPU (images/s do not depend on the count)
    score_photos: int = 32  # photos of the score check
    map_photos: int = 3  # photos of the map checks (their CPU times are the CPU's figures)
    gpu_map_photos: int = 8  # photos timed per map on CUDA
    masks: int = Rise.masks
    image_size: int | None = None  # None: the backbone's own (224)


DRY = Sizes(8, 1, 24, 12, 4, 1, 2, 20, 64)


class OverBudget(Exception):
    """The alarm at --budget seconds."""


@dataclass
class Bench:
    fast: torch.device  # CUDA (or the CPU standing in for it with --dry-run)
    sizes: Sizes
    budget: float
    root: Path
    peaks: tuple[float, float] = (0.0, 0.0)  # float32 matmul GFLOP/s: (fast device, CPU)
    gflop: dict[str, float] = field(default_factory=dict)  # backbone → forward GFLOP per photo
    start: float = field(default_factory=time.perf_counter)
    rows: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)

    def left(self) -> float:
        return self.budget - (time.perf_counter() - self.start)

    def enough(self, seconds: float, what: str) -> bool:
        """Whether `seconds` are left for `what`; otherwise a note that it is skipped."""
        if self.left() >= seconds:
            return True
        self.say(f"  skipped {what}: {self.left():.0f} s of the budget left, ~{seconds:.0f} needed")
        return False

    def say(self, line: str, keep: bool = True) -> None:
        print(line, file=sys.__stdout__, flush=True)
        if keep:
            self.rows.append(line)

    def check(self, name: str, ok: bool, detail: str) -> None:
        self.say(f"  {'PASS' if ok else 'FAIL'}  {name}: {detail}")
        if not ok:
            self.failed.append(name)

    def compare(
        self, name: str, fast: float, cpu: float, util: str, extra: str = "", gflop: float = 0.0
    ) -> None:
        """One figure on both devices; with `gflop` (the work of one item), the share of each
        device's float32 matmul peak it reaches."""
        ratio = fast / cpu if cpu > 0 else float("nan")
        shares = [
            f"{rate * gflop / peak:.1%}" for rate, peak in zip((fast, cpu), self.peaks, strict=True)
        ]
        self.say(
            f"  {name:<34} CUDA {fast:9.1f}  CPU {cpu:8.1f}  {ratio:6.1f}x  GPU {util:>6}"
            + (f"  peak CUDA {shares[0]} CPU {shares[1]}" if gflop else "")
            + (f"  {extra}" if extra else "")
        )


class Utilisation:
    """The GPU's utilisation sampled in a thread while the block runs (None: no way to read)."""

    def __init__(self, device: torch.device) -> None:
        self.index = device.index or 0
        self.read = self._reader() if D.is_cuda(device) else None
        self.samples: list[float] = []

    def _reader(self) -> Callable[[], float] | None:
        def by_torch() -> float:
            return float(torch.cuda.utilization(self.index))

        def by_smi() -> float:
            out = subprocess.run(
                ["nvidia-smi", f"--id={self.index}", "--query-gpu=utilization.gpu",
                 "--format=csv,noheader,nounits"],
                capture_output=True, text=True, timeout=2, check=True,
            ).stdout  # fmt: skip
            return float(out.strip().splitlines()[0])

        for reader in (by_torch, by_smi):
            try:
                reader()
                return reader
            except Exception:  # no pynvml, no nvidia-smi, an unexpected answer: try the next
                continue
        return None

    def __enter__(self) -> Utilisation:
        self.samples, self.stop = [], threading.Event()
        if self.read is not None:
            self.thread = threading.Thread(target=self._sample, daemon=True)
            self.thread.start()
        return self

    def _sample(self) -> None:
        while not self.stop.is_set():
            with contextlib.suppress(Exception):
                self.samples.append(self.read())  # type: ignore[misc]
            self.stop.wait(0.1)

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        if self.read is not None:
            self.thread.join(timeout=3)

    @property
    def mean(self) -> str:
        return f"{statistics.fmean(self.samples):.0f} %" if self.samples else "n/a"


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """Progress bars, notes and library chatter swallowed: only this script's lines show."""
    sink = io.StringIO()
    with (
        contextlib.redirect_stdout(sink),
        contextlib.redirect_stderr(sink),
        warnings.catch_warnings(),
    ):
        warnings.simplefilter("ignore")
        yield


@contextlib.contextmanager
def patched(module: ModuleType, name: str, value: Any) -> Iterator[bool]:
    """module.name = value inside the block (False, and nothing changed, if it has no such name)."""
    if not hasattr(module, name):
        yield False
        return
    old = getattr(module, name)
    setattr(module, name, value)
    try:
        yield True
    finally:
        setattr(module, name, old)


@contextlib.contextmanager
def on_cpu() -> Iterator[None]:
    """The CPU's own path, as `--device cpu` runs it: without the autocast of the CPU standing
    in for CUDA (--dry-run)."""
    saved = D.AUTOCAST.pop("cpu", None)
    try:
        yield
    finally:
        if saved is not None:
            D.AUTOCAST["cpu"] = saved


def synchronize(device: torch.device) -> None:
    if D.is_cuda(device):
        torch.cuda.synchronize(device)


def timed(device: torch.device, fn: Callable[[], Any]) -> tuple[float, str]:
    """(seconds, GPU utilisation) of one call."""
    with Utilisation(device) as util:
        seconds, _ = stopwatch(device, fn)
    return seconds, util.mean


def stopwatch(device: torch.device, fn: Callable[[], Any]) -> tuple[float, Any]:
    """(seconds, result) of one call, the device's queued work included."""
    synchronize(device)
    t = time.perf_counter()
    result = fn()
    synchronize(device)
    return time.perf_counter() - t, result


def photo_folder(folder: Path, n: int) -> Path:
    """n photos: the shipped ones at their own sizes, linked (or copied) round-robin."""
    folder.mkdir(parents=True)
    shipped = sorted(PHOTOS_DIR.glob("*.jpg"))
    for i in range(n):
        target = folder / f"{i:05d}.jpg"
        try:
            os.link(shipped[i % len(shipped)], target)
        except OSError:
            shutil.copyfile(shipped[i % len(shipped)], target)
    return folder


# ---------------------------------------------------------------------------------------- train


def train_rate(
    b: Bench, data: Path, out: Path, backbone: str, on_gpu: bool, streaming: bool
) -> tuple[float, str] | None:
    """Training images/s end to end (and GPU utilisation); None when the mode cannot be set."""
    s = b.sizes
    model = ModelConfig(backbone=backbone, image_size=s.image_size)
    config = TrainConfig(folds=2, epochs=s.epochs, pretrained=BACKBONES[backbone])
    if streaming:  # every stage on every step, on photos fully augmented
        config = TrainConfig(**{**config.__dict__, "cache": "off", "augment": "full"})
    accelerator = "gpu" if on_gpu and D.is_cuda(b.fast) else "cpu"
    device = b.fast if on_gpu else CPU
    with (
        quiet(),
        # The CPU's figure must not cache the frozen stages on the GPU (train caches where CUDA is).
        patched(cv, "_device", (lambda _: str(device)) if not on_gpu else cv._device) as placed,
    ):
        if not placed:
            return None
        seconds, util = timed(
            device, lambda: cv.train(data, out, model, config, devices=Devices(accelerator))
        )
    return s.train_photos * s.epochs / seconds, util


def training(b: Bench, data: Path, backbone: str, cached_gpu: tuple[float, str]) -> None:
    """The three other training figures beside the cached CUDA one already measured."""
    runs = b.root / "runs"
    figures: dict[tuple[bool, bool], tuple[float, str] | None] = {(True, False): cached_gpu}
    for on_gpu, streaming in ((False, False), (True, True), (False, True)):
        what = f"{backbone} training on {'CUDA' if on_gpu else 'the CPU'}" + (
            ", streaming" if streaming else ", cached"
        )
        if not b.enough(20 if on_gpu else 60, what):
            figures[(on_gpu, streaming)] = None
            continue
        name = f"{backbone}-{'gpu' if on_gpu else 'cpu'}-{'stream' if streaming else 'cache'}"
        figures[(on_gpu, streaming)] = train_rate(b, data, runs / name, backbone, on_gpu, streaming)
    for streaming in (False, True):
        gpu, cpu = figures[(True, streaming)], figures[(False, streaming)]
        label = f"train {'streaming' if streaming else 'cached'} (img/s)"
        if gpu is None or cpu is None:
            b.say(f"  {label:<34} not measured (skipped, or this training code has no such mode)")
        else:
            b.compare(label, gpu[0], cpu[0], gpu[1], "3x the forward FLOPs", 3 * b.gflop[backbone])


# --------------------------------------------------------------------------------------- checks


def score_check(b: Bench, run: Path, backbone: str) -> None:
    photos = sorted(PHOTOS_DIR.glob("*.jpg"))[: b.sizes.score_photos]
    with quiet():
        fast = paw.load(run, device=b.fast, runtime=fast_runtime(b)).score(photos)
        with on_cpu():
            exact = paw.load(run, device="cpu", runtime="eager").score(photos)
    names = list(FLAGS)
    gap = float(np.abs(fast["score"] - exact["score"]).max())
    flags = float(np.abs(fast[names].to_numpy() - exact[names].to_numpy()).max())
    score_tol, flag_tol, _ = tolerances(b)
    ok = gap <= score_tol and flags <= flag_tol and bool(np.isfinite(fast["score"]).all())
    b.check(
        f"{backbone} scores",
        ok,
        f"max |Δscore| {gap:.3f} (≤ {score_tol}), max |Δflag prob| {flags:.4f} (≤ {flag_tol}) "
        f"over {len(photos)} photos",
    )


def map_check(b: Bench, run: Path, backbone: str) -> dict[str, tuple[float, float, str]]:
    """Spearman ρ of each map on CUDA against the CPU; per method (CUDA photos/s, CPU photos/s,
    GPU utilisation) from the same calls and a few more photos on CUDA."""
    shipped = sorted(PHOTOS_DIR.glob("*.jpg"))
    n = b.sizes.map_photos
    photos = [load_image(p) for p in shipped[: max(n, b.sizes.gpu_map_photos)]]
    params = {"rise": {"masks": b.sizes.masks}}
    with quiet():
        fast = paw.load(run, device=b.fast, runtime=fast_runtime(b))
        cpu = paw.load(run, device="cpu")  # the CPU's default: RISE's batches on ONNX Runtime
        for m in MAPS:  # warm-up: cuDNN's choices, the ONNX export of RISE's scorer
            fast.explain(photos[0], m, **params.get(m, {}))
            with on_cpu():
                cpu.explain(photos[0], m, **params.get(m, {}))
    rates = {}
    for m in MAPS:
        kw = params.get(m, {})
        with quiet(), Utilisation(b.fast) as util:
            fast_runs = [stopwatch(b.fast, partial(fast.explain, p, m, **kw)) for p in photos]
        with quiet(), on_cpu():
            cpu_runs = [stopwatch(CPU, partial(cpu.explain, p, m, **kw)) for p in photos[:n]]
        rhos = []
        for (_, fast_map), (_, cpu_map) in zip(fast_runs, cpu_runs, strict=False):
            if np.ptp(cpu_map) == 0 and np.ptp(fast_map) == 0:  # both empty (e.g. ReLU'd away)
                rhos.append(1.0 if np.allclose(cpu_map, fast_map) else 0.0)
            else:
                rhos.append(spearman(fast_map, cpu_map))
        b.check(
            f"{backbone} {m} maps",
            min(rhos) >= tolerances(b)[2],
            f"Spearman ρ min {min(rhos):.4f} (≥ {tolerances(b)[2]}) over {len(rhos)} photos",
        )
        rates[m] = (
            1 / statistics.median(t for t, _ in fast_runs),
            1 / statistics.median(t for t, _ in cpu_runs),
            util.mean,
        )
    return rates


def tolerances(b: Bench) -> tuple[float, float, float]:
    """What the checks allow for the autocast dtype of the fast device (float16's without one)."""
    return TOLERANCES.get(D.AUTOCAST.get(b.fast.type, "float16"), TOLERANCES["float16"])


def fast_runtime(b: Bench) -> str:
    """CUDA runs eager PyTorch; the CPU standing in for it (--dry-run) too, not ONNX Runtime."""
    return "auto" if D.is_cuda(b.fast) else "eager"


# ---------------------------------------------------------------------------------------- speed


def decode_rate(paths: list[Path], size: int, device: torch.device) -> float:
    """Images/s of the loader alone: decoding workers as `predict` and `embed` get them."""
    loader = photo_loader(paths, size, 0, BATCH_SIZE, pin_memory=D.pin_memory(device))
    t = time.perf_counter()
    n = sum(len(index) for index, _, _ in loader)
    return n / (time.perf_counter() - t)


def inference(b: Bench, run: Path, backbone: str, gpu_dir: Path, cpu_dir: Path) -> None:
    """Decoding alone, then `predict` and `embed` end to end, on CUDA and on the CPU."""
    size = b.sizes.image_size or 224
    gpu_paths, cpu_paths = sorted(gpu_dir.iterdir()), sorted(cpu_dir.iterdir())
    with quiet():
        fast_decode = decode_rate(gpu_paths, size, b.fast)
        cpu_decode = decode_rate(cpu_paths, size, CPU)
    b.compare("decode only (img/s)", fast_decode, cpu_decode, "-", "workers as predict/embed")

    if b.enough(60, f"{backbone} predict"):
        exported = run.with_name(run.name + "-exported")
        shutil.copytree(run, exported)
        with quiet():
            t = time.perf_counter()
            try:
                export_run(exported)
                cpu_kind = "ONNX Runtime"
            except Exception as e:  # then the CPU scores in eager PyTorch, said so below
                cpu_kind = f"eager (export failed: {type(e).__name__})"
            export_s = time.perf_counter() - t
            fast = paw.load(exported, device=b.fast, runtime=fast_runtime(b))
            cpu = paw.load(exported, device="cpu")
            warm, out = collect(gpu_paths[:64]), b.root / "preds.csv"
            fast.predict(warm, out, overwrite=True)  # cuDNN's choices, the workers' first start
            fast_items, cpu_items = collect([gpu_dir]), collect([cpu_dir])
            fast_s, util = timed(b.fast, lambda: fast.predict(fast_items, out, overwrite=True))
            with on_cpu():
                cpu_s, _ = timed(CPU, lambda: cpu.predict(cpu_items, out, overwrite=True))
        fast_rate, cpu_rate = len(gpu_paths) / fast_s, len(cpu_paths) / cpu_s
        b.compare(
            "predict (img/s)",
            fast_rate,
            cpu_rate,
            util,
            f"CUDA at {fast_rate / fast_decode:.2f} of decoding; CPU: {cpu_kind} "
            f"(export {export_s:.0f} s, apart)",
            run_gflop(run) or 0.0,
        )

    if b.enough(60, f"{backbone} embed"):
        config = EmbedConfig(backbone, b.sizes.image_size, pretrained=BACKBONES[backbone])
        warm = photo_folder(b.root / f"warm-{backbone}", 8)
        rt = fast_runtime(b)
        with quiet():
            t = time.perf_counter()
            with on_cpu():  # exports once
                embed(warm, b.root / f"warm-cpu-{backbone}", config, device="cpu")
            export_s = time.perf_counter() - t
            embed(warm, b.root / f"warm-fast-{backbone}", config, rt, device=b.fast)
            fast_s, util = timed(
                b.fast,
                lambda: embed(gpu_dir, b.root / f"emb-fast-{backbone}", config, rt, device=b.fast),
            )
            with on_cpu():
                cpu_s, _ = timed(
                    CPU,
                    lambda: embed(cpu_dir, b.root / f"emb-cpu-{backbone}", config, device="cpu"),
                )
        fast_rate, cpu_rate = len(gpu_paths) / fast_s, len(cpu_paths) / cpu_s
        b.compare(
            "embed (img/s)",
            fast_rate,
            cpu_rate,
            util,
            f"CUDA at {fast_rate / fast_decode:.2f} of decoding; CPU: ONNX Runtime "
            f"(first call {export_s:.0f} s, apart)",
            b.gflop[backbone],
        )


# ----------------------------------------------------------------------------------------- main


def backbone_sections(b: Bench, data: Path, backbone: str, gpu_dir: Path, cpu_dir: Path) -> None:
    b.say(f"{backbone} ({'ImageNet' if BACKBONES[backbone] == 'imagenet' else 'random'} weights)")
    run = b.root / "runs" / f"{backbone}-gpu-cache"
    cached = train_rate(b, data, run, backbone, on_gpu=True, streaming=False)
    if cached is None:
        raise SystemExit("this training code has no `_device` to measure with")
    b.say(f"  trained a 2-fold run on CUDA for the checks ({cached[0]:.1f} img/s)", keep=False)
    score_check(b, run, backbone)
    rates = map_check(b, run, backbone) if b.enough(60, f"{backbone} map checks") else {}
    inference(b, run, backbone, gpu_dir, cpu_dir)
    notes = {"rise": f"{b.sizes.masks} masks; CPU: ONNX Runtime", "gradcam": "fp32 on both"}
    work = {"rise": b.sizes.masks * b.gflop[backbone], "gradcam": 3 * b.gflop[backbone]}
    for m, note in notes.items():
        if m in rates:
            fast, cpu, util = rates[m]
            b.compare(f"{m} (photos/s)", fast, cpu, util, note, work[m])
    training(b, data, backbone, cached)


def model_gflop(backbone: str, image_size: int | None) -> float:
    """The forward FLOPs (G) of one photo through a fold's model (random weights: FLOPs do not
    depend on them)."""
    net = build_model(ModelConfig(backbone=backbone, image_size=image_size), pretrained="none")
    size = net.config.image_size
    return forward_flops(Unflagged(FoldEnsemble([net.eval()])), torch.rand(1, 3, size, size)) / 1e9


def hard_stop(b: Bench) -> None:
    print("\nsummary (hard stop: a call ran past the budget)", file=sys.__stdout__)
    print("\n".join(b.rows), file=sys.__stdout__, flush=True)
    os._exit(3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--budget", type=float, default=450.0, help="seconds, all included")
    parser.add_argument("--dry-run", action="store_true", help="the CPU stands in for CUDA")
    parser.add_argument("--backbones", default=",".join(BACKBONES))
    args = parser.parse_args()
    if not args.dry_run and not torch.cuda.is_available():
        build = f"CUDA {torch.version.cuda}" if torch.version.cuda else "no CUDA"
        print(f"bench/gpu.py: no CUDA GPU here (torch {torch.__version__}, {build}): nothing to "
              "measure")  # fmt: skip
        return
    fast = torch.device("cpu") if args.dry_run else D.resolve_device("cuda")
    if args.dry_run:
        D.AUTOCAST["cpu"] = "bfloat16"  # the CUDA code path, on the CPU
    tune_malloc()
    with tempfile.TemporaryDirectory(prefix="pawpularity-gpu-bench-") as tmp:
        root = Path(tmp)
        os.environ["PAWPULARITY_CACHE"] = str(root / "cache")  # fresh exports, left nowhere
        sizes = DRY if args.dry_run else Sizes()
        peaks = (matmul_gflops(fast), matmul_gflops(CPU))
        gflop = {name: model_gflop(name, sizes.image_size) for name in args.backbones.split(",")}
        b = Bench(fast, sizes, args.budget, root, peaks, gflop)

        def over(signum: int, frame: FrameType | None) -> None:
            raise OverBudget

        signal.signal(signal.SIGALRM, over)
        signal.alarm(max(1, int(args.budget)))
        backstop = threading.Timer(args.budget + 25, hard_stop, (b,))  # a call that never returns
        backstop.daemon = True
        backstop.start()
        name = "the CPU standing in (dry run)" if args.dry_run else D.describe(fast)
        b.say(f"bench/gpu.py: {name}; {os.cpu_count()} CPU cores; torch {torch.__version__}")
        per_photo = ", ".join(f"{k} {v:.2f}" for k, v in gflop.items())
        b.say(f"float32 matmul peak: CUDA {peaks[0]:.0f} GFLOP/s, CPU {peaks[1]:.0f} GFLOP/s; "
              f"forward GFLOP per photo: {per_photo}")  # fmt: skip
        try:
            with quiet():
                make_demo(root / "demo", n=b.sizes.train_photos, seed=7)
            gpu_dir = photo_folder(root / "gpu-photos", b.sizes.gpu_photos)
            cpu_dir = photo_folder(root / "cpu-photos", b.sizes.cpu_photos)
            for backbone in args.backbones.split(","):
                if b.enough(90, backbone):
                    backbone_sections(b, root / "demo", backbone, gpu_dir, cpu_dir)
        except OverBudget:
            b.say(f"  stopped at the budget ({args.budget:.0f} s): the rest is not measured")
        finally:
            signal.alarm(0)
        b.say(f"done in {time.perf_counter() - b.start:.0f} s", keep=False)
    print("\nsummary", file=sys.__stdout__)
    print("\n".join(b.rows), file=sys.__stdout__)
    if b.failed:
        print(f"FAILED checks: {', '.join(b.failed)}", file=sys.__stdout__)
        sys.exit(1)


if __name__ == "__main__":
    main()
