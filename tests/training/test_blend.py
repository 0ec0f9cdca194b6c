"""blend: a nested weighted average of out-of-fold predictions; a blend scores like a run."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from pawpularity.cli import app
from pawpularity.errors import RunError
from pawpularity.runs.run import load_run
from pawpularity.training.blend import blend
from pawpularity.training.metrics import rmse
from tests.conftest import PETS


def test_blend_of_a_network_and_a_head_run(
    tiny_run: Path, tiny_head_run: Path, tmp_path: Path
) -> None:
    out = tmp_path / "blend"
    result = CliRunner().invoke(
        app, ["blend", str(tiny_run), str(tiny_head_run), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    m = json.loads((out / "metrics.json").read_text())
    assert {"cv_rmse", "fold_rmse", "baseline_rmse", "weights"} <= set(m)
    assert min(m["weights"]) >= 0 and sum(m["weights"]) == pytest.approx(1, abs=1e-3)
    assert len(m["weights"]) == 2
    assert m["cv_rmse"] <= min(m["run_cv_rmse"])  # never worse than its best member
    ours = pd.read_csv(out / "oof.csv", dtype={"Id": str})
    assert m["cv_rmse"] == pytest.approx(rmse(ours["target"], ours["prediction"]))
    run = load_run(out)
    assert run.image_size == 64
    out_csv = tmp_path / "p.csv"
    result = CliRunner().invoke(app, ["predict", str(out), str(PETS), "--out", str(out_csv)])
    assert result.exit_code == 0, result.output
    assert pd.read_csv(out_csv)["score"].notna().all()


def test_runs_with_other_folds_do_not_blend(tiny_run: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    shutil.copytree(tiny_run, other)
    oof = pd.read_csv(other / "oof.csv", dtype={"Id": str})
    oof["fold"] = 1 - oof["fold"]
    oof.to_csv(other / "oof.csv", index=False)
    with pytest.raises(RunError, match="same --folds and --seed"):
        blend([tiny_run, other], tmp_path / "b")
    with pytest.raises(RunError, match="at least two"):
        blend([tiny_run], tmp_path / "b")


def fake_run(path: Path, target: np.ndarray, prediction: np.ndarray, folds: np.ndarray) -> Path:
    """A finished run as `blend` reads it: oof.csv, and config.json saying what it trained on."""
    path.mkdir()
    (path / "config.json").write_text(json.dumps({"trained_on": "real", "rows": len(target)}))
    ids = [f"p{i}" for i in range(len(target))]
    frame = pd.DataFrame({"Id": ids, "fold": folds, "target": target, "prediction": prediction})
    frame.to_csv(path / "oof.csv", index=False)
    return path


def two_member_weight(a: np.ndarray, b: np.ndarray, y: np.ndarray) -> float:
    """The weight of `a` in the best average t·a + (1 − t)·b, t in [0, 1] (closed form)."""
    d = a - b
    return float(np.clip(d @ (y - b) / (d @ d), 0, 1))


def test_blend_is_a_nested_weighted_average(tmp_path: Path) -> None:
    """Shrunk members (each too close to the mean, as a ridge head is): non-negative least
    squares scales them up (weights summing past 1); an average keeps the members' range."""
    rng = np.random.default_rng(0)
    y = rng.normal(38, 20, 400)
    folds = np.arange(400) % 4
    a = 38 + 0.5 * (y - 38) + rng.normal(0, 8, 400)
    b = 38 + 0.3 * (y - 38) + rng.normal(0, 6, 400)
    runs = [fake_run(tmp_path / n, y, p, folds) for n, p in (("a", a), ("b", b))]
    m = blend(runs, tmp_path / "blend")
    for w in [m["weights"], *m["fold_weights"]]:
        assert min(w) >= 0 and sum(w) == pytest.approx(1, abs=1e-3)
    ours = pd.read_csv(tmp_path / "blend" / "oof.csv")["prediction"].to_numpy()
    for k in range(4):  # each fold scored with the average fitted on the other folds, refitted here
        tr, va = folds != k, folds == k
        t = two_member_weight(a[tr], b[tr], y[tr])
        assert m["fold_weights"][k][0] == pytest.approx(t, abs=1e-3)
        assert np.allclose(ours[va], t * a[va] + (1 - t) * b[va], atol=0.05)
    assert m["weights"][0] == pytest.approx(two_member_weight(a, b, y), abs=1e-3)
    assert m["note"] == "" and m["cv_rmse"] == pytest.approx(m["nested_cv_rmse"])
    assert m["cv_rmse"] <= min(m["run_cv_rmse"])


def test_a_blend_worse_than_its_best_member_keeps_that_member(tmp_path: Path) -> None:
    """Member b is excellent on fold 0 and wild on fold 1: the weights fitted on fold 0 put b
    first and fail on fold 1, so the nested blend loses to a alone."""
    rng = np.random.default_rng(1)
    y = rng.normal(38, 20, 200)
    folds = np.arange(200) % 2
    a = y + rng.normal(0, 10, 200)
    b = np.where(folds == 0, y + rng.normal(0, 1, 200), y + rng.normal(0, 40, 200))
    runs = [fake_run(tmp_path / n, y, p, folds) for n, p in (("a", a), ("b", b))]
    result = CliRunner().invoke(app, ["blend", *map(str, runs), "--out", str(tmp_path / "bl")])
    assert result.exit_code == 0, result.output
    m = json.loads((tmp_path / "bl" / "metrics.json").read_text())
    assert m["nested_cv_rmse"] > m["run_cv_rmse"][0] and m["weights"] == [1.0, 0.0]
    assert m["cv_rmse"] == pytest.approx(m["run_cv_rmse"][0])
    assert "worse than its best member" in m["note"] and "note: the nested blend" in result.output
    ours = pd.read_csv(tmp_path / "bl" / "oof.csv")["prediction"].to_numpy()
    assert np.allclose(ours, a, atol=1e-6)
    config = json.loads((tmp_path / "bl" / "config.json").read_text())
    assert config["weights"] == [1.0, 0.0] and config["trained_on"] == "real"
