"""Scorers: ONNX Runtime agrees with eager PyTorch, exports are cached, and fallbacks are loud."""

from __future__ import annotations

import contextlib
import copy
import io
import sys
from pathlib import Path

import pytest
import torch

from pawpularity.errors import ConfigError
from pawpularity.explain.base import SCORE_COLUMN, Outputs
from pawpularity.explain.runtime import (
    EagerScorer,
    OrtScorer,
    export_onnx,
    make_scorer,
    model_key,
)
from pawpularity.models.checkpoint import build_model
from pawpularity.models.config import ModelConfig
from pawpularity.models.ensemble import FoldEnsemble

S = 64


@pytest.fixture(scope="module")
def model() -> Outputs:
    torch.manual_seed(0)
    return Outputs(FoldEnsemble([build_model(ModelConfig(image_size=S), pretrained="none")]))


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory, model: Outputs) -> Path:
    """A cache folder holding the model's export, made once for the module (≈ 10 s)."""
    folder = tmp_path_factory.mktemp("cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PAWPULARITY_CACHE", str(folder))
        chatter = io.StringIO()
        with contextlib.redirect_stdout(chatter), contextlib.redirect_stderr(chatter):
            export_onnx(model)
    # The exporter's own progress lines are swallowed; one line says what is happening.
    (line,) = chatter.getvalue().splitlines()
    assert line.startswith("exporting Outputs for ONNX Runtime (once; cached in ")
    return folder


@pytest.fixture
def in_cache(cache: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PAWPULARITY_CACHE", str(cache))
    return cache


def no_export(*args: object, **kwargs: object) -> None:
    raise AssertionError("exported again")


def test_ort_matches_eager(model: Outputs, in_cache: Path) -> None:
    scorer = make_scorer(model, "ort", batch=2)
    assert isinstance(scorer, OrtScorer)
    pixels = torch.rand((5, 3, S, S), generator=torch.Generator().manual_seed(1))
    ours, eager = scorer(pixels), EagerScorer(model)(pixels)
    assert ours.shape == eager.shape == (5, model(pixels[:1]).shape[1])
    assert (ours[:, SCORE_COLUMN] - eager[:, SCORE_COLUMN]).abs().max() <= 1e-3
    assert torch.allclose(ours, eager, atol=1e-3)


def test_second_call_is_a_cache_hit(
    model: Outputs, in_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(torch.onnx, "export", no_export)
    first, second = make_scorer(model, "ort"), make_scorer(model, "auto")
    assert isinstance(first, OrtScorer) and isinstance(second, OrtScorer)
    assert first.path == second.path
    assert [p.name for p in (in_cache / "onnx").iterdir()] == [first.path.name]


def test_channels_last_model_shares_the_export(
    model: Outputs, in_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The explain command converts its model to channels_last for the gradient methods.
    monkeypatch.setattr(torch.onnx, "export", no_export)
    converted = copy.deepcopy(model).to(memory_format=torch.channels_last)
    assert export_onnx(converted) == export_onnx(model)


def test_other_weights_other_key(model: Outputs) -> None:
    changed = copy.deepcopy(model)
    with torch.no_grad():
        changed.ensemble.members[0].target_mean += 1
    assert model_key(changed, S) != model_key(model, S)
    assert model_key(model, S) != model_key(model, 2 * S)


def test_explicit_onnx_file(model: Outputs, in_cache: Path, tmp_path: Path) -> None:
    scorer = OrtScorer(export_onnx(model))
    assert scorer(torch.rand(1, 3, S, S)).shape[0] == 1
    with pytest.raises(ConfigError, match="takes"):
        scorer(torch.rand(1, 3, 2 * S, 2 * S))
    with pytest.raises(ConfigError, match="no such ONNX file"):
        OrtScorer(tmp_path / "missing.onnx")
    (tmp_path / "broken.onnx").write_bytes(b"not a graph")
    with pytest.raises(ConfigError, match="not a usable ONNX model"):
        OrtScorer(tmp_path / "broken.onnx")


@pytest.fixture
def without_onnxruntime(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # `import onnxruntime` now fails
    monkeypatch.setenv("PAWPULARITY_CACHE", str(tmp_path))


@pytest.mark.usefixtures("without_onnxruntime")
def test_auto_falls_back_to_eager_with_a_warning(model: Outputs) -> None:
    with pytest.warns(UserWarning, match=r"eager PyTorch.*pip install onnxruntime"):
        scorer = make_scorer(model, "auto")
    assert isinstance(scorer, EagerScorer)


@pytest.mark.usefixtures("without_onnxruntime")
def test_ort_without_onnxruntime_is_a_config_error(model: Outputs) -> None:
    with pytest.raises(ConfigError, match="pip install onnxruntime"):
        make_scorer(model, "ort")


def test_failed_export_falls_back(
    model: Outputs, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("unsupported operator")

    monkeypatch.setenv("PAWPULARITY_CACHE", str(tmp_path))
    monkeypatch.setattr(torch.onnx, "export", broken)
    with pytest.warns(UserWarning, match="unsupported operator"):
        assert isinstance(make_scorer(model, "auto"), EagerScorer)
    with pytest.raises(ConfigError, match=r"ONNX export .* failed"):
        make_scorer(model, "ort")
    assert not list((tmp_path / "onnx").iterdir())  # no half-written file left behind


def test_eager_and_unknown_runtimes(model: Outputs) -> None:
    assert isinstance(make_scorer(model, "eager"), EagerScorer)
    with pytest.raises(ConfigError, match="--runtime"):
        make_scorer(model, "tensorrt")
