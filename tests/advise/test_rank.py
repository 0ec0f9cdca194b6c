"""One animal's photos ranked: the order, the cover a confirmed gain can win, coin tosses from
the run's out-of-fold residuals, the retake tips, and Model.rank's answer."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from pawpularity.advise.advisor import Advisor
from pawpularity.advise.rank import (
    AUDIT_PERCENTILE,
    COIN_TOSS,
    RankedPhoto,
    order_probability,
    rank_animal,
    settle,
)
from pawpularity.api import Model
from pawpularity.data.images import load_image
from pawpularity.runs.intervals import Calibration
from tests.conftest import PETS

THREE = [PETS / "dog_pug_16.jpg", PETS / "cat_Bengal_16.jpg", PETS / "dog_beagle_10.jpg"]


def calibration(residuals: list[float]) -> Calibration:
    r = np.asarray(residuals, np.float64)
    return Calibration(r, np.zeros(len(r), int), np.sort(30 + r))


def photo(name: str, score: float, best_score: float | None = None) -> RankedPhoto:
    edit = None if best_score is None else "brighter"
    return RankedPhoto(
        name,
        score=score,
        percentile=50.0,
        best_edit=edit,
        best_score=score if best_score is None else best_score,
    )


def test_order_probability_matches_independent_residual_draws() -> None:
    rng = np.random.default_rng(0)
    cal = calibration(list(rng.exponential(8.0, 400)))
    assert order_probability(cal, 0.0) == pytest.approx(0.5)
    n = 400_000
    draws = rng.choice(cal.residuals, (2, n)) * rng.choice([-1.0, 1.0], (2, n))
    for gap in (1.0, 4.0, 12.0):
        simulated = float((gap + draws[0] - draws[1] > 0).mean())
        assert order_probability(cal, gap) == pytest.approx(simulated, abs=0.005)
    assert order_probability(cal, 3.0) < order_probability(cal, 6.0) < order_probability(cal, 60)
    assert order_probability(cal, 200.0) == 1.0


def test_photos_rank_by_score_and_errors_go_last() -> None:
    cal = calibration([5.0] * 50)
    ranking = settle("rex", [photo("b", 30), RankedPhoto("x", error="broken"), photo("a", 60)], cal)
    assert [(p.photo, p.rank) for p in ranking.photos] == [("a", 1), ("b", 2), ("x", None)]
    assert ranking.cover is ranking.photos[0] and ranking.best is ranking.photos[0]
    error = ranking.to_dict()["photos"][2]
    assert error["score"] is None and not error["cover"] and error["error"] == "broken"


def test_an_edit_whose_confirmed_gain_lifts_a_photo_above_the_best_wins_the_cover() -> None:
    cal = calibration([5.0] * 50)
    lifted = settle("rex", [photo("best", 40), photo("second", 38, best_score=42)], cal)
    assert [p.photo for p in lifted.photos] == ["best", "second"]  # ranks keep the scores
    assert lifted.cover is not None and lifted.cover.photo == "second"
    short = settle("rex", [photo("best", 40), photo("second", 38, best_score=39.5)], cal)
    assert short.cover is not None and short.cover.photo == "best"
    tie = settle("rex", [photo("second", 38, best_score=40), photo("best", 40)], cal)
    assert tie.cover is not None and tie.cover.photo == "best"  # a tie stays with the better


def test_neighbours_too_close_to_call_are_a_coin_toss() -> None:
    cal = calibration(list(np.linspace(0, 20, 101)))  # true scores within ±20 of the scores
    ranking = settle("rex", [photo("a", 60), photo("b", 58), photo("c", 10)], cal)
    a, b, c = ranking.photos
    assert a.coin_toss and a.p_order is not None and a.p_order < COIN_TOSS
    assert not b.coin_toss and b.p_order == 1.0
    assert not c.coin_toss and c.p_order is None  # the last has no next photo
    assert [p["coin_toss"] for p in ranking.to_dict()["photos"]] == [True, False, False]


def test_retake_tips_are_those_every_photo_shares() -> None:
    dark = "The photo is too dark"
    first, second = photo("a", 10), photo("b", 8)
    first.retake = {dark: f"{dark} (brightness 9%)", "Human": "A person is in the photo"}
    second.retake = {dark: f"{dark} (brightness 12%)"}
    first.percentile = 10.0
    ranking = settle("rex", [first, second], calibration([5.0] * 50))
    assert ranking.needs_retake
    assert ranking.retake_tips() == [f"{dark} (brightness 9%)"]
    first.percentile = AUDIT_PERCENTILE
    assert not ranking.needs_retake


def test_real_photos_ranked_with_the_tiny_run(tiny_advisor: Advisor) -> None:
    photos: list[tuple[str, Image.Image | str]] = [(p.name, load_image(p)) for p in THREE]
    ranking = rank_animal(tiny_advisor, "rex", [*photos, ("gone.jpg", "file not found")], margin=0)
    entries = ranking.photos
    assert [p.rank for p in entries] == [1, 2, 3, None] and entries[-1].error == "file not found"
    scores = [p.score or 0.0 for p in entries[:3]]
    assert scores == sorted(scores, reverse=True)
    assert sum(p.cover for p in entries) == 1
    for p in entries[:3]:
        assert (p.score_low or 0) <= (p.score or 0) <= (p.score_high or 0)
        assert (p.best_edit is None) == (p.improved is None)
        assert p.coin_toss == (p.p_order is not None and p.p_order < COIN_TOSS)
    improved = [p for p in entries if p.improved is not None]
    assert improved, "margin 0: some edit gains on the tiny run, else nothing is tested"
    assert all(p.improved is not None and p.improved.size[0] > 64 for p in improved)  # full size

    lean = rank_animal(tiny_advisor, "rex", photos, margin=0, cover_only=True)
    kept = [p for p in lean.photos if p.improved is not None]
    assert all(p.cover for p in kept)
    assert [p.best_edit for p in lean.photos] == [p.best_edit for p in entries[:3]]


def test_model_rank_answers_the_serve_contract(tiny_model: Model) -> None:
    answer = tiny_model.rank([("a.jpg", load_image(THREE[0])), ("b.jpg", "not an image")])
    rows = answer.to_dict()["photos"]
    assert list(rows[0]) == [
        *("photo", "rank", "score", "score_low", "score_high", "percentile", "cover"),
        *("best_edit", "best_score", "tips", "top_tip", "coin_toss", "error"),
    ]
    assert [(r["photo"], r["rank"], r["cover"]) for r in rows] == [
        ("a.jpg", 1, True),
        ("b.jpg", None, False),
    ]
    assert rows[0]["top_tip"] == (rows[0]["tips"] or [None])[0]
    assert [p.photo for p in answer.photos] == ["a.jpg", "b.jpg"]
