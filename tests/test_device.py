"""`--device`: names resolved and checked (one line for what cannot work), what `auto` says, the
CUDA code paths that the CPU can exercise (autocast, pinned loaders), and the commands."""

from __future__ import annotations

import socket
import subprocess
import sys
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

import pawpularity as paw
from pawpularity import device as D
from pawpularity.cli import main
from pawpularity.data.dataset import decoded, default_workers, photo_loader, prepare
from pawpularity.data.images import load_image
from pawpularity.errors import ConfigError
from pawpularity.explain.base import SCORE_COLUMN
from pawpularity.explain.methods import Rise
from pawpularity.explain.sanity import spearman
from pawpularity.runs import predict as P
from pawpularity.runs.engine import Engine
from pawpularity.runs.run import load_run
from pawpularity.training import cv
from pawpularity.training.config import Devices
from tests.conftest import PETS, TINY_EMBED

PHOTO = PETS / "dog_pug_16.jpg"
RISE = Rise(masks=96)  # the same masks in both maps: only the scores' precision differs
Cli = Callable[..., tuple[int, str, str]]


@pytest.fixture
def no_cuda(monkeypatch: pytest.MonkeyPatch) -> None:
    """This machine as CI sees it, whatever it has."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)


@pytest.fixture
def one_gpu(monkeypatch: pytest.MonkeyPatch) -> None:
    """A machine with one CUDA GPU, as far as resolving names goes (nothing runs on it)."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)


@pytest.fixture
def bf16_on_cpu(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The CPU takes CUDA's autocast path (in bfloat16, which CPUs run), to test that path."""
    monkeypatch.setitem(D.AUTOCAST, "cpu", "bfloat16")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # autocast's notes on ops it leaves in fp32
        yield


def one_line(e: pytest.ExceptionInfo[ConfigError]) -> str:
    message = str(e.value)
    assert message and "\n" not in message
    return message


@pytest.mark.parametrize("spec", ["cpu", "CPU", " cpu "])
def test_cpu(spec: str) -> None:
    assert D.resolve_device(spec) == torch.device("cpu")


@pytest.mark.usefixtures("no_cuda")
def test_auto_is_the_cpu_without_cuda() -> None:
    assert D.resolve_device("auto") == torch.device("cpu")
    assert D.resolve_device() == torch.device("cpu")


@pytest.mark.usefixtures("one_gpu")
def test_auto_and_cuda_take_the_first_gpu_when_there_is_one() -> None:
    assert D.resolve_device("auto") == D.resolve_device("cuda") == torch.device("cuda", 0)
    assert D.resolve_device("cuda:0") == torch.device("cuda", 0)
    assert D.resolve_device(torch.device("cuda")) == torch.device("cuda", 0)
    with pytest.raises(ConfigError) as e:
        D.resolve_device("cuda:7")
    assert "has 1 CUDA GPU (cuda:0)" in one_line(e)


@pytest.mark.usefixtures("one_gpu")
def test_training_caches_on_the_gpu_only_when_it_may_train_there(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert cv._device(Devices()) == cv._device(Devices("gpu")) == "cuda:0"
    assert cv._device(Devices("cpu")) == "cpu"
    monkeypatch.setenv("LOCAL_RANK", "1")
    assert cv._device(Devices("cuda")) == "cuda:1"


@pytest.mark.parametrize("spec", ["tpu", "gpu", "mps", "cuda:x", "cuda:-1", "cpu:1", "", "cuda0"])
def test_bad_names_are_one_line(spec: str) -> None:
    with pytest.raises(ConfigError) as e:
        D.resolve_device(spec)
    assert "--device must be one of auto, cpu, cuda, cuda:K" in one_line(e)


@pytest.mark.usefixtures("no_cuda")
@pytest.mark.parametrize("spec", ["cuda", "cuda:0", "cuda:7"])
def test_cuda_where_there_is_none_is_one_line(spec: str) -> None:
    with pytest.raises(ConfigError) as e:
        D.resolve_device(spec)
    message = one_line(e)
    assert message.startswith(f"--device {spec}: ") and "--device cpu" in message


def test_ort_runs_on_the_cpu_only() -> None:
    cpu, cuda = torch.device("cpu"), torch.device("cuda", 0)
    assert [D.runtime_for(cpu, r) for r in ("auto", "ort", "eager")] == ["auto", "ort", "eager"]
    assert [D.runtime_for(cuda, r) for r in ("auto", "eager")] == ["eager", "eager"]
    with pytest.raises(ConfigError) as e:
        D.runtime_for(cuda, "ort")
    assert "--runtime ort" in one_line(e)


@pytest.mark.usefixtures("no_cuda")
def test_auto_says_what_it_picked(capsys: pytest.CaptureFixture[str]) -> None:
    D.announce("auto", D.resolve_device("auto"))
    assert capsys.readouterr().err == "device: cpu (no CUDA GPU found)\n"
    D.announce("cpu", D.resolve_device("cpu"))  # named: nothing to say
    assert capsys.readouterr().err == ""


def test_the_module_and_the_cli_stay_light() -> None:
    code = "import sys, pawpularity.device, pawpularity.cli; print('torch' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout.strip() == "False", done.stderr


def test_gpu_loaders_pin_memory_and_decode_on_more_cores() -> None:
    assert default_workers(accelerated=True) >= default_workers() >= 1
    pinned = photo_loader([PHOTO], 32, 0, 4, pin_memory=True)
    assert pinned.pin_memory and pinned.num_workers == default_workers(accelerated=True)
    plain = photo_loader([PHOTO], 32, 0, 4)
    assert not plain.pin_memory and plain.num_workers == default_workers()
    assert D.pin_memory(torch.device("cuda", 0)) and not D.pin_memory(torch.device("cpu"))


def test_a_whole_batch_keeps_its_pinned_memory() -> None:
    pixels = torch.arange(3 * 2).view(3, 2)
    good, chosen = decoded(pixels, ["", "", ""])
    assert good == [0, 1, 2] and chosen is pixels  # no copy: a pinned batch stays pinned
    good, chosen = decoded(pixels, ["", "broken", ""])
    assert good == [0, 2] and torch.equal(chosen, pixels[[0, 2]])


@dataclass
class OnGpu:
    """A run's engine that says it runs on a GPU (and scores on the CPU)."""

    engine: Engine
    device: torch.device = field(default_factory=lambda: torch.device("cuda", 0))

    @property
    def image_size(self) -> int:
        return self.engine.image_size

    def __call__(
        self, pixels: torch.Tensor, flags: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        return self.engine(pixels, flags)


def test_photos_for_a_gpu_engine_come_pinned(
    tiny_run: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    made: list[dict[str, Any]] = []

    def recording(*args: Any, **kwargs: Any) -> Any:
        made.append(kwargs)
        return photo_loader(*args, **{**kwargs, "pin_memory": False})  # no GPU to pin for

    monkeypatch.setattr(P, "photo_loader", recording)
    engine = load_run(tiny_run, "eager").engine
    cpu = next(P.score_batches(engine, [PHOTO], workers=0))
    gpu = next(P.score_batches(OnGpu(engine), [PHOTO], workers=0))
    assert [m["pin_memory"] for m in made] == [False, True]
    assert np.array_equal(cpu.scores, gpu.scores)


def first_conv_dtype(module: torch.nn.Module, run: Callable[[], Any]) -> torch.dtype:
    """The dtype of the first convolution's output while `run()` runs."""
    conv = next(m for m in module.modules() if isinstance(m, torch.nn.Conv2d))
    seen: list[torch.dtype] = []
    handle = conv.register_forward_hook(lambda m, a, out: seen.append(out.dtype))
    try:
        run()
    finally:
        handle.remove()
    return seen[0]


def test_scores_under_autocast_stay_close(tiny_run: Path, bf16_on_cpu: None) -> None:
    run = load_run(tiny_run, "eager")
    pixels = torch.stack(
        [prepare(load_image(p), run.image_size) for p in sorted(PETS.glob("*.jpg"))[:8]]
    )
    with pytest.MonkeyPatch.context() as m:
        m.delitem(D.AUTOCAST, "cpu")
        exact, exact_probs = run(pixels)
    assert first_conv_dtype(run.ensemble(), lambda: run(pixels)) == torch.bfloat16
    scores, probs = run(pixels)
    assert scores.dtype == probs.dtype == torch.float32  # outputs back in fp32, on the CPU
    assert scores.device.type == "cpu"
    assert not torch.equal(scores, exact)  # autocast did run
    assert (scores - exact).abs().max() < 1.0 and (probs - exact_probs).abs().max() < 0.05


def test_gradient_maps_stay_fp32_and_rise_agrees(tiny_run: Path, bf16_on_cpu: None) -> None:
    model = paw.load(tiny_run, runtime="eager", device="cpu")
    explainer = model.explainer
    x = explainer.tensor(load_image(PHOTO))
    assert x.device == model.device
    grad_cast = explainer.map("vanilla", x, SCORE_COLUMN)
    rise_cast = explainer.map(RISE, x, SCORE_COLUMN)
    network = explainer.ctx.network
    assert first_conv_dtype(network, lambda: explainer.scorer(x)) == torch.bfloat16
    with pytest.MonkeyPatch.context() as m:
        m.delitem(D.AUTOCAST, "cpu")
        assert first_conv_dtype(network, lambda: explainer.scorer(x)) == torch.float32
        grad_exact = explainer.map("vanilla", x, SCORE_COLUMN)
        rise_exact = explainer.map(RISE, x, SCORE_COLUMN)
    assert torch.equal(grad_cast, grad_exact)  # gradients never take the autocast path
    assert grad_cast.device.type == rise_cast.device.type == "cpu"
    assert spearman(rise_cast, rise_exact) >= 0.95


@pytest.mark.usefixtures("one_gpu")
def test_api_refuses_ort_on_cuda_before_loading(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as e:
        paw.load(tmp_path / "not-even-a-run", runtime="ort", device="cuda")
    assert "--runtime ort" in one_line(e)


def test_api_on_the_cpu(tiny_run: Path) -> None:
    model = paw.load(tiny_run, runtime="eager", device="cpu")
    assert model.device == torch.device("cpu") == model.run.device  # type: ignore[union-attr]
    assert model.score(PHOTO)["score"].between(1, 100).all()


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Cli:
    """`pawpularity ARGS` in this process as a user runs it: (exit code, stdout, stderr)."""

    def run(*args: object) -> tuple[int, str, str]:
        monkeypatch.setattr(sys, "argv", ["pawpularity", *map(str, args)])
        capsys.readouterr()
        with pytest.raises(SystemExit) as exited:
            main()
        out = capsys.readouterr()
        return int(exited.value.code or 0), out.out, out.err

    return run


def test_commands_on_the_cpu(cli: Cli, tiny_run: Path, tiny_demo: Path, tmp_path: Path) -> None:
    code, out, err = cli("predict", tiny_run, PHOTO, "--out", tmp_path / "p.csv", "--device", "cpu")
    assert code == 0 and "1 scored, 0 failed" in out, err
    assert "device:" not in err  # named, so nothing to announce
    explain = ["explain", tiny_run, PHOTO, "--out", tmp_path / "ex", "--methods", "gradcam,rise"]
    code, out, err = cli(*explain, "--rise-masks", "20", "--runtime", "eager", "--device", "cpu")
    assert code == 0 and "1 explained, 0 failed" in out, err
    assert (tmp_path / "ex" / PHOTO.stem / "rise.npy").is_file()
    embed = ["embed", tiny_demo, "--out", tmp_path / "emb", "--backbone", TINY_EMBED.backbone]
    tiny = ["--image-size", "64", "--pretrained", "none", "--batch-size", "4"]
    code, out, err = cli(*embed, *tiny, "--runtime", "eager", "--device", "cpu")
    assert code == 0 and "16 photos" in out, err


@pytest.mark.usefixtures("no_cuda")
def test_auto_says_what_it_picked_after_the_demo_warning(
    cli: Cli, tiny_run: Path, tmp_path: Path
) -> None:
    code, _, err = cli("predict", tiny_run, PHOTO, "--out", tmp_path / "p.csv")
    assert code == 0
    warning, device = err.splitlines()[:2]  # the tiny run trained on the demo set: that comes first
    assert warning.startswith("warning: trained on the planted-cue demo set")
    assert device == "device: cpu (no CUDA GPU found)"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.usefixtures("no_cuda")
@pytest.mark.parametrize("device", ["cuda", "cuda:7", "tpu"])
def test_a_device_that_cannot_work_is_one_error_line(
    cli: Cli, device: str, tiny_run: Path, tiny_demo: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    commands = {
        "predict": ["predict", tiny_run, PHOTO, "--out", tmp_path / "p.csv"],
        "explain": ["explain", tiny_run, PHOTO, "--out", out],
        "embed": ["embed", tiny_demo, "--out", out],
        "advise": ["advise", tiny_run, PHOTO, "--out", out],
        "analyze": ["analyze", tiny_run, tiny_demo, "--out", out],
        "serve": ["serve", tiny_run, "--port", free_port()],
    }
    for name, args in commands.items():
        code, _, err = cli(*args, "--device", device)
        assert code == 1, (name, err)
        assert err.startswith("error: --device ") and err.count("\n") == 1, (name, err)
        assert "Traceback" not in err
    assert not out.exists() and not (tmp_path / "p.csv").exists()


def test_the_real_entry_point_exits_1_with_one_line(tiny_run: Path, tmp_path: Path) -> None:
    args = ["predict", str(tiny_run), str(PHOTO), "--out", str(tmp_path / "p.csv")]
    bad = subprocess.run(
        [sys.executable, "-m", "pawpularity", *args, "--device", "cuda:99"],
        capture_output=True,
        text=True,
    )
    assert bad.returncode == 1 and bad.stderr.startswith("error: --device cuda:99")
    assert bad.stderr.strip().count("\n") == 0


def test_ray_gives_gpus_itself(tiny_run: Path, tmp_path: Path) -> None:
    from pawpularity.runs.ray_predict import predict_on_ray

    with pytest.raises(ConfigError, match="--device cuda, not cuda:1"):
        predict_on_ray(tiny_run, [], tmp_path / "p.csv", device="cuda:1")
    with pytest.raises(ConfigError, match="--device must be one of"):
        predict_on_ray(tiny_run, [], tmp_path / "p.csv", device="tpu")
