"""The app around the tiny run: in-process (FastAPI's test client) and as a real uvicorn server."""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
import time
import zlib
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from pawpularity.api import Model
from pawpularity.serve import guards
from pawpularity.serve.app import create_app


@pytest.fixture(scope="session")
def api(tiny_model: Model, tmp_path_factory: pytest.TempPathFactory) -> FastAPI:
    return create_app(tiny_model, tmp_path_factory.mktemp("results"))


@pytest.fixture(scope="session")
def client(api: FastAPI) -> TestClient:
    return TestClient(api, raise_server_exceptions=False)


@pytest.fixture(scope="session")
def server(api: FastAPI) -> Iterator[str]:
    """The app on a free loopback port in a thread: its base URL."""
    with serving(api) as url:
        yield url


@contextlib.contextmanager
def serving(api: FastAPI) -> Iterator[str]:
    """The app on a free loopback port in a thread, with the guards `serve` runs it with."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    runner = guards.server(api, "127.0.0.1", port)
    thread = threading.Thread(target=runner.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not runner.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the server did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        runner.should_exit = True
        thread.join(10)


def png_bomb(width: int = 30000, height: int = 30000) -> bytes:
    """A PNG whose header promises width×height pixels (a decompression bomb's signature)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    pixels = zlib.compress(b"\0" * (width + 1) * 4)  # a few rows; the header is what counts
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )
