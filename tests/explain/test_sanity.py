"""Model-randomisation cascade and the rank correlation of maps."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from pawpularity.data.dataset import prepare
from pawpularity.data.images import load_image
from pawpularity.explain.base import Context, Outputs, Target
from pawpularity.explain.gradcam import gradcam
from pawpularity.explain.runtime import EagerScorer
from pawpularity.explain.sanity import cascade, reinitialise, spearman
from pawpularity.models.backbones import gradcam_layer
from pawpularity.models.checkpoint import build_model
from pawpularity.models.config import ModelConfig
from pawpularity.models.ensemble import FoldEnsemble
from pawpularity.models.fusion import PawpularityNet
from tests.conftest import PETS

LABELS = ["head", "head+stage5", "head+stage4-5", "head+stage3-5", "head+stage2-5", "head+stage1-5"]


@pytest.fixture(scope="module")
def net() -> PawpularityNet:
    """ImageNet Lite0 (offline weights) with a fresh head."""
    torch.manual_seed(0)
    return build_model(ModelConfig(image_size=64)).eval()


@pytest.fixture(scope="module")
def steps(net: PawpularityNet) -> list[tuple[str, FoldEnsemble]]:
    return cascade(FoldEnsemble([net]), seed=0)


def claimed(net: PawpularityNet, step: int) -> tuple[str, ...]:
    """State-dict prefixes that cascade step `step` (0 = heads only) claims to re-initialise."""
    classifier = next(n for n, m in net.backbone.named_modules() if m is net.backbone.classifier)
    heads = ("flag_head.", "meta.", "fusion.", f"backbone.{classifier}.")
    stages = [n for group in net.stages()[len(net.stages()) - step :] for n in group]
    return heads + tuple(f"backbone.{n}." for n in stages)


def test_labels_and_count(net: PawpularityNet, steps: list[tuple[str, FoldEnsemble]]) -> None:
    assert len(steps) == 1 + len(net.stages())
    assert [label for label, _ in steps] == LABELS


def test_each_step_changes_what_it_claims_and_nothing_else(
    net: PawpularityNet, steps: list[tuple[str, FoldEnsemble]]
) -> None:
    original = net.state_dict()
    for k, (label, ensemble) in enumerate(steps):
        prefixes = claimed(net, k)
        (randomised,) = ensemble.members
        params = dict(randomised.named_parameters())
        for name, value in randomised.state_dict().items():
            same = torch.equal(value, original[name])
            if not name.startswith(prefixes):
                assert same, f"{label}: {name} changed"
            elif name in params:
                assert not same, f"{label}: {name} kept its trained value"
            elif name.endswith("running_var"):
                assert torch.equal(value, torch.ones_like(value)), f"{label}: {name}"
            elif name.endswith("running_mean"):
                assert torch.equal(value, torch.zeros_like(value)), f"{label}: {name}"


def test_original_untouched_global_rng_untouched_and_reproducible(
    net: PawpularityNet, steps: list[tuple[str, FoldEnsemble]]
) -> None:
    before = {k: v.clone() for k, v in net.state_dict().items()}
    rng = torch.random.get_rng_state()
    again = cascade(FoldEnsemble([net]), seed=0)
    assert torch.equal(torch.random.get_rng_state(), rng)
    assert all(torch.equal(v, before[k]) for k, v in net.state_dict().items())
    for (_, a), (_, b) in zip(steps, again, strict=True):
        assert all(torch.equal(v, b.state_dict()[k]) for k, v in a.state_dict().items())


def test_gradcam_changes_under_randomisation(
    net: PawpularityNet, steps: list[tuple[str, FoldEnsemble]]
) -> None:
    """The ImageNet target of a real photo: Grad-CAM owes its map to the learned weights."""
    x = prepare(load_image(PETS / "cat_chelsea_skimage.png"), 224)[None].float() / 255

    def context(ensemble: FoldEnsemble) -> Context:
        model, first = Outputs(ensemble), ensemble.members[0]
        layer = gradcam_layer(first.config.backbone, first.backbone)
        return Context(model, layer, lambda: EagerScorer(model))

    trained = context(FoldEnsemble([net]))
    with torch.no_grad():
        column = Target.parse("imagenet").column(trained.model(x))
    reference = gradcam(trained, x, column)
    assert spearman(reference, gradcam(trained, x, column)) == pytest.approx(1.0)
    rhos = [spearman(reference, gradcam(context(n), x, column)) for _, n in steps]
    assert all(np.isfinite(rhos))
    assert rhos[-1] < 0.9 and max(rhos) < 0.9


def test_every_fold_is_randomised_and_shared_stages_stay_shared() -> None:
    """Over a 2-fold ensemble each step re-initialises both folds; a module of the stages the
    folds share is one module in every copy."""
    torch.manual_seed(0)
    first = build_model(ModelConfig(image_size=64), pretrained="none")
    second = build_model(ModelConfig(image_size=64), pretrained="none")
    second.backbone.load_state_dict(first.backbone.state_dict())
    with torch.no_grad():
        second.backbone.blocks[6][0].conv_pwl.weight.mul_(2)  # only the last stage differs
    ensemble = FoldEnsemble([first, second])
    assert ensemble.cut > 0
    head, *stages = cascade(ensemble, seed=0)
    for folds in (ensemble, head[1]):
        a, b = folds.members
        assert a.backbone.conv_stem is b.backbone.conv_stem
    for original, randomised in zip(ensemble.members, head[1].members, strict=True):
        assert not torch.equal(original.fusion[0].weight, randomised.fusion[0].weight)
    last = stages[-1][1]
    for original, randomised in zip(ensemble.members, last.members, strict=True):
        assert not torch.equal(
            original.backbone.conv_stem.weight, randomised.backbone.conv_stem.weight
        )


def test_parameters_without_a_reset_are_shuffled() -> None:
    """A layer-scale-like vector has no reset_parameters(): its values are permuted."""
    module = nn.Module()
    module.gamma = nn.Parameter(torch.arange(100.0))
    module.linear = nn.Linear(4, 4)
    linear_before = module.linear.weight.detach().clone()
    reinitialise(module)
    gamma = module.gamma.detach()
    assert not torch.equal(gamma, torch.arange(100.0))
    assert torch.equal(gamma.sort().values, torch.arange(100.0))
    assert not torch.equal(module.linear.weight, linear_before)


def test_spearman_identity_negation_and_constants() -> None:
    m = torch.rand((224, 224), generator=torch.Generator().manual_seed(0))
    assert spearman(m, m) == pytest.approx(1.0)
    assert spearman(m, -m) == pytest.approx(-1.0)
    assert spearman(m.numpy(), m) == pytest.approx(1.0)
    assert spearman(m, torch.zeros(224, 224)) == 0.0
    assert spearman(np.ones((5, 7)), np.ones((5, 7))) == 0.0
    assert isinstance(spearman(m, m), float)
    with pytest.raises(ValueError, match="shapes"):
        spearman(m, m[:100])


def test_spearman_looks_past_pixel_noise() -> None:
    """A smooth map and the same map with strong per-pixel noise rank alike once pooled."""
    g = torch.Generator().manual_seed(0)
    yy, xx = torch.meshgrid(torch.arange(224.0), torch.arange(224.0), indexing="ij")
    smooth = torch.exp(-((yy - 80) ** 2 + (xx - 150) ** 2) / (2 * 40.0**2))
    noisy = smooth + 0.5 * torch.rand((224, 224), generator=g)
    assert spearman(smooth, noisy) > 0.9
    small = smooth[::8, ::5]  # below 56 on both sides, not square: no pooling needed
    assert spearman(small, small.T.T) == pytest.approx(1.0)
