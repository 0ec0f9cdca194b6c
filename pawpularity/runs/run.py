"""A finished run folder, loaded for inference: `load_run(path)` → `Run`, which scores photos.

Kinds (config.json's "kind"): "net" (network folds, the default), "head" (scikit-learn heads on
embeddings, `train --head`) and "blend" (a weighted sum of other runs, `blend`). Each scores
through one `Engine`. With `runtime="auto"` a run that was exported (`pawpularity export`)
scores on ONNX Runtime; "ort" insists on it, "eager" stays with PyTorch and numpy. With a CUDA
`device` networks score in eager PyTorch on the GPU (`pawpularity.device`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import torch

from pawpularity.data.schema import FLAGS
from pawpularity.device import resolve_device, runtime_for
from pawpularity.errors import ConfigError, RunError
from pawpularity.files import read_json
from pawpularity.models.checkpoint import WEIGHTS_FILE, load_net
from pawpularity.models.config import ModelConfig
from pawpularity.models.ensemble import FoldEnsemble
from pawpularity.models.onnx import check_runtime
from pawpularity.runs.blend import BlendEngine
from pawpularity.runs.config import CONFIG, DEMO_WARNING, METRICS
from pawpularity.runs.engine import Engine
from pawpularity.runs.folds import FoldEngine, eager_engine
from pawpularity.runs.graphs import ort_graphs
from pawpularity.runs.heads import load_head_engine
from pawpularity.runs.intervals import Calibration, read_calibration
from pawpularity.runs.pack import resolve_run
from pawpularity.runs.validate import check_config


@dataclass
class Run:
    """A loaded run: its folder, config.json, the engine that scores and what it runs on."""

    path: Path
    config: dict[str, Any]
    engine: Engine
    runtime: str  # what scores: "eager" or "ort"
    fold: int | None = None  # the one fold that scores; None: all of them, averaged
    _ensemble: FoldEnsemble | None = field(default=None, repr=False)
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))

    @property
    def kind(self) -> str:
        return str(self.config.get("kind", "net"))

    @property
    def image_size(self) -> int:
        return self.engine.image_size

    @property
    def warning(self) -> str:
        return warning_of(self.config)

    @cached_property
    def flag_auc(self) -> dict[str, float | None]:
        """Each flag's out-of-fold ROC AUC (RUN/metrics.json; of a blend, the least among its
        weighted runs'): how well the run's predicted flags can be trusted."""
        return flag_auc_of(self.path, self.config)

    @cached_property
    def calibration(self) -> Calibration:
        """The out-of-fold residuals behind score intervals and percentiles (of the one fold
        that scores, when one does)."""
        return read_calibration(self.path, self.fold)

    def __call__(
        self, pixels: torch.Tensor, flags: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(scores, flag probabilities): see `Engine`."""
        return self.engine(pixels, flags)

    def ensemble(self) -> FoldEnsemble:
        """The eager models of the folds that score (network runs only), loaded once, on the
        run's device."""
        if self._ensemble is None:
            if self.kind != "net":
                raise ConfigError(f"{self.path} is a {self.kind} run: it has no network models")
            self._ensemble = _load_ensemble(self.path, self.config, self.fold).to(self.device)
        return self._ensemble


def load_run(
    path: Path | str,
    runtime: str = "auto",
    fold: int | None = None,
    device: str | torch.device = "cpu",
) -> Run:
    """Load RUN/config.json and every fold it promises (or the runs a blend is made of).

    path: a run folder, a packed model (NAME.paw, `pawpularity pack`) or hf://USER/NAME (see
    `runs/pack.py`: both are checked and unpacked into a cache folder, which `Run.path` names).

    fold: score with that fold's model alone (network and head runs); None averages them all.
    device: where networks score (`--device`: "cpu", "cuda", "cuda:K" or "auto"); on CUDA in
    eager PyTorch, so there `runtime` "auto" means eager and "ort" is a ConfigError.
    """
    path = resolve_run(path)
    where = resolve_device(device)
    runtime = runtime_for(where, runtime)
    check_runtime(runtime)
    if not path.is_dir():
        raise RunError(
            f"{path}: no such run folder or packed model (make one with `pawpularity train`)"
        )
    config = read_config(path)
    kind = config.get("kind", "net")
    if fold is not None and kind == "blend":
        raise ConfigError(f"{path} is a blend: its runs' folds are not its own, drop --fold")
    if fold is not None and not 0 <= fold < fold_count(config):
        raise ConfigError(f"--fold {fold}: {path} has folds 0 to {fold_count(config) - 1}")
    if kind == "blend":
        pairs = [(p, w) for p, w in zip(config["runs"], config["weights"], strict=True) if w > 0]
        pairs = pairs or list(zip(config["runs"], config["weights"], strict=True))
        runs = [load_run(p, runtime, device=where) for p, _ in pairs]
        used = "ort" if all(r.runtime == "ort" for r in runs) else "eager"
        blend = BlendEngine([r.engine for r in runs], [w for _, w in pairs], where)
        return Run(path, config, blend, used, device=where)
    folds = list(range(fold_count(config))) if fold is None else [fold]
    if kind == "net":
        _fold_dirs(path, config)  # complete before anything is read from them
    graphs = ort_graphs(path, config, runtime)
    used = "eager" if graphs is None else "ort"
    if kind == "head":
        heads = load_head_engine(path, config, graphs, folds, where)
        return Run(path, config, heads, used, fold, device=where)
    if graphs is None:
        ensemble = _load_ensemble(path, config, fold)
        return Run(path, config, eager_engine(ensemble, where), used, fold, ensemble, where)
    size = int(config["model"]["image_size"])  # checked by read_config
    return Run(path, config, FoldEngine(graphs[0], size, folds), used, fold)


def flag_auc_of(path: Path, config: dict[str, Any]) -> dict[str, float | None]:
    if config.get("kind") != "blend":
        return dict(read_json(path / METRICS).get("flag_auc") or {})
    runs = [Path(r) for r, w in zip(config["runs"], config["weights"], strict=True) if w > 0]
    members = [flag_auc_of(r, read_config(r)) for r in runs]
    return {f: _least([m.get(f) for m in members]) for f in FLAGS}


def _least(values: list[float | None]) -> float | None:
    return None if any(v is None for v in values) else min(v for v in values if v is not None)


def warning_of(config: dict[str, Any]) -> str:
    """DEMO_WARNING when a run's config.json says it (or a run it blends) trained on a demo set,
    else ""."""
    return DEMO_WARNING if config.get("trained_on") == "demo" else ""


def read_config(path: Path) -> dict[str, Any]:
    """RUN/config.json, checked field by field (runs/validate.py)."""
    try:
        return check_config(read_json(path / CONFIG))
    except RunError as e:
        raise RunError(f"{path}/{e}") from None


def fold_count(config: dict[str, Any]) -> int:
    """How many folds a network or head run has (0 for a blend)."""
    kind = config.get("kind", "net")
    if kind == "blend":
        return 0
    return int(config["head" if kind == "head" else "train"]["folds"])


def _fold_dirs(path: Path, config: dict[str, Any]) -> list[Path]:
    """A network run's fold folders, each holding its model (else a RunError)."""
    folds = [path / f"fold{k}" for k in range(fold_count(config))]
    missing = [f.name for f in folds if not (f / WEIGHTS_FILE).is_file()]
    if missing:
        raise RunError(
            f"{path}: unfinished run, no model for {', '.join(missing)} "
            "(complete it with `pawpularity train ... --resume`)"
        )
    return folds


def _load_ensemble(path: Path, config: dict[str, Any], fold: int | None) -> FoldEnsemble:
    folds = _fold_dirs(path, config)
    model = ModelConfig.from_dict(config["model"])
    return FoldEnsemble([load_net(model, f) for f in (folds if fold is None else [folds[fold]])])
