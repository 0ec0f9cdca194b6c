"""The walk-throughs in CONTRIBUTING.md run as written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pawpularity.models.backbones import REGISTRY

CONTRIBUTING = Path(__file__).resolve().parents[1] / "CONTRIBUTING.md"


def python_blocks(section: str) -> list[str]:
    text = CONTRIBUTING.read_text().split(f"## {section}\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", text, flags=re.S)


def test_add_a_backbone_walk_through(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("pawpularity.models.backbones.REGISTRY", dict(REGISTRY))
    (block,) = python_blocks("Add a backbone")
    exec(compile(block, str(CONTRIBUTING), "exec"), {})
