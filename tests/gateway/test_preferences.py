"""Notification preferences: the shape, the defaults, what may not be muted, and the bulk lookups."""

from collections.abc import Iterator
from contextlib import contextmanager

from fastapi.testclient import TestClient
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from common.db import get_engine
from common.events.types import EventType
from common.models import NotificationPreference
from common.services.preferences import email_recipients, in_app_recipients
from tests.conftest import auth, user_by_email

ADMIN, BUYER, SUPPLIER = "admin@demo.test", "buyer@demo.test", "supplier@demo.test"
CRITICAL = {"MATCHING_FAILED", "ORDER_CANCELLED", "ORDER_ESCALATED"}
# The "notified" column of CONTRACT section 6, by role; ORDER_ESCALATED counts once it is in the catalogue.
TOLD = {
    ADMIN: {"ORDER_PLACED", "ORDER_CANCELLED", "LOW_STOCK_ALERT", "MATCHING_FAILED", "ORDER_ESCALATED"},
    BUYER: {
        "SUPPLIER_MATCHED",
        "ORDER_CONFIRMED",
        "ORDER_DISPATCHED",
        "ORDER_IN_TRANSIT",
        "ORDER_DELIVERED",
        "DELIVERY_PLANNED",
        "ETA_UPDATED",
        "MATCHING_FAILED",
        "ORDER_ESCALATED",
    },
    SUPPLIER: {
        "SUPPLIER_MATCHED",
        "ORDER_CANCELLED",
        "LOW_STOCK_ALERT",
        "DELIVERY_COMPLETED",
        "ORDER_ESCALATED",
    },
}
# ETA_DISPUTED (issue 23): told to the matched supplier's users and the admins.
TOLD[ADMIN].add("ETA_DISPUTED")
TOLD[SUPPLIER].add("ETA_DISPUTED")
CATALOGUE = {t.value for t in EventType}


def test_defaults_per_role(client: TestClient) -> None:
    for email, told in TOLD.items():
        response = client.get("/api/preferences/", headers=auth(email))
        assert response.status_code == 200
        prefs = response.json()["event_types"]
        assert set(prefs) == told & CATALOGUE, email
        for event_type, switches in prefs.items():
            assert switches == {
                "in_app": True,
                "email": event_type in CRITICAL | {"LOW_STOCK_ALERT"},
            }, (email, event_type)
    buyer = client.get("/api/preferences/", headers=auth(BUYER)).json()["event_types"]
    assert not {"ORDER_PLACED", "LOW_STOCK_ALERT", "DELIVERY_COMPLETED"} & set(buyer)


def test_put_any_part_returns_the_whole_and_stores_only_deviations(client: TestClient, db: Session) -> None:
    headers = auth(BUYER)
    response = client.put(
        "/api/preferences/",
        json={"event_types": {"ORDER_DISPATCHED": {"in_app": False}, "ETA_UPDATED": {"email": True}}},
        headers=headers,
    )
    assert response.status_code == 200
    prefs = response.json()["event_types"]
    assert prefs == client.get("/api/preferences/", headers=headers).json()["event_types"]
    assert set(prefs) == TOLD[BUYER] & CATALOGUE
    assert prefs["ORDER_DISPATCHED"] == {"in_app": False, "email": False}
    assert prefs["ETA_UPDATED"] == {"in_app": True, "email": True}
    assert prefs["MATCHING_FAILED"] == {"in_app": True, "email": True}
    # Critical types may be switched off by mail, and set in_app true (no change).
    response = client.put(
        "/api/preferences/",
        json={"event_types": {"MATCHING_FAILED": {"email": False, "in_app": True}}},
        headers=headers,
    )
    assert response.json()["event_types"]["MATCHING_FAILED"] == {"in_app": True, "email": False}
    # An empty body changes nothing.
    assert (
        client.put("/api/preferences/", json={}, headers=headers).json()["event_types"]
        == response.json()["event_types"]
    )
    buyer_id = user_by_email(db, BUYER).id
    stored = {
        p.event_type: (p.in_app, p.email)
        for p in db.scalars(select(NotificationPreference).where(NotificationPreference.user_id == buyer_id))
    }
    assert stored == {
        "ORDER_DISPATCHED": (False, None),
        "ETA_UPDATED": (None, True),
        "MATCHING_FAILED": (None, False),
    }
    # Back to the defaults: the rows go.
    client.put(
        "/api/preferences/",
        json={
            "event_types": {
                "ORDER_DISPATCHED": {"in_app": True},
                "ETA_UPDATED": {"email": False},
                "MATCHING_FAILED": {"email": True},
            }
        },
        headers=headers,
    )
    db.expire_all()
    assert db.scalar(select(func.count()).select_from(NotificationPreference)) == 0
    # Another user's preferences are their own.
    assert client.get("/api/preferences/", headers=auth("buyer2@demo.test")).json()["event_types"][
        "ORDER_DISPATCHED"
    ] == {"in_app": True, "email": False}


def test_refusals_are_422_and_change_nothing(client: TestClient, db: Session) -> None:
    headers = auth(SUPPLIER)
    for body in [
        {"event_types": {"ORDER_CANCELLED": {"in_app": False}}},  # critical
        {"event_types": {"ORDER_CANCELLED": {"in_app": False}, "SUPPLIER_MATCHED": {"in_app": False}}},
        {"event_types": {"ORDER_PLACED": {"email": True}}},  # suppliers are never told of it
        {"event_types": {"SUPPLIER_MATCHED": {"in_app": False}, "ORDER_DISPATCHED": {"in_app": False}}},
        {"event_types": {"NOT_A_TYPE": {"in_app": True}}},
        {"event_types": {"SUPPLIER_MATCHED": {"in_app": "no"}}},
        {"event_types": {"SUPPLIER_MATCHED": {"push": True}}},
        {"types": {}},
    ]:
        response = client.put("/api/preferences/", json=body, headers=headers)
        assert response.status_code == 422, (body, response.text)
    for critical in ("MATCHING_FAILED",):
        response = client.put(
            "/api/preferences/", json={"event_types": {critical: {"in_app": False}}}, headers=auth(BUYER)
        )
        assert response.status_code == 422
    assert db.scalar(select(func.count()).select_from(NotificationPreference)) == 0
    assert client.put("/api/preferences/", json={}).status_code == 401


@contextmanager
def count_queries() -> Iterator[list[str]]:
    statements: list[str] = []

    def record(_conn, _cursor, statement, *_args) -> None:  # type: ignore[no-untyped-def]
        statements.append(statement)

    event.listen(get_engine(), "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(get_engine(), "before_cursor_execute", record)


def test_recipient_lookups_are_one_query_for_the_whole_set(client: TestClient, db: Session) -> None:
    buyer, buyer2 = user_by_email(db, BUYER).id, user_by_email(db, "buyer2@demo.test").id
    admin, supplier = user_by_email(db, ADMIN).id, user_by_email(db, SUPPLIER).id
    client.put(
        "/api/preferences/",
        json={"event_types": {"ORDER_DISPATCHED": {"in_app": False, "email": True}}},
        headers=auth(BUYER),
    )
    client.put(
        "/api/preferences/",
        json={"event_types": {"LOW_STOCK_ALERT": {"in_app": False, "email": False}}},
        headers=auth(ADMIN),
    )
    db.rollback()
    with count_queries() as statements:
        assert in_app_recipients(db, "ORDER_DISPATCHED", [buyer, buyer2]) == {buyer2}
    assert len(statements) == 1
    with count_queries() as statements:
        assert email_recipients(db, "ORDER_DISPATCHED", [buyer, buyer2]) == {buyer}
    assert len(statements) == 1
    with count_queries() as statements:
        assert in_app_recipients(db, "LOW_STOCK_ALERT", {admin, supplier}) == {supplier}
        assert email_recipients(db, "LOW_STOCK_ALERT", {admin, supplier}) == {supplier}
    assert len(statements) == 2
    # Critical types reach everyone in the app, whatever is stored; nobody asked, nothing read.
    with count_queries() as statements:
        assert in_app_recipients(db, "MATCHING_FAILED", [buyer, admin]) == {buyer, admin}
        assert in_app_recipients(db, "ORDER_DISPATCHED", []) == set()
    assert statements == []
    assert email_recipients(db, "MATCHING_FAILED", [buyer, admin]) == {buyer, admin}
    assert email_recipients(db, "ETA_UPDATED", [buyer, admin]) == set()
