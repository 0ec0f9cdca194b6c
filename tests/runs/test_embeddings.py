"""embed: a row per photo, resumable after a crash, broken photos reported, bad folders refused."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from typer.testing import CliRunner

from pawpularity.cli import app
from pawpularity.data.schema import read_table
from pawpularity.errors import ConfigError, DataError, RunError
from pawpularity.models.backbones import CAT_CLASSES, DOG_CLASSES
from pawpularity.models.embedder import Embedder
from pawpularity.runs import embeddings as E
from pawpularity.runs.config import EmbedConfig
from tests.conftest import PETS, TINY_EMBED


def test_layout_and_features(tiny_embeddings: Path, tiny_demo: Path) -> None:
    e = E.load_embeddings(tiny_embeddings)
    assert e.ids == list(read_table(tiny_demo / "train.csv")["Id"])
    assert e.features.shape == (16, 1280) and np.isfinite(e.features).all()
    assert e.meta["backbone"] == "tf_efficientnet_lite0" and e.meta["image_size"] == 64
    assert e.meta["mean"] == [0.5] * 3 and e.meta["tta"] == "none"
    assert not (tiny_embeddings / E.partial(E.EMBEDDINGS)).exists()
    # Row i is the pooled feature of photo i, as the backbone computes it.
    from pawpularity.data.dataset import load_prepared

    x = load_prepared(tiny_demo / "train" / f"{e.ids[3]}.jpg", 64)[None].float() / 255
    with torch.no_grad():
        ref = Embedder(E.embedding_backbone("tf_efficientnet_lite0", "none", None))(x)
    assert np.allclose(e.features[3], ref[0].numpy(), atol=1e-4)


class _Crash(Exception):
    pass


def test_interrupted_embedding_resumes_to_the_same_rows(
    tiny_demo: Path, tiny_embeddings: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = E.features_fn
    calls = {"n": 0}

    def crashing(*args: object, **kwargs: object) -> E.Features:
        fn = real(*args, **kwargs)  # type: ignore[arg-type]

        def run(x: torch.Tensor) -> torch.Tensor:
            calls["n"] += 1
            if calls["n"] == 3:
                raise _Crash
            return fn(x)

        return run

    monkeypatch.setattr(E, "FLUSH_EVERY", 1)
    monkeypatch.setattr(E, "features_fn", crashing)
    out = tmp_path / "emb"
    with pytest.raises(_Crash):
        E.embed(tiny_demo, out, TINY_EMBED, runtime="eager", batch_size=4)
    assert json.loads((out / E.META).read_text())["done"] == 8
    with pytest.raises(DataError, match=r"unfinished .*8 of 16"):
        E.load_embeddings(out)
    monkeypatch.setattr(E, "features_fn", real)
    again = E.embed(tiny_demo, out, TINY_EMBED, runtime="eager", batch_size=4)
    whole = E.load_embeddings(tiny_embeddings)
    assert np.allclose(again.features, whole.features, atol=1e-5)
    assert again.species is not None and whole.species is not None
    assert np.allclose(again.species, whole.species, atol=1e-5)


def test_other_settings_are_refused(tiny_demo: Path, tiny_embeddings: Path, tmp_path: Path) -> None:
    other = EmbedConfig(TINY_EMBED.backbone, image_size=96, pretrained="none")
    with pytest.raises(RunError, match="image_size"):
        E.embed(tiny_demo, tiny_embeddings, other, runtime="eager")
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(RunError, match="not an embeddings folder"):
        E.embed(tiny_demo, tmp_path, TINY_EMBED, runtime="eager")


def test_broken_photos_get_nan_rows_and_their_error(tmp_path: Path) -> None:
    folder = tmp_path / "photos"
    folder.mkdir()
    for name in ("cat_Bengal_16.jpg", "dog_boxer_112.jpg"):
        shutil.copy(PETS / name, folder / name)
    (folder / "broken.jpg").write_text("not a photo")
    result = CliRunner().invoke(
        app,
        [
            *("embed", str(folder), "--out", str(tmp_path / "emb"), "--image-size", "64"),
            *("--pretrained", "none", "--runtime", "eager"),
        ],
    )
    assert result.exit_code == 2, result.output  # some photos failed, as `predict` says it
    assert "1 photos could not be read" in result.output
    e = E.load_embeddings(tmp_path / "emb")
    assert e.ids == ["broken.jpg", "cat_Bengal_16.jpg", "dog_boxer_112.jpg"]
    assert np.isnan(e.features[0]).all() and np.isfinite(e.features[1:]).all()
    assert "broken.jpg" in e.errors[0] and e.errors[1:] == ["", ""]


def test_garbled_folders_are_clear_errors(tiny_embeddings: Path, tmp_path: Path) -> None:
    with pytest.raises(DataError, match="not an embeddings folder"):
        E.load_embeddings(tmp_path)
    bad = tmp_path / "bad"
    shutil.copytree(tiny_embeddings, bad)
    (bad / E.EMBEDDINGS).write_bytes((bad / E.EMBEDDINGS).read_bytes()[:300])
    with pytest.raises(DataError, match=r"garbled|shape"):
        E.load_embeddings(bad)
    shutil.copy(tiny_embeddings / E.EMBEDDINGS, bad / E.EMBEDDINGS)
    ids = pd.read_csv(bad / E.IDS, dtype=str)
    ids.iloc[:-1].to_csv(bad / E.IDS, index=False)
    with pytest.raises(DataError, match="lists 15 photos"):
        E.load_embeddings(bad)


def test_onnx_runtime_matches_eager(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAWPULARITY_CACHE", str(tmp_path))
    backbone = E.embedding_backbone("tf_efficientnet_lite0", "none", None)
    embedder = E.make_embedder(backbone, "flip", "both", species=True)
    x = torch.rand(3, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    ort, eager = E.features_fn(embedder, 64, "ort")(x), E.features_fn(embedder, 64, "eager")(x)
    assert ort.shape == (3, 1280 + 1000 + 1) and torch.allclose(ort, eager, atol=1e-3)
    # a graph is cached per kind of rows: the pooled embedder gets its own
    pooled = E.features_fn(E.make_embedder(backbone, "flip", "pooled", False), 64, "ort")(x)
    assert torch.allclose(pooled, ort[:, :1280], atol=1e-3)


def _timm_rows(tiny_demo: Path, ids: list[str], flip: bool) -> tuple[torch.Tensor, ...]:
    """(pooled, logits, species) of photos 0 and 3 straight from timm's model (its own
    forward), averaged with the mirror image if `flip`."""
    from pawpularity.data.dataset import load_prepared

    x = torch.stack([load_prepared(tiny_demo / "train" / f"{ids[i]}.jpg", 64) for i in (0, 3)])
    x = (x.float() / 255 - 0.5) / 0.5
    model = E.embedding_backbone("tf_efficientnet_lite0", "none", None)
    views = [x, x.flip(-1)] if flip else [x]
    with torch.no_grad():
        pooled = sum(model.forward_head(model.forward_features(v), pre_logits=True) for v in views)
        logits = [model(v) for v in views]
    probs = [p.softmax(1) for p in logits]
    dog = [p[:, list(DOG_CLASSES)].sum(1) for p in probs]
    cat = [p[:, list(CAT_CLASSES)].sum(1) for p in probs]
    species = sum(d / (d + c) for d, c in zip(dog, cat, strict=True))
    n = len(views)
    return pooled / n, sum(logits) / n, species / n  # type: ignore[return-value]


def test_logits_and_both_are_the_imagenet_classifier_output(
    tiny_demo: Path, tiny_embeddings: Path, tmp_path: Path
) -> None:
    args = ["embed", str(tiny_demo), "--image-size", "64", "--pretrained", "none"]
    # auto: both, since Lite0 keeps ImageNet's classifier (and meta.json says so)
    for option, features, tta in (("auto", "both", "none"), ("logits", "logits", "flip")):
        out = tmp_path / features
        cli = [*args, "--out", str(out), "--features", option, "--tta", tta, "--runtime", "eager"]
        result = CliRunner().invoke(app, cli)
        assert result.exit_code == 0, result.output
        e = E.load_embeddings(out)
        assert e.meta["features"] == features and e.meta["species"] is True
        pooled, logits, species = _timm_rows(tiny_demo, e.ids, flip=tta == "flip")
        rows = e.features[[0, 3]]
        if features == "both":
            assert e.features.shape == (16, 1280 + 1000)
            assert np.allclose(rows[:, :1280], pooled.numpy(), atol=1e-4)
            # the pooled half is what --features pooled wrote
            assert np.allclose(e.features[:, :1280], E.load_embeddings(tiny_embeddings).features)
        else:
            assert e.features.shape == (16, 1000)
        assert np.allclose(rows[:, -1000:], logits.numpy(), atol=1e-4)
        assert e.species is not None and ((e.species >= 0) & (e.species <= 1)).all()
        assert np.allclose(e.species[[0, 3]], species.numpy(), atol=1e-5)


def test_species_tells_cats_from_dogs(tmp_path: Path) -> None:
    """The ImageNet Lite0 head on the shipped photos: measured mean species 0.999 for the 25 dogs
    (none below 0.99), 0.114 for the 25 cats (2 above 0.5)."""
    e = E.embed(PETS, tmp_path / "emb", EmbedConfig("tf_efficientnet_lite0"), "eager")
    assert e.species is not None and ((e.species >= 0) & (e.species <= 1)).all()
    dogs = np.array([i.startswith("dog_") for i in e.ids])
    cats = np.array([i.startswith("cat_") for i in e.ids])
    assert dogs.sum() == cats.sum() == 25
    assert e.species[dogs].mean() > 0.9 and e.species[cats].mean() < 0.3
    assert ((e.species > 0.5) == dogs).mean() >= 0.9


def test_a_backbone_without_imagenet_head_is_one_line(tiny_demo: Path, tmp_path: Path) -> None:
    headless = ["--backbone", "eva02_tiny_patch14_224", "--pretrained", "none"]
    emb = tmp_path / "emb"
    base = ["embed", str(tiny_demo), "--out", str(emb), *headless, "--runtime", "eager"]
    for features in ("logits", "both"):
        result = CliRunner().invoke(app, [*base, "--features", features])
        assert isinstance(result.exception, ConfigError), result.output
        message = str(result.exception)
        assert "no 1000-class ImageNet classifier" in message and "\n" not in message
    assert not emb.exists()
    result = CliRunner().invoke(app, [*base, "--features", "auto"])  # pooled: no species
    assert result.exit_code == 0, result.output
    e = E.load_embeddings(emb)
    assert e.species is None and not (emb / E.SPECIES).exists()
    assert e.meta["features"] == "pooled" and e.features.shape == (16, 192)
    train = ["train", str(tiny_demo), "--head", "ridge", "--embeddings", str(emb), "--folds", "2"]
    result = CliRunner().invoke(app, [*train, "--out", str(tmp_path / "r"), "--extra", "species"])
    assert isinstance(result.exception, ConfigError), result.output
    message = str(result.exception)
    assert "--extra species needs" in message and "eva02" in message and "\n" not in message
    assert not (tmp_path / "r").exists()
