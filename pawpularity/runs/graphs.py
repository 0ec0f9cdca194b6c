"""Where an exported run keeps its ONNX graphs, and whether they are fresh.

Network runs: RUN/model.onnx, every fold in one graph (see `folds.Scoring`). Head runs:
RUN/embedder<i>.onnx, pixels → features (the heads themselves are small numpy arrays). Beside
each graph, `<graph>.json` records a hash of what it was exported from; a graph whose source
changed since is stale and not used.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from pawpularity.errors import ConfigError
from pawpularity.files import write_json
from pawpularity.models.checkpoint import WEIGHTS_FILE
from pawpularity.models.onnx import OrtModule, import_ort

NET_GRAPH = "model.onnx"


def graph_files(path: Path, config: dict[str, Any]) -> list[Path]:
    """The graphs an exported run holds: one for a network run, one per embedder of a head run."""
    if config.get("kind") == "head":
        return [path / f"embedder{i}.onnx" for i in range(len(config["embeddings"]))]
    return [path / NET_GRAPH]


def source_hash(path: Path, config: dict[str, Any]) -> str | None:
    """What a network run's graph is exported from: a hash of every fold's weights. None for a
    head run (its embedders come from the backbone's package and do not change)."""
    if config.get("kind") == "head":
        return None
    h = hashlib.sha256()
    for k in range(int(config["train"]["folds"])):
        h.update((path / f"fold{k}" / WEIGHTS_FILE).read_bytes())
    return h.hexdigest()


def stamp(graph: Path, source: str | None) -> None:
    write_json(graph.with_name(graph.name + ".json"), {"source": source})


def ort_graphs(path: Path, config: dict[str, Any], runtime: str) -> list[OrtModule] | None:
    """The run's graphs on ONNX Runtime for "ort", or for "auto" when all are present and fresh;
    None means eager."""
    if runtime == "eager":
        return None
    graphs = graph_files(path, config)
    source = source_hash(path, config) if all(g.is_file() for g in graphs) else None
    stale = [g for g in graphs if not _fresh(g, config, source)]
    if stale:
        if runtime == "ort":
            raise ConfigError(
                f"{stale[0]} is missing or older than the run's weights: "
                f"run `pawpularity export {path}` first"
            )
        return None
    if runtime == "auto":
        try:
            import_ort()
        except ConfigError:
            return None
    return [OrtModule(g) for g in graphs]


def _fresh(graph: Path, config: dict[str, Any], source: str | None) -> bool:
    stamp_file = graph.with_name(graph.name + ".json")
    if not graph.is_file() or not stamp_file.is_file():
        return False
    return (
        config.get("kind") == "head" or json.loads(stamp_file.read_text()).get("source") == source
    )
