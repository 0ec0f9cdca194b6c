"""`export RUN --format onnx`: ONNX graphs inside the run folder, checked against PyTorch.

Network runs: RUN/fold<k>/model.onnx, (pixels in [0, 1], flags with NaN for unknown) →
(score, flag probabilities). Head runs: RUN/embedder<i>.onnx, pixels → features (the heads
themselves are small numpy arrays). Beside each graph, `<graph>.json` records a hash of what it
was exported from; a graph whose source changed since is stale and not used.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import torch
from torch import nn

from pawpularity.data.dataset import load_prepared, unit_pixels
from pawpularity.data.demo import PHOTOS_DIR
from pawpularity.data.schema import FLAGS
from pawpularity.errors import ConfigError
from pawpularity.models.checkpoint import WEIGHTS_FILE, load_net, read_json, write_json
from pawpularity.models.fusion import ModelConfig, PawpularityNet
from pawpularity.models.onnx import OrtModule, export, import_ort, weights_key

FORMATS = ("onnx",)
NET_GRAPH = "model.onnx"
PARITY_PHOTOS = 8  # shipped photos scored by both engines after an export


class Scoring(nn.Module):
    """A fold's network as exported: (pixels, flags) → (score, flag probabilities)."""

    def __init__(self, net: PawpularityNet) -> None:
        super().__init__()
        self.net = net

    def forward(
        self, pixels: torch.Tensor, flags: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        score, logits = self.net(pixels, flags)
        return score, logits.sigmoid()


class OrtFolds:
    """Every fold's exported network on ONNX Runtime, averaged like `Run.__call__`."""

    def __init__(self, graphs: list[OrtModule]) -> None:
        self.graphs = graphs

    def __call__(
        self, images: torch.Tensor, flags: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        x = unit_pixels(images)
        f = torch.full((len(x), len(FLAGS)), float("nan")) if flags is None else flags.float()
        scores, probs = zip(*(g(x, f) for g in self.graphs), strict=True)
        return torch.stack(scores).mean(0), torch.stack(probs).mean(0)


def export_run(path: Path, fmt: str = "onnx") -> dict[str, Any]:
    """Export every graph the run needs, then score shipped photos both ways.

    Returns (and writes to RUN/export.json) the graphs and the largest differences found.
    """
    if fmt not in FORMATS:
        raise ConfigError(f"--format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    import_ort()
    from pawpularity.training.run import load_run

    path = Path(path)
    eager = load_run(path, "eager")  # checks that the run is complete
    config = read_json(path / "config.json")
    if config.get("kind") == "blend":
        raise ConfigError(f"{path} is a blend: export each of the runs it blends instead")
    for graph, (module, example, names, source) in _sources(path, config).items():
        export(module, example, graph, *names)
        _stamp(graph, source)
    ort = load_run(path, "ort")
    photos = sorted(PHOTOS_DIR.glob("*.jpg"))[:PARITY_PHOTOS]
    x = torch.stack([load_prepared(p, eager.image_size) for p in photos])
    gen = torch.Generator().manual_seed(0)
    flags = torch.bernoulli(torch.full((len(x), len(FLAGS)), 0.3), generator=gen)
    flags[::2, ::3] = float("nan")  # some flags unknown, as in production
    gaps = {"score": 0.0, "flag_probs": 0.0}
    for f in (None, flags):
        (s0, p0), (s1, p1) = eager(x, f), ort(x, f)
        gaps["score"] = max(gaps["score"], float((s0 - s1).abs().max()))
        gaps["flag_probs"] = max(gaps["flag_probs"], float((p0 - p1).abs().max()))
    report = {
        "graphs": [str(g.relative_to(path)) for g in graph_files(path, config)],
        "parity_photos": len(x),
        "max_abs_score_diff": gaps["score"],
        "max_abs_flag_prob_diff": gaps["flag_probs"],
    }
    write_json(path / "export.json", report)
    return report


def ort_graphs(path: Path, config: dict[str, Any], runtime: str) -> list[OrtModule] | None:
    """The run's exported graphs on ONNX Runtime for "ort", or for "auto" when all are present
    and fresh; None means eager."""
    if runtime == "eager":
        return None
    graphs = graph_files(path, config)
    stale = [g for g in graphs if not _fresh(g, config)]
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


Source = tuple[nn.Module, tuple[torch.Tensor, ...], tuple[list[str], list[str]], str]


def graph_files(path: Path, config: dict[str, Any]) -> list[Path]:
    """The graphs an exported run holds: one per fold, or one per embedder of a head run."""
    if config.get("kind") == "head":
        return [path / f"embedder{i}.onnx" for i in range(len(config["embeddings"]))]
    return [path / f"fold{k}" / NET_GRAPH for k in range(int(config["train"]["folds"]))]


def _sources(path: Path, config: dict[str, Any]) -> dict[Path, Source]:
    """Each graph file of the run → (module, example inputs, names, hash of its source)."""
    graphs = graph_files(path, config)
    if config.get("kind") == "head":
        from pawpularity.training.head_cv import embedders

        return {
            graph: (
                embedder,
                (torch.rand(2, 3, size, size),),
                (["pixels"], ["features"]),
                weights_key(embedder, f"{size}|{embedder.tta}"),
            )
            for graph, (embedder, size) in zip(graphs, embedders(config), strict=True)
        }
    model = ModelConfig.from_dict(config["model"])
    size = int(model.image_size or 224)
    example = (torch.rand(2, 3, size, size), torch.rand(2, len(FLAGS)))
    names = (["pixels", "flags"], ["score", "flag_probs"])
    return {
        graph: (Scoring(load_net(model, graph.parent)), example, names, _file_hash(graph.parent))
        for graph in graphs
    }


def _fresh(graph: Path, config: dict[str, Any]) -> bool:
    """The graph exists with its stamp, which for a network fold matches the fold's weights
    (a head run's embedders come from the backbone's package and do not change)."""
    stamp = graph.with_name(graph.name + ".json")
    if not graph.is_file() or not stamp.is_file():
        return False
    saved = json.loads(stamp.read_text()).get("source")
    return config.get("kind") == "head" or saved == _file_hash(graph.parent)


def _stamp(graph: Path, source: str) -> None:
    write_json(graph.with_name(graph.name + ".json"), {"source": source})


def _file_hash(fold: Path) -> str:
    return hashlib.sha256((fold / WEIGHTS_FILE).read_bytes()).hexdigest()
