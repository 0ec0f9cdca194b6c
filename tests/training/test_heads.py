"""train --head svr|ridge: the run folder of `train`, numpy heads equal to scikit-learn's, the demo
cue learned from frozen embeddings, and clear errors for bad embeddings."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import Ridge
from sklearn.svm import SVR
from typer.testing import CliRunner

from pawpularity.cli import app
from pawpularity.data.demo import make_demo
from pawpularity.errors import ConfigError, DataError, RunError
from pawpularity.runs.config import EmbedConfig
from pawpularity.runs.embeddings import embed
from pawpularity.runs.run import load_run
from pawpularity.training.config import HeadConfig
from pawpularity.training.head_cv import train_head
from pawpularity.training.heads import fit_head


def test_run_folder_matches_network_runs(
    tiny_head_run: Path, tiny_run: Path, tiny_demo: Path, tiny_embeddings: Path
) -> None:
    for name in ("folds.csv", "oof.csv"):
        ours, theirs = (pd.read_csv(r / name, dtype={"Id": str}) for r in (tiny_head_run, tiny_run))
        assert list(ours.columns) == list(theirs.columns)
        assert list(ours["Id"]) == list(theirs["Id"])
    assert (
        (pd.read_csv(tiny_head_run / "folds.csv") == pd.read_csv(tiny_run / "folds.csv"))
        .all()
        .all()
    )
    m = json.loads((tiny_head_run / "metrics.json").read_text())
    assert {"cv_rmse", "fold_rmse", "baseline_rmse", "flag_auc", "head_params"} <= set(m)
    assert len(m["fold_rmse"]) == 2 and m["cv_rmse"] > 0
    with pytest.raises(RunError, match="--resume"):
        train_head(tiny_demo, [tiny_embeddings], tiny_head_run, HeadConfig("ridge", folds=2))


@pytest.mark.parametrize("kind", ["svr", "ridge"])
def test_numpy_heads_equal_scikit_learn(kind: str) -> None:
    rng = np.random.default_rng(0)
    emb, flags = rng.normal(size=(40, 20)), rng.integers(0, 2, (40, 12)).astype(float)
    y = 30 + 10 * emb[:, 0] + rng.normal(size=40)
    head = fit_head(kind, emb, flags, y, np.arange(40) % 7)
    a = head.arrays
    z = (np.hstack([emb, flags]) - a["mean"]) / a["scale"]
    if kind == "ridge":
        model = Ridge(alpha=float(a["alpha"])).fit(z, (y - a["y_mean"]) / a["y_std"])
    else:
        model = SVR(C=float(a["C"]), epsilon=float(a["epsilon"]), gamma=float(a["gamma"]))
        model.fit(z, (y - a["y_mean"]) / a["y_std"])
    expected = np.clip(a["y_mean"] + a["y_std"] * model.predict(z), 1, 100)
    score, probs = head.predict(emb, flags)
    assert np.allclose(score, expected, atol=1e-3)
    assert probs.shape == (40, 12) and ((probs >= 0) & (probs <= 1)).all()
    nan_flags = np.where(np.arange(12) % 2, np.nan, flags)  # half unknown: predicted instead
    assert np.isfinite(head.predict(emb, nan_flags)[0]).all()


def test_a_large_fold_tunes_the_svr_on_whole_groups_and_refits_on_all(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from sklearn.model_selection import GridSearchCV

    import pawpularity.training.heads as heads

    monkeypatch.setattr(heads, "TUNE_ROWS", 50)
    groups = np.repeat(np.arange(60), 2)  # 120 rows in pairs of near-duplicates
    rows = heads.tuning_rows(groups, seed=3)
    assert 50 <= len(rows) <= 51 and set(np.bincount(groups[rows])) <= {0, 2}  # whole pairs
    assert not np.array_equal(rows, heads.tuning_rows(groups, seed=4))
    assert np.array_equal(heads.tuning_rows(groups[:40], seed=3), np.arange(40))  # small: all
    seen = []
    fit = GridSearchCV.fit
    monkeypatch.setattr(
        GridSearchCV, "fit", lambda s, x, *a, **k: seen.append(len(x)) or fit(s, x, *a, **k)
    )
    rng = np.random.default_rng(0)
    emb, flags = rng.normal(size=(120, 20)), rng.integers(0, 2, (120, 12)).astype(float)
    y = 30 + 10 * emb[:, 0] + rng.normal(size=120)
    a = fit_head("svr", emb, flags, y, groups, seed=3).arrays
    assert seen == [len(rows)]  # the grid saw the tuning rows only
    z = (np.hstack([emb, flags]) - a["mean"]) / a["scale"]
    model = SVR(C=float(a["C"]), epsilon=float(a["epsilon"]), gamma=float(a["gamma"]))
    model.fit(z, (y - a["y_mean"]) / a["y_std"])  # the chosen settings on all 120 rows
    assert np.allclose(a["sv"], model.support_vectors_) and len(a["sv"]) > len(rows)


def test_predict_scores_with_a_head_run(tiny_head_run: Path, tmp_path: Path) -> None:
    from tests.conftest import PETS

    out = tmp_path / "p.csv"
    result = CliRunner().invoke(app, ["predict", str(tiny_head_run), str(PETS), "--out", str(out)])
    assert result.exit_code == 0, result.output
    frame = pd.read_csv(out)
    assert len(frame) == 50 and frame["score"].between(1, 100).all()
    run = load_run(tiny_head_run)
    assert run.kind == "head" and run.image_size == 64
    with pytest.raises(ConfigError, match="no network models"):
        run.ensemble()


def test_bad_embeddings_are_clear_errors(
    tiny_demo: Path, tiny_embeddings: Path, tmp_path: Path
) -> None:
    with pytest.raises(ConfigError, match="--head must be"):
        train_head(tiny_demo, [tiny_embeddings], tmp_path / "r", HeadConfig("xgboost"))
    with pytest.raises(DataError, match="--embeddings"):
        train_head(tiny_demo, [], tmp_path / "r", HeadConfig("svr"))
    with pytest.raises(DataError, match="not an embeddings folder"):
        train_head(tiny_demo, [tmp_path], tmp_path / "r", HeadConfig("svr"))
    other = tmp_path / "other"  # embeddings of other photos
    shutil.copytree(tiny_embeddings, other)
    ids = pd.read_csv(other / "ids.csv", dtype=str, keep_default_na=False)
    ids.loc[0, "Id"] = "someone-else"
    ids.to_csv(other / "ids.csv", index=False)
    with pytest.raises(DataError, match=r"1 of 16 Ids of train\.csv have no embedding"):
        train_head(tiny_demo, [other], tmp_path / "r", HeadConfig("svr"))
    broken = tmp_path / "broken"
    shutil.copytree(tiny_embeddings, broken)
    rows = np.load(broken / "embeddings.npy")
    rows[2] = np.nan
    np.save(broken / "embeddings.npy", rows)
    with pytest.raises(DataError, match="1 photos could not be embedded"):
        train_head(tiny_demo, [broken], tmp_path / "r", HeadConfig("svr"))
    assert not (tmp_path / "r").exists()


def test_demo_embeddings_and_svr_learn_the_cue(tmp_path: Path) -> None:
    """The proof of issue 6: demo --n 96 --seed 7, embed (default backbone), svr, 2 folds."""
    make_demo(tmp_path / "data", n=96, seed=7)
    embed(tmp_path / "data", tmp_path / "emb", EmbedConfig("tf_efficientnet_lite0"), "eager")
    result = CliRunner().invoke(
        app,
        [
            *("train", str(tmp_path / "data"), "--head", "svr"),
            *(
                "--embeddings",
                str(tmp_path / "emb"),
                "--out",
                str(tmp_path / "run"),
                "--folds",
                "2",
            ),
        ],
    )
    assert result.exit_code == 0, result.output
    m = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert m["cv_rmse"] < 0.8 * m["baseline_rmse"]


def test_embeddings_without_a_head_is_a_clear_error(tiny_demo: Path, tiny_embeddings: Path) -> None:
    args = ["train", str(tiny_demo), "--out", "r", "--embeddings", str(tiny_embeddings)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code != 0 and "--head svr|ridge" in str(result.exception)


def _train_and_predict(data: Path, emb: Path, run: Path, *options: str) -> pd.DataFrame:
    """`train --head svr` with `options`, then `predict` with the run on the shipped photos."""
    from tests.conftest import PETS

    args = ["train", str(data), "--head", "svr", "--embeddings", str(emb), "--folds", "2"]
    result = CliRunner().invoke(app, [*args, "--out", str(run), *options])
    assert result.exit_code == 0, result.output
    out = run.parent / f"{run.name}.csv"
    result = CliRunner().invoke(app, ["predict", str(run), str(PETS), "--out", str(out)])
    assert result.exit_code == 0, result.output
    frame = pd.read_csv(out)
    assert len(frame) == 50 and frame["score"].between(1, 100).all()
    return frame


@pytest.mark.parametrize("features", ["pooled", "logits"])
def test_extra_species_joins_the_features_and_predict_computes_it(
    features: str, tiny_demo: Path, tiny_embeddings: Path, tmp_path: Path
) -> None:
    from dataclasses import replace

    from safetensors.numpy import load_file

    from pawpularity.data.dataset import load_prepared
    from pawpularity.runs.embedded import load_embeddings
    from pawpularity.runs.heads import HEAD_FILE
    from tests.conftest import TINY_EMBED

    emb, width = tiny_embeddings, 1280
    if features == "logits":
        emb, width = tmp_path / "emb", 1000
        embed(tiny_demo, emb, replace(TINY_EMBED, features="logits"), "eager")
    run = tmp_path / "run"
    _train_and_predict(tiny_demo, emb, run, "--extra", "species")
    config = json.loads((run / "config.json").read_text())
    assert config["head"]["extra"] == ["species"] and config["embeddings"]["0"]["species"] is True
    assert config["embeddings"]["0"]["features"] == features
    assert len(load_file(str(run / "fold0" / HEAD_FILE))["mean"]) == width + 1 + 12
    # predict embeds a photo into the very row the head was trained on: features, then species
    e = load_embeddings(emb)
    x = load_prepared(tiny_demo / "train" / f"{e.ids[5]}.jpg", 64)[None]
    rows, _ = load_run(run, runtime="eager").engine.features[0]  # type: ignore[attr-defined]
    row = rows(x.float() / 255).numpy()[0]
    assert row.shape == (width + 1,) and e.species is not None
    assert np.allclose(row[:-1], e.features[5], atol=1e-4) and abs(row[-1] - e.species[5]) < 1e-5
    # the same settings resume (config.json holds the tuple as a list); others are refused
    head = HeadConfig("svr", folds=2, extra=("species",))
    assert train_head(tiny_demo, [emb], run, head, resume=True)["cv_rmse"] > 0
    with pytest.raises(RunError, match=r"other settings \(head.extra\)"):
        train_head(tiny_demo, [emb], run, HeadConfig("svr", folds=2), resume=True)
    with pytest.raises(ConfigError, match="--extra must be one of species"):
        train_head(tiny_demo, [tiny_embeddings], tmp_path / "r", HeadConfig(extra=("breed",)))
    result = CliRunner().invoke(
        app, ["train", str(tiny_demo), "--out", str(tmp_path / "n"), "--extra", "species"]
    )
    assert "--head svr|ridge" in str(result.exception)


def test_no_flags_trains_and_predicts(
    tiny_demo: Path, tiny_embeddings: Path, tmp_path: Path
) -> None:
    from safetensors.numpy import load_file

    from pawpularity.runs.heads import HEAD_FILE

    run = tmp_path / "run"
    frame = _train_and_predict(tiny_demo, tiny_embeddings, run, "--no-flags")
    config = json.loads((run / "config.json").read_text())
    assert config["head"]["flags"] is False and config["head"]["extra"] == []
    assert len(load_file(str(run / "fold0" / HEAD_FILE))["mean"]) == 1280  # no flag columns
    assert frame["score"].nunique() > 1
