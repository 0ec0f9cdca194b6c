"""The server against bad clients: slow heads, stalled bodies, other sites' pages, a flood of
heavy requests, a port already taken."""

from __future__ import annotations

import http.client
import socket
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient

from pawpularity.api import Model
from pawpularity.errors import ConfigError
from pawpularity.serve import app as serve_app
from pawpularity.serve import guards
from pawpularity.serve.app import create_app
from tests.conftest import PETS
from tests.serve.conftest import serving

PHOTO = (PETS / "dog_pug_16.jpg").read_bytes()


def upload() -> dict[str, Any]:
    return {"files": {"file": ("pug.jpg", PHOTO, "image/jpeg")}}


def test_security_headers_on_every_response(client: TestClient) -> None:
    for response in (client.get("/"), client.get("/static/app.js"), client.get("/health")):
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-frame-options"] == "DENY"
        csp = response.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in csp and "script-src 'self';" in csp
    docs = client.get("/docs").headers["content-security-policy"]
    assert "'unsafe-inline'" in docs  # Swagger UI starts with an inline script
    assert client.post("/api/score", **upload()).headers["x-content-type-options"] == "nosniff"


def test_other_sites_may_not_post_unless_allowed(tiny_model: Model, tmp_path: Path) -> None:
    client = TestClient(create_app(tiny_model, tmp_path, allow_origins=["https://shelter.org"]))
    evil = client.post("/api/score", headers={"Origin": "https://evil.example"}, **upload())
    assert (
        evil.status_code == 403 and "--allow-origin https://evil.example" in evil.json()["detail"]
    )
    own = client.post("/api/score", headers={"Origin": "http://testserver"}, **upload())
    assert own.status_code == 200 and "access-control-allow-origin" not in own.headers
    friend = client.post("/api/score", headers={"Origin": "https://shelter.org"}, **upload())
    assert friend.status_code == 200
    assert friend.headers["access-control-allow-origin"] == "https://shelter.org"
    preflight = client.options("/api/score", headers={"Origin": "https://shelter.org"})
    assert (
        preflight.status_code == 204 and "POST" in preflight.headers["access-control-allow-methods"]
    )
    assert client.post("/api/score", **upload()).status_code == 200  # curl sends no Origin


def test_heavy_requests_queue_boundedly_and_scores_stay_served(
    tiny_model: Model, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    gate = threading.Event()
    real = tiny_model.explain_notes  # what /api/explain calls

    def held(*args: Any, **kwargs: Any) -> Any:
        gate.wait(60)
        return real(*args, **kwargs)

    monkeypatch.setattr(tiny_model, "explain_notes", held)
    api = create_app(tiny_model, tmp_path)
    statuses: list[int] = []
    with serving(api) as url:
        address = urlsplit(url)

        def explain() -> None:
            connection = http.client.HTTPConnection(address.hostname, address.port, timeout=120)
            body, kind = multipart()
            connection.request("POST", "/api/explain?methods=gradcam", body, {"Content-Type": kind})
            statuses.append(connection.getresponse().status)

        heavy = [threading.Thread(target=explain) for _ in range(serve_app.HEAVY_QUEUE)]
        for t in heavy:
            t.start()
        deadline = time.monotonic() + 30
        while api.state.heavy.pending < serve_app.HEAVY_QUEUE:
            assert time.monotonic() < deadline, "the heavy requests did not queue"
            time.sleep(0.05)
        connection = http.client.HTTPConnection(address.hostname, address.port, timeout=60)
        body, kind = multipart()
        connection.request("POST", "/api/explain", body, {"Content-Type": kind})
        refused = connection.getresponse()
        assert refused.status == 503 and int(refused.headers["Retry-After"]) >= 1
        refused.read()
        connection.request("POST", "/api/score", body, {"Content-Type": kind})
        assert connection.getresponse().status == 200  # while every heavy one still waits
        assert statuses == []
        gate.set()
        for t in heavy:
            t.join(120)
    assert statuses == [200] * serve_app.HEAVY_QUEUE


def multipart() -> tuple[bytes, str]:
    boundary = "pawpularity-test"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="p.jpg"\r\n'
            "Content-Type: image/jpeg\r\n\r\n"
        ).encode()
        + PHOTO
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return body, f"multipart/form-data; boundary={boundary}"


def test_slow_heads_and_stalled_bodies_are_cut_off(
    tiny_model: Model, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(guards, "HEADERS_TIMEOUT", 0.5)
    monkeypatch.setattr(guards, "BODY_STALL", 0.5)
    with serving(create_app(tiny_model, tmp_path)) as url:
        address = urlsplit(url)
        slow = socket.create_connection((address.hostname, address.port), timeout=10)
        slow.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")  # never finishes its head
        assert slow.recv(100) == b""  # closed by the server, well before the client's timeout
        stalled = socket.create_connection((address.hostname, address.port), timeout=10)
        body, kind = multipart()
        head = (
            f"POST /api/score HTTP/1.1\r\nHost: x\r\nContent-Type: {kind}\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        )
        stalled.sendall(head.encode() + body[:100])  # then nothing more
        answer = b""
        while chunk := stalled.recv(1000):  # until the server closes the connection
            answer += chunk
        assert answer.startswith(b"HTTP/1.1 408") and b"stalled" in answer
        fine = http.client.HTTPConnection(address.hostname, address.port, timeout=10)
        fine.request("GET", "/health")
        assert fine.getresponse().status == 200  # the server kept serving


def test_a_port_in_use_fails_at_once() -> None:
    taken = guards.bind("127.0.0.1", 0)
    port = taken.getsockname()[1]
    try:
        with pytest.raises(ConfigError, match=f"port {port} on 127.0.0.1 is in use"):
            guards.bind("127.0.0.1", port)
    finally:
        taken.close()
