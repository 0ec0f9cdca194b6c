"""export: graphs inside the run, parity with PyTorch, ONNX Runtime picked when fresh."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
import torch
from typer.testing import CliRunner

from pawpularity import runtime
from pawpularity.cli import app
from pawpularity.data.photos import collect
from pawpularity.errors import ConfigError
from pawpularity.runs.export import export_run
from pawpularity.runs.predict import predict
from pawpularity.runs.run import load_run
from tests.conftest import PETS


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory, tiny_run: Path) -> Path:
    run = tmp_path_factory.mktemp("exported") / "run"
    shutil.copytree(tiny_run, run)
    result = CliRunner().invoke(app, ["export", str(run), "--format", "onnx"])
    assert result.exit_code == 0, result.output
    return run


def test_one_graph_of_every_fold_with_parity(exported: Path) -> None:
    report = json.loads((exported / "export.json").read_text())
    assert report["graphs"] == ["model.onnx"]
    assert report["max_abs_score_diff"] <= 0.01 and report["max_abs_flag_prob_diff"] <= 1e-3
    assert all((exported / g).is_file() for g in report["graphs"])


def test_auto_runtime_takes_fresh_graphs_only(exported: Path, tmp_path: Path) -> None:
    ort, eager = load_run(exported), load_run(exported, "eager")
    assert (ort.runtime, eager.runtime) == ("ort", "eager")
    x = torch.randint(0, 256, (3, 3, 64, 64), dtype=torch.uint8)
    flags = torch.tensor([[1.0] * 12, [float("nan")] * 12, [0.0] * 12])
    for f in (None, flags):
        (s0, p0), (s1, p1) = ort(x, f), eager(x, f)
        assert (s0 - s1).abs().max() <= 0.01 and (p0 - p1).abs().max() <= 1e-3
    stale = tmp_path / "stale"
    shutil.copytree(exported, stale)
    shutil.copy(exported / "fold0" / "model.safetensors", stale / "fold1" / "model.safetensors")
    assert load_run(stale).runtime == "eager"  # fold1's weights changed after the export
    with pytest.raises(ConfigError, match="pawpularity export"):
        load_run(stale, "ort")


def test_head_runs_export_their_embedder(tiny_head_run: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    shutil.copytree(tiny_head_run, run)
    report = export_run(run)
    assert report["graphs"] == ["embedder0.onnx"] and report["max_abs_score_diff"] <= 0.01
    assert load_run(run).runtime == "ort"


def test_unknown_format_and_unexported_runs(tiny_run: Path) -> None:
    with pytest.raises(ConfigError, match="--format"):
        export_run(tiny_run, "tflite")
    with pytest.raises(ConfigError, match="pawpularity export"):
        load_run(tiny_run, "ort")
    assert load_run(tiny_run).runtime == "eager"


def test_predict_on_ort_streams_with_glibc_defaults(
    exported: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The scores of eager PyTorch; glibc's defaults while photos stream (the tuned heap grows
    with their number on ONNX Runtime: bench/scale.py), the tuned heap again afterwards."""
    trims: list[int] = []
    real = runtime._mallopt
    monkeypatch.setattr(
        runtime, "_mallopt", lambda s: trims.append(s[runtime._M_TRIM_THRESHOLD]) or real(s)
    )
    runtime.tune_malloc()
    photos = collect([str(p) for p in sorted(PETS.glob("*.jpg"))[:5]])
    predict(load_run(exported, "eager"), photos, tmp_path / "eager.csv", workers=0)
    predict(load_run(exported), photos, tmp_path / "ort.csv", workers=0)
    assert trims == [100_000_000_000, 128 * 1024, 100_000_000_000]
    eager, ort = pd.read_csv(tmp_path / "eager.csv"), pd.read_csv(tmp_path / "ort.csv")
    assert (eager["score"] - ort["score"]).abs().max() <= 0.01
