"""blend: nested non-negative weights on out-of-fold predictions; a blend scores like a run."""

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
    assert all(w >= 0 for w in m["weights"]) and len(m["weights"]) == 2
    # Nested: fold k's rows are blended with the weights fitted on the other fold only.
    oofs = [pd.read_csv(r / "oof.csv", dtype={"Id": str}) for r in (tiny_run, tiny_head_run)]
    ours = pd.read_csv(out / "oof.csv", dtype={"Id": str})
    for k, w in enumerate(m["fold_weights"]):
        rows = ours["fold"] == k
        expected = sum(wi * o.loc[rows, "prediction"] for wi, o in zip(w, oofs, strict=True))
        assert np.allclose(ours.loc[rows, "prediction"], expected, atol=1e-2)
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
