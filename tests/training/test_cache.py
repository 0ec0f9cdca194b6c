"""`--cache auto|memory|disk|off` and `--augment flip|full`: each path trains, resumes and is
recorded; the disk cache gives the memory cache's metrics."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from pawpularity.errors import ConfigError
from pawpularity.models.backbones import create_backbone
from pawpularity.models.config import ModelConfig
from pawpularity.models.fusion import PawpularityNet
from pawpularity.training import cv, features
from pawpularity.training.cv import train
from pawpularity.training.features import plan_cache
from pawpularity.training.module import FoldModule
from tests.conftest import TINY_MODEL, TINY_TRAIN
from tests.training.test_cv import _Crash, _CrashAtEpoch, metrics, same

STREAM = replace(TINY_TRAIN, cache="off", augment="full")
DISK = replace(TINY_TRAIN, cache="disk")
GIB = 2**30


def recorded(run: Path) -> tuple[str, str, str]:
    config = json.loads((run / "config.json").read_text())
    return config["train"]["cache"], config["train"]["augment"], config["cache_used"]


@pytest.fixture(scope="module")
def stream_run(tmp_path_factory: pytest.TempPathFactory, tiny_demo: Path) -> Path:
    """A run on photos decoded per batch (ImageFiles, loader workers), fully augmented."""
    run = tmp_path_factory.mktemp("stream") / "run"
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(cv, "IMAGE_BUDGET", 0)
        train(tiny_demo, run, TINY_MODEL, STREAM)
    return run


def test_streaming_with_full_augmentation_trains(stream_run: Path, tiny_run: Path) -> None:
    m = metrics(stream_run)
    assert m["cv_rmse"] > 0 and len(m["fold_rmse"]) == 2
    assert recorded(stream_run) == ("off", "full", "off")
    assert recorded(tiny_run) == ("auto", "flip", "memory")
    assert not same(m, metrics(tiny_run))  # photos augmented, not cached flips


def test_resume_mid_streaming_fold_ends_with_the_same_metrics(
    stream_run: Path, tiny_demo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cv, "IMAGE_BUDGET", 0)
    run = tmp_path / "run"
    with pytest.raises(_Crash):  # fold 0 stopped after its first epoch
        train(tiny_demo, run, TINY_MODEL, STREAM, callbacks=[_CrashAtEpoch(2)])
    assert (run / "fold0" / "last.ckpt").is_file() and not (
        run / "fold0" / "model.safetensors"
    ).exists()
    assert same(train(tiny_demo, run, TINY_MODEL, STREAM, resume=True), metrics(stream_run))


def test_disk_cache_gives_the_memory_cache_metrics_and_resumes_from_its_file(
    tiny_run: Path, tiny_demo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = tmp_path / "run"
    with pytest.raises(_Crash):  # fold 0 done, fold 1 stopped after its first epoch
        train(tiny_demo, run, TINY_MODEL, DISK, callbacks=[_CrashAtEpoch(4)])
    (cache,) = (run / "cache").iterdir()
    (run / "cache" / "frozen-0.tmp").write_bytes(b"torn")  # a build that was killed: ignored
    monkeypatch.setattr(features, "prefix_batches", None)  # the complete file is reused
    assert same(train(tiny_demo, run, TINY_MODEL, DISK, resume=True), metrics(tiny_run))
    assert recorded(run) == ("disk", "flip", "disk")
    assert not (run / "cache").exists()  # removed once the run is complete
    assert cache.name == "frozen-0.f32"


def test_a_torn_disk_cache_is_rebuilt(tiny_run: Path, tiny_demo: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    with pytest.raises(_Crash):
        train(tiny_demo, run, TINY_MODEL, DISK, callbacks=[_CrashAtEpoch(1)])
    file = run / "cache" / "frozen-0.f32"
    file.write_bytes(file.read_bytes()[:100])  # a file cut short
    assert same(train(tiny_demo, run, TINY_MODEL, DISK, resume=True), metrics(tiny_run))


def test_auto_caches_on_disk_when_memory_is_short(
    tiny_run: Path,
    tiny_demo: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr(features, "MEMORY_BUDGET", 0)
    run = tmp_path / "run"
    assert same(train(tiny_demo, run, TINY_MODEL, TINY_TRAIN), metrics(tiny_run))
    assert recorded(run) == ("auto", "flip", "disk")
    assert "warning: --cache auto: the frozen stages' cache needs" in capsys.readouterr().err


def test_bce_loss_trains(tiny_run: Path, tiny_demo: Path, tmp_path: Path) -> None:
    m = train(tiny_demo, tmp_path / "run", ModelConfig(image_size=64, loss="bce"), TINY_TRAIN)
    assert 0 < m["cv_rmse"] < 100 and len(m["fold_rmse"]) == 2
    assert not same(m, metrics(tiny_run))  # another loss than MSE


@pytest.mark.parametrize(
    ("args", "plan"),
    [
        (("auto", "flip", 3, GIB, 0), ("memory", "")),
        (("auto", "flip", 0, GIB, 0), ("off", "")),  # nothing frozen
        (("off", "flip", 3, GIB, 0), ("off", "")),
        (("disk", "flip", 3, 10 * GIB, 20 * GIB), ("disk", "")),
        (("memory", "flip", 3, GIB, 0), ("memory", "")),
    ],
)
def test_plan(args: tuple, plan: tuple[str, str]) -> None:
    assert plan_cache(*args) == plan


@pytest.mark.parametrize(
    ("args", "warning"),
    [
        (("auto", "flip", 3, 10 * GIB, 20 * GIB), ("disk", "10.0 GiB, above the memory budget")),
        (("auto", "flip", 3, 10 * GIB, GIB), ("off", "the disk's 1.0 GiB free: streaming")),
        (("auto", "full", 3, GIB, 20 * GIB), ("off", "--augment full: streaming photos")),
    ],
)
def test_auto_warns_when_it_does_not_cache_in_memory(args: tuple, warning: tuple) -> None:
    cache, line = plan_cache(*args)
    assert cache == warning[0] and warning[1] in line and "\n" not in line


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (("memory", "flip", 3, 10 * GIB, 0), "needs 10.0 GiB, above the memory budget of 6.0"),
        (("disk", "flip", 3, 10 * GIB, GIB), "--cache disk: the cache needs 10.0 GiB, 1.0 GiB"),
        (("memory", "full", 3, GIB, 0), "--augment full needs the photos"),
        (("disk", "full", 3, GIB, 20 * GIB), "--augment full needs the photos"),
        (("disk", "flip", 0, GIB, 20 * GIB), "nothing is frozen"),
        (("ram", "flip", 3, GIB, 0), "--cache is one of auto|memory|disk|off"),
    ],
)
def test_impossible_caches_are_one_line_config_errors(args: tuple, error: str) -> None:
    with pytest.raises(ConfigError, match=error) as e:
        plan_cache(*args)
    assert "\n" not in str(e.value)


def test_config_errors_stop_before_the_run_folder(tiny_demo: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="--augment full"):
        train(
            tiny_demo,
            tmp_path / "run",
            TINY_MODEL,
            replace(TINY_TRAIN, augment="full", cache="memory"),
        )
    assert not (tmp_path / "run").exists()


def test_streamed_flips_match_cached_flips_and_full_augmentation_differs(
    tiny_run: Path, stream_run: Path, tiny_demo: Path, tmp_path: Path
) -> None:
    flips = train(tiny_demo, tmp_path / "run", TINY_MODEL, replace(TINY_TRAIN, cache="off"))
    assert flips["fold_rmse"] == pytest.approx(metrics(tiny_run)["fold_rmse"], abs=0.01)
    assert flips["fold_rmse"] != pytest.approx(metrics(stream_run)["fold_rmse"], abs=0.01)


def test_full_augmentation_alters_the_photos_and_flip_leaves_them_to_the_sampler() -> None:
    net = PawpularityNet(create_backbone(TINY_MODEL.backbone, "none", None), TINY_MODEL).eval()
    x = torch.rand(2, 3, 64, 64)
    plain = net.embed(x)
    for augment, changed in (("flip", False), ("full", True)):
        module = FoldModule(net, 0, False, augment, 1e-3, 1, 0)
        assert torch.allclose(module.embed(x, train=True), plain, atol=1e-5) is not changed
        assert torch.allclose(module.embed(x, train=False), plain, atol=1e-5)
