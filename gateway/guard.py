"""The gateway's outermost ASGI layer, in front of Socket.IO and FastAPI alike.

What it does, in this order, for every HTTP request (`/ws` included):

1. A path with a control character (NUL, CR, ... DEL) is `400`: nothing behind
   this layer sees it (the web app's fallback route would have raised on it).
   A head past MAX_HEADER_BYTES is `431` here too, for a uvicorn started without
   gateway/http_protocol.py (which refuses it before parsing it).
2. A new engine.io handshake (a `/ws` request without `sid`, websocket ones
   included) past MAX_SOCKETS_PER_GATEWAY sessions is `503`.
3. The body is read whole before anything else runs, within
   REQUEST_BODY_TIMEOUT_SECONDS of the end of the headers (this layer runs as
   soon as uvicorn has them): a body that is not complete by then is `408` and
   the connection is closed. A Content-Length over MAX_BODY_BYTES is `413`
   before a byte is read; a chunked body is cut off at the limit. Waiting for
   a body costs a coroutine, nothing else.
4. Only then does a request enter the admission limit (REQUESTS_IN_FLIGHT at
   once): one that would wait longer than ADMISSION_WAIT_SECONDS for its turn
   gets `503` with `Retry-After: 1`, as does one arriving while MAX_WAITING
   requests already wait (an 800/s burst with 256 in flight just queues).
   `/api/health`, `/metrics` and Socket.IO never queue behind it (a long-poll would hold a slot for 25 s).
5. Answers to `/ws` and this layer's own answers carry the security headers
   (FastAPI's answers get them from the FastAPI app's own middleware).

A slow client therefore holds no admission slot and no database connection:
32 half-sent bodies no longer stop every request (issue 20).
"""

import asyncio
import json
import time
from typing import Any
from urllib.parse import parse_qs

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from common.config import Settings
from gateway.middleware import security_header_pairs
from gateway.realtime.limits import SocketLimits

CONTROL = {chr(c) for c in range(0x20)} | {"\x7f"}
UNQUEUED = frozenset({"/api/health", "/metrics"})
SOCKETIO_PATH = "/ws"
TIMED_OUT = "The request body did not arrive in time"
BUSY = "The server is busy; try again in a moment"
# Requests waiting for admission at once; past it the next is 503 at once (the wait bounds the rest).
MAX_WAITING = 1_000

_SECURITY_HEADERS = security_header_pairs()
_SECURITY_NAMES = {name for name, _ in _SECURITY_HEADERS}


def has_control_character(path: str) -> bool:
    return any(ch in CONTROL for ch in path)


def head_size(scope: Scope) -> int:
    """About the bytes of the request line and headers as sent (parsed, so never more)."""
    size = len(scope.get("raw_path", b"")) + len(scope.get("query_string", b"")) + 16
    for name, value in scope.get("headers", []):
        size += len(name) + len(value) + 4
    return size


def _with_security_headers(headers: Any) -> list[tuple[bytes, bytes]]:
    kept = [(name, value) for name, value in headers or [] if name.lower() not in _SECURITY_NAMES]
    return kept + _SECURITY_HEADERS


class Guard:
    def __init__(
        self, app: ASGIApp, settings: Settings, limits: SocketLimits, requests_in_flight: int
    ) -> None:
        self.app = app
        # tests and benches reach the FastAPI app behind Socket.IO by this name
        self.other_asgi_app = getattr(app, "other_asgi_app", None)
        self.body_timeout = settings.request_body_timeout_seconds
        self.max_body = settings.max_body_bytes
        self.max_head = settings.max_header_bytes
        self.admission_wait = settings.admission_wait_seconds
        self._too_large = f"The request body is larger than {self.max_body} bytes"
        self.limits = limits
        self.slots = asyncio.Semaphore(requests_in_flight)
        self.waiting = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind not in ("http", "websocket"):
            await self.app(scope, receive, send)  # lifespan
            return
        started = time.monotonic()
        path: str = scope.get("path", "")
        socketio = path == SOCKETIO_PATH or path.startswith(SOCKETIO_PATH + "/")
        if kind == "websocket":
            await self._websocket(scope, receive, send, path, socketio)
            return
        if has_control_character(path):
            await respond(send, 400, "Control characters are not allowed in paths")
            return
        if head_size(scope) > self.max_head:
            # Reached only when uvicorn runs without our protocol class (which refuses
            # such a head before parsing it): at least the answer is the same.
            await respond(send, 431, f"The request line and headers are larger than {self.max_head} bytes")
            return
        if socketio:
            self.limits.start()
            if self._new_session(scope) and self.limits.gateway_full():
                await respond(send, 503, "This gateway holds as many connections as it can", retry_after=True)
                return
            send = _secure(send)
        try:
            receive = await self._read_body(scope, receive, started)
        except _Refused as refused:
            await respond(send, refused.status, refused.detail)
            return
        except _Gone:
            return
        if socketio or path in UNQUEUED:
            await self.app(scope, receive, send)
            return
        await self._admitted(scope, receive, send, started)

    async def _admitted(self, scope: Scope, receive: Receive, send: Send, started: float) -> None:
        if self.slots.locked() and self.waiting >= MAX_WAITING:
            await respond(send, 503, BUSY, retry_after=True)
            return
        self.waiting += 1
        try:
            await asyncio.wait_for(self.slots.acquire(), self.admission_wait)
        except TimeoutError:
            await respond(send, 503, BUSY, retry_after=True)
            return
        finally:
            self.waiting -= 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.slots.release()

    async def _websocket(self, scope: Scope, receive: Receive, send: Send, path: str, socketio: bool) -> None:
        refusal: tuple[int, str] | None = None
        if has_control_character(path):
            refusal = (400, "Control characters are not allowed in paths")
        elif socketio:
            self.limits.start()
            if self._new_session(scope) and self.limits.gateway_full():
                refusal = (503, "This gateway holds as many connections as it can")
        if refusal is None:
            await self.app(scope, receive, _secure(send))
            return
        status, detail = refusal
        if "websocket.http.response" in scope.get("extensions", {}):
            payload, headers = _answer(status, detail, retry_after=status == 503)
            await send({"type": "websocket.http.response.start", "status": status, "headers": headers})
            await send({"type": "websocket.http.response.body", "body": payload})
        else:
            await send({"type": "websocket.close", "code": 1013})

    @staticmethod
    def _new_session(scope: Scope) -> bool:
        query = scope.get("query_string", b"")
        return b"sid=" not in query or not parse_qs(query.decode("latin-1")).get("sid")

    async def _read_body(self, scope: Scope, receive: Receive, started: float) -> Receive:
        """The whole body, read before the app runs; returns the receive the app gets."""
        declared: int | None = None
        chunked = False
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = -1
            elif name == b"transfer-encoding":
                chunked = True
        if declared is None and not chunked:
            return receive  # no body: nothing to wait for
        if declared is not None and declared < 0:
            raise _Refused(400, "Bad Content-Length")
        if declared is not None and declared > self.max_body:
            raise _Refused(413, self._too_large)
        if declared == 0 and not chunked:
            return receive
        parts: list[bytes] = []
        size = 0
        deadline = started + self.body_timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise _Refused(408, TIMED_OUT)
            try:
                message = await asyncio.wait_for(receive(), remaining)
            except TimeoutError:
                raise _Refused(408, TIMED_OUT) from None
            if message["type"] == "http.disconnect":
                raise _Gone
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                raise _Refused(413, self._too_large)
            parts.append(chunk)
            if not message.get("more_body", False):
                break
        return _replay(b"".join(parts), receive)


class _Refused(Exception):
    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


class _Gone(Exception):
    """The client left while its body was awaited: nobody to answer."""


def _replay(body: bytes, receive: Receive) -> Receive:
    """The body as one message, then whatever the connection says next (a disconnect)."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


def _secure(send: Send) -> Send:
    async def secured(message: Message) -> None:
        if message["type"] in ("http.response.start", "websocket.http.response.start"):
            message = {**message, "headers": _with_security_headers(message.get("headers"))}
        await send(message)

    return secured


def _answer(status: int, detail: str, *, retry_after: bool) -> tuple[bytes, list[tuple[bytes, bytes]]]:
    payload = json.dumps({"detail": detail}).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(payload)).encode()),
    ]
    if retry_after:
        headers.append((b"retry-after", b"1"))
    if status in (400, 408, 413, 431):
        headers.append((b"connection", b"close"))  # what is left of the request is not read
    return payload, _with_security_headers(headers)


async def respond(send: Send, status: int, detail: str, *, retry_after: bool = False) -> None:
    payload, headers = _answer(status, detail, retry_after=retry_after)
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})
