"""Unread and archive, read-all up to an id, and cursor pages (CONTRACT section 4, Notifications)."""

import base64

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from common.models import EventLog, Notification
from common.services.unread import unread_state
from tests.conftest import auth, user_by_email
from tests.gateway.test_notifications_api import make_notifications

BUYER = "buyer@demo.test"


def version_of(db: Session, email: str) -> int:
    db.expire_all()
    return unread_state(db, user_by_email(db, email).id).version


def test_unread_archive_unarchive(client: TestClient, db: Session) -> None:
    ids = make_notifications(db, BUYER, 3)
    headers = auth(BUYER)
    count = lambda: client.get("/api/notifications/unread-count", headers=headers).json()["count"]  # noqa: E731
    before = version_of(db, BUYER)

    read = client.patch(f"/api/notifications/{ids[0]}/read", headers=headers).json()
    assert read["is_read"] is True and read["read_at"] and read["archived"] is False
    unread = client.patch(f"/api/notifications/{ids[0]}/unread", headers=headers)
    assert unread.status_code == 200
    assert unread.json()["is_read"] is False and unread.json()["read_at"] is None
    assert count() == 3

    archived = client.patch(f"/api/notifications/{ids[1]}/archive", headers=headers)
    assert archived.status_code == 200 and archived.json()["archived"] is True
    assert archived.json()["is_read"] is False
    # An archived row leaves the default list and the unread count...
    assert count() == 2
    inbox = client.get("/api/notifications/", headers=headers).json()
    assert [n["id"] for n in inbox["items"]] == [ids[2], ids[0]] and inbox["total"] == 2
    assert (
        client.get("/api/notifications/?archived=false&is_read=false", headers=headers).json()["total"] == 2
    )
    # ...and archived=true lists it.
    archive = client.get("/api/notifications/?archived=true", headers=headers).json()
    assert [n["id"] for n in archive["items"]] == [ids[1]] and archive["total"] == 1
    # Every change grew the version, in its own transaction.
    assert version_of(db, BUYER) >= before + 3

    back = client.patch(f"/api/notifications/{ids[1]}/unarchive", headers=headers)
    assert back.status_code == 200 and back.json()["archived"] is False
    assert count() == 3
    assert client.get("/api/notifications/?archived=true", headers=headers).json()["total"] == 0

    # Another user's notification, or none at all, is 404 for every move.
    other = make_notifications(db, "buyer2@demo.test", 1)[0]
    for action in ("read", "unread", "archive", "unarchive"):
        assert client.patch(f"/api/notifications/{other}/{action}", headers=headers).status_code == 404
        assert client.patch(f"/api/notifications/999999/{action}", headers=headers).status_code == 404
    db.expire_all()
    assert db.get(Notification, other).archived is False  # type: ignore[union-attr]


def test_read_all_reads_up_to_the_newest_and_skips_archived(client: TestClient, db: Session) -> None:
    ids = make_notifications(db, BUYER, 4)
    headers = auth(BUYER)
    client.patch(f"/api/notifications/{ids[0]}/archive", headers=headers)
    # up_to_id given: only rows up to it.
    partial = client.patch(f"/api/notifications/read-all?up_to_id={ids[2]}", headers=headers).json()
    assert partial == {"updated": 2, "up_to_id": ids[2]}
    assert client.get("/api/notifications/unread-count", headers=headers).json()["count"] == 1
    result = client.patch("/api/notifications/read-all", headers=headers).json()
    assert result == {"updated": 1, "up_to_id": ids[3]}
    # The archived row was not touched: unarchived, it is still unread.
    assert client.patch(f"/api/notifications/{ids[0]}/unarchive", headers=headers).json()["is_read"] is False
    assert client.get("/api/notifications/unread-count", headers=headers).json()["count"] == 1
    # An up_to_id past the newest row answers the newest (what clients may mark read).
    assert client.patch("/api/notifications/read-all?up_to_id=99999999", headers=headers).json() == {
        "updated": 1,
        "up_to_id": ids[3],
    }
    empty = client.patch("/api/notifications/read-all", headers=auth("supplier2@demo.test")).json()
    assert empty == {"updated": 0, "up_to_id": 0}


def walk(client: TestClient, url: str, headers: dict[str, str], limit: int) -> list[list[int]]:
    pages = []
    page = client.get(url, params={"limit": limit}, headers=headers).json()
    pages.append([item["id"] for item in page["items"]])
    while page["next_cursor"]:
        page = client.get(url, params={"limit": limit, "cursor": page["next_cursor"]}, headers=headers).json()
        pages.append([item["id"] for item in page["items"]])
    return pages


def test_cursor_pages_newest_first_with_total_and_last_page_null(client: TestClient, db: Session) -> None:
    ids = make_notifications(db, BUYER, 7)
    headers = auth(BUYER)
    first = client.get("/api/notifications/?limit=3", headers=headers).json()
    assert first["total"] == 7 and first["offset"] == 0 and first["limit"] == 3
    assert [n["id"] for n in first["items"]] == sorted(ids, reverse=True)[:3]
    assert isinstance(first["next_cursor"], str)
    second = client.get(f"/api/notifications/?limit=3&cursor={first['next_cursor']}", headers=headers).json()
    assert second["total"] == 7
    assert [n["id"] for n in second["items"]] == sorted(ids, reverse=True)[3:6]
    pages = walk(client, "/api/notifications/", headers, 3)
    assert pages == [sorted(ids, reverse=True)[i : i + 3] for i in (0, 3, 6)]
    exact = walk(client, "/api/notifications/", headers, 7)
    assert exact == [sorted(ids, reverse=True)]  # a full last page still says null
    # Offset keeps working, and its pages carry a cursor too.
    by_offset = client.get("/api/notifications/?limit=3&offset=6", headers=headers).json()
    assert [n["id"] for n in by_offset["items"]] == [min(ids)] and by_offset["next_cursor"] is None
    middle = client.get("/api/notifications/?limit=2&offset=2", headers=headers).json()
    after = client.get(f"/api/notifications/?limit=2&cursor={middle['next_cursor']}", headers=headers).json()
    assert [n["id"] for n in after["items"]] == sorted(ids, reverse=True)[4:6]


def test_bad_cursor_or_cursor_with_offset_is_422(client: TestClient, db: Session) -> None:
    make_notifications(db, BUYER, 3)
    headers = auth(BUYER)
    cursor = client.get("/api/notifications/?limit=1", headers=headers).json()["next_cursor"]
    for url in ("/api/notifications/", "/api/events/"):
        who = headers if url.startswith("/api/notifications") else auth("admin@demo.test")
        assert client.get(f"{url}?cursor={cursor}&offset=0", headers=who).status_code == 422
        assert client.get(f"{url}?cursor={cursor}&offset=2", headers=who).status_code == 422
        for params in ({"offset": -1}, {"limit": 0}, {"limit": 101}, {"offset": "x"}):
            assert client.get(url, params=params, headers=who).status_code == 422, (url, params)
        for bad in ("%%%", "bm9wZQ", base64.urlsafe_b64encode(b"id:-1").decode(), "x" * 300, ""):
            response = client.get(url, params={"cursor": bad}, headers=who)
            assert response.status_code == 422, (url, bad, response.text)


def test_cursor_walk_while_rows_arrive_sees_each_row_once(client: TestClient, db: Session) -> None:
    ids = make_notifications(db, BUYER, 10)
    headers = auth(BUYER)
    seen: list[int] = []
    page = client.get("/api/notifications/?limit=3", headers=headers).json()
    arrived: list[int] = []
    while True:
        seen += [n["id"] for n in page["items"]]
        arrived += make_notifications(db, BUYER, 2)  # new rows between pages
        if not page["next_cursor"]:
            break
        page = client.get(f"/api/notifications/?limit=3&cursor={page['next_cursor']}", headers=headers).json()
    assert seen == sorted(ids, reverse=True)  # no row twice, none skipped, none of the new ones
    assert not set(arrived) & set(seen)
    assert page["total"] == 10 + len(arrived) - 2  # the full count when the last page was read
    # Offset paging, by contrast, repeats rows as new ones arrive (why the cursor exists).
    offset_page = client.get("/api/notifications/?limit=3", headers=headers).json()
    offset_seen = [n["id"] for n in offset_page["items"]]
    make_notifications(db, BUYER, 2)
    offset_seen += [
        n["id"] for n in client.get("/api/notifications/?limit=3&offset=3", headers=headers).json()["items"]
    ]
    assert len(offset_seen) == 6 and len(set(offset_seen)) == 4


def test_event_log_cursor_walk_while_events_arrive(client: TestClient, db: Session) -> None:
    admin = auth("admin@demo.test")

    def add_events(n: int) -> list[int]:
        rows = [EventLog(event_type="ETA_UPDATED", entity_type="order", entity_id=1) for _ in range(n)]
        db.add_all(rows)
        db.commit()
        return [r.id for r in rows]

    ids = add_events(8)
    seen: list[int] = []
    page = client.get("/api/events/?limit=3&event_type=ETA_UPDATED", headers=admin).json()
    while True:
        seen += [e["id"] for e in page["items"]]
        add_events(1)
        if not page["next_cursor"]:
            break
        page = client.get(
            "/api/events/",
            params={"limit": 3, "cursor": page["next_cursor"], "event_type": "ETA_UPDATED"},
            headers=admin,
        ).json()
    assert seen == sorted(ids, reverse=True)
    assert page["total"] == 8 + 2
    offset = client.get("/api/events/?limit=2&offset=1", headers=admin).json()
    assert offset["offset"] == 1 and len(offset["items"]) == 2 and offset["next_cursor"]


def test_lists_filter_on_the_caller(client: TestClient, db: Session) -> None:
    make_notifications(db, "buyer2@demo.test", 3)
    page = client.get("/api/notifications/?archived=true", headers=auth(BUYER)).json()
    assert page == {"items": [], "total": 0, "limit": 20, "offset": 0, "next_cursor": None}
