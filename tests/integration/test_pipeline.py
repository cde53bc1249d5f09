"""The whole pipeline with real processes: API -> outbox -> Celery worker -> Redis -> Socket.IO."""

import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest
import socketio

from common.seed import DEMO_TIMEZONE
from tests.conftest import TEST_JWT_SECRET
from tests.integration.conftest import Stack
from tests.integration.stack import Listener, wait_until

ADMIN, BUYER, BUYER2 = "admin@demo.test", "buyer@demo.test", "buyer2@demo.test"
SUPPLIER, SUPPLIER2 = "supplier@demo.test", "supplier2@demo.test"
EVERYONE = [ADMIN, BUYER, BUYER2, SUPPLIER, SUPPLIER2]
NOTIFICATION_KEYS = {
    "id",
    "event_type",
    "title",
    "message",
    "metadata",
    "link",
    "is_read",
    "archived",
    "timestamp",
}  # archived: CONTRACT section 8
# issue 24 (CONTRACT section 8): category, severity, seen, snoozed_until, resurfaced_at; position (what lists sort by)
NOTIFICATION_KEYS |= {"category", "severity", "seen", "snoozed_until", "resurfaced_at", "position"}
# issue 23: actions
NOTIFICATION_KEYS |= {"actions"}


@pytest.fixture
def listeners(live: Stack):
    opened = {email: live.listen(email) for email in EVERYONE}
    for listener in opened.values():
        listener.wait_for("unread_count")  # pushed on connect
    yield opened
    for listener in opened.values():
        listener.close()


def place_matched_order(live: Stack, listeners, quantity: int = 2, part_id: int = 3) -> int:
    with live.api(BUYER) as api:
        response = api.post("/api/orders/", json={"items": [{"part_id": part_id, "quantity": quantity}]})
        assert response.status_code == 201, response.text
        order_id = response.json()["id"]
    listeners[BUYER].wait_for(
        "order_status", lambda d: d["order_id"] == order_id and d["status"] == "MATCHED"
    )
    return order_id


def fire(live: Stack, event_type: str, entity_type: str, entity_id: int) -> int:
    with live.api(ADMIN) as api:
        response = api.post(
            "/api/events/",
            json={"event_type": event_type, "entity_type": entity_type, "entity_id": entity_id},
        )
        assert response.status_code == 202, response.text
        return response.json()["event_id"]


EXPECTED = {
    "ORDER_PLACED": {ADMIN},
    "SUPPLIER_MATCHED": {BUYER, SUPPLIER},
    "ORDER_CONFIRMED": {BUYER},
    "ORDER_DISPATCHED": {BUYER},
    "ORDER_IN_TRANSIT": {BUYER},
    "ORDER_DELIVERED": {BUYER},
    "ORDER_CANCELLED": {SUPPLIER, ADMIN},
    "LOW_STOCK_ALERT": {SUPPLIER, ADMIN},
    "DELIVERY_PLANNED": {BUYER},
    "DELIVERY_COMPLETED": {SUPPLIER},
    "ETA_UPDATED": {BUYER},
    "MATCHING_FAILED": {BUYER, ADMIN},
    "ORDER_ESCALATED": {BUYER, SUPPLIER, ADMIN},
    "ETA_DISPUTED": {SUPPLIER, ADMIN},
}
STATUS_EVENTS = {
    "ORDER_PLACED",
    "SUPPLIER_MATCHED",
    "ORDER_CONFIRMED",
    "ORDER_DISPATCHED",
    "ORDER_IN_TRANSIT",
    "ORDER_DELIVERED",
    "ORDER_CANCELLED",
}


def test_every_event_type_reaches_exactly_its_recipients(live: Stack, listeners) -> None:
    order_id = place_matched_order(live, listeners)  # a real ORDER_PLACED and SUPPLIER_MATCHED
    expected: dict[str, Counter[str]] = {email: Counter() for email in EVERYONE}
    for email in EXPECTED["ORDER_PLACED"] | EXPECTED["SUPPLIER_MATCHED"]:
        expected[email].update([t for t in ("ORDER_PLACED", "SUPPLIER_MATCHED") if email in EXPECTED[t]])
    fired = []
    for event_type, recipients in EXPECTED.items():
        entity = ("inventory", 1) if event_type == "LOW_STOCK_ALERT" else ("order", order_id)
        fired.append(fire(live, event_type, *entity))
        for email in recipients:
            expected[email][event_type] += 1
    admin = listeners[ADMIN]
    for event_id in fired:
        admin.wait_for("system_event", lambda d, e=event_id: d["event_id"] == e)
    for email, counts in expected.items():
        for event_type in counts:
            listeners[email].wait_for("notification", lambda d, t=event_type: d["event_type"] == t)
    time.sleep(1.0)  # anything misrouted would arrive by now
    for email, listener in listeners.items():
        got = Counter(n["event_type"] for n in listener.of("notification"))
        assert got == expected[email], email
        for payload in listener.of("notification"):
            assert set(payload) == NOTIFICATION_KEYS
            assert payload["is_read"] is False
            if payload["event_type"] == "LOW_STOCK_ALERT":
                assert payload["metadata"]["supplier_id"] == 1 and payload["metadata"]["part_id"]
                assert payload["link"] == f"/inventory/{payload['metadata']['part_id']}"
            else:
                assert payload["metadata"]["order_id"] == order_id
                assert payload["link"] == f"/orders/{order_id}"
        # The ids on the socket are the ids REST returns, and the pushed count is REST's count.
        with live.api(email) as api:
            rest = api.get("/api/notifications/", params={"limit": 100}).json()["items"]
            rest_count = api.get("/api/notifications/unread-count").json()["count"]
        assert sorted(n["id"] for n in rest) == sorted(n["id"] for n in listener.of("notification"))
        if listener.of("notification"):
            listener.wait_for("unread_count", lambda d, c=rest_count: d["count"] == c)
        if email != ADMIN:
            assert listener.of("system_event") == []
    assert len(admin.of("system_event")) == len(fired) + 2
    statuses = [d for d in listeners[BUYER].of("order_status")]
    assert len(statuses) == len(STATUS_EVENTS) + 2
    assert listeners[SUPPLIER].of("order_status") and listeners[ADMIN].of("order_status")
    assert listeners[BUYER2].of("order_status") == [] and listeners[SUPPLIER2].of("order_status") == []


def test_titles_and_messages_follow_the_contract(live: Stack, listeners) -> None:
    order_id = place_matched_order(live, listeners, quantity=4)
    placed = listeners[ADMIN].wait_for("notification", lambda d: d["event_type"] == "ORDER_PLACED")
    assert placed["title"] == f"New Order #{order_id}"
    assert placed["message"] == "Rheinstahl Works placed an order for 4 parts"
    matched = listeners[BUYER].wait_for("notification", lambda d: d["event_type"] == "SUPPLIER_MATCHED")
    assert matched["title"] == "Supplier Matched"
    assert matched["message"] == "Supplier Nordic Bearings AG has been matched to your order"
    assert listeners[SUPPLIER].wait_for("notification", lambda d: d["event_type"] == "SUPPLIER_MATCHED")


def test_full_lifecycle_with_stock_delivery_and_score(live: Stack, listeners) -> None:
    order_id = place_matched_order(live, listeners, quantity=260)  # seal stock 300, threshold 50
    buyer, supplier = listeners[BUYER], listeners[SUPPLIER]
    with live.api(SUPPLIER) as api:
        assert (
            api.post(f"/api/orders/{order_id}/transitions", json={"status": "CONFIRMED"}).status_code == 200
        )
        confirmed = buyer.wait_for("notification", lambda d: d["event_type"] == "ORDER_CONFIRMED")
        assert (
            confirmed["message"]
            == "Supplier Nordic Bearings AG confirmed order item Radial shaft seal TC 45x62x8"
        )
        alert = supplier.wait_for("notification", lambda d: d["event_type"] == "LOW_STOCK_ALERT")
        assert alert["message"] == "Part Radial shaft seal TC 45x62x8 is below threshold (40 remaining)"
        listeners[ADMIN].wait_for("notification", lambda d: d["event_type"] == "LOW_STOCK_ALERT")
        eta = datetime.now(UTC) + timedelta(days=2)
        assert (
            api.post(
                f"/api/orders/{order_id}/delivery", json={"eta": eta.isoformat(), "carrier": "DHL Freight"}
            ).status_code
            == 201
        )
        planned = buyer.wait_for("notification", lambda d: d["event_type"] == "DELIVERY_PLANNED")
        assert "DHL Freight" in planned["message"]
        new_eta = eta + timedelta(days=1)
        assert (
            api.patch(f"/api/orders/{order_id}/delivery", json={"eta": new_eta.isoformat()}).status_code
            == 200
        )
        updated = buyer.wait_for("notification", lambda d: d["event_type"] == "ETA_UPDATED")
        # The buyer reads the date in the organisation's zone (near midnight UTC it is the next day there).
        assert new_eta.astimezone(ZoneInfo(DEMO_TIMEZONE)).strftime("%Y-%m-%d") in updated["message"]
        for status in ("DISPATCHED", "IN_TRANSIT"):
            assert api.post(f"/api/orders/{order_id}/transitions", json={"status": status}).status_code == 200
            buyer.wait_for("order_status", lambda d, s=status: d["status"] == s)
        in_transit = buyer.wait_for("notification", lambda d: d["event_type"] == "ORDER_IN_TRANSIT")
        assert "DHL Freight" in in_transit["message"]
    with live.api(BUYER) as api:
        assert (
            api.post(f"/api/orders/{order_id}/transitions", json={"status": "DELIVERED"}).status_code == 200
        )
    delivered = buyer.wait_for("notification", lambda d: d["event_type"] == "ORDER_DELIVERED")
    assert delivered["message"] == f"Order #{order_id} delivered successfully"
    supplier.wait_for("notification", lambda d: d["event_type"] == "DELIVERY_COMPLETED")
    with live.api(ADMIN) as api:
        score = lambda: api.get("/api/suppliers/1").json()["reliability_score"]  # noqa: E731
        deadline = time.monotonic() + 10
        while score() != 82 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert score() == 82  # delivered before the planned ETA


def test_cancelled_order_tells_supplier_and_admins(live: Stack, listeners) -> None:
    order_id = place_matched_order(live, listeners)
    with live.api(BUYER) as api:
        response = api.post(
            f"/api/orders/{order_id}/transitions", json={"status": "CANCELLED", "reason": "plant shutdown"}
        )
        assert response.status_code == 200
    for email in (SUPPLIER, ADMIN):
        note = listeners[email].wait_for("notification", lambda d: d["event_type"] == "ORDER_CANCELLED")
        assert note["message"] == f"Order #{order_id} was cancelled by Bruno Buyer: plant shutdown"
    listeners[BUYER].wait_for("order_status", lambda d: d["status"] == "CANCELLED")


def test_unfillable_order_tells_buyer_and_admins(live: Stack, listeners) -> None:
    with live.api(BUYER) as api:
        order_id = api.post("/api/orders/", json={"items": [{"part_id": 1, "quantity": 999999}]}).json()["id"]
    for email in (BUYER, ADMIN):
        note = listeners[email].wait_for("notification", lambda d: d["event_type"] == "MATCHING_FAILED")
        assert note["title"] == "No Supplier Available"
        assert note["message"] == f"No supplier can fill order #{order_id} now"


def test_mark_read_pushes_count_to_every_socket_of_the_user(live: Stack, listeners) -> None:
    place_matched_order(live, listeners)
    note = listeners[BUYER].wait_for("notification", lambda d: d["event_type"] == "SUPPLIER_MATCHED")
    second_tab = live.listen(BUYER)
    try:
        second_tab.wait_for("unread_count", lambda d: d["count"] == 1)
        with live.api(BUYER) as api:
            assert api.patch(f"/api/notifications/{note['id']}/read").status_code == 200
        for socket_ in (listeners[BUYER], second_tab):
            socket_.wait_for("unread_count", lambda d: d["count"] == 0)
        fire(live, "ORDER_DISPATCHED", "order", note["metadata"]["order_id"])
        listeners[BUYER].wait_for("notification", lambda d: d["event_type"] == "ORDER_DISPATCHED")
        wait_until(lambda: second_tab.of("unread_count")[-1]["count"] == 1, 10, "count 1 in the second tab")
        seen = len(second_tab.of("unread_count"))
        with live.api(BUYER) as api:
            assert api.patch("/api/notifications/read-all").json()["updated"] == 1
        wait_until(
            lambda: [d["count"] for d in second_tab.of("unread_count")[seen:]] == [0],
            10,
            "count 0 after read-all",
        )
    finally:
        second_tab.close()


def _expired_token() -> str:
    import jwt

    now = datetime.now(UTC)
    return jwt.encode(
        {"sub": "1", "role": "admin", "iat": now - timedelta(hours=2), "exp": now - timedelta(hours=1)},
        TEST_JWT_SECRET,
        "HS256",
    )


@pytest.mark.parametrize("token", [None, "not-a-jwt", "expired", "unsigned", "other-key"])
def test_refused_connects(live: Stack, token) -> None:
    import jwt

    now = datetime.now(UTC)
    claims = {"sub": "1", "role": "admin", "iat": now, "exp": now + timedelta(minutes=5)}
    token = {
        "expired": _expired_token(),
        "unsigned": jwt.encode(claims, None, algorithm="none"),
        "other-key": jwt.encode(claims, "some-other-key-that-is-long-enough-0000", "HS256"),
    }.get(token, token)
    with pytest.raises(socketio.exceptions.ConnectionError):
        Listener(live.url, token)


def test_token_expiry_disconnects_the_socket(live: Stack) -> None:
    listener = Listener(live.url, _short_lived_buyer_token())
    try:
        listener.wait_for("session_expired", timeout=10)
        deadline = time.monotonic() + 5
        while listener.sio.connected and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not listener.sio.connected
    finally:
        if listener.sio.connected:
            listener.close()


def _short_lived_buyer_token() -> str:
    import jwt

    now = datetime.now(UTC)
    return jwt.encode(
        {"sub": "2", "role": "buyer", "iat": now, "exp": now + timedelta(seconds=2)}, TEST_JWT_SECRET, "HS256"
    )


def test_socket_and_rest_ids_agree_for_the_buyer(live: Stack, listeners) -> None:
    order_id = place_matched_order(live, listeners)
    note = listeners[BUYER].wait_for("notification")
    with live.api(BUYER) as api:
        rest = api.get("/api/notifications/").json()["items"]
    assert [n["id"] for n in rest] == [note["id"]]
    assert rest[0]["metadata"]["order_id"] == order_id


def test_an_alert_to_many_admins_travels_as_one_bulk_message_and_each_gets_its_own_row(
    live: Stack,
) -> None:
    """issue 26: 40 more admins (41 with the demo one, past BULK_MIN_RECIPIENTS): the worker
    publishes the admins' notifications as one bulk message on the admins' role channel, and
    each connected admin's socket gets its own row, the one REST lists for it."""
    import json

    import redis
    from sqlalchemy import insert

    from common.db import get_sessionmaker
    from common.events import channels, publisher
    from common.models import User
    from common.security import create_access_token
    from tests.conftest import TEST_REDIS_URL

    with get_sessionmaker()() as session:
        rows = [
            {"email": f"bulk-{n}@example.test", "password_hash": "x", "full_name": "Bulk", "role": "admin"}
            for n in range(40)
        ]
        admin_ids = list(session.scalars(insert(User).returning(User.id), rows))
        session.commit()
    assert len(admin_ids) + 1 >= publisher.BULK_MIN_RECIPIENTS
    tokens = {uid: create_access_token(uid, "admin") for uid in admin_ids}
    watched = admin_ids[:12]
    opened = {uid: Listener(live.url, tokens[uid], name=f"admin {uid}") for uid in watched}
    client = redis.Redis.from_url(TEST_REDIS_URL)
    role_channel = client.pubsub()
    role_channel.ssubscribe(channels.room_channel("role_admin"))
    try:
        for listener in opened.values():
            listener.wait_for("unread_count")
        fire(live, "LOW_STOCK_ALERT", "inventory", 1)
        got = {
            uid: listener.wait_for("notification", lambda d: d["event_type"] == "LOW_STOCK_ALERT")
            for uid, listener in opened.items()
        }
        bulk = []
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not bulk:
            message = role_channel.get_sharded_message(timeout=0.5)
            if message and message.get("type") == "smessage":
                data = json.loads(message["data"])
                if data.get("method") == publisher.BULK and data.get("event") == "notification":
                    bulk.append(data)
        assert bulk, "no bulk notification message on the admins' channel"
        rooms = {room for room, _, _ in bulk[0]["recipients"]}
        assert {publisher.user_room(uid) for uid in admin_ids} <= rooms
        assert len({d["id"] for d in got.values()}) == len(watched)  # each its own row
        for uid, data in got.items():
            assert set(data) >= NOTIFICATION_KEYS and data["title"] == "Low Stock Alert"
            headers = {"Authorization": f"Bearer {tokens[uid]}"}
            listed = httpx.get(f"{live.url}/api/notifications/", headers=headers, timeout=10).json()
            assert [n["id"] for n in listed["items"]] == [data["id"]]
        # The counts came the same way: each watched admin has 1 unread.
        for listener in opened.values():
            listener.wait_for("unread_count", lambda d: d["count"] == 1)
    finally:
        role_channel.close()
        client.close()
        for listener in opened.values():
            listener.close()
