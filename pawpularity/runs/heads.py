"""scikit-learn heads of a `--head` run, as plain arrays applied with numpy, and their engine.

A fitted head (`training.heads.fit_head`) is a handful of arrays (scaler, coefficients or support
vectors, the flag model) saved as safetensors: nothing is ever unpickled. The features are each
embeddings source's rows side by side (`--extra species`: the species column right after its
source's); the flags join them; a photo without flags gets those predicted from its embedding
(logistic models).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.numpy import load_file, save_file

from pawpularity.data.dataset import unit_pixels
from pawpularity.data.schema import SCORE_MAX, SCORE_MIN
from pawpularity.errors import ConfigError, RunError
from pawpularity.files import atomic
from pawpularity.models.embedder import Embedder, resized
from pawpularity.models.onnx import OrtModule
from pawpularity.runs.config import EXTRAS, EmbedConfig
from pawpularity.runs.embeddings import (
    Features,
    GraphFeatures,
    embedding_backbone,
    features_fn,
    make_embedder,
)

HEAD_FILE = "head.safetensors"


@dataclass
class FoldHead:
    """One fold's fitted head as arrays; `predict` needs nothing from scikit-learn."""

    kind: str  # "svr" or "ridge"
    arrays: dict[str, np.ndarray]

    def flag_probs(self, z_emb: np.ndarray) -> np.ndarray:
        logits = z_emb @ self.arrays["flag_coef"].T + self.arrays["flag_intercept"]
        return 1.0 / (1.0 + np.exp(-logits))

    def predict(
        self, embeddings: np.ndarray, flags: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """(score on 1–100, flag probabilities); missing flags (None or NaN) are predicted."""
        a = self.arrays
        d = embeddings.shape[1]
        z_emb = (embeddings - a["mean"][:d]) / a["scale"][:d]
        probs = self.flag_probs(z_emb)
        z = z_emb
        if len(a["mean"]) > d:  # the head uses the flags
            f = probs if flags is None else np.where(np.isnan(flags), probs, flags)
            z = np.hstack([z_emb, (f - a["mean"][d:]) / a["scale"][d:]])
        if self.kind == "ridge":
            raw = z @ a["coef"] + a["intercept"]
        else:
            sq = (z**2).sum(1)[:, None] + (a["sv"] ** 2).sum(1)[None] - 2 * z @ a["sv"].T
            raw = np.exp(-a["gamma"] * np.maximum(sq, 0)) @ a["dual"] + a["intercept"]
        score = np.clip(a["y_mean"] + a["y_std"] * raw, SCORE_MIN, SCORE_MAX)
        return score.astype(np.float32), probs.astype(np.float32)

    def save(self, folder: Path) -> None:
        arrays = {k: np.ascontiguousarray(v) for k, v in self.arrays.items()}
        with atomic(folder / HEAD_FILE) as tmp:
            save_file(arrays, str(tmp), metadata={"kind": self.kind})

    @classmethod
    def load(cls, folder: Path, kind: str) -> FoldHead:
        path = folder / HEAD_FILE
        if not path.is_file():
            raise RunError(f"{path}: missing (was the run finished? `train --resume` completes it)")
        try:
            return cls(kind, load_file(str(path)))
        except Exception as e:  # a truncated or foreign file
            raise RunError(f"{path}: not a head file ({e})") from e


class HeadEngine:
    """The Engine of a head run: embed with each source's backbone, apply the folds' heads,
    average. Photos come at the largest source size; the others are resized from it (on
    `device`, where the backbones run)."""

    def __init__(
        self,
        features: list[tuple[Features, int]],
        heads: list[FoldHead],
        device: torch.device | None = None,
    ) -> None:
        self.features, self.heads = features, heads
        self.image_size = max(size for _, size in features)
        self.device = device or torch.device("cpu")

    def __call__(
        self, pixels: torch.Tensor, flags: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        scores, probs = self._predictions(pixels, flags)
        return torch.from_numpy(np.mean(scores, 0)), torch.from_numpy(np.mean(probs, 0))

    def fold_scores(self, pixels: torch.Tensor, flags: torch.Tensor | None = None) -> torch.Tensor:
        """N×K: each fold's head's own score (1–100), from the same embeddings."""
        return torch.from_numpy(np.stack(self._predictions(pixels, flags)[0], 1))

    def _predictions(
        self, pixels: torch.Tensor, flags: torch.Tensor | None
    ) -> tuple[tuple[np.ndarray, ...], tuple[np.ndarray, ...]]:
        """(scores, flag probabilities) of each fold's head."""
        x = unit_pixels(pixels.to(self.device, non_blocking=True))
        emb = np.hstack([fn(resized(x, size)).double().numpy() for fn, size in self.features])
        f = None if flags is None else flags.double().numpy()
        scores, probs = zip(*(h.predict(emb, f) for h in self.heads), strict=True)
        return scores, probs


def species_source(sources: Sequence[dict[str, Any]], extra: Sequence[str]) -> int | None:
    """Which embeddings source's species column joins the features: the first that has one,
    when `extra` asks for it (a ConfigError when none has; None when not asked)."""
    unknown = [e for e in extra if e not in EXTRAS]
    if unknown:
        raise ConfigError(f"--extra must be one of {', '.join(EXTRAS)}, not {unknown[0]!r}")
    if "species" not in extra:
        return None
    having = [i for i, s in enumerate(sources) if s.get("species")]
    if not having:
        names = ", ".join(str(s["backbone"]) for s in sources)
        raise ConfigError(
            "--extra species needs embeddings made by a backbone with ImageNet's classifier "
            f"(its cat and dog classes), not {names}"
        )
    return having[0]


def head_embedders(config: dict[str, Any]) -> list[tuple[Embedder, int]]:
    """A head run's embedders (backbone, TTA, features, species) and their input sizes, in
    feature order."""
    sources = list(config["embeddings"].values())
    species = species_source(sources, config["head"].get("extra", []))
    out = []
    for i, source in enumerate(sources):
        backbone = embedding_backbone(source["backbone"], source["pretrained"], source["weights"])
        features = source.get("features", EmbedConfig.features)  # runs made before --features
        embedder = make_embedder(backbone, source["tta"], features, i == species)
        out.append((embedder, int(source["image_size"])))
    return out


def load_head_engine(
    path: Path,
    config: dict[str, Any],
    graphs: list[OrtModule] | None,
    folds: list[int],
    device: torch.device | None = None,
) -> HeadEngine:
    """The engine of a head run's `folds`; `graphs`: exported embedders (ONNX Runtime, on the
    CPU) or None: eager backbones on `device`."""
    device = device or torch.device("cpu")
    kind, n = config["head"]["head"], int(config["head"]["folds"])
    missing = [k for k in range(n) if not (path / f"fold{k}" / "predictions.csv").is_file()]
    if missing:
        raise RunError(
            f"{path}: unfinished run, no head for fold{missing[0]} "
            "(complete it with `pawpularity train ... --resume`)"
        )
    heads = [FoldHead.load(path / f"fold{k}", kind) for k in folds]
    if graphs is None:
        features = [
            (features_fn(e, size, "eager", device), size) for e, size in head_embedders(config)
        ]
    else:  # the graphs hold the backbones: only their input sizes are needed
        sizes = [int(s["image_size"]) for s in config["embeddings"].values()]
        features = [(GraphFeatures(g), size) for g, size in zip(graphs, sizes, strict=True)]
        device = torch.device("cpu")
    return HeadEngine(features, heads, device)
