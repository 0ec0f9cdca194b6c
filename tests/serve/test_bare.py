"""`serve` without a run: the bare ImageNet backbone checks photos and scores none, and the page
says how to get a model that scores."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

import pawpularity as paw
from pawpularity.serve.app import create_app
from tests.conftest import PETS
from tests.serve.conftest import serving

if TYPE_CHECKING:
    from playwright.sync_api import Browser

PHOTO = PETS / "dog_pug_16.jpg"
CHECK_KEYS = {
    "pet_probability",
    "pet_share",
    "sharpness",
    "brightness",
    "clipped",
    "ok_pet",
    "ok_size",
    "ok_frame",
    "ok_sharp",
    "ok_exposure",
    "tips",
}


def upload(path: Path = PHOTO) -> dict[str, tuple[str, bytes, str]]:
    return {"file": (path.name, path.read_bytes(), "image/jpeg")}


@pytest.fixture(scope="module")
def bare(tmp_path_factory: pytest.TempPathFactory) -> FastAPI:
    return create_app(paw.load("imagenet"), tmp_path_factory.mktemp("results"))


@pytest.fixture(scope="module")
def client(bare: FastAPI) -> TestClient:
    return TestClient(bare, raise_server_exceptions=False)


@pytest.fixture(scope="module")
def server(bare: FastAPI) -> Iterator[str]:
    with serving(bare) as url:
        yield url


def test_health_names_the_bare_backbone(client: TestClient) -> None:
    health = client.get("/health").json()
    assert (health["model"], health["run"], health["warning"]) == ("imagenet", None, "")


def test_the_check_needs_no_run(client: TestClient) -> None:
    response = client.post("/api/check", files=upload())
    assert response.status_code == 200, response.text
    check = response.json()
    assert set(check) >= CHECK_KEYS and check["ok_pet"] is True  # a pug
    assert all(isinstance(t, str) for t in check["tips"])


@pytest.mark.parametrize("endpoint", ["/api/score", "/api/explain", "/api/advise", "/api/rank"])
def test_what_needs_a_run_says_so(client: TestClient, endpoint: str) -> None:
    response = client.post(endpoint, files=upload())
    assert response.status_code == 422 and "load a run" in response.json()["detail"]


def test_the_page_checks_photos_and_says_how_to_get_scores(browser: Browser, server: str) -> None:
    page = browser.new_page(viewport={"width": 390, "height": 844})
    try:
        page.goto(server + "/")
        page.wait_for_selector("#nomodel:not([hidden])", timeout=10_000)
        words = page.text_content("#nomodel") or ""
        assert "Scoring needs a trained model" in words and "pawpularity train" in words
        assert "pawpularity serve NAME.paw" in words
        photos = [PHOTO, PETS / "dog_yorkshire_terrier_100.jpg"]  # the terrier's frame cuts it
        page.set_input_files("#file", [str(p) for p in photos])
        page.wait_for_selector("#status:text-is('Done.')", timeout=60_000)
        assert page.locator("#check-list .card").count() == 2
        assert page.locator("#check-list li.ok", has_text="a cat or dog is in the photo").count()
        assert page.locator("#check-list .tips li", has_text="cuts through the pet").count() == 1
        for section in ("#result", "#why", "#advice", "#ranking"):  # nothing scored
            assert page.locator(section).is_hidden()
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
    finally:
        page.close()
