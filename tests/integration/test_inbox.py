"""Inbox features against real processes: one key under concurrency, every tab follows, muted types."""

import threading
import time
import uuid
from typing import Any

import httpx
from sqlalchemy import func, select

from common.db import get_sessionmaker
from common.models import EventLog, Notification, Order
from tests.conftest import token_for
from tests.integration.conftest import Stack
from tests.integration.stack import Listener, wait_until

ADMIN, BUYER = "admin@demo.test", "buyer@demo.test"


def test_concurrent_requests_with_one_key_place_one_order(live: Stack) -> None:
    key = f"concurrent-{uuid.uuid4().hex}"
    body = {"items": [{"part_id": 2, "quantity": 1}]}
    headers = {"Authorization": f"Bearer {token_for(BUYER)}", "Idempotency-Key": key}
    start = threading.Barrier(8)
    answers: list[httpx.Response] = []
    lock = threading.Lock()

    def send() -> None:
        with httpx.Client(base_url=live.url, timeout=30) as api:
            start.wait()
            response = api.post("/api/orders/", json=body, headers=headers)
        with lock:
            answers.append(response)

    threads = [threading.Thread(target=send) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    statuses = sorted(r.status_code for r in answers)
    assert len(statuses) == 8 and set(statuses) <= {201, 409}, statuses
    created = [r.json() for r in answers if r.status_code == 201]
    assert created and all(c == created[0] for c in created), created
    with get_sessionmaker()() as session:
        assert session.scalar(select(func.count()).select_from(Order)) == 1
        assert session.scalar(select(func.count()).where(EventLog.event_type == "ORDER_PLACED")) == 1
    # Once the first has finished, every retry gets its answer.
    with httpx.Client(base_url=live.url, timeout=30) as api:
        again = api.post("/api/orders/", json=body, headers=headers)
    assert again.status_code == 201 and again.json() == created[0]


def latest_count(listener: Listener) -> dict[str, Any] | None:
    """The unread_count a client keeps: the one with the highest version."""
    versioned = [d for d in listener.of("unread_count") if "version" in d]
    return max(versioned, key=lambda d: d["version"]) if versioned else None


def test_every_socket_of_the_user_follows_read_unread_archive(live: Stack) -> None:
    first_tab = live.listen(BUYER)
    with live.api(BUYER) as api:
        order_id = api.post("/api/orders/", json={"items": [{"part_id": 3, "quantity": 1}]}).json()["id"]
    note = first_tab.wait_for("notification", lambda d: d["event_type"] == "SUPPLIER_MATCHED")
    assert note["metadata"]["order_id"] == order_id
    second_tab = live.listen(BUYER)
    other_user = live.listen("buyer2@demo.test")
    try:
        second_tab.wait_for("unread_count")
        connected = len(second_tab.of("unread_count"))
        steps: list[tuple[str, dict[str, Any]]] = [
            ("read", {"id": note["id"], "is_read": True, "archived": False}),
            ("unread", {"id": note["id"], "is_read": False, "archived": False}),
            ("archive", {"id": note["id"], "is_read": False, "archived": True}),
            ("unarchive", {"id": note["id"], "is_read": False, "archived": False}),
        ]
        with live.api(BUYER) as api:
            for action, update in steps:
                seen = [len(tab.of("notification_updated")) for tab in (first_tab, second_tab)]
                answer = api.patch(f"/api/notifications/{note['id']}/{action}")
                assert answer.status_code == 200
                for tab, before in zip((first_tab, second_tab), seen, strict=True):
                    wait_until(
                        lambda t=tab, b=before: t.of("notification_updated")[b:],
                        10,
                        f"{action}: notification_updated",
                    )
                    time.sleep(0.1)  # a second message would arrive now
                    assert tab.of("notification_updated")[before:] == [update]
                rest = api.get("/api/notifications/unread-count").json()["count"]
                for tab in (first_tab, second_tab):
                    wait_until(
                        lambda t=tab, c=rest: (latest_count(t) or {}).get("count") == c,
                        10,
                        f"{action}: versioned unread_count {rest}",
                    )
            result = api.patch("/api/notifications/read-all").json()
            assert result["updated"] >= 1
            second_tab.wait_for(
                "notification_updated", lambda d: d == {"up_to_id": result["up_to_id"], "is_read": True}
            )
            rest = api.get("/api/notifications/unread-count").json()["count"]
            assert rest == 0
            wait_until(
                lambda: (latest_count(second_tab) or {}).get("count") == 0, 10, "count 0 after read-all"
            )
        # One versioned count per change (four moves and read-all), each newer than the last.
        versions = [d["version"] for d in second_tab.of("unread_count")[connected:]]
        assert len(versions) == 5 and versions == sorted(set(versions)), versions
        time.sleep(0.5)
        assert other_user.of("notification_updated") == []
    finally:
        for listener in (first_tab, second_tab, other_user):
            listener.close()


def test_a_muted_type_writes_no_row_pushes_nothing_counts_nothing(live: Stack) -> None:
    with live.api(BUYER) as api:
        muted = api.put("/api/preferences/", json={"event_types": {"ORDER_DISPATCHED": {"in_app": False}}})
        assert muted.status_code == 200
        assert muted.json()["event_types"]["ORDER_DISPATCHED"]["in_app"] is False
    buyer = live.listen(BUYER)
    admin = live.listen(ADMIN)
    try:
        with live.api(BUYER) as api:
            order_id = api.post("/api/orders/", json={"items": [{"part_id": 4, "quantity": 1}]}).json()["id"]
        buyer.wait_for("notification", lambda d: d["event_type"] == "SUPPLIER_MATCHED")
        fired = []
        with live.api(ADMIN) as api:
            for event_type in ("ORDER_DISPATCHED", "ETA_UPDATED"):
                response = api.post(
                    "/api/events/",
                    json={"event_type": event_type, "entity_type": "order", "entity_id": order_id},
                )
                assert response.status_code == 202
                fired.append(response.json()["event_id"])
        for event_id in fired:
            admin.wait_for("system_event", lambda d, e=event_id: d["event_id"] == e)
        buyer.wait_for("notification", lambda d: d["event_type"] == "ETA_UPDATED")
        time.sleep(0.5)
        assert [n["event_type"] for n in buyer.of("notification")] == ["SUPPLIER_MATCHED", "ETA_UPDATED"]
        with get_sessionmaker()() as session:
            types = set(
                session.scalars(select(Notification.event_type).where(Notification.event_id.in_(fired)))
            )
            state = session.scalar(select(EventLog.state).where(EventLog.id == fired[0]))
        assert types == {"ETA_UPDATED"} and state == "PROCESSED"
        with live.api(BUYER) as api:
            assert api.get("/api/notifications/unread-count").json()["count"] == 2
            assert buyer.of("unread_count")[-1]["count"] == 2
    finally:
        buyer.close()
        admin.close()
