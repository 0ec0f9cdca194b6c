"""The walk-throughs in CONTRIBUTING.md run as written."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

import pawpularity as paw
from pawpularity.data.images import load_image
from pawpularity.explain.methods import METHODS
from pawpularity.models.backbones import REGISTRY
from tests.conftest import PETS

CONTRIBUTING = Path(__file__).resolve().parents[1] / "CONTRIBUTING.md"


def python_blocks(section: str) -> list[str]:
    text = CONTRIBUTING.read_text().split(f"## {section}\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", text, flags=re.S)


def test_add_a_backbone_walk_through(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("pawpularity.models.backbones.REGISTRY", dict(REGISTRY))
    (block,) = python_blocks("Add a backbone")
    exec(compile(block, str(CONTRIBUTING), "exec"), {})


def test_add_an_explanation_method_walk_through(tiny_run: Path) -> None:
    (block,) = python_blocks("Add an explanation method")
    try:
        exec(compile(block, str(CONTRIBUTING), "exec", dont_inherit=True), {})
        photo = load_image(PETS / "cat_Bengal_16.jpg")
        saliency = paw.load(tiny_run, runtime="eager").explain(photo, "gxi")
    finally:
        METHODS.pop("gxi", None)  # leave the registry as it was
    assert saliency.shape == (photo.height, photo.width) and saliency.dtype == np.float32
    assert np.isfinite(saliency).all() and saliency.max() > 0
