"""Training on two processes (Lightning DDP, gloo on the CPU) ends like training on one."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from pawpularity.errors import ConfigError
from pawpularity.training.cv import Devices, train
from tests.conftest import TINY_MODEL, TINY_TRAIN


def test_two_process_ddp_matches_one_process(
    tiny_run: Path, tiny_demo: Path, tmp_path: Path
) -> None:
    run = tmp_path / "run"
    args = [sys.executable, "-m", "pawpularity", "train", str(tiny_demo), "--out", str(run)]
    args += ["--folds", "2", "--epochs", "2", "--batch-size", "4", "--pretrained", "none"]
    args += ["--image-size", "64", "--devices", "2", "--strategy", "ddp", "--accelerator", "cpu"]
    done = subprocess.run(args, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "MEMBER: 2/2" in done.stderr  # two processes really took part
    assert done.stdout.count("run written") == 1  # only the first one reports and writes
    one, two = (json.loads((r / "metrics.json").read_text()) for r in (tiny_run, run))
    assert two["baseline_rmse"] == pytest.approx(one["baseline_rmse"])
    # The same global batches; only dropout draws differ between the layouts.
    assert two["cv_rmse"] == pytest.approx(one["cv_rmse"], rel=0.1)
    assert two["fold_rmse"] == pytest.approx(one["fold_rmse"], rel=0.1)
    assert sorted(p.name for p in (run / "fold0").iterdir()) == [
        "model.safetensors",
        "predictions.csv",
    ]


def test_global_batch_must_split_evenly(tiny_demo: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="multiple of devices"):
        train(tiny_demo, tmp_path / "run", TINY_MODEL, TINY_TRAIN, devices=Devices(devices=3))


def test_shards_together_make_the_one_process_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    from pawpularity.training import module

    sampler = module.EpochSampler(n=10, views=2, seed=3)
    sampler.set_epoch(1)
    whole = list(sampler)
    shards = []
    for rank in range(2):
        monkeypatch.setattr(module, "_world", lambda rank=rank: (rank, 2))
        shards.append(list(sampler))
    assert [len(s) for s in shards] == [5, 5]
    # Step j of process r takes items j*b/2 .. of its shard: the global batch j is whole[j*b:...]
    b = 4
    for j in range(2):
        together = (
            shards[0][j * b // 2 : (j + 1) * b // 2] + shards[1][j * b // 2 : (j + 1) * b // 2]
        )
        assert sorted(together) == sorted(whole[j * b : (j + 1) * b])
