"""Every module imports, and no layer imports a layer to its right (data → ... → cli/serve)."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

import pawpularity

PACKAGE = Path(pawpularity.__file__).parent
# Shared by all layers: the version, the exceptions, process settings.
BASE = {"pawpularity", "pawpularity.errors", "pawpularity.runtime"}
LAYERS = ["data", "models", "training", "explain", ("analysis", "advise"), ("cli", "serve")]


def layer_of(module: str) -> int | None:
    if module in BASE or module == "pawpularity.__main__":
        return None
    part = module.split(".")[1]
    for i, names in enumerate(LAYERS):
        if part in ((names,) if isinstance(names, str) else names):
            return i
    raise AssertionError(f"{module} belongs to no layer: add it to LAYERS or BASE")


def modules() -> list[str]:
    names = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


def imported(module: str) -> set[str]:
    """Every pawpularity module named by an import anywhere in the file (lazy ones included)."""
    spec = importlib.util.find_spec(module)
    assert spec is not None and spec.origin is not None
    found = set()
    for node in ast.walk(ast.parse(Path(spec.origin).read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return {m for m in found if m.split(".")[0] == "pawpularity"}


@pytest.mark.parametrize("module", modules())
def test_module_imports_and_respects_layers(module: str) -> None:
    if module != "pawpularity.__main__":  # importing it would run the command
        importlib.import_module(module)
    own = layer_of(module)
    for target in imported(module):
        theirs = layer_of(target)
        if own is not None and theirs is not None:
            assert theirs <= own, f"{module} (layer {own}) imports {target} (layer {theirs})"
        if own is None and module != "pawpularity.__main__":
            assert theirs is None, f"base module {module} imports {target}"
