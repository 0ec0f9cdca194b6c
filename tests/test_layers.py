"""Every module imports; data flows one way between the layers; no import cycle anywhere.

Every import counts, at the top of a file or inside a function (lazy ones), and under
TYPE_CHECKING too: a function-level import hides a cycle from Python, not from this test.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

import pawpularity

PACKAGE = Path(pawpularity.__file__).parent
# Shared by all layers: the version, the exceptions, atomic files, process settings, notes,
# devices.
BASE = {
    "pawpularity.device",
    "pawpularity.errors",
    "pawpularity.files",
    "pawpularity.progress",
    "pawpularity.runtime",
    "pawpularity.version",
}
# Each layer and the layers it may import (see CONTRIBUTING.md): inference (`runs`) stands
# between the models and everything that uses them; `training` only fits, and only the
# command line drives it.
FOUNDATION = {"data", "models", "runs"}
ALLOWED: dict[str, set[str]] = {
    "data": set(),
    "models": {"data"},
    "runs": {"data", "models"},
    "training": FOUNDATION,
    "explain": FOUNDATION,
    "analysis": FOUNDATION | {"explain"},
    "advise": FOUNDATION | {"explain"},
    "api": FOUNDATION | {"explain", "advise"},
    "serve": FOUNDATION | {"explain", "advise", "api"},
    "cli": FOUNDATION | {"training", "explain", "analysis", "advise", "api", "serve"},
    "__main__": {"cli"},
}
FACADE = "pawpularity"  # the package's __init__: the public API's names, loaded on first use


def layer_of(module: str) -> str | None:
    """The layer a module belongs to; None for the base modules and the facade."""
    if module in BASE or module == FACADE:
        return None
    part = module.split(".")[1]
    assert part in ALLOWED, f"{module} belongs to no layer: add it to ALLOWED or BASE"
    return part


def modules() -> list[str]:
    names = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


MODULES = modules()


def imported(module: str) -> set[str]:
    """Every pawpularity module named by an import anywhere in the file (lazy ones included);
    `from pawpularity.x import y` names pawpularity.x.y when y is a module."""
    spec = importlib.util.find_spec(module)
    assert spec is not None and spec.origin is not None
    found = set()
    for node in ast.walk(ast.parse(Path(spec.origin).read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            subs = {f"{node.module}.{a.name}" for a in node.names} & set(MODULES)
            found |= subs or {node.module}
    return {m for m in found if m.split(".")[0] == "pawpularity" and m != module}


GRAPH = {m: imported(m) for m in MODULES}


@pytest.mark.parametrize("module", MODULES)
def test_module_imports_and_respects_layers(module: str) -> None:
    if module != "pawpularity.__main__":  # importing it would run the command
        importlib.import_module(module)
    own = layer_of(module)
    for target in GRAPH[module]:
        theirs = layer_of(target)
        if module == FACADE:
            assert theirs in ("api", "runs", None), f"the facade imports {target}"
        elif own is None:
            assert theirs is None, f"base module {module} imports {target}"
        elif theirs is not None and theirs != own:
            assert theirs in ALLOWED[own], f"{module} ({own}) imports {target} ({theirs})"


def test_no_import_cycles() -> None:
    """Depth-first search over the whole import graph: no module reaches itself."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(m: str) -> None:
        state[m] = 1
        path.append(m)
        for n in sorted(GRAPH.get(m, ())):
            if state.get(n) == 1:
                cycle = [*path[path.index(n) :], n]
                raise AssertionError("import cycle: " + " -> ".join(cycle))
            if n not in state:
                visit(n)
        path.pop()
        state[m] = 2

    for m in MODULES:
        if m not in state:
            visit(m)


def test_the_graph_sees_lazy_imports() -> None:
    """The cycle check would be blind without the function-level imports."""
    assert "pawpularity.explain.rise" in GRAPH["pawpularity.explain.methods"]
    assert "pawpularity.api" in GRAPH[FACADE]
