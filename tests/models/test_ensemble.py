"""Fold ensembles: the stages the folds share run once, and the numbers stay each fold's own."""

from __future__ import annotations

import torch

from pawpularity.models.checkpoint import build_model
from pawpularity.models.config import ModelConfig
from pawpularity.models.ensemble import FoldEnsemble, shared_prefix
from pawpularity.models.fusion import PawpularityNet


def folds(k: int, differ_from: str | None) -> list[PawpularityNet]:
    """k random-weight Lite0 models at 64 px, identical up to the stage `differ_from` (whose
    weights, and the heads', differ per fold); None: nothing in common."""
    nets = []
    for i in range(k):
        torch.manual_seed(i)
        nets.append(build_model(ModelConfig(image_size=64), pretrained="none").eval())
    if differ_from is not None:
        chain = nets[0].chain()
        keep = chain[: chain.index(differ_from)]
        for net in nets[1:]:
            modules, first = (
                dict(net.backbone.named_modules()),
                dict(nets[0].backbone.named_modules()),
            )
            for name in keep:
                modules[name].load_state_dict(first[name].state_dict())
    return nets


def test_shared_stages_are_found_run_once_and_change_no_number() -> None:
    nets = folds(3, "blocks.2")
    x = torch.rand(4, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    flags = torch.full((4, 12), float("nan"))
    with torch.no_grad():
        alone = [net(x, flags) for net in nets]
        ensemble = FoldEnsemble(nets)
        scores, logits = ensemble(x, flags)
    assert ensemble.cut == nets[0].chain().index("blocks.2")
    assert scores.shape == (4, 3) and logits.shape == (4, 3, 12)
    for k, (score, flag_logits) in enumerate(alone):
        assert torch.allclose(scores[:, k], score, atol=1e-4)
        assert torch.allclose(logits[:, k], flag_logits, atol=1e-5)
    stems = {id(net.backbone.conv_stem) for net in ensemble.members}
    tails = {id(net.backbone.blocks[2]) for net in ensemble.members}
    assert len(stems) == 1 and len(tails) == 3  # one copy of the prefix, a tail per fold
    calls: list[int] = []
    ensemble.members[0].backbone.conv_stem.register_forward_hook(lambda *a: calls.append(1))
    with torch.no_grad():
        ensemble(x, flags)
    assert calls == [1]


def test_folds_without_shared_weights_run_whole() -> None:
    nets = folds(2, None)
    assert shared_prefix(nets) == 0 and shared_prefix(nets[:1]) == 0
    x = torch.rand(2, 3, 64, 64)
    with torch.no_grad():
        scores, _ = FoldEnsemble(nets)(x)
        assert torch.allclose(scores[:, 1], nets[1](x)[0], atol=1e-4)
