"""RISE on hand-made scorers whose answer is known: the brightness of one square."""

from __future__ import annotations

from typing import Any

import pytest
import torch
import torch.nn.functional as F

from pawpularity.errors import ConfigError
from pawpularity.explain.base import Context, Scorer
from pawpularity.explain.methods import Rise, parse_rise_masks
from pawpularity.explain.rise import AGREEMENT, AUTO_CAP, AUTO_STEP, Masks, P
from pawpularity.explain.sanity import pearson

S = 64
ROWS, COLS = slice(12, 28), slice(36, 52)  # the square the hand-made score looks at


def square_brightness(pixels: torch.Tensor) -> torch.Tensor:
    """B×2: column 1 is the mean brightness of the square, column 0 a distraction (the rest)."""
    inside = pixels[:, :, ROWS, COLS].mean(dim=(1, 2, 3))
    return torch.stack([pixels.mean(dim=(1, 2, 3)) - inside, inside], dim=1)


def context(scorer: Scorer, seed: int = 0) -> Context:
    # RISE reads only the scorer, so no model is needed.
    return Context(None, "", lambda: scorer, seed=seed)


def rise(
    ctx: Context, photo: torch.Tensor, column: int, masks: int, batch: int = 32
) -> torch.Tensor:
    return Rise(masks=masks, batch=batch)(ctx, photo, column)


@pytest.fixture(scope="module")
def photo() -> torch.Tensor:
    return torch.rand((1, 3, S, S), generator=torch.Generator().manual_seed(0))


def inside(a: torch.Tensor) -> torch.Tensor:
    return a[ROWS, COLS]


def outside(a: torch.Tensor) -> torch.Tensor:
    keep = torch.ones_like(a, dtype=torch.bool)
    keep[ROWS, COLS] = False
    return a[keep]


def test_same_seed_same_map_other_seed_other_map(photo: torch.Tensor) -> None:
    first = rise(context(square_brightness, seed=3), photo, 1, 200)
    again = rise(context(square_brightness, seed=3), photo, 1, 200)
    other = rise(context(square_brightness, seed=4), photo, 1, 200)
    assert first.shape == (S, S) and first.dtype == torch.float32
    assert torch.equal(first, again)
    assert not torch.allclose(first, other)


def test_peaks_inside_the_square(photo: torch.Tensor) -> None:
    saliency = rise(context(square_brightness), photo, 1, 2000)
    row, col = divmod(int(saliency.argmax()), S)
    assert ROWS.start <= row < ROWS.stop and COLS.start <= col < COLS.stop
    assert inside(saliency).mean() > 5 * outside(saliency).abs().mean()


def test_reads_the_requested_column(photo: torch.Tensor) -> None:
    # Column 0 falls when the square gets brighter relative to the rest: the square is cold.
    saliency = rise(context(square_brightness), photo, 0, 2000)
    assert inside(saliency).mean() < 0 < outside(saliency).mean()


def uncentred(photo: torch.Tensor, n: int, seed: int) -> tuple[torch.Tensor, float]:
    """The paper's raw estimator Σ y_i m_i / (N p) with the same masks, and the mean score."""
    total, scores = torch.zeros(S * S), []
    for m in Masks(n, S, Rise.grid, seed=seed).batches(256):
        y = square_brightness(photo * m)[:, 1]
        total += y @ m.reshape(len(m), -1)
        scores.append(y)
    return (total / (n * P)).reshape(S, S), float(torch.cat(scores).mean())


def test_centring_keeps_the_expected_map_and_cuts_its_variance(photo: torch.Tensor) -> None:
    # Same expectation up to the constant E[y]: compare with a long independent raw run.
    reference, mean_score = uncentred(photo, 10_000, seed=1)
    centred = rise(context(square_brightness, seed=2), photo, 1, 10_000, batch=256)
    gap = centred - (reference - mean_score)
    assert gap.norm() < 0.3 * (reference - reference.mean()).norm()  # measured: 0.14
    assert gap.mean().abs() < 0.05 * (reference.max() - reference.min())
    # Far less variance: two short centred runs agree much better than two short raw ones.
    raw_gap = (uncentred(photo, 300, seed=3)[0] - uncentred(photo, 300, seed=4)[0]).std()
    centred_gap = (
        rise(context(square_brightness, seed=3), photo, 1, 300)
        - rise(context(square_brightness, seed=4), photo, 1, 300)
    ).std()
    assert centred_gap < raw_gap / 2


def test_channels_last_input_gives_the_same_map(photo: torch.Tensor) -> None:
    ctx = context(square_brightness)
    channels_last = photo.contiguous(memory_format=torch.channels_last)
    assert torch.allclose(rise(ctx, photo, 1, 100), rise(ctx, channels_last, 1, 100), atol=1e-6)


def test_many_masks_stream_in_bounded_batches(
    photo: torch.Tensor, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[int] = []
    biggest = [0]
    interpolate = F.interpolate

    def scorer(pixels: torch.Tensor) -> torch.Tensor:
        seen.append(len(pixels))
        return square_brightness(pixels)

    def watched(*args: Any, **kwargs: Any) -> torch.Tensor:
        out = interpolate(*args, **kwargs)
        biggest[0] = max(biggest[0], out.numel())
        return out

    monkeypatch.setattr(F, "interpolate", watched)
    saliency = rise(context(scorer), photo, 1, 4000, batch=32)
    assert sum(seen) == 4000 and max(seen) <= 32
    up = 8 * 10  # (grid + 1) · ceil(64 / 7)
    assert 0 < biggest[0] <= 32 * up * up  # never N×S×S (4000·64·64)
    assert torch.isfinite(saliency).all()


def test_masks_follow_the_recipe() -> None:
    masks = Masks(64, S, grid=4, seed=0)
    (batch,) = list(masks.batches(64))
    assert batch.shape == (64, 1, S, S)
    assert batch.min() >= 0 and batch.max() <= 1
    assert abs(float(batch.mean()) - P) < 0.1
    assert masks.grids.shape == (64, 1, 4, 4)  # all that is held for all N masks


@pytest.mark.parametrize("masks", [1, "many", 2.5])
def test_a_mask_count_that_cannot_work_is_a_config_error(masks: Any) -> None:
    with pytest.raises(ConfigError, match="--rise-masks must be auto or a count ≥ 2"):
        Rise(masks=masks)
    with pytest.raises(ConfigError, match="--rise-masks must be auto"):
        parse_rise_masks("lots")
    assert parse_rise_masks(" Auto ") == "auto" and parse_rise_masks("64") == 64


def exact(photo: torch.Tensor, n: int, seed: int, keep: slice = slice(None)) -> torch.Tensor:
    """Σ (y_i − ȳ) m_i / (N p) over the masks `keep` picks (all, or every other one)."""
    masks = torch.cat(list(Masks(n, S, Rise.grid, seed=seed).batches(256)))[keep]
    y = square_brightness(photo * masks)[:, 1].double()
    flat = masks.reshape(len(masks), -1).double()
    return ((y - y.mean()) @ flat / (len(masks) * P)).float().reshape(S, S)


def test_the_map_and_its_two_halves_are_the_centred_sums(photo: torch.Tensor) -> None:
    saliency, notes = Rise(masks=300).explain(context(square_brightness, seed=5), photo, 1)
    assert torch.allclose(saliency, exact(photo, 300, 5), atol=1e-5)
    halves = [exact(photo, 300, 5, slice(h, None, 2)) for h in (0, 1)]
    assert notes["masks"] == 300 and notes["split_half"] == pytest.approx(pearson(*halves))


def test_split_half_agreement_grows_with_masks_and_says_when_converged(
    photo: torch.Tensor,
) -> None:
    few = Rise(masks=40).explain(context(square_brightness), photo, 1)[1]  # measured r 0.49
    many = Rise(masks=2000, batch=256).explain(context(square_brightness), photo, 1)[1]  # 0.98
    assert few["split_half"] < AGREEMENT <= many["split_half"]
    assert few["converged"] is False and many["converged"] is True


def noisy(pixels: torch.Tensor) -> torch.Tensor:
    """The square's brightness under score noise: maps need more masks to settle."""
    g = torch.Generator().manual_seed(int(pixels.sum() * 1e6) % 2**31)
    return square_brightness(pixels) + 0.2 * torch.randn((len(pixels), 2), generator=g)


def test_auto_adds_masks_until_the_halves_agree(photo: torch.Tensor) -> None:
    clean = Rise(masks="auto", batch=100).explain(context(square_brightness), photo, 1)[1]  # 0.91
    hard = Rise(masks="auto", batch=100).explain(context(noisy), photo, 1)[1]
    assert clean["converged"] and clean["masks"] == AUTO_STEP  # one round is enough
    assert hard["masks"] > clean["masks"] and hard["masks"] % AUTO_STEP == 0
    assert hard["converged"] == (hard["split_half"] >= AGREEMENT)
    assert hard["converged"] or hard["masks"] == AUTO_CAP
