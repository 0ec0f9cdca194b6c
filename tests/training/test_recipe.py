"""`pawpularity recipe`: every member on the same folds, the blend, the table, and resuming."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from pawpularity.errors import RunError
from pawpularity.training.config import RecipeConfig
from pawpularity.training.recipe import recipe

LITES = ("tf_efficientnet_lite0", "tf_efficientnet_lite1")
TINY = RecipeConfig(backbones=LITES, folds=2, epochs=1, pretrained="none", image_size=64)
MEMBERS = [f"svr-{LITES[0]}", f"svr-{LITES[1]}", "svr-all", "net"]


def metrics(run: Path) -> dict[str, object]:
    return json.loads((run / "metrics.json").read_text())


@pytest.fixture(scope="module")
def done(tmp_path_factory: pytest.TempPathFactory, tiny_demo: Path) -> tuple[Path, pd.DataFrame]:
    out = tmp_path_factory.mktemp("recipe") / "out"
    return out, recipe(tiny_demo, out, TINY, device="cpu")


def test_every_member_and_the_blend_in_the_table(done: tuple[Path, pd.DataFrame]) -> None:
    out, table = done
    assert list(table["member"]) == [*MEMBERS, "blend"]
    for member, cv in zip(table["member"], table["cv_rmse"], strict=True):
        assert cv == pytest.approx(metrics(out / member)["cv_rmse"], abs=1e-3)
    assert pd.read_csv(out / "recipe.csv").equals(table)
    blend = json.loads((out / "blend" / "config.json").read_text())
    assert [Path(r).name for r in blend["runs"]] == MEMBERS
    folds = [pd.read_csv(out / m / "folds.csv")["fold"].tolist() for m in MEMBERS]
    assert all(f == folds[0] for f in folds)


def test_embeddings_are_pooled_and_logits_with_flip(done: tuple[Path, pd.DataFrame]) -> None:
    out, _ = done
    for name in LITES:
        meta = json.loads((out / "emb" / name / "meta.json").read_text())
        assert (meta["features"], meta["tta"]) == ("both", "flip")
    sources = json.loads((out / "svr-all" / "config.json").read_text())["embeddings"]
    assert len(sources) == 2


def test_an_interrupted_recipe_finishes_alike(
    done: tuple[Path, pd.DataFrame], tiny_demo: Path, tmp_path: Path
) -> None:
    _, table = done
    again = tmp_path / "out"
    recipe(tiny_demo, again, TINY, device="cpu")
    model = again / "net" / "fold0" / "model.safetensors"
    kept = model.stat().st_mtime_ns
    shutil.rmtree(again / "svr-all")  # never started
    for stage in ("net", f"svr-{LITES[1]}"):  # stopped after their first fold
        shutil.rmtree(again / stage / "fold1")
        (again / stage / "metrics.json").unlink()
    pd.testing.assert_frame_equal(recipe(tiny_demo, again, TINY, device="cpu"), table)
    assert model.stat().st_mtime_ns == kept  # a finished fold is not trained again


def test_other_settings_in_the_same_folder_are_refused(
    done: tuple[Path, pd.DataFrame], tiny_demo: Path
) -> None:
    out, _ = done
    with pytest.raises(RunError, match="other settings"):
        recipe(tiny_demo, out, RecipeConfig(**{**TINY.__dict__, "folds": 3}), device="cpu")
