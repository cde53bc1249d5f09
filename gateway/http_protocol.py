"""The gateway's HTTP protocol for uvicorn: a cap on request heads, a deadline for them.

uvicorn has no limit on the size of a request head with httptools (h11 answers an
oversized one with 400), and httptools keeps appending a header value that
arrives in pieces: a 64 MB header held every other request of the event loop
for seconds. This class counts the bytes of each request head as they arrive,
before the parser sees them, and answers `431` with `Connection: close` as soon
as the request line and headers together pass MAX_HEADER_BYTES: at most one
read (asyncio reads up to 256 KiB at a time) is parsed past the cap.

A head must also be complete within REQUEST_BODY_TIMEOUT_SECONDS of its first
byte (`408`, connection closed): uvicorn's keep-alive timer is cancelled by the
first byte of the next request, and nothing else times out a head that
trickles in. A new connection that sends nothing is closed after uvicorn's
keep-alive timeout (`--timeout-keep-alive`, 5 s), as an idle one after a
response is. The body's deadline is the ASGI guard's (gateway/guard.py).

Started with `uvicorn gateway.main:app --http gateway.http_protocol:GatewayHttpProtocol`
(scripts/run.sh, docker-compose.yml, the Dockerfile, tests/integration/stack.py).
It subclasses uvicorn's own `HttpToolsProtocol` and overrides only the asyncio
protocol methods and parser callbacks it documents (`data_received`,
`connection_made`, `connection_lost`, `on_headers_complete`,
`on_message_complete`); tests/integration/test_hardening_edge.py fails if
uvicorn changes underneath.
"""

import asyncio
import json
import logging
from asyncio.events import TimerHandle
from typing import Any

from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol
from uvicorn.server import ServerState

from common.config import get_settings
from gateway.log_redact import install_token_redaction
from gateway.middleware import security_header_pairs

log = logging.getLogger("partpulse.gateway")
install_token_redaction()

_SECURITY_HEADERS = security_header_pairs()


class GatewayHttpProtocol(HttpToolsProtocol):
    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        settings = get_settings()
        self.max_header_bytes = settings.max_header_bytes
        self.head_timeout = settings.request_body_timeout_seconds
        self._in_head = True  # waiting for (the rest of) a request line and headers
        self._head_bytes = 0
        self._head_timer: TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        # Idle before the first byte: closed like an idle keep-alive connection.
        self.timeout_keep_alive_task = self.loop.call_later(
            self.timeout_keep_alive, self.timeout_keep_alive_handler
        )

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_head_timer()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if not self._in_head:
            super().data_received(data)
            return
        if self._head_timer is None:
            self._head_timer = self.loop.call_later(self.head_timeout, self._head_timed_out)
        room = self.max_header_bytes - self._head_bytes
        if len(data) <= room:
            self._head_bytes += len(data)
            super().data_received(data)
            return
        # Parse only what fits under the cap: either the head ends in it, or it is too large.
        self._head_bytes += room
        super().data_received(data[:room])
        if self.transport.is_closing() or self.transport.get_protocol() is not self:
            return  # refused by the parser, or upgraded to a WebSocket
        if self._in_head:
            self._refuse(431, f"The request line and headers are larger than {self.max_header_bytes} bytes")
            return
        self.data_received(data[room:])

    def on_headers_complete(self) -> None:
        self._in_head = False
        self._cancel_head_timer()
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._in_head = True
        self._head_bytes = 0

    def _cancel_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if self._in_head and not self.transport.is_closing():
            self._refuse(408, "The request headers did not arrive in time")

    def _refuse(self, status: int, detail: str) -> None:
        """Answer at once and close: nothing more of this connection is read."""
        self._cancel_head_timer()
        log.info("%s from %s: %s", status, self.client[0] if self.client else "?", detail)
        body = json.dumps({"detail": detail}).encode()
        headers = [
            *self.server_state.default_headers,
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"),
            *_SECURITY_HEADERS,
        ]
        head = [STATUS_LINE[status], *(name + b": " + value + b"\r\n" for name, value in headers), b"\r\n"]
        self.transport.write(b"".join(head) + body)
        self.transport.close()
