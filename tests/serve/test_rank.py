"""/api/rank and /api/check with the test client: several photos of one animal, ranked, the
improved ones in a zip; the photo-count limit."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

from fastapi.testclient import TestClient
from PIL import Image

from pawpularity.serve.app import MAX_PHOTOS, MAX_UPLOAD, RANK_SIDE
from tests.conftest import PETS
from tests.serve.test_api import _chunks

THREE = [PETS / "dog_pug_16.jpg", PETS / "cat_Bengal_16.jpg", PETS / "dog_beagle_10.jpg"]
Files = list[tuple[str, tuple[str, bytes, str]]]


def uploads(paths: list[Path]) -> Files:
    return [("file", (p.name, p.read_bytes(), "image/jpeg")) for p in paths]


def members(client: TestClient, url: str) -> dict[str, Image.Image]:
    archive = zipfile.ZipFile(io.BytesIO(client.get(url).content))
    return {name: Image.open(io.BytesIO(archive.read(name))) for name in archive.namelist()}


def test_three_photos_come_back_ranked_with_the_cover_marked(client: TestClient) -> None:
    response = client.post("/api/rank?margin=0", files=uploads(THREE))
    assert response.status_code == 200, response.text
    answer = response.json()
    photos = answer["photos"]
    assert sorted(p["photo"] for p in photos) == sorted(p.name for p in THREE)
    assert [p["rank"] for p in photos] == [1, 2, 3]
    assert [p["score"] for p in photos] == sorted((p["score"] for p in photos), reverse=True)
    assert sum(p["cover"] for p in photos) == 1  # the best, or the one an edit lifted above it
    for p in photos:
        assert p["score_low"] <= p["score"] <= p["score_high"] and 0 <= p["percentile"] <= 100
        shown = client.get(p["urls"]["photo"])
        assert shown.status_code == 200 and shown.headers["content-type"] == "image/jpeg"
    assert client.get(answer["urls"]["ranking"]).json()["photos"] == photos
    improved = {f"{p['rank']:02d}-{Path(p['photo']).stem}.jpg" for p in photos if p["best_edit"]}
    assert improved, "margin 0: the tiny model improves no photo, the zip goes untested"
    assert all(("improved" in p["urls"]) == bool(p["best_edit"]) for p in photos)
    zipped = members(client, answer["urls"]["zip"])
    assert set(zipped) == improved
    assert all(im.format == "JPEG" and max(im.size) <= RANK_SIDE for im in zipped.values())


def test_nothing_improved_means_no_zip(client: TestClient) -> None:
    answer = client.post("/api/rank?margin=100", files=uploads(THREE[:2])).json()
    assert answer["urls"]["zip"] is None
    assert not any(p["best_edit"] or "improved" in p["urls"] for p in answer["photos"])


def test_an_unreadable_photo_is_listed_with_its_error(client: TestClient) -> None:
    files = [*uploads(THREE[:2]), ("file", ("notes.jpg", b"not a photo", "image/jpeg"))]
    photos = client.post("/api/rank", files=files).json()["photos"]
    broken = [p for p in photos if p["photo"] == "notes.jpg"]
    assert len(broken) == 1 and "not an image" in broken[0]["error"]
    assert sum(p["cover"] for p in photos) == 1 and not broken[0]["cover"]


def test_photos_of_the_same_name_stay_apart(client: TestClient) -> None:
    files = [("file", ("IMG_0001.jpg", p.read_bytes(), "image/jpeg")) for p in THREE[:2]]
    photos = client.post("/api/rank", files=files).json()["photos"]
    assert sorted(p["photo"] for p in photos) == ["IMG_0001.jpg", "IMG_0001_2.jpg"]
    assert len({p["urls"]["photo"] for p in photos}) == 2


def test_more_photos_than_the_limit_are_refused(client: TestClient) -> None:
    response = client.post("/api/rank", files=uploads([THREE[0]] * (MAX_PHOTOS + 1)))
    assert response.status_code == 413
    assert f"at most {MAX_PHOTOS}" in response.json()["detail"]


def test_a_body_over_the_photos_limit_is_refused(client: TestClient) -> None:
    headers = {"content-type": "multipart/form-data; boundary=x"}
    body = _chunks(MAX_PHOTOS * (MAX_UPLOAD + 2**20))  # streamed: no declared length
    response = client.post("/api/rank", content=body, headers=headers)
    assert response.status_code == 413 and "fewer or smaller photos" in response.json()["detail"]
