"""Run folders and inference settings as plain values (light to import: the CLI reads its
defaults here)."""

from __future__ import annotations

from dataclasses import dataclass

from pawpularity.models import DEFAULT_BACKBONE

CONFIG = "config.json"  # what a run folder was made from, and its kind
METRICS = "metrics.json"  # how well it did out of fold: cv_rmse, flag_auc, ...
KINDS = ("net", "head", "blend")  # network folds, scikit-learn heads, a blend of runs
HEAD_KINDS = ("svr", "ridge")  # the scikit-learn heads of a head run (`train --head`)
MAX_FOLDS = 100
# What a run trained on a demo set says first, wherever it scores (config.json: trained_on).
DEMO_WARNING = (
    "trained on the planted-cue demo set: its scores mean nothing for real photos; train on the "
    "Kaggle data for real scores"
)
INTERVAL = 0.8  # the share of true scores a score's prediction interval holds (`--interval`)
BATCH_SIZE = 32  # photos per forward pass when scoring and embedding
TTAS = ("none", "flip")  # embeddings of the photo, or the mean with its mirror image
# What `embed` writes per photo: pooled features, the 1000 ImageNet logits, or both side by side;
# `auto`: both where the backbone keeps ImageNet's classifier, else pooled.
FEATURES = ("pooled", "logits", "both", "auto")
EXTRAS = ("species",)  # columns `train --head --extra` adds: p(dog) vs cat from the ImageNet head


@dataclass(frozen=True)
class EmbedConfig:
    backbone: str = DEFAULT_BACKBONE
    image_size: int | None = None  # None: the backbone's own
    tta: str = "none"
    pretrained: str = "imagenet"
    weights: str | None = None
    features: str = FEATURES[0]
