"""The cache of exported graphs: bounded to the graphs used last, and emptied on request."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from pawpularity.cli import app
from pawpularity.models import onnx


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A cache folder whose "exports" are instant (the exporter itself is tested elsewhere)."""
    monkeypatch.setenv("PAWPULARITY_CACHE", str(tmp_path))

    def fake(module: object, example: object, path: Path, *names: object) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"graph")

    monkeypatch.setattr(onnx, "export", fake)
    monkeypatch.setattr(onnx, "CACHE_GRAPHS", 3)
    return tmp_path / "onnx"


def export(key: str, when: int) -> Path:
    path = onnx.cached_export(torch.nn.Identity(), (torch.zeros(1),), key, (["x"], ["y"]))
    os.utime(path, (when, when))  # a use `when` seconds after the epoch
    return path


def test_the_cache_keeps_the_graphs_used_last(cache: Path) -> None:
    for i, key in enumerate("abc"):
        export(key, 1000 + i)
    export("a", 2000)  # a hit: a counts as used last
    export("d", 3000)  # one too many: the least recently used (b) goes
    assert sorted(p.stem for p in cache.glob("*.onnx")) == ["a", "c", "d"]


def test_cache_clear_empties_it(cache: Path) -> None:
    for i, key in enumerate("ab"):
        export(key, 1000 + i)
    result = CliRunner().invoke(app, ["cache", "clear"])
    assert result.exit_code == 0 and "removed 2 graphs" in result.output
    assert list(cache.glob("*.onnx")) == []
