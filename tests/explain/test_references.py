"""SmoothGrad against Captum's NoiseTunnel, Grad-CAM against pytorch-grad-cam on every CNN family:
random weights at a small input size (the maps' arithmetic is checked, not what they show)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from captum.attr import NoiseTunnel, Saliency
from pytorch_grad_cam import GradCAM

from pawpularity.data.dataset import load_prepared
from pawpularity.explain.base import FLAG_COLUMNS, IMAGENET_OFFSET, SCORE_COLUMN, Context
from pawpularity.explain.gradcam import gradcam
from pawpularity.explain.methods import SmoothGrad
from tests.conftest import PETS
from tests.explain.test_methods import Column, context

FAMILIES = ["resnet50", "vgg16_bn", "densenet121", "efficientnet_b0"]
SIZE = 96  # the Grad-CAM layers' maps are 3×3 (2×2 at 64 px: only corners, no middle)


def photo(size: int) -> torch.Tensor:
    """A shipped photo as the explainer feeds it: 1×3×S×S in [0, 1], channels_last."""
    x = load_prepared(PETS / "dog_beagle_10.jpg", size)[None].float() / 255
    return x.contiguous(memory_format=torch.channels_last)


def fast(ctx: Context) -> Context:
    """The context's model in channels_last, as the explainer runs the gradient methods."""
    assert ctx.model is not None
    ctx.model.to(memory_format=torch.channels_last)
    return ctx


@pytest.mark.filterwarnings("ignore:Input Tensor 0 did not already require gradients")
@pytest.mark.parametrize(("n", "batch"), [(6, 6), (6, 4)])
def test_smoothgrad_equals_captum_noise_tunnel(n: int, batch: int) -> None:
    """The same noise (σ in units of the [0, 1] pixels, drawn from the seed), |gradient| per
    copy, the mean over copies, then the maximum over colours: equal to Captum's
    NoiseTunnel(Saliency) with nt_type="smoothgrad" fed from the same seed, batches included."""
    ctx = fast(context(size=64, pretrained="none"))
    assert ctx.model is not None
    x, method = photo(64), SmoothGrad(n=n, sigma=0.15, batch=batch)
    ours = method(ctx, x, SCORE_COLUMN)
    torch.manual_seed(ctx.seed)  # Captum draws its noise from the global generator
    theirs = NoiseTunnel(Saliency(Column(ctx.model, SCORE_COLUMN))).attribute(
        x.clone(),
        nt_type="smoothgrad",
        nt_samples=n,
        nt_samples_batch_size=batch,
        stdevs=method.sigma,
        abs=True,
    )
    reference = theirs.amax(dim=1)[0]
    assert ours.shape == x.shape[-2:]
    torch.testing.assert_close(ours, reference, rtol=1e-4, atol=1e-4 * float(reference.max()))
    # The noise matters: the noiseless map (plain |gradient|) is far from both.
    plain = Saliency(Column(ctx.model, SCORE_COLUMN)).attribute(x.clone(), abs=True).amax(dim=1)
    assert float((plain[0] - reference).abs().max()) > 0.1 * float(reference.max())


def same_up_to_scale(mine: np.ndarray, reference: np.ndarray) -> bool:
    """Whether our map is pytorch-grad-cam's up to a positive scale and offset. It min-max
    normalises the layer's map before resizing it and adds 1e-7 to the range: exact up to an
    affine map (resizing commutes with it), but not after normalising ours, whose maxima between
    the layer's cells are lower, and whose range random weights can make as small as 1e-6."""
    if reference.std() == 0:  # every channel's weight points against the target: no map
        return float(np.ptp(mine)) == 0
    design = np.stack([reference.ravel(), np.ones(reference.size)], axis=1).astype(np.float64)
    (scale, offset), *_ = np.linalg.lstsq(design, mine.ravel().astype(np.float64), rcond=None)
    residual = mine.ravel() - design @ np.array([scale, offset])
    return bool(scale > 0 and np.abs(residual).max() <= 1e-4 * np.ptp(mine))


@pytest.mark.parametrize("backbone", FAMILIES)
def test_gradcam_equals_pytorch_grad_cam_on_every_family(backbone: str) -> None:
    """Our Grad-CAM on the registry's layer of each CNN family is pytorch-grad-cam's GradCAM on
    the same layer (both channels_last), for the score, a flag and an ImageNet class; random
    weights leave some of those maps empty, never all."""
    ctx = fast(context(backbone, size=SIZE, pretrained="none"))
    assert ctx.model is not None
    x = photo(SIZE)
    (layer,) = ctx.model.ensemble.layer_modules(ctx.layer)
    drawn = 0
    for column in (SCORE_COLUMN, FLAG_COLUMNS[2], IMAGENET_OFFSET + 207):
        with GradCAM(model=Column(ctx.model, column), target_layers=[layer]) as cam:
            reference = cam(input_tensor=x, targets=[lambda o: o])[0]
        mine = gradcam(ctx, x, column).numpy()
        assert mine.shape == reference.shape == (SIZE, SIZE)
        assert same_up_to_scale(mine, reference), (backbone, column)
        drawn += bool(reference.std() > 0.05)
    assert drawn >= 1  # not only empty maps
