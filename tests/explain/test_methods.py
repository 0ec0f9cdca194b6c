"""Gradient methods against the reference libraries, on every backbone family and target."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from captum.attr import Saliency
from pytorch_grad_cam import GradCAM, GradCAMPlusPlus

from pawpularity.data.dataset import load_prepared
from pawpularity.errors import ConfigError
from pawpularity.explain.base import (
    FLAG_COLUMNS,
    IMAGENET_OFFSET,
    PET_CLASSES,
    PET_COLUMN,
    SCORE_COLUMN,
    Context,
    Outputs,
    Target,
    target_value,
)
from pawpularity.explain.explainer import Explainer
from pawpularity.explain.gradcam import gradcam
from pawpularity.explain.gradcampp import gradcampp
from pawpularity.explain.methods import METHODS, Rise, SmoothGrad, build, create, parse_methods
from pawpularity.explain.runtime import EagerScorer
from pawpularity.explain.vanilla import vanilla
from pawpularity.models.backbones import REGISTRY, BackboneSpec, gradcam_layer
from pawpularity.models.checkpoint import build_model
from pawpularity.models.config import ModelConfig
from pawpularity.models.ensemble import FoldEnsemble
from tests.conftest import PETS


def context(backbone: str = "tf_efficientnet_lite0", size: int = 224, **kw: object) -> Context:
    torch.manual_seed(0)
    net = build_model(ModelConfig(backbone=backbone, image_size=size), **kw)  # type: ignore[arg-type]
    model = Outputs(FoldEnsemble([net]))
    layer = gradcam_layer(backbone, net.backbone)
    return Context(model, layer, lambda: EagerScorer(model))


@pytest.fixture(scope="module")
def ctx() -> Context:
    return context()  # ImageNet Lite0 (offline weights) with seeded heads


@pytest.fixture(scope="module")
def photo() -> torch.Tensor:
    return load_prepared(PETS / "dog_beagle_10.jpg", 224)[None].float() / 255


class Column(torch.nn.Module):
    """The reference libraries' view of our model: one output per photo."""

    def __init__(self, model: Outputs, column: int) -> None:
        super().__init__()
        self.model, self.column = model, column

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)[:, self.column]


def normalised(a: np.ndarray) -> np.ndarray:
    a = a - a.min()
    return a / (a.max() + 1e-7)


@pytest.mark.parametrize("column", [SCORE_COLUMN, FLAG_COLUMNS[2], IMAGENET_OFFSET + 207])
def test_vanilla_equals_captum_saliency(ctx: Context, photo: torch.Tensor, column: int) -> None:
    reference = Saliency(Column(ctx.model, column)).attribute(photo.clone(), abs=True)
    ours = vanilla(ctx, photo, column)
    assert ours.shape == photo.shape[-2:]
    assert torch.allclose(ours, reference.amax(dim=1)[0], atol=1e-6)


@pytest.mark.parametrize(("ours", "theirs"), [(gradcam, GradCAM), (gradcampp, GradCAMPlusPlus)])
def test_gradcam_equals_pytorch_grad_cam(
    ctx: Context, photo: torch.Tensor, ours: object, theirs: type
) -> None:
    assert ctx.model is not None
    (layer,) = ctx.model.ensemble.layer_modules(ctx.layer)
    with theirs(model=Column(ctx.model, SCORE_COLUMN), target_layers=[layer]) as cam:
        reference = cam(input_tensor=photo, targets=[lambda o: o])[0]
    mine = ours(ctx, photo, SCORE_COLUMN).numpy()  # type: ignore[operator]
    assert np.allclose(normalised(mine), reference, atol=1e-4)


def test_channels_last_gives_the_same_maps(ctx: Context, photo: torch.Tensor) -> None:
    plain = [vanilla(ctx, photo, 0), gradcam(ctx, photo, 0)]
    fast = context()
    fast.model.to(memory_format=torch.channels_last)
    x = photo.contiguous(memory_format=torch.channels_last)
    for a, b in zip(plain, [vanilla(fast, x, 0), gradcam(fast, x, 0)], strict=True):
        # oneDNN picks other kernels for channels_last (and per CPU): float rounding differs,
        # so the bound is relative to the map's peak; a mixed-up axis errs by the peak itself.
        torch.testing.assert_close(b, a, rtol=1e-3, atol=1e-3 * float(a.abs().max()))


def test_smoothgrad_is_seeded_and_smoother(ctx: Context, photo: torch.Tensor) -> None:
    smoothgrad = SmoothGrad(n=8)
    a, b = smoothgrad(ctx, photo, 0), smoothgrad(ctx, photo, 0)
    assert torch.equal(a, b)
    tv = lambda m: float((m[1:] - m[:-1]).abs().mean() / m.mean())  # noqa: E731
    assert tv(a) < tv(vanilla(ctx, photo, 0))


@pytest.mark.parametrize("backbone", ["resnet50", "vgg16_bn", "densenet121", "efficientnet_b0"])
def test_every_method_runs_on_every_family(backbone: str) -> None:
    ctx = context(backbone, size=64, pretrained="none")
    x = torch.rand(1, 3, 64, 64)
    for method in build(tuple(METHODS), SmoothGrad(n=2), Rise(masks=64)):
        name = method.name
        m = method(ctx, x, SCORE_COLUMN)
        assert m.shape == (64, 64) and torch.isfinite(m).all(), name


def test_targets_parse_and_pick_columns(ctx: Context, photo: torch.Tensor) -> None:
    outputs = ctx.scorer(photo)
    assert Target.parse("score").column(outputs) == SCORE_COLUMN
    assert Target.parse("flag:Eyes").column(outputs) == FLAG_COLUMNS[1]
    top = Target.parse("imagenet").column(outputs)
    assert top == IMAGENET_OFFSET + int(outputs[0, IMAGENET_OFFSET:PET_COLUMN].argmax())
    assert Target.parse("pet").column(outputs) == PET_COLUMN


def test_pet_target_is_the_cat_and_dog_probability(ctx: Context, photo: torch.Tensor) -> None:
    """The shipped photos are cats and dogs: most of ImageNet's probability is on those classes."""
    outputs = ctx.scorer(photo)
    probs = torch.softmax(outputs[:, IMAGENET_OFFSET:PET_COLUMN], dim=1)[0]
    pet = target_value(outputs, PET_COLUMN)
    assert torch.allclose(pet, probs[PET_CLASSES].sum(), atol=1e-5)
    assert pet.item() > 0.5
    for bad in ("flag:Tail", "scores", "imagenet:3", "flag"):
        with pytest.raises(ConfigError):
            Target.parse(bad)
    assert parse_methods("gradcam, rise,gradcam") == ("gradcam", "rise")
    with pytest.raises(ConfigError, match="unknown method"):
        parse_methods("gradcam,lime")
    assert create("rise", masks=9) == Rise(masks=9)
    with pytest.raises(ConfigError, match="no parameter sigma"):
        create("rise", sigma=1.0)


def vit_reshape(tensor: torch.Tensor, height: int = 14, width: int = 14) -> torch.Tensor:
    """pytorch-grad-cam's documented reshape_transform for a ViT (class token dropped)."""
    result = tensor[:, 1:, :].reshape(tensor.size(0), height, width, tensor.size(2))
    return result.transpose(2, 3).transpose(1, 2)


def swin_reshape(tensor: torch.Tensor, height: int = 7, width: int = 7) -> torch.Tensor:
    """pytorch-grad-cam's documented reshape_transform for a Swin (its stages are B×h×w×C)."""
    result = tensor.reshape(tensor.size(0), height, width, tensor.size(-1))
    return result.transpose(2, 3).transpose(1, 2)


@pytest.mark.parametrize(
    ("backbone", "reshape"),
    [("vit_tiny_patch16_224", vit_reshape), ("swin_tiny_patch4_window7_224", swin_reshape)],
)
def test_transformer_gradcam_equals_pytorch_grad_cam(backbone: str, reshape: object) -> None:
    ctx = context(backbone, pretrained="none")
    assert ctx.model is not None
    x = torch.rand(1, 3, 224, 224, generator=torch.Generator().manual_seed(0))
    (layer,) = ctx.model.ensemble.layer_modules(ctx.layer)
    for ours, theirs in [(gradcam, GradCAM), (gradcampp, GradCAMPlusPlus)]:
        with theirs(
            model=Column(ctx.model, SCORE_COLUMN), target_layers=[layer], reshape_transform=reshape
        ) as cam:
            reference = cam(input_tensor=x, targets=[lambda o: o])[0]
        assert reference.std() > 0.05
        mine = ours(ctx, x, SCORE_COLUMN).numpy()
        assert np.allclose(normalised(mine), reference, atol=1e-4)


def test_a_layer_grad_cam_cannot_read_is_one_error_naming_the_methods_that_can(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ctx = context("vit_tiny_patch16_224", pretrained="none")
    spec = BackboneSpec("vit_tiny_patch16_224", "blocks.11.norm1", layout="nchw")
    monkeypatch.setitem(REGISTRY, spec.name, spec)
    assert ctx.model is not None
    explainer = Explainer(ctx.model, runtime="eager")
    with pytest.raises(ConfigError, match="use vanilla, smoothgrad, rise") as e:
        explainer.map("gradcam", torch.rand(1, 3, 224, 224), SCORE_COLUMN)
    assert "\n" not in str(e.value)
