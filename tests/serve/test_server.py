"""A real uvicorn server: the page in a real browser, and oversized uploads over real sockets."""

from __future__ import annotations

import http.client
import json
import re
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from pawpularity.data.schema import FLAG_WORDS
from pawpularity.serve.app import MAX_PHOTOS, MAX_UPLOAD
from tests.conftest import PETS

if TYPE_CHECKING:
    from playwright.sync_api import Browser

PHONE = {"width": 390, "height": 844}


def test_a_volunteer_uploads_a_photo_on_a_phone(browser: Browser, server: str) -> None:
    page = browser.new_page(viewport=PHONE)
    try:
        page.goto(server + "/")
        # the tiny run trained on a demo set: the page says so before anything else
        page.wait_for_selector("#warning:not([hidden])", timeout=10_000)
        assert "trained on the planted-cue demo set" in (page.text_content("#warning") or "")
        page.set_input_files("#file", str(PETS / "dog_pug_16.jpg"))
        page.wait_for_selector("#result:not([hidden])", timeout=60_000)
        score = page.text_content("#score") or ""
        assert re.fullmatch(r"-?\d+\.\d", score), score
        words = page.text_content("#range") or ""
        span = r"Likely between (\d+) and (\d+): the real score of 8 in 10 photos falls in"
        assert (found := re.match(span, words)), words
        assert int(found[1]) <= float(score) <= int(found[2])
        assert re.search(r"higher than \d+% of the photos the model learned from", words), words
        chips = page.locator("#flags li").all_text_contents()  # plain words, not "Human 74%"
        assert chips and set(chips) <= set(FLAG_WORDS.values()), chips
        page.wait_for_selector("#why:not([hidden])", timeout=60_000)
        captions = page.locator("#maps figcaption").all_text_contents()
        assert captions[0] == "photo" and len(captions) == 4  # the photo and three maps
        assert page.evaluate(
            "Array.from(document.querySelectorAll('#maps img')).every(i => i.naturalWidth > 0)"
        )
        page.wait_for_selector("#advice:not([hidden])", timeout=120_000)
        gain = page.locator("#gain").text_content() or ""
        improved = "keep the original photo" not in gain
        # a download only of a photo that was improved
        assert page.locator("#download").is_visible() == improved, gain
        assert page.locator("#compare").is_visible() == improved, gain
        if improved:  # before and after with captions in the page's text, stacked on a phone
            assert page.get_attribute("#download", "href", timeout=1000).startswith("/results/")
            captions = page.locator("#compare figcaption").all_text_contents()
            assert captions[0].startswith("Before: "), captions
            assert captions[1].startswith("After ("), captions
            boxes = [f.bounding_box() for f in page.locator("#compare figure").all()]
            assert boxes[0] and boxes[1] and boxes[1]["y"] >= boxes[0]["y"] + boxes[0]["height"]
        checks = page.locator("#check-list li").all_text_contents()  # the photo check's verdicts
        assert "a cat or dog is in the photo" in checks, checks
        assert page.locator("link[rel=icon]").count() == 1
        assert page.text_content("#status") == "Done."
        # nothing wider than a phone's screen
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    finally:
        page.close()


def test_a_volunteer_ranks_three_photos_and_downloads_the_improved_ones(
    browser: Browser, server: str, tmp_path: Path
) -> None:
    photos = [PETS / "dog_pug_16.jpg", PETS / "cat_Bengal_16.jpg", PETS / "dog_beagle_10.jpg"]
    page = browser.new_page(viewport=PHONE, accept_downloads=True)
    try:
        page.goto(server + "/")
        page.wait_for_selector("body[data-model]")  # /health read
        hint = page.text_content("#drop .hint") or ""
        assert f"up to {MAX_PHOTOS})" in hint, hint  # the limit the server enforces
        page.set_input_files("#file", [str(p) for p in photos])
        page.wait_for_selector("#ranking:not([hidden])", timeout=120_000)
        cards = page.locator("#ranked > li")
        assert cards.count() == 3
        titles = cards.locator("h3").all_text_contents()
        assert {t.split(" ", 1)[1].removesuffix("Cover photo") for t in titles} == {
            p.name for p in photos
        }
        assert [t.split(" ")[0] for t in titles] == ["#1", "#2", "#3"]
        assert page.locator("#ranked > li.cover").count() == 1
        assert "Cover photo" in (cards.first.locator(".badge").text_content() or "")
        for card in cards.all():
            assert re.search(r"Likely between \d+ and \d+", card.text_content() or "")
        assert page.evaluate(
            "Array.from(document.querySelectorAll('#ranked img')).every(i => i.naturalWidth > 0)"
        )
        improved = cards.locator(".compare")
        captions = improved.locator("figcaption").all_text_contents()
        assert all(c.startswith(("Before: ", "After (")) for c in captions), captions
        assert page.locator("#zip").is_visible() == (improved.count() > 0)
        assert improved.count() > 0, "no photo improved: the zip goes untested"
        with page.expect_download() as download:
            page.click("#zip")
        path = tmp_path / "improved.zip"
        download.value.save_as(path)
        names = zipfile.ZipFile(path).namelist()
        assert len(names) == improved.count()
        assert all(re.fullmatch(r"0[1-3]-\w+\.jpg", n) for n in names), names
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    finally:
        page.close()


def test_too_many_photos_are_refused_on_the_page(browser: Browser, server: str) -> None:
    page = browser.new_page()
    try:
        page.goto(server + "/")
        page.wait_for_selector("body[data-model]")  # /health read
        page.set_input_files("#file", [str(PETS / "dog_pug_16.jpg")] * (MAX_PHOTOS + 1))
        page.wait_for_selector("#status.error", timeout=10_000)
        assert f"at most {MAX_PHOTOS}" in (page.text_content("#status") or "")
    finally:
        page.close()


def test_the_page_says_what_is_wrong_with_a_bad_file(
    browser: Browser, server: str, tmp_path: Path
) -> None:
    notes = tmp_path / "notes.jpg"
    notes.write_text("not a photo")
    page = browser.new_page()
    try:
        page.goto(server + "/")
        page.set_input_files("#file", str(notes))
        page.wait_for_selector("#status.error", timeout=30_000)
        assert "not an image" in (page.text_content("#status") or "")
    finally:
        page.close()


def test_the_api_docs_render_without_internet(browser: Browser, server: str) -> None:
    page = browser.new_page()
    try:
        page.route(
            "**/*", lambda r: r.continue_() if r.request.url.startswith(server) else r.abort()
        )
        page.goto(server + "/docs")
        page.locator(".opblock", has_text="/api/score").first.wait_for(timeout=30_000)
        assert page.locator(".opblock", has_text="/api/advise").count() == 1
    finally:
        page.close()


def _post_oversized(server: str, expect_continue: bool) -> tuple[int, dict]:
    """POST a 31 MB multipart body with a declared length, as curl (waits for 100 Continue) or
    as a client that sends everything at once; returns the status and JSON answer."""
    url = urlsplit(server)
    size = 31 * 2**20
    head = b'--x\r\nContent-Disposition: form-data; name="file"; filename="big.jpg"\r\n\r\n'
    tail = b"\r\n--x--\r\n"
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=60)
    connection.putrequest("POST", "/api/score")
    connection.putheader("Content-Type", "multipart/form-data; boundary=x")
    connection.putheader("Content-Length", str(len(head) + size + len(tail)))
    if expect_continue:
        connection.putheader("Expect", "100-continue")
        connection.endheaders()  # and send nothing: the answer must come without the body
    else:
        connection.endheaders()
        connection.send(head)
        block = b"\xff" * 2**20
        for _ in range(31):
            connection.send(block)
        connection.send(tail)
    response = connection.getresponse()
    answer = json.loads(response.read())
    connection.close()
    return response.status, answer


def test_a_31_mb_upload_is_refused_and_the_server_keeps_serving(server: str) -> None:
    assert MAX_UPLOAD < 31 * 2**20
    for expect_continue in (True, False):
        status, answer = _post_oversized(server, expect_continue)
        assert status == 413 and "larger than 20 MB" in answer["detail"]
    url = urlsplit(server)
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    connection.request("GET", "/health")
    assert json.loads(connection.getresponse().read())["status"] == "ok"
