"""Upload size limit, enforced while the body streams in (never after buffering it).

A declared Content-Length over the limit is refused at once: before the body is sent when the
client waits for "100 Continue" (curl does for big uploads), else after the body has been read
and thrown away, so that a client that sends everything first still gets to read the answer. A
body without a declared length is counted as it arrives and refused when it passes the limit.
A path may have a limit of its own (several photos in one request).
"""

from __future__ import annotations

from collections.abc import Mapping

from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

DRAIN_MAX = 256 * 1024 * 1024  # bytes of an oversized body read and discarded at most


class UploadTooLarge(HTTPException):
    def __init__(self, limit: int, what: str = "a smaller photo") -> None:
        super().__init__(413, f"the upload is larger than {limit / 2**20:.0f} MB: send {what}")


class UploadLimit:
    """ASGI middleware: request bodies of at most `limit` bytes, or `paths[path]` bytes on the
    paths it names."""

    def __init__(self, app: ASGIApp, limit: int, paths: Mapping[str, int] | None = None) -> None:
        self.app, self.default, self.paths = app, limit, dict(paths or {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.paths.get(scope["path"], self.default)
        what = "a smaller photo" if limit == self.default else "fewer or smaller photos"
        headers = {k.lower(): v for k, v in scope["headers"]}
        declared = headers.get(b"content-length", b"").strip()
        if declared.isdigit() and int(declared) > limit:
            if headers.get(b"expect", b"").lower() != b"100-continue":
                await _drain(receive)
            error = UploadTooLarge(limit, what)
            await JSONResponse({"detail": error.detail}, 413)(scope, receive, send)
            return
        received = 0
        unread = False  # the limit was passed with more of the body still to come

        async def counted() -> Message:
            nonlocal received, unread
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    unread = message.get("more_body", False)
                    raise UploadTooLarge(limit, what)
            return message

        async def answer(message: Message) -> None:
            if message["type"] == "http.response.start" and unread:
                await _drain(receive)  # let the client finish sending, then answer
            await send(message)

        await self.app(scope, counted, answer)


async def _drain(receive: Receive) -> None:
    """Read the rest of the body and discard it (up to DRAIN_MAX bytes)."""
    total = 0
    while total <= DRAIN_MAX:
        message = await receive()
        if message["type"] != "http.request" or not message.get("more_body", False):
            return
        total += len(message.get("body", b""))
