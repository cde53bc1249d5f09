"""ASGI middleware of the gateway: body size limit, browser security headers (admission: gateway/guard.py)."""

import json
from typing import Any

from secure import (
    ContentSecurityPolicy,
    ReferrerPolicy,
    Secure,
    XContentTypeOptions,
    XFrameOptions,
)
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class BodyTooLarge(HTTPException):
    def __init__(self, limit: int) -> None:
        super().__init__(413, f"The request body is larger than {limit} bytes")


class BodySizeLimit:
    """Bodies larger than `limit` bytes get 413 before they are read.

    A Content-Length over the limit is refused at once, without reading a byte.
    A body without one (chunked) is counted while it streams in: the chunk that
    crosses the limit raises BodyTooLarge inside the app's own `receive`, which
    FastAPI answers as 413 (and which this middleware answers itself when it
    escaped the app before a response started). Nothing past the limit is kept.
    """

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = -1
                if declared > self.limit or declared < 0:
                    status = 413 if declared > self.limit else 400
                    detail = BodyTooLarge(self.limit).detail if status == 413 else "Bad Content-Length"
                    await _send_json(send, status, {"detail": detail})
                    return
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    raise BodyTooLarge(self.limit)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLarge as exc:
            if started:
                raise
            await _send_json(send, 413, {"detail": exc.detail})


async def _send_json(send: Send, status: int, body: dict[str, Any]) -> None:
    payload = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})


def security_headers() -> Secure:
    """The headers every HTTP answer carries.

    The CSP keeps the web app, Socket.IO (/ws, websocket and polling: both
    same-origin, `connect-src 'self'`) and /docs, /redoc (their assets are served
    by the gateway, and their pages carry no inline script) working, while
    refusing scripts from anywhere else and any framing (`frame-ancestors
    'none'`, and X-Frame-Options for old browsers). Inline *styles* stay
    allowed: React's style attributes, Swagger UI and ReDoc need them, and a
    style cannot read the token. ReDoc runs its search in a blob: worker.
    """
    csp = (
        ContentSecurityPolicy()
        .default_src("'self'")
        .script_src("'self'")
        .style_src("'self'", "'unsafe-inline'")
        .img_src("'self'", "data:")
        .font_src("'self'", "data:")
        .connect_src("'self'")
        .worker_src("'self'", "blob:")
        .object_src("'none'")
        .base_uri("'self'")
        .form_action("'self'")
        .frame_ancestors("'none'")
    )
    return Secure(
        csp=csp,
        xcto=XContentTypeOptions(),
        referrer=ReferrerPolicy().same_origin(),
        xfo=XFrameOptions().deny(),
    )


def security_header_pairs() -> list[tuple[bytes, bytes]]:
    """security_headers() as raw ASGI header pairs, for answers written below FastAPI."""
    headers = security_headers().headers
    return [(name.lower().encode("ascii"), value.encode("latin-1")) for name, value in headers.items()]
