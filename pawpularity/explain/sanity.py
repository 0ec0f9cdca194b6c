"""Model-randomisation sanity check (Adebayo et al. 2018, "Sanity Checks for Saliency Maps").

A map that explains the model must change when the model's learned weights are destroyed. The
cascade re-initialises the heads first (ours and the backbone's ImageNet classifier, which the
`imagenet` target reads), then the backbone's stages from the top down, each step keeping the
previous steps' random weights. Comparing each step's map with the trained model's map by rank
correlation shows how much of the map is owed to learned weights and how much to architecture
and input alone (an edge detector stays the same however the weights are drawn).
"""

from __future__ import annotations

import copy

import numpy as np
import torch
import torch.nn.functional as F
from scipy.stats import rankdata
from torch import nn

from pawpularity.models.backbones import chain_modules
from pawpularity.models.ensemble import FoldEnsemble

POOLED_SIDE = 56  # maps are compared at most 56×56: see spearman()


def cascade(ensemble: FoldEnsemble, seed: int = 0) -> list[tuple[str, FoldEnsemble]]:
    """Progressively randomised deep copies of the fold models, labelled "head", "head+stage5",
    "head+stage4-5", … "head+stage1-5" (stages are the backbone's `stages()` counted from 1),
    each step applied to every fold (a module of the folds' shared stages once).

    Each module re-initialises itself with its own `reset_parameters()` (so convolutions,
    linears and norms get their usual initial values, BatchNorm statistics included) under
    `torch.manual_seed(seed)` inside a forked RNG: the result is reproducible and the global
    random state is untouched. The ensemble itself is not modified.
    """
    groups = ensemble.members[0].stages()
    params = list(ensemble.parameters())
    devices = sorted({p.device.index or 0 for p in params if p.device.type == "cuda"})
    steps: list[tuple[str, FoldEnsemble]] = []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        current = copy.deepcopy(ensemble)
        heads: list[nn.Module] = []
        for net in current.members:
            heads += [net.flag_head, net.meta, net.fusion]
            classifier = net.backbone.get_classifier()
            if isinstance(classifier, nn.Module):
                heads.append(classifier)
        _reinitialise_each(heads)
        steps.append(("head", current))
        n = len(groups)
        for first in range(n, 0, -1):
            current = copy.deepcopy(current)
            tables = [chain_modules(net.backbone) for net in current.members]
            _reinitialise_each([t[name] for t in tables for name in groups[first - 1]])
            span = f"{first}" if first == n else f"{first}-{n}"
            steps.append((f"head+stage{span}", current))
    return steps


def _reinitialise_each(modules: list[nn.Module]) -> None:
    """`reinitialise` every distinct module once (the folds share some)."""
    for module in {id(m): m for m in modules}.values():
        reinitialise(module)


def reinitialise(module: nn.Module) -> None:
    """Reset every parameter and buffer of module that a submodule's `reset_parameters()` owns;
    parameters without one (e.g. a layer-scale vector) are shuffled, which keeps their scale but
    destroys what was learned."""
    covered: set[int] = set()
    for m in module.modules():
        reset = getattr(m, "reset_parameters", None)
        if callable(reset):
            reset()
            covered.update(id(p) for p in m.parameters(recurse=False))
    with torch.no_grad():
        for p in module.parameters():
            if id(p) not in covered:
                p.copy_(p.flatten()[torch.randperm(p.numel(), device=p.device)].view_as(p))


def spearman(a: torch.Tensor | np.ndarray, b: torch.Tensor | np.ndarray) -> float:
    """Spearman rank correlation of two maps of the same shape (H×W).

    Both maps are first average-pooled to at most 56×56 (4×4 blocks at 224 px): pixel-level
    noise, such as a vanilla gradient's speckle, would otherwise dominate the ranks and make
    any two maps look unrelated. Ties get average ranks. A constant map ranks nothing, so the
    correlation is then 0.0 (no agreement) rather than NaN: a map that collapses to a constant
    under randomisation must not read as "unchanged", and averages over photos stay defined.
    """
    if tuple(a.shape) != tuple(b.shape):
        raise ValueError(f"maps of different shapes: {tuple(a.shape)} and {tuple(b.shape)}")
    ranks = [rankdata(pooled(m)) for m in (a, b)]
    if any(r.std() == 0 for r in ranks):
        return 0.0
    return float(np.corrcoef(ranks[0], ranks[1])[0, 1])


def pearson(a: torch.Tensor | np.ndarray, b: torch.Tensor | np.ndarray) -> float:
    """Pearson correlation of two maps of the same shape, pooled as for `spearman` (0.0 when
    one is constant). Where a map is flat, its pixels' ranks stay noise however long the map
    runs, so two estimates of one map are compared by value, not by rank."""
    if tuple(a.shape) != tuple(b.shape):
        raise ValueError(f"maps of different shapes: {tuple(a.shape)} and {tuple(b.shape)}")
    x, y = (pooled(m).ravel() for m in (a, b))
    if x.std() == 0 or y.std() == 0:
        return 0.0
    return float(np.corrcoef(x, y)[0, 1])


def pooled(saliency: torch.Tensor | np.ndarray) -> np.ndarray:
    """A map average-pooled to at most POOLED_SIDE × POOLED_SIDE, flattened, in float64."""
    m = torch.as_tensor(
        np.asarray(saliency.detach().cpu() if isinstance(saliency, torch.Tensor) else saliency),
        dtype=torch.float64,
    )
    side = (min(POOLED_SIDE, m.shape[0]), min(POOLED_SIDE, m.shape[1]))
    return F.adaptive_avg_pool2d(m[None, None], side).flatten().numpy()
