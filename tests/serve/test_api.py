"""The REST API with FastAPI's test client: answers, hostile input, concurrency."""

from __future__ import annotations

import base64
import io
import math
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from pawpularity.data.schema import FLAG_WORDS, FLAGS
from pawpularity.explain.draw import fitted
from pawpularity.runs.config import DEMO_WARNING
from pawpularity.serve import app as serve_app
from pawpularity.serve.app import DISPLAY_SIDE, LIKELY, MAX_PHOTOS, MAX_UPLOAD
from tests.conftest import PETS
from tests.serve.conftest import png_bomb

PHOTO = PETS / "dog_pug_16.jpg"


def upload(path: Path = PHOTO) -> dict[str, tuple[str, bytes, str]]:
    return {"file": (path.name, path.read_bytes(), "image/jpeg")}


def decoded(url: str) -> Image.Image:
    head, data = url.split(",", 1)
    assert head == "data:image/jpeg;base64"
    return Image.open(io.BytesIO(base64.b64decode(data)))


def test_health_page_and_docs(client: TestClient) -> None:
    health = client.get("/health").json()
    assert health["status"] == "ok" and health["warning"] == DEMO_WARNING  # the tiny demo run
    assert health["model"] == "net" and health["run"]  # a run scores: the page shows scores
    assert (health["max_photos"], health["max_upload"]) == (MAX_PHOTOS, MAX_UPLOAD)
    page = client.get("/")
    assert page.status_code == 200 and 'type="file"' in page.text
    assert client.get("/static/app.js").status_code == 200
    assert client.get("/docs").status_code == 200
    paths = client.get("/openapi.json").json()["paths"]
    endpoints = {"/api/check", "/api/score", "/api/explain", "/api/advise", "/api/rank"}
    assert {"/health", *endpoints} <= set(paths)


def test_the_favicon_is_served_and_linked(client: TestClient) -> None:
    for path in ("/favicon.ico", "/static/favicon.svg"):
        icon = client.get(path)
        assert icon.status_code == 200 and icon.headers["content-type"].startswith("image/svg")
        assert icon.text.startswith("<svg")
    assert 'rel="icon" href="/static/favicon.svg"' in client.get("/").text


def test_score(client: TestClient) -> None:
    answer = client.post("/api/score", files=upload()).json()
    assert math.isfinite(answer["score"])
    assert set(answer["flags"]) == set(FLAGS)
    likely = {f for f, p in answer["flags"].items() if p >= LIKELY}
    assert likely, "the tiny model sees no flag: the plain words go untested"
    assert {s["flag"] for s in answer["seen"]} == likely
    assert all(s["words"] == FLAG_WORDS[s["flag"]] for s in answer["seen"])
    assert answer["score_low"] < answer["score"] < answer["score_high"]
    assert answer["interval"] == 0.8 and 0 <= answer["percentile"] <= 100


def test_explain_returns_the_maps_as_images(client: TestClient) -> None:
    response = client.post("/api/explain?methods=gradcam,vanilla", files=upload())
    assert response.status_code == 200, response.text
    answer = response.json()
    assert set(answer["maps"]) == {"gradcam", "vanilla"}
    # a vanilla gradient is never constant; each map says whether it is empty
    assert answer["empty"]["vanilla"] is False and isinstance(answer["empty"]["gradcam"], bool)
    assert answer["notes"] == {"gradcam": {}, "vanilla": {}}  # only RISE measures its settling
    photo = decoded(answer["photo"])
    assert photo.size == (500, 375)  # the photo's own size: at most DISPLAY_SIDE, never enlarged
    for url in answer["maps"].values():
        assert decoded(url).size == photo.size


def test_advise_serves_its_files(client: TestClient) -> None:
    response = client.post("/api/advise?margin=0", files=upload())
    assert response.status_code == 200, response.text
    answer = response.json()
    assert {"score", "best_score", "best_edit", "tips", "edits", "flags"} <= set(answer)
    best = client.get(answer["urls"]["best"])
    assert best.status_code == 200 and best.headers["content-type"] == "image/jpeg"
    assert Image.open(io.BytesIO(best.content)).size == tuple(answer["size"])
    assert client.get(answer["urls"]["compare"]).headers["content-type"] == "image/png"
    assert client.get(answer["urls"]["advice"]).json()["score"] == answer["score"]
    # the page's before and after: the photo and the best edit at display size
    before = Image.open(io.BytesIO(client.get(answer["urls"]["before"]).content))
    after = Image.open(io.BytesIO(client.get(answer["urls"]["after"]).content))
    assert before.size == fitted(Image.open(PHOTO).size, DISPLAY_SIDE)
    assert after.size == fitted(tuple(answer["size"]), DISPLAY_SIDE)


def _chunks(total: int, size: int = 1 << 20) -> Iterator[bytes]:
    for start in range(0, total, size):
        yield b"\xff" * min(size, total - start)


@pytest.mark.parametrize(
    ("files", "status", "words"),
    [
        ({"file": ("notes.jpg", b"hello, not a photo", "image/jpeg")}, 415, "not an image"),
        ({"file": ("empty.jpg", b"", "image/jpeg")}, 415, "not an image"),
        ({"file": ("bomb.png", png_bomb(), "image/png")}, 415, "over the limit"),
        ({"file": ("big.jpg", b"\xff" * (MAX_UPLOAD + 1), "image/jpeg")}, 413, "larger than 20 MB"),
        ({"other": ("x.jpg", PHOTO.read_bytes(), "image/jpeg")}, 422, "file"),
    ],
    ids=["garbage", "empty", "bomb", "too-large", "no-file-field"],
)
def test_hostile_uploads_get_clear_json_errors(
    client: TestClient, files: dict, status: int, words: str
) -> None:
    for endpoint in ("/api/check", "/api/score", "/api/explain", "/api/advise", "/api/rank"):
        response = client.post(endpoint, files=files)
        assert response.status_code == status, (endpoint, response.text)
        assert words in str(response.json()["detail"])
    assert client.post("/api/score", files=upload()).status_code == 200  # still serving


def test_a_body_without_declared_length_is_cut_off_while_streaming(client: TestClient) -> None:
    headers = {"content-type": "multipart/form-data; boundary=x"}
    response = client.post("/api/score", content=_chunks(64 << 20), headers=headers)
    assert response.status_code == 413 and "larger than" in response.json()["detail"]


@pytest.mark.parametrize(
    "query",
    [
        "/api/explain?methods=magic",
        "/api/explain?methods=",
        "/api/advise?margin=-1",
        "/api/advise?margin=abc",
    ],
)
def test_bad_parameters_are_422(client: TestClient, query: str) -> None:
    response = client.post(query, files=upload())
    assert response.status_code == 422 and response.json()["detail"]


def test_concurrent_requests_get_the_same_answers(client: TestClient) -> None:
    expected = client.post("/api/score", files=upload()).json()["score"]
    other = client.post("/api/score", files=upload(PETS / "cat_Bengal_16.jpg")).json()["score"]

    def call(i: int) -> float:
        if i % 4 == 3:
            client.post("/api/explain?methods=gradcam", files=upload())
        path = PHOTO if i % 2 == 0 else PETS / "cat_Bengal_16.jpg"
        return client.post("/api/score", files=upload(path)).json()["score"]

    with ThreadPoolExecutor(8) as pool:
        scores = list(pool.map(call, range(16)))
    assert scores == [expected if i % 2 == 0 else other for i in range(16)]


def test_old_results_are_removed(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(serve_app, "MAX_RESULTS", 2)
    urls = [client.post("/api/advise", files=upload()).json()["urls"]["best"] for _ in range(3)]
    assert client.get(urls[0]).status_code == 404
    assert all(client.get(u).status_code == 200 for u in urls[1:])
