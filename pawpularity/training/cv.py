"""Honest cross-validated training: leak-free folds, one model per fold, out-of-fold metrics.

Beside the run folder's common files (runfolder.py): RUN/fold<k>/model.safetensors, and
RUN/fold<k>/last.ckpt while a fold trains, RUN/cache/ while a run with `--cache disk` trains.
"""

from __future__ import annotations

import contextlib
import copy
import logging
import os
import shutil
import time
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np
import pandas as pd
import torch
from lightning.pytorch.callbacks import RichProgressBar
from torch.utils.data import DataLoader, Dataset

from pawpularity.data.dataset import ImageFiles, load_bank
from pawpularity.data.schema import (
    FLAGS,
    ID,
    SCORE_MAX,
    SCORE_MIN,
    TARGET,
    image_path,
    read_table,
)
from pawpularity.errors import ConfigError, RunError
from pawpularity.models.backbones import create_backbone
from pawpularity.models.checkpoint import save_weights
from pawpularity.models.config import ModelConfig
from pawpularity.models.fusion import PawpularityNet, apply_freeze
from pawpularity.progress import note
from pawpularity.training.config import Devices, TrainConfig
from pawpularity.training.features import (
    VIEWS,
    cache_prefix,
    disk_cache,
    free_bytes,
    plan_cache,
    prefix_shape,
)
from pawpularity.training.module import EpochSampler, FoldModule
from pawpularity.training.runfolder import (
    check_present,
    run_folds,
    start_run,
    summarise,
    trained_on,
    write_fold_predictions,
)
from pawpularity.version import __version__

IMAGE_BUDGET = 4 * 2**30  # bytes of decoded photos held in memory; above it, decode per batch


class Rows(Dataset[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]):
    """Some rows of a data set as (input, flags, target); item j is view j % views of a row:
    a cached view, or of a photo, view 1 its mirror image."""

    def __init__(
        self,
        x: Any,
        flags: torch.Tensor,
        targets: torch.Tensor,
        rows: np.ndarray,
        views: int,
        cached: bool,
    ) -> None:
        self.x, self.flags, self.targets = x, flags, targets
        self.rows, self.views, self.cached = rows, views, cached

    def __len__(self) -> int:
        return len(self.rows) * self.views

    def __getitem__(self, j: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        r = int(self.rows[j // self.views])
        view = j % self.views
        x = self.x[r][view] if self.cached else self.x[r].flip(-1) if view else self.x[r]
        return x, self.flags[r], self.targets[r]


def train(
    data_dir: Path,
    out: Path,
    model: ModelConfig,
    config: TrainConfig,
    resume: bool = False,
    callbacks: Sequence[L.Callback] = (),
    devices: Devices = Devices(),
) -> dict[str, Any]:
    """Train one model per fold on a Kaggle-layout folder into the run folder `out`.

    Under DDP every process runs this function; only the first one writes files, and the others
    return an empty dict.
    """
    start = time.perf_counter()
    if config.batch_size % devices.world:
        raise ConfigError(
            f"--batch-size {config.batch_size} is the global batch: make it a multiple of "
            f"devices × nodes ({devices.world})"
        )
    lead = is_lead_process()
    table = read_table(Path(data_dir) / "train.csv")
    paths = [image_path(data_dir, i) for i in table[ID]]
    check_present(paths)
    torch.manual_seed(config.seed)  # random starting weights (--pretrained none) are seeded too
    backbone = create_backbone(model.backbone, config.pretrained, _path(config.weights))
    template = PawpularityNet(backbone, model)
    model = template.config  # its image size resolved for the backbone
    cut = apply_freeze(template, config.freeze)
    shape = (len(paths), *prefix_shape(template, cut, int(model.image_size or 0)))
    need = 4 * int(np.prod(shape))
    cache, warning = plan_cache(config.cache, config.augment, cut, need, free_bytes(out))
    if lead:
        start_run(
            out, {**_wanted(data_dir, len(table), model, config), "cache_used": cache}, resume
        )
        if warning:
            note(f"warning: {warning}")
    folds = run_folds(out, table, paths, config.folds, config.seed, write=lead)
    todo = [k for k in range(config.folds) if not (out / f"fold{k}" / "predictions.csv").is_file()]
    prep_seconds = 0.0
    if todo:
        x = _inputs(template, cut, paths, devices, cache, _cache_file(out), shape)
        cached = cache != "off"
        flags = torch.tensor(table[list(FLAGS)].to_numpy(np.float32))
        targets = torch.tensor(table[TARGET].to_numpy(np.float32))
        prep_seconds = time.perf_counter() - start
        for k in todo:
            train_rows, val_rows = np.flatnonzero(folds != k), np.flatnonzero(folds == k)
            fold_start = time.perf_counter()
            torch.manual_seed(config.seed * 1000 + k)  # the fresh heads of this fold
            net = PawpularityNet(copy.deepcopy(template.backbone), model)
            apply_freeze(net, config.freeze)
            net.target_mean.fill_(float(targets[train_rows].mean()))
            net.target_std.fill_(float(targets[train_rows].std().clamp_min(1.0)))
            seed = config.seed * 1000 + k
            module = FoldModule(net, cut, cached, config.augment, config.lr, config.epochs, seed)
            views = 1 if config.augment == "full" else VIEWS
            train_data = Rows(x, flags, targets, train_rows, views, cached)
            _fit(module, out / f"fold{k}", config, train_data, callbacks, devices)
            if not lead:
                continue
            preds = _predict(module, Rows(x, flags, targets, val_rows, 1, cached))
            preds.insert(0, ID, table[ID].to_numpy()[val_rows])
            preds.insert(1, "target", targets[val_rows].numpy())
            preds.insert(2, "baseline", float(targets[train_rows].mean()))
            preds["seconds"] = time.perf_counter() - fold_start
            _finish_fold(net, preds, out / f"fold{k}")
    if not lead:
        return {}
    shutil.rmtree(_cache_file(out).parent, ignore_errors=True)  # the run is complete
    return summarise(out, table, config.folds, prep_seconds)


def _inputs(
    template: PawpularityNet,
    cut: int,
    paths: list[Path],
    devices: Devices,
    cache: str,
    file: Path,
    shape: tuple[int, ...],
) -> Any:
    """What training feeds the model: photos (`cache` off), or the output of the frozen stages
    for each photo and mirror, cached in memory or in `file` (see features.py).

    Photos are decoded once into memory when they fit, else per batch.
    """
    size = int(template.config.image_size or 0)
    images: Any = (
        load_bank(paths, size)
        if len(paths) * 3 * size * size <= IMAGE_BUDGET
        else ImageFiles(paths, size)
    )
    if cache == "off":
        return images
    net = template.to(_device(devices))
    features = (
        cache_prefix(net, cut, images)
        if cache == "memory"
        else disk_cache(net, cut, images, file, shape)
    )
    template.cpu()
    return features


def _cache_file(out: Path) -> Path:
    """This process's `--cache disk` file (each DDP process caches on its own device)."""
    env = os.environ
    rank = next((env[k] for k in ("RANK", "SLURM_PROCID", "LOCAL_RANK") if k in env), "0")
    return out / "cache" / f"frozen-{rank}.f32"


def _finish_fold(net: PawpularityNet, preds: pd.DataFrame, fold_dir: Path) -> None:
    """Save the fold's model, then its predictions (their presence marks the fold as done)."""
    save_weights(net.to(memory_format=torch.contiguous_format), fold_dir)
    write_fold_predictions(preds, fold_dir)
    (fold_dir / "last.ckpt").unlink(missing_ok=True)


def _fit(
    module: FoldModule,
    fold_dir: Path,
    config: TrainConfig,
    data: Rows,
    callbacks: Sequence[L.Callback],
    devices: Devices,
) -> None:
    workers = min(4, (os.cpu_count() or 2) - 1) if isinstance(data.x, ImageFiles) else 0
    loader = DataLoader(
        data,
        batch_size=config.batch_size // devices.world,
        sampler=(sampler := EpochSampler(len(data.rows), data.views, module.seed)),
        drop_last=len(data.rows) >= 2 * config.batch_size,
        num_workers=workers,
        persistent_workers=workers > 0,
        pin_memory=_device(devices) != "cpu",  # Lightning copies batches to a GPU non-blocking
        # Its own generator: a loader must not draw from the global RNG, which seeds each epoch.
        generator=torch.Generator().manual_seed(module.seed),
    )
    last = fold_dir / "last.ckpt"
    fold_dir.mkdir(parents=True, exist_ok=True)
    with _quiet_lightning():
        trainer = L.Trainer(
            max_epochs=config.epochs,
            accelerator=devices.accelerator,
            devices=devices.devices,
            num_nodes=devices.num_nodes,
            strategy=devices.strategy,
            use_distributed_sampler=False,  # EpochSampler shards itself
            logger=False,
            enable_checkpointing=False,
            enable_model_summary=False,
            limit_val_batches=0,
            callbacks=[*callbacks, _EpochCheckpoint(last), _FoldProgress(fold_dir.name)],
        )
        if last.is_file():
            # Loader workers draw the first batches before Lightning sets the resumed epoch.
            sampler.set_epoch(_resumed_epoch(last))
        ckpt = last if last.is_file() else None
        trainer.fit(module, loader, ckpt_path=ckpt, weights_only=True)


def _resumed_epoch(path: Path) -> int:
    """The epoch a checkpoint resumes at; a RunError unless it holds tensors and plain values
    only (nothing in it is unpickled as code): a torn, foreign or malicious file."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
        return int(state["loops"]["fit_loop"]["epoch_progress"]["current"]["processed"])
    except Exception as e:  # pickled code, a truncated file, another format
        raise RunError(
            f"{path}: not a checkpoint this run wrote (torn, foreign or unsafe: nothing in it "
            "was run); delete it and run again with --resume to retrain that fold"
        ) from e


class _FoldProgress(RichProgressBar):
    """Lightning's progress bar, naming the fold and counting epochs from 1 to N."""

    def __init__(self, fold: str) -> None:
        super().__init__()
        self.fold = fold

    def _get_train_description(self, current_epoch: int) -> str:
        return f"{self.fold}: epoch {current_epoch + 1}/{self.trainer.max_epochs}"


class _EpochCheckpoint(L.Callback):
    """Save the whole training state at the end of each epoch, atomically, for --resume."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        tmp = self.path.with_suffix(".tmp")
        trainer.save_checkpoint(tmp)  # every process takes part; the first one writes
        if trainer.is_global_zero:
            os.replace(tmp, self.path)


@torch.inference_mode()
def _predict(module: FoldModule, data: Rows) -> pd.DataFrame:
    """Scores with the given flags and with predicted flags, and flag probabilities."""
    net = module.net.eval()
    device = next(net.parameters()).device
    out: dict[str, list[np.ndarray]] = {"prediction": [], "prediction_no_flags": [], "probs": []}
    for x, flags, _ in DataLoader(data, batch_size=64):
        emb = module.embed(x.to(device), train=False)
        raw, logits = net.head(emb, flags.to(device))
        raw_free, _ = net.head(emb, None)
        for key, r in (("prediction", raw), ("prediction_no_flags", raw_free)):
            out[key].append(net.to_score(r).clamp(SCORE_MIN, SCORE_MAX).cpu().numpy())
        out["probs"].append(torch.sigmoid(logits).cpu().numpy())
    frame = pd.DataFrame({k: np.concatenate(out[k]) for k in ("prediction", "prediction_no_flags")})
    probs = np.concatenate(out["probs"])
    for i, flag in enumerate(FLAGS):
        frame[f"p_{flag}"] = probs[:, i]
    return frame


def _wanted(data_dir: Path, rows: int, model: ModelConfig, config: TrainConfig) -> dict[str, Any]:
    return {
        "pawpularity": __version__,
        **trained_on(data_dir, rows),
        "model": model.to_dict(),
        "train": asdict(config),
        "flags": list(FLAGS),
    }


def _path(value: str | None) -> Path | None:
    return Path(value) if value else None


def _device(devices: Devices) -> str:
    """This process's device for caching: its own GPU under DDP (LOCAL_RANK) when training may
    use one (`--accelerator auto|gpu|cuda`), else the CPU."""
    gpu = devices.accelerator in ("auto", "gpu", "cuda") and torch.cuda.is_available()
    return f"cuda:{os.environ.get('LOCAL_RANK', '0')}" if gpu else "cpu"


def is_lead_process() -> bool:
    """False in the 2nd, 3rd, ... process of a DDP job, known from the launchers' variables
    (Lightning's own, torchrun, SLURM) before any process group exists."""
    env = os.environ
    ranks = (env.get(k) for k in ("RANK", "SLURM_PROCID", "LOCAL_RANK", "NODE_RANK", "GROUP_RANK"))
    return all(int(r or 0) == 0 for r in ranks)


@contextlib.contextmanager
def _quiet_lightning() -> Iterator[None]:
    """Hide Lightning's banner lines and hints that do not apply to this use."""
    logger = logging.getLogger("lightning.pytorch")
    level = logger.level
    logger.setLevel(logging.WARNING)
    with warnings.catch_warnings():
        for message in (
            ".*does not have many workers.*",
            ".*smaller than the logging interval.*",
            ".*module\\(s\\) in eval mode.*",  # the backbone's BatchNorm, on purpose
            ".*LeafSpec.*",
        ):
            warnings.filterwarnings("ignore", message)
        try:
            yield
        finally:
            logger.setLevel(level)
