"""`export RUN --format onnx`: ONNX graphs inside the run folder, checked against PyTorch.

A network run becomes one graph, RUN/model.onnx: (pixels in [0, 1], flags with NaN for unknown)
→ (every fold's score, every fold's flag probabilities), the stages the folds share computed
once. A head run gets RUN/embedder<i>.onnx per backbone (pixels → features). See `graphs.py`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from pawpularity.data.dataset import load_prepared
from pawpularity.data.demo import PHOTOS_DIR
from pawpularity.data.schema import FLAGS
from pawpularity.errors import ConfigError
from pawpularity.files import write_json
from pawpularity.models.onnx import export, import_ort
from pawpularity.progress import note
from pawpularity.runs.folds import Scoring
from pawpularity.runs.graphs import graph_files, source_hash, stamp
from pawpularity.runs.heads import head_embedders
from pawpularity.runs.run import Run, load_run

FORMATS = ("onnx",)
PARITY_PHOTOS = 8  # shipped photos scored by both engines after an export

Source = tuple[nn.Module, tuple[torch.Tensor, ...], tuple[list[str], list[str]]]


def export_run(path: Path, fmt: str = "onnx") -> dict[str, Any]:
    """Export every graph the run needs, then score shipped photos both ways.

    Returns (and writes to RUN/export.json) the graphs and the largest differences found.
    """
    if fmt not in FORMATS:
        raise ConfigError(f"--format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    import_ort()
    path = Path(path)
    eager = load_run(path, "eager")  # checks that the run is complete
    if eager.kind == "blend":
        raise ConfigError(f"{path} is a blend: export each of the runs it blends instead")
    source = source_hash(path, eager.config)
    for graph, (module, example, names) in _sources(eager).items():
        note(f"exporting {graph} (a minute or two on a laptop) ...")
        export(module, example, graph, *names)
        stamp(graph, source)
    note(f"checking ONNX Runtime against PyTorch on {PARITY_PHOTOS} shipped photos ...")
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
        "graphs": [str(g.relative_to(path)) for g in graph_files(path, eager.config)],
        "parity_photos": len(x),
        "max_abs_score_diff": gaps["score"],
        "max_abs_flag_prob_diff": gaps["flag_probs"],
    }
    write_json(path / "export.json", report)
    return report


def _sources(run: Run) -> dict[Path, Source]:
    """Each graph file of the run → (module, example inputs, input and output names)."""
    graphs = graph_files(run.path, run.config)
    if run.kind == "head":
        return {
            graph: (embedder, (torch.rand(2, 3, size, size),), (["pixels"], ["features"]))
            for graph, (embedder, size) in zip(graphs, head_embedders(run.config), strict=True)
        }
    size = run.image_size
    ensemble = run.ensemble().to(memory_format=torch.contiguous_format)  # as the exporter wants
    example = (torch.rand(2, 3, size, size), torch.rand(2, len(FLAGS)))
    return {
        graphs[0]: (Scoring(ensemble), example, (["pixels", "flags"], ["scores", "flag_probs"]))
    }
