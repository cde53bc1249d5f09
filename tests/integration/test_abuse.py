"""Issue 10 against real processes: client-sent connect/disconnect, deactivation on every
gateway, a gateway whose database is down."""

import time
from datetime import UTC, datetime, timedelta

import httpx
import jwt
import pytest
import socketio

from tests.conftest import TEST_JWT_SECRET, token_for
from tests.integration.conftest import Stack
from tests.integration.stack import (
    HTTP_PROTOCOL,
    Listener,
    Process,
    free_port,
    process_env,
    start_gateway,
    wait_until,
)

ADMIN, BUYER = "admin@demo.test", "buyer@demo.test"


def _token(sub: str, role: str, seconds: float) -> str:
    now = datetime.now(UTC)
    return jwt.encode(
        {"sub": sub, "role": role, "iat": now, "exp": now + timedelta(seconds=seconds)}, TEST_JWT_SECRET, "HS256"
    )


def _wait_disconnected(listener: Listener, timeout: float) -> float:
    start = time.monotonic()
    while listener.sio.connected and time.monotonic() - start < timeout:
        time.sleep(0.05)
    return time.monotonic() - start


def test_client_sent_disconnect_does_not_keep_an_expired_socket(live: Stack) -> None:
    listener = Listener(live.url, _token("2", "buyer", 3), name="buyer")
    try:
        listener.wait_for("unread_count")
        # python-socketio hands a client EVENT named "disconnect" to the server's disconnect handler.
        listener.sio.emit("disconnect")
        listener.sio.emit("disconnect", "client namespace disconnect")
        time.sleep(0.5)
        assert listener.sio.connected  # the event did not disconnect it either: it changed nothing
        # The token expires 3 s after it was made; the socket goes within 5 s after that.
        assert _wait_disconnected(listener, 8) < 8
        assert not listener.sio.connected
        assert listener.of("session_expired")
    finally:
        if listener.sio.connected:
            listener.close()


def test_client_sent_connect_changes_nothing(live: Stack) -> None:
    listener = Listener(live.url, token_for(BUYER), name="buyer")
    try:
        listener.wait_for("unread_count")
        before = len(listener.of("unread_count"))
        # Shaped like the handler's own arguments (environ, auth): an old server re-ran
        # authentication and answered with another unread_count.
        admin_token = token_for(ADMIN)
        for _ in range(20):
            listener.sio.emit("connect", ({}, {"token": admin_token}))
            listener.sio.emit("connect", {"token": admin_token})
        time.sleep(1.5)
        assert len(listener.of("unread_count")) == before
        assert listener.sio.connected
        # It did not join the admin's rooms either: an event fired now reaches admins only.
        with live.api(ADMIN) as api:
            fired = api.post(
                "/api/events/", json={"event_type": "LOW_STOCK_ALERT", "entity_type": "inventory", "entity_id": 1}
            )
            assert fired.status_code == 202
        admin = Listener(live.url, admin_token, name="admin")
        try:
            admin.wait_for("system_event", lambda e: e["event_id"] == fired.json()["event_id"])
        finally:
            admin.close()
        assert not listener.of("system_event")
    finally:
        listener.close()


def test_deactivation_disconnects_every_socket_on_every_gateway(live: Stack) -> None:
    port = free_port()
    second = start_gateway("gateway-deactivate", port, process_env())
    other_url = f"http://127.0.0.1:{port}"
    buyer_token = token_for(BUYER)
    on_first = Listener(live.url, buyer_token, name="buyer@1")
    on_second = Listener(other_url, buyer_token, name="buyer@2")
    bystander = Listener(other_url, token_for(ADMIN), name="admin@2")
    try:
        for listener in (on_first, on_second, bystander):
            listener.wait_for("unread_count")
        with live.api(ADMIN) as api:
            buyer_id = api.get("/api/users/").json()["items"]
            buyer_id = next(u["id"] for u in buyer_id if u["email"] == BUYER)
            started = time.monotonic()
            assert api.patch(f"/api/users/{buyer_id}", json={"is_active": False}).status_code == 200
        for listener in (on_first, on_second):
            _wait_disconnected(listener, 10)
            assert not listener.sio.connected, listener.name
        elapsed = time.monotonic() - started
        assert elapsed < 5, f"sockets closed {elapsed:.1f}s after the PATCH"
        assert bystander.sio.connected
        # Its token is refused everywhere now, on HTTP and at connect.
        assert httpx.get(f"{other_url}/api/auth/me", headers={"Authorization": f"Bearer {buyer_token}"}).status_code == 401
        with pytest.raises(socketio.exceptions.ConnectionError):
            Listener(other_url, buyer_token)
    finally:
        for listener in (on_first, on_second, bystander):
            if listener.sio.connected:
                listener.close()
        second.stop()


def test_database_down_is_503_and_a_refused_socket(clean_db: None) -> None:
    dead = free_port()  # nothing listens here
    port = free_port()
    env = process_env(DATABASE_URL=f"postgresql+psycopg2://postgres@127.0.0.1:{dead}/nothing", EVENT_RELAY="0")
    gateway = Process(
        "gateway-no-database",
        [
            ".venv/bin/python", "-m", "uvicorn", "gateway.main:app", "--host", "127.0.0.1",
            "--port", str(port), "--http", HTTP_PROTOCOL, "--no-proxy-headers", "--log-level", "warning",
        ],
        env,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: httpx.get(f"{url}/api/health", timeout=5).status_code == 503, 30, "gateway up")
        headers = {"Authorization": f"Bearer {token_for(BUYER)}"}
        for method, path, kwargs in [
            ("GET", "/api/auth/me", {"headers": headers}),
            ("GET", "/api/orders/", {"headers": headers}),
            ("GET", "/api/notifications/unread-count", {"headers": headers}),
            ("POST", "/api/auth/login", {"json": {"email": BUYER, "password": "demo1234"}}),
            ("POST", "/api/auth/token", {"data": {"username": BUYER, "password": "demo1234"}}),
        ]:
            started = time.monotonic()
            response = httpx.request(method, f"{url}{path}", timeout=15, **kwargs)
            assert response.status_code == 503, (path, response.text)
            assert "database" in response.json()["detail"].lower()
            assert time.monotonic() - started < 8
        client = socketio.Client(reconnection=False)
        errors: list[object] = []
        client.on("connect_error", errors.append)
        started = time.monotonic()
        with pytest.raises(socketio.exceptions.ConnectionError):
            client.connect(url, socketio_path="ws", auth={"token": token_for(BUYER)}, wait_timeout=10)
        assert time.monotonic() - started < 5
        assert "database" in str(errors).lower(), errors
    finally:
        gateway.stop()


def test_login_counters_are_shared_by_gateways_and_forwarded_for_is_not_believed(live: Stack) -> None:
    from gateway.throttle import login_throttle

    port = free_port()
    second = start_gateway("gateway-throttle", port, process_env())
    probe = {"email": "throttle-probe@demo.test", "password": "wrong-password"}
    try:
        for i in range(10):
            # Without TRUSTED_PROXIES a forged X-Forwarded-For changes nothing: the peer counts.
            response = httpx.post(
                f"{live.url}/api/auth/login", json=probe, headers={"X-Forwarded-For": f"198.51.100.{i}"}
            )
            assert response.status_code == 401
        on_second = httpx.post(f"http://127.0.0.1:{port}/api/auth/login", json=probe)
        assert on_second.status_code == 429
        assert 1 <= int(on_second.headers["Retry-After"]) <= 60
    finally:
        second.stop()
        login_throttle().storage.reset()  # the other tests' logins from this address start afresh
