"""Issue 10 over HTTP: users and deactivation, login throttling, body limits, hostile input,
security headers, offline docs, manual-event metadata, the socket channel per Redis db."""

import json
import re
import time
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from fastapi.testclient import TestClient
from limits.storage import MemoryStorage

from common.config import Settings
from common.services.accounts import BAD_CREDENTIALS
from gateway.throttle import LoginThrottle, TooManyAttempts, client_address
from tests.conftest import TEST_JWT_SECRET, auth, token_for

ADMIN, BUYER, SUPPLIER = "admin@demo.test", "buyer@demo.test", "supplier@demo.test"


def login(client: TestClient, email: str, password: str, **kwargs):
    return client.post("/api/auth/login", json={"email": email, "password": password}, **kwargs)


def user_id(client: TestClient, email: str) -> int:
    return client.get("/api/auth/me", headers=auth(email)).json()["id"]


# --- 2. users: list, rename, deactivate --------------------------------------------


def test_admin_lists_and_renames_users(client: TestClient) -> None:
    listed = client.get("/api/users/", headers=auth(ADMIN))
    assert listed.status_code == 200
    body = listed.json()
    assert body["total"] == 5 and body["limit"] == 20 and body["offset"] == 0
    assert {u["email"] for u in body["items"]} >= {ADMIN, BUYER, SUPPLIER}
    assert all(u["is_active"] for u in body["items"])
    assert "password_hash" not in json.dumps(body)
    buyer = user_id(client, BUYER)
    renamed = client.patch(f"/api/users/{buyer}", json={"full_name": "  Bea Buyer "}, headers=auth(ADMIN))
    assert renamed.status_code == 200
    assert renamed.json()["full_name"] == "Bea Buyer"
    assert renamed.json()["is_active"] is True
    assert client.patch("/api/users/9999", json={"is_active": False}, headers=auth(ADMIN)).status_code == 404
    for bad in ({"full_name": None}, {"is_active": None}, {"role": "admin"}, {"full_name": ""}):
        assert client.patch(f"/api/users/{buyer}", json=bad, headers=auth(ADMIN)).status_code == 422, bad
    me = user_id(client, ADMIN)
    assert client.patch(f"/api/users/{me}", json={"is_active": False}, headers=auth(ADMIN)).status_code == 409
    assert client.get("/api/users/", headers=auth(BUYER)).status_code == 403
    assert client.patch(f"/api/users/{buyer}", json={}, headers=auth(SUPPLIER)).status_code == 403


def test_deactivated_users_tokens_stop_at_once_and_stay_refused_after_reactivation(client: TestClient) -> None:
    buyer = user_id(client, BUYER)
    token = {"Authorization": f"Bearer {token_for(BUYER)}"}
    assert client.get("/api/orders/", headers=token).status_code == 200
    off = client.patch(f"/api/users/{buyer}", json={"is_active": False}, headers=auth(ADMIN))
    assert off.status_code == 200 and off.json()["is_active"] is False
    assert client.get("/api/orders/", headers=token).status_code == 401
    assert client.get("/api/auth/me", headers=token).status_code == 401
    refused = login(client, BUYER, "demo1234")
    assert refused.status_code == 401 and refused.json()["detail"] == BAD_CREDENTIALS
    on = client.patch(f"/api/users/{buyer}", json={"is_active": True}, headers=auth(ADMIN))
    assert on.status_code == 200
    # Issue 20: a token issued before the deactivation stays refused; the user signs in again
    # (in a later second than the deactivation: iat has whole seconds).
    old = client.get("/api/orders/", headers=token)
    assert old.status_code == 401 and "deactivated" in old.json()["detail"]
    time.sleep(1.05)
    fresh = login(client, BUYER, "demo1234")
    assert fresh.status_code == 200
    again = {"Authorization": f"Bearer {fresh.json()['access_token']}"}
    assert client.get("/api/orders/", headers=again).status_code == 200


# --- 3. login throttling ------------------------------------------------------------


def test_failed_logins_past_the_limit_get_429_even_with_the_right_password(client: TestClient) -> None:
    for _ in range(10):  # LOGIN_ATTEMPTS_PER_MINUTE defaults to 10
        assert login(client, BUYER, "wrong-password").status_code == 401
    blocked = login(client, BUYER, "demo1234")
    assert blocked.status_code == 429
    assert 1 <= int(blocked.headers["Retry-After"]) <= 60
    assert "detail" in blocked.json()
    # The OAuth2 form shares the same counter (same account, same address), any case of the email.
    form = client.post("/api/auth/token", data={"username": "BUYER@demo.test", "password": "demo1234"})
    assert form.status_code == 429
    # Another account from the same address, and the same account from another address, still work.
    assert login(client, SUPPLIER, "demo1234").status_code == 200


def test_one_address_gets_at_most_five_times_the_limit_across_accounts(client: TestClient) -> None:
    for i in range(50):
        assert login(client, f"nobody{i}@demo.test", "guess").status_code == 401
    # A fresh account, the right password: the address is spent.
    assert login(client, SUPPLIER, "demo1234").status_code == 429


def test_successful_logins_are_not_counted(client: TestClient) -> None:
    for _ in range(15):
        assert login(client, BUYER, "demo1234").status_code == 200


def test_throttle_in_memory_keys_on_account_and_address() -> None:
    throttle = LoginThrottle(MemoryStorage(), attempts_per_minute=3)
    for _ in range(3):
        throttle.check("a@x.test", "10.0.0.1")
        throttle.failed(" A@X.test ", "10.0.0.1")
    with pytest.raises(TooManyAttempts) as caught:
        throttle.check("a@x.test", "10.0.0.1")
    assert 1 <= int(caught.value.headers["Retry-After"]) <= 60
    throttle.check("a@x.test", "10.0.0.2")
    throttle.check("b@x.test", "10.0.0.1")


class _Req:
    def __init__(self, peer: str, xff: list[str]) -> None:
        from starlette.datastructures import Headers

        self.client = type("C", (), {"host": peer})()
        self.headers = Headers(raw=[(b"x-forwarded-for", v.encode()) for v in xff])


def test_client_address_believes_x_forwarded_for_only_from_trusted_proxies() -> None:
    def addr(peer: str, xff: list[str], trusted: str) -> str:
        return client_address(_Req(peer, xff), trusted)  # type: ignore[arg-type]

    assert addr("203.0.113.9", ["1.1.1.1"], "") == "203.0.113.9"
    assert addr("203.0.113.9", ["1.1.1.1"], "10.0.0.5") == "203.0.113.9"
    assert addr("10.0.0.5", ["1.1.1.1, 2.2.2.2"], "10.0.0.5") == "2.2.2.2"
    # The client's own (forged) entries are left of the proxies' and never believed.
    assert addr("10.0.0.5", ["6.6.6.6, 1.1.1.1, 10.0.0.4"], "10.0.0.0/24") == "1.1.1.1"
    assert addr("10.0.0.5", ["1.1.1.1", "2.2.2.2"], "10.0.0.5") == "2.2.2.2"
    assert addr("10.0.0.5", [], "10.0.0.5") == "10.0.0.5"
    assert addr("10.0.0.5", ["not-an-ip"], "10.0.0.5") == "10.0.0.5"


# --- 4. body limits and 422s without echoes -----------------------------------------


def test_body_over_max_body_bytes_is_413_before_it_is_read(client: TestClient) -> None:
    big = b'{"email": "' + b"a" * 2_000_000 + b'", "password": "x"}'
    response = client.post("/api/auth/login", content=big, headers={"Content-Type": "application/json"})
    assert response.status_code == 413
    assert "detail" in response.json()
    assert len(response.content) < 200


def test_chunked_body_over_the_limit_is_counted_while_streaming(client: TestClient) -> None:
    sent = 0

    def chunks():
        nonlocal sent
        for _ in range(40):
            sent += 100_000
            yield b"x" * 100_000

    response = client.post("/api/auth/login", content=chunks(), headers={"Content-Type": "application/json"})
    assert response.status_code == 413
    assert "detail" in response.json()
    admin = auth(ADMIN)
    streamed = client.post(
        "/api/events/", content=chunks(), headers={**admin, "Content-Type": "application/json"}
    )
    assert streamed.status_code == 413


def test_validation_errors_never_echo_input(client: TestClient) -> None:
    secret = "hunter2-SECRET"
    body = {"email": "x@demo.test", "password": secret[:6], "full_name": "X", "role": "buyer", "factory_id": 1}
    response = client.post("/api/users/", json=body, headers=auth(ADMIN))
    assert response.status_code == 422
    assert secret[:6] not in response.text
    assert all("input" not in item for item in response.json()["detail"])
    extra = client.post("/api/auth/login", json={"email": BUYER, "password": secret, "nonsense": secret})
    assert extra.status_code == 422
    assert secret not in extra.text
    assert client.post("/api/auth/login", json={"email": secret}).text.count(secret) == 0
    bad_json = client.post(
        "/api/auth/login", content=b'{"password": "' + secret.encode() + b'"', headers={"Content-Type": "application/json"}
    )
    assert bad_json.status_code == 422
    assert secret not in bad_json.text


# --- 5. input that used to be a 500 -------------------------------------------------


def test_nul_and_lone_surrogates_are_422(client: TestClient) -> None:
    nul_login = client.post("/api/auth/login", json={"email": "buyer@demo.test\x00", "password": "demo1234"})
    assert nul_login.status_code == 422
    surrogate = client.post(
        "/api/auth/login",
        content=b'{"email": "\\ud800@demo.test", "password": "demo1234"}',
        headers={"Content-Type": "application/json"},
    )
    assert surrogate.status_code == 422
    key = client.post(
        "/api/auth/login",
        content=b'{"email": "a@demo.test", "password": "x", "\\udfff": 1}',
        headers={"Content-Type": "application/json"},
    )
    assert key.status_code == 422
    form = client.post("/api/auth/token", data={"username": "admin@demo.test\x00", "password": "demo1234"})
    assert 400 <= form.status_code < 500
    factory = client.post("/api/factories/", json={"name": "Plant\x00"}, headers=auth(ADMIN))
    assert factory.status_code == 422
    event = client.post(
        "/api/events/",
        json={"event_type": "ORDER_DISPATCHED", "entity_type": "order", "entity_id": 1, "metadata": {"n": "\x00"}},
        headers=auth(ADMIN),
    )
    assert event.status_code == 422


def test_huge_numbers_are_422(client: TestClient) -> None:
    admin = auth(ADMIN)
    for url in ("/api/events/?offset=9223372036854775808", "/api/users/?offset=99999999999999999999999"):
        assert client.get(url, headers=admin).status_code == 422, url
    assert client.get("/api/orders/?offset=9223372036854775807", headers=auth(BUYER)).status_code == 200
    assert client.get("/api/orders/9223372036854775808", headers=admin).status_code in (404, 422)


@pytest.mark.parametrize("sub", ["²", "١٢", "0", "-1", " 1", "1e3", "99999999999999999999"])
def test_signed_token_with_a_strange_sub_is_401(client: TestClient, sub: str) -> None:
    now = datetime.now(UTC)
    token = jwt.encode({"sub": sub, "role": "admin", "iat": now, "exp": now + timedelta(minutes=5)}, TEST_JWT_SECRET)
    response = client.get("/api/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401


# --- 6. security headers and offline docs -------------------------------------------


@pytest.mark.parametrize("path", ["/api/health", "/docs", "/", "/api/auth/me", "/openapi.json"])
def test_security_headers_everywhere(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    csp = response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp
    assert re.search(r"script-src 'self'(;|$)", csp), csp  # no inline or foreign scripts
    assert "connect-src 'self'" in csp
    assert response.headers["Referrer-Policy"]


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_docs_use_only_same_origin_assets_that_answer(client: TestClient, page: str) -> None:
    html = client.get(page)
    assert html.status_code == 200
    refs = re.findall(r'(?:src|href)="([^"]+)"', html.text)
    assert refs, html.text
    assert "<script>" not in html.text  # no inline script: the CSP would refuse it
    for ref in refs:
        assert ref.startswith("/") and not ref.startswith("//"), ref
        asset = client.get(ref)
        assert asset.status_code == 200, ref
        assert len(asset.content) > 100, ref
    spec = client.get("/openapi.json").json()
    token_url = spec["components"]["securitySchemes"]["OAuth2PasswordBearer"]["flows"]["password"]["tokenUrl"]
    assert token_url == "/api/auth/token"


# --- 9. manual-event metadata --------------------------------------------------------


@pytest.mark.parametrize(
    "metadata",
    [
        {"eta": 12345},
        {"eta": "tomorrow"},
        {"delivered_at": ["2026-01-01"]},
        {"needed_by": "2026-13-01T00:00:00"},
        {"reason": 5},
        {"carrier": "x" * 501},
        {"tracking_ref": None},
        {"blob": "x" * 17_000},
    ],
)
def test_manual_event_metadata_is_checked(client: TestClient, metadata: dict) -> None:
    body = {"event_type": "ORDER_DISPATCHED", "entity_type": "order", "entity_id": 1, "metadata": metadata}
    response = client.post("/api/events/", json=body, headers=auth(ADMIN))
    assert response.status_code == 422, metadata
    assert "x" * 100 not in response.text


def test_manual_event_with_good_metadata_is_accepted(client: TestClient) -> None:
    order = client.post("/api/orders/", json={"items": [{"part_id": 1, "quantity": 1}]}, headers=auth(BUYER))
    assert order.status_code == 201
    metadata = {
        "eta": "2026-12-01T10:00:00+00:00",
        "delivered_at": "2026-12-02T10:00:00Z",
        "needed_by": "2026-12-03",
        "reason": "r" * 500,
        "carrier": "DHL",
        "tracking_ref": "T-1",
        "anything": {"else": [1, 2, 3]},
    }
    body = {"event_type": "ORDER_DISPATCHED", "entity_type": "order", "entity_id": order.json()["id"], "metadata": metadata}
    response = client.post("/api/events/", json=body, headers=auth(ADMIN))
    assert response.status_code == 202, response.text


# --- 10. the socket channel per Redis db --------------------------------------------


def test_socket_channel_carries_the_redis_db_number() -> None:
    one = Settings(redis_url="redis://127.0.0.1:6379/1", jwt_secret="x" * 40)
    two = Settings(redis_url="redis://127.0.0.1:6379/2", jwt_secret="x" * 40)
    default = Settings(redis_url="redis://127.0.0.1:6379", jwt_secret="x" * 40)
    assert one.socketio_channel != two.socketio_channel
    assert default.socketio_channel.endswith(":0")
    assert one.socketio_channel.endswith(":1")


def _room_subscriber(*rooms: str):  # type: ignore[no-untyped-def]
    import redis

    from common.events.channels import room_channel
    from tests.conftest import TEST_REDIS_URL

    pubsub = redis.Redis.from_url(TEST_REDIS_URL).pubsub(ignore_subscribe_messages=True)
    pubsub.ssubscribe(*[room_channel(room) for room in rooms])
    for _ in rooms:
        pubsub.get_sharded_message(timeout=1)  # the confirmations
    return pubsub


def _shard_messages(pubsub) -> list[dict]:  # type: ignore[no-untyped-def]
    import json

    received = []
    while (message := pubsub.get_sharded_message(timeout=2)) is not None:
        if message["type"] == "smessage":
            received.append({"channel": message["channel"].decode(), **json.loads(message["data"])})
    return received


def test_publisher_uses_the_db_specific_room_channel() -> None:
    from common.config import get_settings
    from common.events import publisher
    from tests.conftest import TEST_REDIS_URL

    settings = get_settings()
    db = int(TEST_REDIS_URL.rsplit("/", 1)[1])
    assert settings.socketio_channel.endswith(f":{db}")
    pubsub = _room_subscriber("user_1")
    publisher.publish([publisher.Emit("probe", {"x": 1}, "user_1"), publisher.Emit("probe", {"x": 2}, "user_2")])
    received = _shard_messages(pubsub)
    pubsub.close()
    # Only user_1's channel, named with the db: user_2's emit went to its own channel.
    assert [m["channel"] for m in received] == [f"{settings.socketio_channel}:user_1"]
    assert [e["data"][0] for e in received[0]["messages"]] == [{"x": 1}]


def test_a_batch_goes_out_as_few_messages_per_room_and_none_is_dropped() -> None:
    from common.events import publisher

    pubsub = _room_subscriber("user_7", "role_admin")
    count = 2 * publisher.EMITS_PER_MESSAGE + 50
    emits = [publisher.Emit("probe", {"n": n}, "user_7") for n in range(count)]
    emits.append(publisher.Emit("order_status", {"n": -1}, ["user_7", "user_8", "role_admin"]))
    publisher.publish(emits)
    received = _shard_messages(pubsub)
    pubsub.close()
    mine = [b for b in received if b["channel"].endswith(":user_7")]
    admins = [b for b in received if b["channel"].endswith(":role_admin")]
    assert len(mine) == 3 and len(admins) == 1
    assert all(b["method"] == publisher.EMIT_BATCH for b in received)
    emits_seen = [m for b in mine for m in b["messages"]]
    assert [m["data"][0]["n"] for m in emits_seen] == [*range(count), -1]
    assert all(m["method"] == "emit" and m["room"] == "user_7" for m in emits_seen)
    # An emit to several rooms reaches each room's channel naming that room alone.
    assert [m["room"] for m in admins[0]["messages"]] == ["role_admin"]


# --- 2. the socket watch's decisions (pure logic) -----------------------------------


def test_socket_watch_expires_from_deadlines_and_ends_only_what_it_knows_about() -> None:
    from datetime import UTC, datetime

    from gateway.realtime.limits import SocketLimits, _Held
    from gateway.realtime.server import Deadlines, _Socket

    sockets = {"a": _Socket(1, 100.0), "b": _Socket(2, 200.0), "late": _Socket(3, 300.0)}
    deadlines = Deadlines()
    for sid, sock in sockets.items():
        deadlines.add(sid, sock.expires_at)
    deadlines.add("gone", 90.0)  # a socket that left: its entry is dropped, not ended
    assert deadlines.due(sockets, 50.0) == []
    assert deadlines.due(sockets, 150.0) == ["a"]
    del sockets["a"]
    assert deadlines.due(sockets, 150.0) == [] and len(deadlines) == 2

    class Limits:  # SocketLimits.revoked reads only `held`
        held = {"x": _Held(1, 1000.0), "y": _Held(2, 1000.0), "z": _Held(3, 1000.0), "w": _Held(4, 1000.0)}

    accounts = {
        1: (False, None),  # made inactive straight in the database
        2: (True, None),
        3: (True, datetime.fromtimestamp(1000.5, UTC)),  # deactivated and back, after the token
    }
    # User 4's socket connected while the query ran: not asked, not ended.
    assert SocketLimits.revoked(Limits(), accounts, asked={1, 2, 3}) == ["x", "z"]  # type: ignore[arg-type]
