"""The inbox, round two (issue 24, CONTRACT section 8): threads, snooze, seen, search."""

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import redis
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from common import clock
from common.config import get_settings
from common.events.channels import room_channel
from common.models import Notification
from common.services.unread import new_rows_changes, record_changes
from tests.common.test_unread import _recount, _reported
from tests.conftest import TEST_REDIS_URL, auth, user_by_email

BUYER = "buyer@demo.test"
OTHER = "buyer2@demo.test"


def add_rows(db: Session, email: str, *specs: dict[str, object]) -> list[int]:
    """One notification per spec (entity, type, title, message), as the worker writes them."""
    user = user_by_email(db, email)
    rows = []
    for spec in specs:
        row = Notification(
            user_id=user.id,
            event_type=spec.get("event_type", "ORDER_DISPATCHED"),
            title=spec.get("title", "Order Dispatched"),
            message=spec.get("message", f"Your order #{spec.get('entity_id', 1)} is on its way"),
            notification_metadata={},
            entity_type=spec.get("entity_type", "order"),
            entity_id=spec.get("entity_id", 1),
        )
        if "severity" in spec:
            row.severity = str(spec["severity"])
        db.add(row)
        db.flush()  # ids in the order given
        rows.append(row)
    record_changes(db, new_rows_changes(rows))
    db.commit()
    return [r.id for r in rows]


def ids_of(page: dict) -> list[int]:
    return [n["id"] for n in page["items"]]


def truth_matches(db: Session, email: str) -> None:
    db.expire_all()
    user_id = user_by_email(db, email).id
    assert _reported(db, user_id) == _recount(db, user_id)


def ahead(seconds: float) -> str:
    return (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat()


@pytest.fixture
def shifted_clock(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    offset = tmp_path / "clock-offset"
    monkeypatch.setenv("PARTPULSE_CLOCK_OFFSET_FILE", str(offset))
    yield offset


def test_threads_counts_severity_status_paging_and_read(client: TestClient, db: Session) -> None:
    headers = auth(BUYER)
    placed = client.post("/api/orders/", json={"items": [{"part_id": 1, "quantity": 1}]}, headers=headers)
    assert placed.status_code == 201 and placed.json()["id"] == 1  # the thread of order 1 shows its status
    a = add_rows(db, BUYER, {"entity_id": 1}, {"entity_id": 1})
    b = add_rows(db, BUYER, {"entity_id": 2, "severity": "high"}, {"entity_id": 2, "severity": "low"})
    c = add_rows(
        db,
        BUYER,
        {"entity_type": "inventory", "entity_id": 1, "event_type": "LOW_STOCK_ALERT", "title": "Low Stock"},
    )
    add_rows(db, OTHER, {"entity_id": 1})  # another's rows never show
    client.patch(f"/api/notifications/{a[0]}/read", headers=headers)
    client.patch(f"/api/notifications/{b[1]}/archive", headers=headers)

    page = client.get("/api/notifications/threads", headers=headers).json()
    assert page["limit"] == 20 and page["next_cursor"] is None
    assert [(t["entity_type"], t["entity_id"]) for t in page["items"]] == [
        ("inventory", 1),
        ("order", 2),
        ("order", 1),
    ]
    stock, two, one = page["items"]
    assert stock["status"] is None and stock["title"].startswith("Stock: ") and stock["latest"]["id"] == c[0]
    # order 2: the archived (low) row is out of the counts; its unread high row sets the severity.
    assert (two["count"], two["unread_count"], two["severity"], two["latest"]["id"]) == (1, 1, "high", b[0])
    assert (one["count"], one["unread_count"], one["severity"]) == (2, 1, "normal")
    assert one["title"] == "Order #1" and one["status"] == "PLACED" and one["latest"]["id"] == a[1]
    opened = client.get("/api/notifications/?entity_type=order&entity_id=1", headers=headers).json()
    assert ids_of(opened) == [a[1], a[0]] and opened["items"][0]["position"] == a[1]
    only_stock = client.get("/api/notifications/threads?category=stock", headers=headers).json()
    assert [t["entity_id"] for t in only_stock["items"]] == [1] and len(only_stock["items"]) == 1
    assert client.get("/api/notifications/threads?offset=0", headers=headers).status_code == 422
    assert client.get("/api/notifications/threads?cursor=bogus", headers=headers).status_code == 422

    # Paging while rows arrive: a shown thread that moves up is not repeated on the next page.
    first = client.get("/api/notifications/threads?limit=2", headers=headers).json()
    assert [t["entity_id"] for t in first["items"]] == [1, 2] and first["next_cursor"]
    add_rows(db, BUYER, {"entity_id": 2})
    rest = client.get(f"/api/notifications/threads?limit=2&cursor={first['next_cursor']}", headers=headers)
    assert [(t["entity_type"], t["entity_id"]) for t in rest.json()["items"]] == [("order", 1)]
    assert rest.json()["next_cursor"] is None
    top = client.get("/api/notifications/threads", headers=headers).json()["items"][0]
    assert (top["entity_id"], top["count"], top["unread_count"]) == (2, 2, 2)

    # Mark thread read: every unread row of it, one change of the counts; another thread keeps its own.
    before = client.get("/api/notifications/unread-count", headers=headers).json()
    done = client.patch("/api/notifications/threads/order/2/read", headers=headers)
    assert done.status_code == 200 and done.json() == {"updated": 2}
    after = client.get("/api/notifications/unread-count", headers=headers).json()
    assert after["count"] == before["count"] - 2 and after["version"] == before["version"] + 1
    assert after["by_severity"]["high"] == before["by_severity"]["high"] - 1
    thread = client.get("/api/notifications/threads", headers=headers).json()["items"][0]
    assert (thread["unread_count"], thread["severity"]) == (0, None)
    assert client.patch("/api/notifications/threads/order/2/read", headers=headers).json() == {"updated": 0}
    assert client.patch("/api/notifications/threads/order/777/read", headers=headers).status_code == 404
    truth_matches(db, BUYER)


def test_snooze_bounds_states_and_the_counts(client: TestClient, db: Session) -> None:
    headers = auth(BUYER)
    ids = add_rows(db, BUYER, {"entity_id": 1}, {"entity_id": 2, "severity": "critical"}, {"entity_id": 3})
    other = add_rows(db, OTHER, {"entity_id": 1})[0]
    path = f"/api/notifications/{ids[1]}/snooze"
    minimum = get_settings().snooze_min_seconds
    for until in (ahead(minimum - 5), ahead(-60), ahead(91 * 86400), "0001-01-01T00:00:00+14:00", "soon"):
        assert client.patch(path, json={"until": until}, headers=headers).status_code == 422, until
    assert client.patch(path, json={}, headers=headers).status_code == 422
    assert (
        client.patch(
            f"/api/notifications/{other}/snooze", json={"until": ahead(3600)}, headers=headers
        ).status_code
        == 404
    )
    before = client.get("/api/notifications/unread-count", headers=headers).json()

    naive = (datetime.now(UTC) + timedelta(hours=2)).replace(tzinfo=None, microsecond=0)
    snoozed = client.patch(path, json={"until": naive.isoformat()}, headers=headers)
    assert snoozed.status_code == 200
    assert datetime.fromisoformat(snoozed.json()["snoozed_until"]) == naive.replace(
        tzinfo=UTC
    )  # no zone = UTC
    state = client.get("/api/notifications/unread-count", headers=headers).json()
    assert state["count"] == before["count"] - 1 and state["by_severity"]["critical"] == 0
    assert state["unseen"] == before["unseen"] - 1 and state["version"] == before["version"] + 1
    assert ids[1] not in ids_of(client.get("/api/notifications/", headers=headers).json())
    assert [
        t["entity_id"] for t in client.get("/api/notifications/threads", headers=headers).json()["items"]
    ] == [3, 1]
    assert ids_of(client.get("/api/notifications/?snoozed=true", headers=headers).json()) == [ids[1]]
    # Snoozing again moves the time; the counts do not change again.
    again = client.patch(path, json={"until": ahead(7200)}, headers=headers)
    assert again.status_code == 200 and again.json()["snoozed_until"] != snoozed.json()["snoozed_until"]
    truth_matches(db, BUYER)

    # read-all skips snoozed rows; unsnooze brings the row back unread, at its place.
    assert client.patch("/api/notifications/read-all", headers=headers).json()["updated"] == 2
    back = client.patch(f"/api/notifications/{ids[1]}/unsnooze", headers=headers).json()
    assert back["snoozed_until"] is None and back["is_read"] is False and back["resurfaced_at"] is None
    assert ids_of(client.get("/api/notifications/", headers=headers).json()) == [ids[2], ids[1], ids[0]]
    assert client.get("/api/notifications/unread-count", headers=headers).json()["count"] == 1

    # Reading or archiving ends a snooze; an archived row cannot be snoozed (409).
    client.patch(path, json={"until": ahead(3600)}, headers=headers)
    read = client.patch(f"/api/notifications/{ids[1]}/read", headers=headers).json()
    assert read["is_read"] is True and read["snoozed_until"] is None
    client.patch(path, json={"until": ahead(3600)}, headers=headers)
    archived = client.patch(f"/api/notifications/{ids[1]}/archive", headers=headers).json()
    assert archived["archived"] is True and archived["snoozed_until"] is None
    conflict = client.patch(path, json={"until": ahead(3600)}, headers=headers)
    assert conflict.status_code == 409
    assert client.get("/api/notifications/?snoozed=true", headers=headers).json()["total"] == 0
    truth_matches(db, BUYER)


def test_a_snooze_resurfaces_at_its_time_at_the_top_and_is_pushed(
    client: TestClient, db: Session, shifted_clock: Path
) -> None:
    from workers.housekeeping import resurface_snoozed

    headers = auth(BUYER)
    ids = add_rows(db, BUYER, *({"entity_id": i} for i in range(1, 5)))
    client.patch(f"/api/notifications/{ids[0]}/read", headers=headers)
    created = client.get("/api/notifications/?limit=100", headers=headers).json()["items"][-1]["created_at"]
    until = ahead(600)
    assert (
        client.patch(
            f"/api/notifications/{ids[0]}/snooze", json={"until": until}, headers=headers
        ).status_code
        == 200
    )
    assert resurface_snoozed() == 0  # not due yet
    count = client.get("/api/notifications/unread-count", headers=headers).json()["count"]
    assert count == 3

    listener = redis.Redis.from_url(TEST_REDIS_URL).pubsub()
    buyer_room = f"user_{user_by_email(db, BUYER).id}"
    listener.ssubscribe(room_channel(buyer_room))  # per-room delivery: the buyer's own channel
    listener.get_sharded_message(timeout=1)
    shifted_clock.write_text("601")  # ten minutes and a second later, for every process reading the file
    assert clock.now() > datetime.fromisoformat(until)
    assert resurface_snoozed() == 1
    page = client.get("/api/notifications/?limit=2", headers=headers).json()
    top = page["items"][0]
    assert top["id"] == ids[0] and top["is_read"] is False and top["seen"] is False
    assert top["created_at"] == created and top["resurfaced_at"] and top["snoozed_until"] is None
    assert top["position"] > max(ids)
    # The cursor walks on below the resurfaced row: every row once.
    rest = client.get(f"/api/notifications/?limit=10&cursor={page['next_cursor']}", headers=headers).json()
    assert ids_of(page) + ids_of(rest) == [ids[0], ids[3], ids[2], ids[1]]
    state = client.get("/api/notifications/unread-count", headers=headers).json()
    assert state["count"] == 4
    # A row written after it sorts above it.
    newer = add_rows(db, BUYER, {"entity_id": 9})[0]
    assert ids_of(client.get("/api/notifications/?limit=2", headers=headers).json()) == [newer, ids[0]]
    truth_matches(db, BUYER)

    pushed = []
    while (message := listener.get_sharded_message(timeout=2)) is not None:
        if message["type"] == "smessage":
            pushed += json.loads(message["data"])["messages"]
    listener.close()
    by_event = {m["event"]: m["data"][0] for m in pushed}
    assert by_event["notification"]["id"] == ids[0] and by_event["notification"]["resurfaced_at"]
    # The count pushed was read after the commit: the same as REST then (three unread and it).
    assert by_event["unread_count"]["count"] == state["count"] == 4


def test_seen_in_batches(client: TestClient, db: Session) -> None:
    headers = auth(BUYER)
    ids = add_rows(db, BUYER, *({"entity_id": i} for i in range(1, 6)))
    other = add_rows(db, OTHER, {"entity_id": 1})[0]
    client.patch(f"/api/notifications/{ids[4]}/read", headers=headers)  # read implies seen
    before = client.get("/api/notifications/unread-count", headers=headers).json()
    assert before["unseen"] == 4
    done = client.patch(
        "/api/notifications/seen", json={"ids": [ids[0], ids[1], ids[4], other, 99999]}, headers=headers
    )
    assert done.status_code == 200 and done.json() == {"updated": 2}
    after = client.get("/api/notifications/unread-count", headers=headers).json()
    assert (after["unseen"], after["count"], after["version"]) == (2, 4, before["version"] + 1)
    assert client.patch("/api/notifications/seen", json={"ids": [ids[0]]}, headers=headers).json() == {
        "updated": 0
    }
    for bad in ([], list(range(1, 502)), ["x"], [0]):
        assert client.patch("/api/notifications/seen", json={"ids": bad}, headers=headers).status_code == 422
    db.expire_all()
    assert db.get(Notification, other).seen is False  # another's row is untouched
    truth_matches(db, BUYER)


SEARCH_ROWS = (
    {"title": "Order Dispatched", "message": "Your order #42 is on its way", "entity_id": 42},
    {
        "title": "ETA Updated",
        "message": "New ETA for order #7: 2026-12-04",
        "entity_id": 7,
        "severity": "high",
    },
    {
        "title": "Low Stock",
        "message": "Brake-Pad stock is low",
        "entity_type": "inventory",
        "event_type": "LOW_STOCK_ALERT",
    },
)
# (query, the indexes of SEARCH_ROWS it finds, newest first)
SEARCH_CASES = [
    ("disp", [0]),
    ("DISP ord", [0]),
    ("patched", []),  # a word's middle is no match
    ("order", [1, 0]),
    ("42", [0]),
    ("#42", [0]),
    ("pad brake", [2]),
    ("o'rder", []),
    ("a & b | !c", []),
    ("'':* \\", [2, 1, 0]),  # no terms at all: no filter, and no error
]


def test_search_word_prefixes_with_filters(client: TestClient, db: Session) -> None:
    headers = auth(BUYER)
    ids = add_rows(db, BUYER, *SEARCH_ROWS)
    for query, found in SEARCH_CASES:
        response = client.get("/api/notifications/", params={"q": query}, headers=headers)
        assert response.status_code == 200, query
        assert ids_of(response.json()) == [ids[i] for i in found], query
    assert ids_of(client.get("/api/notifications/?q=order&severity=high", headers=headers).json()) == [ids[1]]
    assert ids_of(client.get("/api/notifications/?q=low&category=stock", headers=headers).json()) == [ids[2]]
    assert client.get("/api/notifications/?q=low&category=orders", headers=headers).json()["total"] == 0
    client.patch(f"/api/notifications/{ids[0]}/read", headers=headers)
    assert ids_of(client.get("/api/notifications/?q=order&is_read=false", headers=headers).json()) == [ids[1]]
    client.patch(f"/api/notifications/{ids[1]}/snooze", json={"until": ahead(3600)}, headers=headers)
    assert ids_of(client.get("/api/notifications/?q=order", headers=headers).json()) == [ids[0]]
    assert ids_of(client.get("/api/notifications/?q=eta&snoozed=true", headers=headers).json()) == [ids[1]]
    for bad in ("", "x" * 201):
        assert client.get("/api/notifications/", params={"q": bad}, headers=headers).status_code == 422
    assert client.get("/api/notifications/?category=mail", headers=headers).status_code == 422


def test_search_on_sqlite_has_the_same_semantics(tmp_path: Path) -> None:
    """The same rows and queries on a migrated SQLite database (the registered word matcher)."""
    import os
    import subprocess
    import sys

    from common.db import _make_engine
    from common.seed import seed
    from common.services.inbox_query import ListFilters
    from common.services.notifications import list_for_user
    from tests.conftest import ROOT

    url = f"sqlite:///{tmp_path / 'search.db'}"
    env = {**os.environ, "DATABASE_URL": url}
    migrated = subprocess.run(
        [sys.executable, "-m", "alembic", "upgrade", "head"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert migrated.returncode == 0, migrated.stderr[-2000:]
    engine = _make_engine(url)
    try:
        with Session(engine) as session:
            seed(session)
            session.commit()
            ids = add_rows(session, BUYER, *SEARCH_ROWS)
            user_id = user_by_email(session, BUYER).id
            for query, found in SEARCH_CASES:
                page = list_for_user(
                    session, user_id, is_read=None, limit=20, offset=None, filters=ListFilters(q=query)
                )
                assert [n.id for n in page["items"]] == [ids[i] for i in found], query
            high = list_for_user(
                session,
                user_id,
                is_read=None,
                limit=20,
                offset=None,
                filters=ListFilters(q="ord", severity="high"),
            )
            assert [n.id for n in high["items"]] == [ids[1]]
    finally:
        engine.dispose()


def test_group_by_order_preference(client: TestClient) -> None:
    headers = auth(BUYER)
    assert client.get("/api/preferences/", headers=headers).json()["group_by_order"] is False
    saved = client.put("/api/preferences/", json={"group_by_order": True}, headers=headers)
    assert saved.status_code == 200 and saved.json()["group_by_order"] is True
    assert client.get("/api/preferences/", headers=headers).json()["group_by_order"] is True
    assert client.put("/api/preferences/", json={"group_by_order": "yes"}, headers=headers).status_code == 422
    assert client.get("/api/preferences/", headers=auth(OTHER)).json()["group_by_order"] is False
    untouched = client.put("/api/preferences/", json={"event_types": {}}, headers=headers)
    assert untouched.json()["group_by_order"] is True
