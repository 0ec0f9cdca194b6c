"""Shared fixtures: a small, valid Kaggle-layout folder written by the tests themselves."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
import pytest
from PIL import Image

from pawpularity.data.demo import PHOTOS_DIR, make_demo
from pawpularity.data.schema import FLAGS, ID, TARGET
from pawpularity.models.config import ModelConfig
from pawpularity.runs.config import EmbedConfig
from pawpularity.runs.embeddings import embed
from pawpularity.runtime import tune_malloc
from pawpularity.training.config import HeadConfig, TrainConfig
from pawpularity.training.cv import train
from pawpularity.training.head_cv import train_head

if TYPE_CHECKING:
    from playwright.sync_api import Browser

    from pawpularity.advise.advisor import Advisor
    from pawpularity.api import Model

MakeKaggleDir = Callable[..., Path]

tune_malloc()  # as the CLI does: the training tests run 2x faster


def write_kaggle_dir(root: Path, n: int = 4, split: str = "train") -> Path:
    """root/<split>.csv with all columns (no score for test) and one 32x24 JPEG per row."""
    (root / split).mkdir(parents=True, exist_ok=True)
    rows = []
    for i in range(n):
        image_id = f"{i:032x}"  # Kaggle Ids are 32 hex digits
        Image.new("RGB", (32, 24), (40 * i % 256, 100, 200)).save(root / split / f"{image_id}.jpg")
        row: dict[str, str | int] = {ID: image_id} | {
            flag: (i + j) % 2 for j, flag in enumerate(FLAGS)
        }
        if split == "train":
            row[TARGET] = 1 + 33 * i % 100
        rows.append(row)
    pd.DataFrame(rows).to_csv(root / f"{split}.csv", index=False)
    return root


@pytest.fixture
def make_kaggle_dir(tmp_path: Path) -> MakeKaggleDir:
    """A factory: make_kaggle_dir(n=4, split="train") -> a fresh folder under tmp_path."""
    counter = iter(range(1_000_000))

    def make(n: int = 4, split: str = "train") -> Path:
        return write_kaggle_dir(tmp_path / f"kaggle{next(counter)}", n=n, split=split)

    return make


PETS = PHOTOS_DIR  # the shipped real photos
# Random weights at 64 px: fast runs for tests of the plumbing, not of learning.
TINY_MODEL = ModelConfig(image_size=64)
TINY_TRAIN = TrainConfig(folds=2, epochs=2, batch_size=4, pretrained="none")
TINY_EMBED = EmbedConfig("tf_efficientnet_lite0", image_size=64, pretrained="none")


@pytest.fixture(scope="session")
def tiny_demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 16-photo planted-cue demo set."""
    path = tmp_path_factory.mktemp("demo") / "data"
    make_demo(path, n=16, seed=1)
    return path


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory: pytest.TempPathFactory, tiny_demo: Path) -> Path:
    """A finished 2-fold run on the tiny demo set."""
    run = tmp_path_factory.mktemp("run") / "run"
    train(tiny_demo, run, TINY_MODEL, TINY_TRAIN)
    return run


@pytest.fixture(scope="session")
def tiny_model(tiny_run: Path) -> Model:
    """The tiny run loaded through the public API (eager: no ONNX export in tests)."""
    import pawpularity as paw

    return paw.load(tiny_run, runtime="eager")


@pytest.fixture(scope="session")
def tiny_advisor(tiny_model: Model) -> Advisor:
    """The tiny run's advisor."""
    return tiny_model.advisor


@pytest.fixture(scope="session")
def tiny_embeddings(tmp_path_factory: pytest.TempPathFactory, tiny_demo: Path) -> Path:
    """Embeddings of the tiny demo set (random weights, 64 px)."""
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


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The contract's recipe: demo --n 96 --seed 7, default training with 2 folds and 8 epochs."""
    root = tmp_path_factory.mktemp("demo_run")
    make_demo(root / "data", n=96, seed=7)
    train(root / "data", root / "run", ModelConfig(), TrainConfig(folds=2, epochs=8))
    return root / "run"


CHROMIUM = "/usr/bin/chromium"  # Debian's package (`make browser`); Playwright downloads nothing
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Headless Chromium for the tests that check what a user sees (report, web page)."""
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), f"{CHROMIUM} is missing: run `make browser`"
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()
