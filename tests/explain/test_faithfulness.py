"""Deletion and insertion AUC on models whose answer is known."""

from __future__ import annotations

import pytest
import torch

from pawpularity.explain.faithfulness import blur, blurred_map, deletion_insertion, random_map
from pawpularity.explain.photos import _beats, _verdict

S = 64
SQUARE = (slice(16, 32), slice(24, 40))  # rows, columns


def square_score(pixels: torch.Tensor) -> torch.Tensor:
    """A scorer: column 0 is the mean brightness of SQUARE (B×1)."""
    return pixels[:, :, SQUARE[0], SQUARE[1]].mean(dim=(1, 2, 3))[:, None]


def photo() -> torch.Tensor:
    """Dim noise with a bright square where the score looks."""
    g = torch.Generator().manual_seed(0)
    x = 0.1 + 0.1 * torch.rand((1, 3, S, S), generator=g)
    x[:, :, SQUARE[0], SQUARE[1]] = 0.8 + 0.2 * torch.rand((1, 3, 16, 16), generator=g)
    return x


def on_square() -> torch.Tensor:
    m = torch.zeros(S, S)
    m[SQUARE] = 1.0
    return m


def test_a_map_on_the_evidence_beats_random_and_inverted_maps() -> None:
    x, good = photo(), on_square()
    rand = torch.rand((S, S), generator=torch.Generator().manual_seed(1))
    del_good, ins_good = deletion_insertion(square_score, x, good, 0)
    del_rand, ins_rand = deletion_insertion(square_score, x, rand, 0)
    del_inv, ins_inv = deletion_insertion(square_score, x, -good, 0)
    assert del_good < ins_good
    assert del_good < del_rand and del_good < del_inv
    assert ins_good > ins_rand and ins_good > ins_inv
    for auc in (del_good, ins_good, del_rand, ins_rand, del_inv, ins_inv):
        assert isinstance(auc, float)
        assert 0.0 <= auc <= 1.5
    # The square is 1/16 of the image: deleting it first ends the score at 6 % of the way.
    assert del_good < 0.05 and ins_good > 0.9


def test_exact_curves_on_a_linear_model() -> None:
    """Score = mean brightness of a white image: deletion falls linearly (AUC ½); the blurred
    start of insertion is the same white image (AUC 1)."""
    x = torch.ones(1, 3, 32, 32)
    rand = torch.rand((32, 32), generator=torch.Generator().manual_seed(0))
    d, i = deletion_insertion(lambda p: p.mean(dim=(1, 2, 3))[:, None], x, rand, 0, steps=32)
    assert d == pytest.approx(0.5, abs=1e-6)
    assert i == pytest.approx(1.0, abs=1e-6)


def test_curves_are_normalised_by_the_unmasked_score() -> None:
    x, m = photo(), torch.rand((S, S), generator=torch.Generator().manual_seed(2))
    plain = deletion_insertion(square_score, x, m, 0)
    scaled = deletion_insertion(lambda p: 37.0 * square_score(p), x, m, 0)
    assert scaled == pytest.approx(plain, rel=1e-6)


def test_one_batched_call_and_deterministic_ties() -> None:
    calls: list[int] = []

    def counting(pixels: torch.Tensor) -> torch.Tensor:
        calls.append(len(pixels))
        return square_score(pixels)

    x, flat = photo(), torch.zeros(S, S)  # all ties: row-major order
    first = deletion_insertion(counting, x, flat, 0, steps=8)
    assert calls == [2 * 9]
    assert deletion_insertion(counting, x, flat, 0, steps=8) == first


def test_flag_column_reads_a_probability() -> None:
    """Column 1 is a flag logit: its sigmoid is what the curve follows."""
    x, good = photo(), on_square()

    def logits(pixels: torch.Tensor) -> torch.Tensor:
        return torch.cat([torch.zeros(len(pixels), 1), 8 * square_score(pixels) - 4], dim=1)

    d, i = deletion_insertion(logits, x, good, 1)
    assert 0 < d < i <= 1.5


def test_a_map_of_the_wrong_size_is_refused() -> None:
    with pytest.raises(ValueError, match="map"):
        deletion_insertion(square_score, photo(), torch.zeros(S, S + 1), 0)


def test_blur_keeps_constants_and_smooths_edges() -> None:
    flat = torch.full((1, 3, 20, 20), 0.3)
    assert torch.allclose(blur(flat, 3.0), flat)
    step = torch.zeros(1, 1, 20, 20)
    step[..., 10:] = 1.0
    out = blur(step, 2.0)
    assert out.shape == step.shape
    assert 0.3 < float(out[0, 0, 5, 10]) < 0.7  # the edge is now grey
    assert float(out[0, 0, 5, 0]) < 0.01 and float(out[0, 0, 5, 19]) > 0.99


def test_the_random_baseline_is_seeded_and_the_blurred_one_keeps_the_evidence_in_place() -> None:
    assert torch.equal(random_map((S, S), 3), random_map((S, S), 3))
    assert not torch.equal(random_map((S, S), 3), random_map((S, S), 4))
    soft = blurred_map(on_square())
    assert soft.shape == (S, S) and float(soft.sum()) == pytest.approx(256, rel=0.02)
    assert soft[SQUARE].mean() > 2 * soft.mean() and (soft[SQUARE] < 1).all()  # spread out
    del_rand, ins_rand = deletion_insertion(square_score, photo(), random_map((S, S), 0), 0)
    del_good, ins_good = deletion_insertion(square_score, photo(), on_square(), 0)
    assert del_good < del_rand - 0.3 and ins_good > ins_rand + 0.05  # blurred start: ins 0.87


def test_the_verdict_says_by_how_much_a_method_beats_the_random_map() -> None:
    def mean(deletion: float, insertion: float) -> dict[str, object]:
        chance = {"deletion_auc": 0.5, "insertion_auc": 0.6}
        return {"deletion_auc": deletion, "insertion_auc": insertion, "random": chance}

    assert _beats(mean(0.3, 0.9)) == pytest.approx({"deletion": 0.2, "insertion": 0.3})
    assert "beats the random map on both curves (deletion 0.200 lower, insertion 0.300 higher" in (
        _verdict(_beats(mean(0.3, 0.9)))
    )
    assert _verdict(_beats(mean(0.3, 0.5))).startswith("beats the random map on one curve only")
    assert _verdict(_beats(mean(0.6, 0.5))).startswith("does not beat the random map")
