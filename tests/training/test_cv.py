"""Cross-validated training: the run folder, resume after a crash, and learning the demo."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import lightning as L
import pandas as pd
import pytest

from pawpularity.data.schema import read_table
from pawpularity.errors import DataError, RunError
from pawpularity.training.cv import TrainConfig, train
from tests.conftest import TINY_MODEL, TINY_TRAIN

FOLD_FILES = ("model.safetensors", "predictions.csv")  # what a finished fold holds


def metrics(run: Path) -> dict:
    return json.loads((run / "metrics.json").read_text())


def test_run_folder_layout(tiny_run: Path, tiny_demo: Path) -> None:
    config = json.loads((tiny_run / "config.json").read_text())
    assert config["model"]["backbone"] == "tf_efficientnet_lite0"
    assert config["train"]["folds"] == 2
    for k in range(2):
        assert (tiny_run / f"fold{k}" / "model.safetensors").is_file()
        assert not (tiny_run / f"fold{k}" / "last.ckpt").exists()
    oof = pd.read_csv(tiny_run / "oof.csv", dtype={"Id": str})
    assert list(oof.columns) == ["Id", "fold", "target", "prediction"]
    assert list(oof["Id"]) == list(read_table(tiny_demo / "train.csv")["Id"])
    m = metrics(tiny_run)
    assert {"cv_rmse", "fold_rmse", "baseline_rmse", "flag_auc", "seconds"} <= set(m)
    assert len(m["fold_rmse"]) == 2 and set(m["flag_auc"]) >= {"Eyes", "Blur"}
    assert m["cv_rmse"] > 0 and m["baseline_rmse"] > 0


def test_an_existing_run_is_never_overwritten(tiny_run: Path, tiny_demo: Path) -> None:
    with pytest.raises(RunError, match="--resume"):
        train(tiny_demo, tiny_run, TINY_MODEL, TINY_TRAIN)
    other = TrainConfig(**{**TINY_TRAIN.__dict__, "epochs": 3})
    with pytest.raises(RunError, match=r"train\.epochs"):
        train(tiny_demo, tiny_run, TINY_MODEL, other, resume=True)
    before, epochs = stamps(tiny_run, range(2)), _Epochs()
    result = train(tiny_demo, tiny_run, TINY_MODEL, TINY_TRAIN, resume=True, callbacks=[epochs])
    assert result == metrics(tiny_run)
    assert epochs.started == [] and stamps(tiny_run, range(2)) == before  # nothing retrained


class _Crash(Exception):
    pass


class _Epochs(L.Callback):
    """Records the epoch (from 0, in its fold) of every epoch that starts."""

    def __init__(self) -> None:
        self.started: list[int] = []

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.started.append(trainer.current_epoch)


class _CrashAtEpoch(L.Callback):
    """Crash at the start of the n-th epoch of the whole run (after a checkpoint was saved)."""

    def __init__(self, n: int) -> None:
        self.left = n

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.left -= 1
        if self.left == 0:
            raise _Crash


def same(a: dict, b: dict) -> bool:
    keys = ("cv_rmse", "fold_rmse", "baseline_rmse", "flag_auc")
    return json.dumps({k: a[k] for k in keys}) == json.dumps({k: b[k] for k in keys})


def stamps(run: Path, folds: range) -> dict[str, tuple[int, str]]:
    """(modification time in ns, SHA-256 of the bytes) of each fold's weights and predictions."""
    files = [run / f"fold{k}" / name for k in folds for name in FOLD_FILES]
    return {
        str(f.relative_to(run)): (f.stat().st_mtime_ns, hashlib.sha256(f.read_bytes()).hexdigest())
        for f in files
    }


def test_resume_mid_fold_keeps_the_finished_fold_and_continues_the_other(
    tiny_run: Path, tiny_demo: Path, tmp_path: Path
) -> None:
    """The finished fold's files are left as they are (not retrained, not rewritten); the stopped
    fold trains its last epoch only, from its checkpoint, and writes its files anew; the metrics
    are those of a run that never stopped."""
    run = tmp_path / "run"
    with pytest.raises(_Crash):  # fold 0 done, fold 1 stopped after its first epoch
        train(tiny_demo, run, TINY_MODEL, TINY_TRAIN, callbacks=[_CrashAtEpoch(4)])
    assert (run / "fold1" / "last.ckpt").is_file() and not (run / "metrics.json").exists()
    assert not any((run / "fold1" / name).exists() for name in FOLD_FILES)
    kept = stamps(run, range(1))
    resumed_at = time.time_ns()
    epochs = _Epochs()
    result = train(tiny_demo, run, TINY_MODEL, TINY_TRAIN, resume=True, callbacks=[epochs])
    assert epochs.started == [1]  # fold 1's second epoch: no fold 0 epoch, no fold 1 restart
    assert stamps(run, range(1)) == kept
    for name, (mtime, _) in stamps(run, range(1, 2)).items():
        assert mtime >= resumed_at, name
    assert not (run / "fold1" / "last.ckpt").exists()
    assert same(result, metrics(tiny_run))


def test_killed_cli_run_resumes(tiny_run: Path, tiny_demo: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    args = [sys.executable, "-m", "pawpularity", "train", str(tiny_demo), "--out", str(run)]
    args += ["--folds", "2", "--epochs", "2", "--batch-size", "4", "--pretrained", "none"]
    args += ["--image-size", "64"]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while proc.poll() is None and not (run / "fold0" / "last.ckpt").exists():
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    done = subprocess.run([*args, "--resume"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert same(metrics(run), metrics(tiny_run))


def test_missing_photos_stop_before_training(tiny_demo: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    (data / "train").mkdir(parents=True)
    (data / "train.csv").write_text((tiny_demo / "train.csv").read_text())
    with pytest.raises(DataError, match="16 of 16 photos are missing"):
        train(data, tmp_path / "run", TINY_MODEL, TINY_TRAIN)
    assert not (tmp_path / "run").exists()


def test_default_recipe_learns_the_planted_cue(demo_run: Path) -> None:
    """The contract: demo --n 96 --seed 7, train --folds 2 --epochs 8 → ≤ 0.6 × the baseline."""
    m = metrics(demo_run)
    assert m["cv_rmse"] <= 0.6 * m["baseline_rmse"]


def test_ids_that_look_like_numbers_stay_strings(tiny_demo: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    (data / "train").mkdir(parents=True)
    table = pd.read_csv(tiny_demo / "train.csv", dtype={"Id": str})
    new_ids = [f"{i:032d}" for i in range(len(table))]  # leading zeros, digits only
    for old, new in zip(table["Id"], new_ids, strict=True):
        shutil.copy(tiny_demo / "train" / f"{old}.jpg", data / "train" / f"{new}.jpg")
    table["Id"] = new_ids
    table.to_csv(data / "train.csv", index=False)
    train(data, tmp_path / "run", TINY_MODEL, TINY_TRAIN)
    oof = pd.read_csv(tmp_path / "run" / "oof.csv", dtype={"Id": str})
    assert list(oof["Id"]) == new_ids


def test_progress_names_the_fold_and_counts_epochs_from_one() -> None:
    from types import SimpleNamespace

    from pawpularity.training.cv import _FoldProgress

    bar = _FoldProgress("fold1")
    bar._trainer = SimpleNamespace(max_epochs=8)  # type: ignore[assignment]
    assert bar._get_train_description(0) == "fold1: epoch 1/8"
    assert bar._get_train_description(7) == "fold1: epoch 8/8"
