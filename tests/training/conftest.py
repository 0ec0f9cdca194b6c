"""Embeddings and head runs on the tiny demo set, made once per session (random weights, 64 px)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pawpularity.training.embeddings import EmbedConfig, embed
from pawpularity.training.head_cv import HeadConfig, train_head

TINY_EMBED = EmbedConfig("tf_efficientnet_lite0", image_size=64, pretrained="none")


@pytest.fixture(scope="session")
def tiny_embeddings(tmp_path_factory: pytest.TempPathFactory, tiny_demo: Path) -> Path:
    out = tmp_path_factory.mktemp("emb") / "emb"
    embed(tiny_demo, out, TINY_EMBED, runtime="eager", batch_size=4)
    return out


@pytest.fixture(scope="session")
def tiny_head_run(
    tmp_path_factory: pytest.TempPathFactory, tiny_demo: Path, tiny_embeddings: Path
) -> Path:
    """A 2-fold ridge run (the same folds as `tiny_run`: same data, folds and seed)."""
    run = tmp_path_factory.mktemp("head") / "run"
    train_head(tiny_demo, [tiny_embeddings], run, HeadConfig("ridge", folds=2))
    return run
