"""What keeps the server up against slow, stalled and hostile clients.

- Headers: a connection that has not sent a complete request head within HEADERS_TIMEOUT
  seconds (after connecting, or after its last response) is closed (a slow-loris client).
- Bodies: a request body that stalls for BODY_STALL seconds gets 408 and the connection closes.
- Connections: at most MAX_CONNECTIONS open at once; uvicorn answers 503 beyond.
- Origins: a POST from a page of another site (its Origin's host is not this server's) is
  refused (403) unless `--allow-origin` names it; those origins then get CORS headers. Clients
  that send no Origin (curl, scripts) are not browsers riding on a user's session, and pass.
- Headers on every response: no MIME sniffing, no framing, no referrer, and a Content Security
  Policy (the page loads its own script and style only; the API docs run their inline script).
"""

from __future__ import annotations

import asyncio
import errno
import socket
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

import uvicorn
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.protocols.http.h11_impl import H11Protocol

from pawpularity.errors import ConfigError

HEADERS_TIMEOUT = 10.0  # seconds for a request's head to arrive
BODY_STALL = 15.0  # seconds without any byte of a request's body
KEEP_ALIVE = 5  # seconds an idle keep-alive connection stays open
MAX_CONNECTIONS = 64
CSP = (
    "default-src 'self'; img-src 'self' data: blob:; script-src 'self'; style-src 'self'; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
# /docs and /redoc (fastapi-offline) start Swagger UI and ReDoc with an inline script.
DOCS_CSP = CSP.replace("script-src 'self'", "script-src 'self' 'unsafe-inline'").replace(
    "style-src 'self'", "style-src 'self' 'unsafe-inline'"
)
SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
]


class GuardedH11(H11Protocol):
    """uvicorn's h11 protocol with a deadline for each request's head."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._watch()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._watch()

    def _watch(self) -> None:
        self.loop.call_later(HEADERS_TIMEOUT, self._close_if_idle, self.cycle)

    def _close_if_idle(self, cycle: Any) -> None:
        """Close the connection when no new request began since the deadline was set."""
        if self.cycle is cycle and not self.transport.is_closing():
            self.transport.close()


class BodyTimeout:
    """ASGI middleware: 408 when a request body stalls for `stall` seconds."""

    def __init__(self, app: ASGIApp, stall: float | None = None) -> None:
        self.app, self.stall = app, BODY_STALL if stall is None else stall

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def guarded() -> Message:
            try:
                return await asyncio.wait_for(receive(), self.stall)
            except TimeoutError:
                raise HTTPException(
                    408, f"the upload stalled for {self.stall:.0f} s: send it again"
                ) from None

        await self.app(scope, guarded, send)


class SameOrigin:
    """ASGI middleware: cross-origin POSTs refused unless allowed, security headers on every
    response, CORS headers for the allowed origins."""

    def __init__(self, app: ASGIApp, allow: Sequence[str] = ()) -> None:
        self.app, self.allow = app, {o.rstrip("/") for o in allow}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        origin = headers.get("origin")
        foreign = origin is not None and urlsplit(origin).netloc != _own_host(scope, headers)
        allowed = foreign and origin in self.allow
        if scope["method"] == "OPTIONS" and allowed:  # a CORS preflight
            await self._respond(scope, receive, send, 204, None, origin)
            return
        if foreign and not allowed and scope["method"] not in ("GET", "HEAD"):
            detail = (
                f"requests from {origin} are refused: start the server with "
                f"--allow-origin {origin} to accept them"
            )
            await self._respond(scope, receive, send, 403, detail, None)
            return
        docs = scope["path"].startswith(("/docs", "/redoc"))

        async def secured(message: Message) -> None:
            if message["type"] == "http.response.start":
                extra = [*SECURITY_HEADERS, (b"content-security-policy", _csp(docs))]
                if allowed and origin is not None:
                    extra.append((b"access-control-allow-origin", origin.encode("latin-1")))
                    extra.append((b"vary", b"Origin"))
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, secured)

    async def _respond(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        status: int,
        detail: str | None,
        origin: str | None,
    ) -> None:
        headers = {k.decode(): v.decode() for k, v in SECURITY_HEADERS}
        if origin is not None:
            headers |= {
                "access-control-allow-origin": origin,
                "access-control-allow-methods": "GET, POST",
                "access-control-allow-headers": "content-type",
                "vary": "Origin",
            }
        content = None if detail is None else {"detail": detail}
        response = JSONResponse(content, status, headers=headers)
        await response(scope, receive, send)


def _own_host(scope: Scope, headers: dict[str, str]) -> str:
    """host[:port] of this server as the client named it. The scheme is not compared: behind a
    TLS proxy the page is https while the server speaks http."""
    return headers.get("host") or "{}:{}".format(*scope.get("server") or ("localhost", 80))


def _csp(docs: bool) -> bytes:
    return (DOCS_CSP if docs else CSP).encode()


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on host:port, or a ConfigError at once when the port is taken."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as e:
        sock.close()
        if e.errno == errno.EADDRINUSE:
            raise ConfigError(f"port {port} on {host} is in use: choose another with --port") from e
        raise ConfigError(f"cannot listen on {host}:{port} ({e.strerror})") from e
    sock.listen(MAX_CONNECTIONS)
    sock.set_inheritable(True)
    return sock


def server(app: ASGIApp, host: str = "127.0.0.1", port: int = 8000) -> uvicorn.Server:
    """uvicorn with the guards above: head deadlines, idle timeouts, a connection cap."""
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        http=GuardedH11,
        limit_concurrency=MAX_CONNECTIONS,
        timeout_keep_alive=KEEP_ALIVE,
        log_level="warning",
    )
    return uvicorn.Server(config)
