"""The ASGI guard (gateway/guard.py) on its own, with a stand-in app: admission, the body
deadline, control characters, the head cap; and the log redaction of tokens."""

import asyncio
import logging
import time
from typing import Any

from common.config import Settings
from gateway.guard import Guard
from gateway.log_redact import TokenRedaction, redact


class _Limits:
    def start(self) -> None:
        pass

    def gateway_full(self) -> bool:
        return False


def _guard(app: Any, **settings: Any) -> Guard:
    defaults = {"request_body_timeout_seconds": 0.3, "admission_wait_seconds": 0.2}
    return Guard(app, Settings(**{**defaults, **settings}), _Limits(), 1)  # type: ignore[arg-type]


async def _call(
    guard: Guard,
    path: str,
    headers: list[tuple[bytes, bytes]] | None = None,
    body: list[dict[str, Any]] | None = None,
) -> tuple[int, dict[bytes, bytes]]:
    scope = {
        "type": "http",
        "method": "POST" if body else "GET",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": headers or [],
    }
    messages = list(body or [])
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        if messages:
            return messages.pop(0)
        await asyncio.sleep(3600)  # the rest of the body never comes
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await guard(scope, receive, send)
    start = sent[0]
    return start["status"], dict(start.get("headers", []))


async def _ok_app(scope: Any, receive: Any, send: Any, hold: float = 0.0) -> None:
    if scope["method"] == "POST":
        message = await receive()
        assert message == {"type": "http.request", "body": b"{}", "more_body": False}
    await asyncio.sleep(hold)
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b""})


def test_a_request_that_would_wait_past_admission_wait_is_503_and_health_never_waits() -> None:
    async def slow(scope: Any, receive: Any, send: Any) -> None:
        await _ok_app(scope, receive, send, hold=0.6)

    guard = _guard(slow)

    async def run() -> list[tuple[int, dict[bytes, bytes]]]:
        first = asyncio.create_task(_call(guard, "/api/orders/"))
        await asyncio.sleep(0.05)
        results = await asyncio.gather(_call(guard, "/api/orders/"), _call(guard, "/api/health"))
        return [await first, *results]

    (first, _), (queued, headers), (health, _) = asyncio.run(run())
    assert first == 200 and health == 200
    assert queued == 503 and headers[b"retry-after"] == b"1"


def test_a_body_is_read_whole_before_admission_and_a_late_one_is_408() -> None:
    guard = _guard(_ok_app)
    length = [(b"content-length", b"2")]
    whole = [
        {"type": "http.request", "body": b"{", "more_body": True},
        {"type": "http.request", "body": b"}"},
    ]
    assert asyncio.run(_call(guard, "/api/auth/login", length, whole))[0] == 200
    half = [{"type": "http.request", "body": b"{", "more_body": True}]
    status, headers = asyncio.run(_call(guard, "/api/auth/login", length, half))
    assert status == 408 and headers[b"connection"] == b"close"
    assert guard.slots._value == 1  # the late body never held the admission slot  # noqa: SLF001
    big = [(b"content-length", str(2 * 1024 * 1024).encode())]
    assert asyncio.run(_call(guard, "/api/auth/login", big, half))[0] == 413


def test_control_characters_and_oversized_heads_are_refused_with_security_headers() -> None:
    guard = _guard(_ok_app)
    for path in ["/\x00", "/orders\x00", "/\n", "/ws/\x7f"]:
        status, headers = asyncio.run(_call(guard, path))
        assert status == 400 and b"content-security-policy" in headers and b"x-frame-options" in headers
    status, headers = asyncio.run(_call(guard, "/api/health", [(b"x-big", b"a" * 17_000)]))
    assert status == 431 and headers[b"connection"] == b"close"


def test_tokens_in_logged_query_strings_are_redacted() -> None:
    assert redact("/ws/?EIO=4&token=abc.def&transport=websocket") == (
        "/ws/?EIO=4&token=[redacted]&transport=websocket"
    )
    assert redact("/api/x?access_token=abc") == "/api/x?access_token=[redacted]"
    assert redact("/api/x?tokens=1&mytoken=2") == "/api/x?tokens=1&mytoken=2"
    record = logging.LogRecord(
        "uvicorn.error",
        logging.INFO,
        "",
        0,
        '%s - "WebSocket %s" [accepted]',
        ("127.0.0.1:1", "/ws/?token=secret"),
        None,
    )
    TokenRedaction().filter(record)
    assert "secret" not in record.getMessage()


def test_past_max_waiting_a_request_is_503_at_once(monkeypatch: Any) -> None:
    import gateway.guard

    monkeypatch.setattr(gateway.guard, "MAX_WAITING", 1)

    async def slow(scope: Any, receive: Any, send: Any) -> None:
        await _ok_app(scope, receive, send, hold=0.15)

    guard = _guard(slow, admission_wait_seconds=1.0)

    async def run() -> tuple[list[int], float]:
        admitted = asyncio.create_task(_call(guard, "/api/orders/"))
        await asyncio.sleep(0.02)
        waiting = asyncio.create_task(_call(guard, "/api/orders/"))
        await asyncio.sleep(0.02)
        started = time.monotonic()
        status, _ = await _call(guard, "/api/orders/")
        refused_in = time.monotonic() - started
        return [(await admitted)[0], (await waiting)[0], status], refused_in

    statuses, refused_in = asyncio.run(run())
    assert statuses == [200, 200, 503]  # the one waiting within ADMISSION_WAIT is served
    assert refused_in < 0.1
