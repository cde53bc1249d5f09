from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from common.models import EventLog, Notification
from common.services.unread import new_rows_changes, record_changes
from tests.conftest import auth, user_by_email


def make_notifications(db: Session, email: str, count: int) -> list[int]:
    user = user_by_email(db, email)
    event = EventLog(event_type="ORDER_DISPATCHED", entity_type="order", entity_id=1, event_metadata={})
    db.add(event)
    db.flush()
    rows = []
    for i in range(count):
        other_event = EventLog(
            event_type="ORDER_DISPATCHED",
            entity_type="order",
            entity_id=i + 1,
            event_metadata={"order_id": i + 1},
        )
        db.add(other_event)
        db.flush()
        row = Notification(
            user_id=user.id,
            event_id=other_event.id,
            event_type="ORDER_DISPATCHED",
            title="Order Dispatched",
            message="Your order is on its way",
            notification_metadata={"order_id": i + 1},
            link=f"/orders/{i + 1}",
        )
        db.add(row)
        rows.append(row)
    db.flush()
    # Rows written here, past the worker, record their change of the counts as the worker does.
    record_changes(db, new_rows_changes(rows))
    db.commit()
    return [r.id for r in rows]


def test_list_count_read_and_read_all(client: TestClient, db: Session) -> None:
    ids = make_notifications(db, "buyer@demo.test", 3)
    make_notifications(db, "buyer2@demo.test", 2)
    headers = auth("buyer@demo.test")
    page = client.get("/api/notifications/", headers=headers).json()
    assert page["total"] == 3
    assert [n["id"] for n in page["items"]] == sorted(ids, reverse=True)
    first = page["items"][0]
    assert set(first) == {
        "id",
        "event_type",
        "title",
        "message",
        "metadata",
        "link",
        "is_read",
        "archived",
        "created_at",
        "read_at",
        "category",
        "severity",
        "seen",
        "snoozed_until",
        "resurfaced_at",
        "position",
        "entity_type",
        "entity_id",
        "actions",
    }
    assert first["link"].startswith("/orders/")
    assert (first["category"], first["severity"], first["seen"]) == ("orders", "normal", False)
    state = client.get("/api/notifications/unread-count", headers=headers).json()
    assert state["count"] == 3 and state["unseen"] == 3 and state["version"] > 0
    assert state["by_category"] == {"orders": 3, "stock": 0, "system": 0}
    assert state["by_severity"] == {"critical": 0, "high": 0, "normal": 3, "low": 0}
    read = client.patch(f"/api/notifications/{ids[0]}/read", headers=headers)
    assert read.status_code == 200 and read.json()["is_read"] is True and read.json()["read_at"]
    assert client.get("/api/notifications/unread-count", headers=headers).json()["count"] == 2
    assert client.get("/api/notifications/?is_read=false", headers=headers).json()["total"] == 2
    assert client.get("/api/notifications/?is_read=true", headers=headers).json()["total"] == 1
    assert client.patch("/api/notifications/read-all", headers=headers).json() == {
        "updated": 2,
        "up_to_id": max(ids),
    }
    assert client.get("/api/notifications/unread-count", headers=headers).json()["count"] == 0
    # The other buyer's notifications are untouched and invisible.
    other = auth("buyer2@demo.test")
    assert client.get("/api/notifications/unread-count", headers=other).json()["count"] == 2


def test_another_users_notification_is_404(client: TestClient, db: Session) -> None:
    ids = make_notifications(db, "buyer2@demo.test", 1)
    response = client.patch(f"/api/notifications/{ids[0]}/read", headers=auth("buyer@demo.test"))
    assert response.status_code == 404
    assert client.patch("/api/notifications/999999/read", headers=auth("buyer@demo.test")).status_code == 404
    assert client.get("/api/notifications/?limit=101", headers=auth("buyer@demo.test")).status_code == 422
