"""Acting from a notification (issue 23): each action for each role, allowed and refused; the entity
moved on (409); Idempotency-Key; two users of one supplier confirming at once.

Events are handled by the real worker pipeline, in process (workers.pipeline.handle_events).
"""

import threading
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from common.models import EventLog, InventoryItem, Notification, Order, OrderExclusion, OrderStatusChange
from tests.conftest import auth, user_by_email
from workers.pipeline import handle_events

BUYER, SUPPLIER, SUPPLIER2, ADMIN = (
    "buyer@demo.test",
    "supplier@demo.test",
    "supplier2@demo.test",
    "admin@demo.test",
)
COLLEAGUE = "colleague@demo.test"  # a second user of supplier 1


def drain(db: Session) -> None:
    """Handle every open event, as the workers would (matching reruns, notifications are written)."""
    for _ in range(10):
        db.expire_all()
        ids = list(db.scalars(select(EventLog.id).where(EventLog.state.in_(("PENDING", "QUEUED")))))
        if not ids:
            return
        for event_id in ids:
            handle_events([event_id])
    raise AssertionError("events still open after 10 rounds")


def note(client: TestClient, who: str, event_type: str, **filters) -> dict:
    """The caller's newest notification of a type."""
    items = client.get("/api/notifications/", params={"limit": 100, **filters}, headers=auth(who)).json()[
        "items"
    ]
    found = [n for n in items if n["event_type"] == event_type]
    assert found, f"{who} has no {event_type}: {[n['event_type'] for n in items]}"
    return found[0]


def states(notification: dict) -> dict[str, str]:
    return {a["id"]: a["state"] for a in notification["actions"]}


def act(client: TestClient, who: str, notification: dict, action: str, body=None, headers=None):
    return client.post(
        f"/api/notifications/{notification['id']}/actions/{action}",
        json=body if body is not None else {},
        headers={**auth(who), **(headers or {})},
    )


def place_and_match(client: TestClient, db: Session, items=None, **extra) -> int:
    """Supplier 1 wins (reliability score raised), unless its stock cannot fill the order."""
    response = client.post(
        "/api/orders/", json={"items": items or [{"part_id": 1, "quantity": 2}], **extra}, headers=auth(BUYER)
    )
    assert response.status_code == 201, response.text
    drain(db)
    return response.json()["id"]


def colleague(email: str) -> dict:
    """A second user of supplier 1 (Carl Colleague), as POST /api/users/ takes it."""
    return {
        "email": email,
        "password": "demo1234",
        "full_name": "Carl Colleague",
        "role": "supplier",
        "supplier_id": 1,
    }


def add_colleague(client: TestClient) -> None:
    response = client.post("/api/users/", json=colleague(COLLEAGUE), headers=auth(ADMIN))
    assert response.status_code == 201, response.text


def prefer_supplier_1(db: Session) -> None:
    from common.models import Supplier

    db.get(Supplier, 1).reliability_score = 95  # type: ignore[union-attr]
    db.commit()


def test_confirm_then_dispatch_from_the_supplier_matched_notification(
    client: TestClient, db: Session
) -> None:
    prefer_supplier_1(db)
    order_id = place_and_match(client, db)
    mine = note(client, SUPPLIER, "SUPPLIER_MATCHED")
    assert [(a["id"], a["label"], a["kind"], a["state"]) for a in mine["actions"]] == [
        ("confirm", "Confirm", "primary", "open"),
        ("decline", "Decline", "secondary", "open"),
    ]
    assert all(a["done_by"] is None and a["done_at"] is None for a in mine["actions"])
    assert note(client, BUYER, "SUPPLIER_MATCHED")["actions"] == []  # the buyer's copy has none
    # Other roles and other users: not on it, or not theirs.
    assert act(client, BUYER, note(client, BUYER, "SUPPLIER_MATCHED"), "confirm").status_code == 404
    assert act(client, SUPPLIER2, mine, "confirm").status_code == 404
    assert act(client, SUPPLIER, mine, "restock", {"quantity": 5}).status_code == 404
    assert act(client, SUPPLIER, mine, "dispatch").status_code == 404  # not before CONFIRMED

    response = act(client, SUPPLIER, mine, "confirm")
    assert response.status_code == 200, response.text
    body = response.json()
    assert states(body) == {"confirm": "done", "decline": "unavailable", "dispatch": "open"}
    confirm = body["actions"][0]
    assert confirm["done_by"] == "Sven Supplier" and confirm["done_at"]
    db.expire_all()
    assert db.get(Order, order_id).status == "CONFIRMED"  # type: ignore[union-attr]
    drain(db)
    assert note(client, BUYER, "ORDER_CONFIRMED")  # the same event as the REST route emits

    assert act(client, SUPPLIER, mine, "dispatch").status_code == 200
    again = act(client, SUPPLIER, mine, "confirm")
    assert again.status_code == 409
    assert again.json()["state"] == "DISPATCHED" and "done by Sven Supplier" in again.json()["detail"]
    assert states(note(client, SUPPLIER, "SUPPLIER_MATCHED")) == {
        "confirm": "done",
        "decline": "unavailable",
        "dispatch": "done",
    }


def test_a_move_made_elsewhere_shows_done_with_who_and_409(client: TestClient, db: Session) -> None:
    prefer_supplier_1(db)
    order_id = place_and_match(client, db)
    mine = note(client, SUPPLIER, "SUPPLIER_MATCHED")
    # A REST transition, not the notification: the copy shows it done by whoever moved it.
    assert (
        client.post(
            f"/api/orders/{order_id}/transitions", json={"status": "CONFIRMED"}, headers=auth(SUPPLIER)
        ).status_code
        == 200
    )
    confirm = note(client, SUPPLIER, "SUPPLIER_MATCHED")["actions"][0]
    assert (confirm["state"], confirm["done_by"]) == ("done", "Sven Supplier")
    assert act(client, SUPPLIER, mine, "confirm").json() == {
        "detail": "Confirm is done by Sven Supplier",
        "state": "CONFIRMED",
    }
    # Cancelled by the buyer: dispatch is now unavailable, and refused with the order's state.
    assert (
        client.post(
            f"/api/orders/{order_id}/transitions", json={"status": "CANCELLED"}, headers=auth(BUYER)
        ).status_code
        == 200
    )
    assert states(note(client, SUPPLIER, "SUPPLIER_MATCHED"))["dispatch"] == "unavailable"
    refused = act(client, SUPPLIER, mine, "dispatch")
    assert refused.status_code == 409 and refused.json()["state"] == "CANCELLED"


def test_same_idempotency_key_twice_makes_one_transition(client: TestClient, db: Session) -> None:
    prefer_supplier_1(db)
    order_id = place_and_match(client, db)
    mine = note(client, SUPPLIER, "SUPPLIER_MATCHED")
    first = act(client, SUPPLIER, mine, "confirm", headers={"Idempotency-Key": "confirm-1"})
    second = act(client, SUPPLIER, mine, "confirm", headers={"Idempotency-Key": "confirm-1"})
    assert first.status_code == second.status_code == 200
    assert first.json() == second.json()
    assert second.headers.get("Idempotent-Replayed") == "true"
    db.expire_all()
    confirmed = db.scalars(
        select(OrderStatusChange).where(
            OrderStatusChange.order_id == order_id, OrderStatusChange.status == "CONFIRMED"
        )
    ).all()
    assert len(confirmed) == 1
    assert db.scalars(select(EventLog).where(EventLog.event_type == "ORDER_CONFIRMED")).all().__len__() == 1


def test_two_users_of_one_supplier_confirm_at_once(client: TestClient, db: Session) -> None:
    prefer_supplier_1(db)
    add_colleague(client)
    order_id = place_and_match(client, db)
    copies = {who: note(client, who, "SUPPLIER_MATCHED") for who in (SUPPLIER, COLLEAGUE)}
    assert copies[SUPPLIER]["id"] != copies[COLLEAGUE]["id"]
    barrier = threading.Barrier(2)
    answers: dict[str, int] = {}

    def press(who: str) -> None:
        barrier.wait()
        answers[who] = act(client, who, copies[who], "confirm").status_code

    threads = [threading.Thread(target=press, args=(who,)) for who in copies]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(answers.values()) == [200, 409], answers
    winner = "Sven Supplier" if answers[SUPPLIER] == 200 else "Carl Colleague"
    db.expire_all()
    assert db.get(Order, order_id).status == "CONFIRMED"  # type: ignore[union-attr]
    assert len(db.scalars(select(EventLog).where(EventLog.event_type == "ORDER_CONFIRMED")).all()) == 1
    for who in copies:
        confirm = note(client, who, "SUPPLIER_MATCHED")["actions"][0]
        assert (confirm["id"], confirm["state"], confirm["done_by"]) == ("confirm", "done", winner)


def test_decline_releases_the_supplier_and_matching_reruns(client: TestClient, db: Session) -> None:
    prefer_supplier_1(db)
    order_id = place_and_match(client, db)
    mine = note(client, SUPPLIER, "SUPPLIER_MATCHED")
    response = act(client, SUPPLIER, mine, "decline", {"reason": "Line stop this week"})
    assert response.status_code == 200, response.text
    assert states(response.json()) == {"confirm": "unavailable", "decline": "done"}
    db.expire_all()
    assert db.get(OrderExclusion, (order_id, 1)) is not None
    history = db.scalars(select(OrderStatusChange).where(OrderStatusChange.order_id == order_id)).all()
    assert [h.status for h in history] == ["PLACED", "MATCHED", "PLACED"]
    assert history[-1].actor_id == user_by_email(db, SUPPLIER).id
    assert client.get(f"/api/orders/{order_id}", headers=auth(SUPPLIER)).status_code == 404  # access lost
    drain(db)  # matching runs again, without supplier 1
    db.expire_all()
    order = db.get(Order, order_id)
    assert (order.status, order.supplier_id) == ("MATCHED", 2)  # type: ignore[union-attr]
    assert states(note(client, SUPPLIER2, "SUPPLIER_MATCHED")) == {"confirm": "open", "decline": "open"}
    # The declined copy stays declined, whatever happens next.
    assert states(note(client, SUPPLIER, "SUPPLIER_MATCHED")) == {"confirm": "unavailable", "decline": "done"}
    assert act(client, SUPPLIER, mine, "confirm").status_code == 409
    # Supplier 2 declines too: nobody is left, MATCHING_FAILED.
    assert act(client, SUPPLIER2, note(client, SUPPLIER2, "SUPPLIER_MATCHED"), "decline").status_code == 200
    drain(db)
    failed = note(client, ADMIN, "MATCHING_FAILED")
    assert failed["severity"] == "critical" and failed["category"] == "system"
    assert states(failed) == {"rematch": "open", "cancel": "open"}


def confirmed_with_a_planned_delivery(client: TestClient, db: Session) -> tuple[int, datetime]:
    """An order of the buyer's, needed in 3 days, confirmed by supplier 1, whose delivery is planned
    a day before that; the events handled. Returns (order id, needed_by)."""
    prefer_supplier_1(db)
    needed_by = datetime.now(UTC) + timedelta(days=3)
    order_id = place_and_match(client, db, needed_by=needed_by.isoformat())
    confirmed = client.post(
        f"/api/orders/{order_id}/transitions", json={"status": "CONFIRMED"}, headers=auth(SUPPLIER)
    )
    assert confirmed.status_code == 200
    planned = client.post(
        f"/api/orders/{order_id}/delivery",
        json={"eta": (needed_by - timedelta(days=1)).isoformat()},
        headers=auth(SUPPLIER),
    )
    assert planned.status_code == 201
    drain(db)
    return order_id, needed_by


def test_eta_accept_and_dispute_for_the_buyer(client: TestClient, db: Session) -> None:
    order_id, needed_by = confirmed_with_a_planned_delivery(client, db)
    plan = note(client, BUYER, "DELIVERY_PLANNED")
    assert [(a["id"], a["label"], a["kind"]) for a in plan["actions"]] == [
        ("accept_eta", "Accept ETA", "primary"),
        ("dispute_eta", "Dispute ETA", "secondary"),
    ]
    assert states(plan) == {"accept_eta": "open", "dispute_eta": "open"}
    assert act(client, SUPPLIER, plan, "accept_eta").status_code == 404  # not the supplier's row
    # A later ETA past needed_by: high, and the older plan's actions become unavailable.
    client.patch(
        f"/api/orders/{order_id}/delivery",
        json={"eta": (needed_by + timedelta(hours=5)).isoformat()},
        headers=auth(SUPPLIER),
    )
    drain(db)
    updated = note(client, BUYER, "ETA_UPDATED")
    assert updated["severity"] == "high"
    assert states(note(client, BUYER, "DELIVERY_PLANNED")) == {
        "accept_eta": "unavailable",
        "dispute_eta": "unavailable",
    }
    assert act(client, BUYER, plan, "accept_eta").status_code == 409
    assert act(client, BUYER, updated, "dispute_eta").status_code == 422  # a reason is needed
    assert act(client, BUYER, updated, "dispute_eta", {"reason": " "}).status_code == 422
    disputed = act(client, BUYER, updated, "dispute_eta", {"reason": "We need it by Friday"})
    assert disputed.status_code == 200, disputed.text
    assert states(disputed.json()) == {"accept_eta": "unavailable", "dispute_eta": "done"}
    assert disputed.json()["actions"][1]["done_by"] == "Bruno Buyer"
    db.expire_all()
    assert db.get(Order, order_id).status == "CONFIRMED"  # type: ignore[union-attr]
    drain(db)
    for who in (SUPPLIER, ADMIN):
        told = note(client, who, "ETA_DISPUTED")
        assert told["title"] == "ETA Disputed"
        assert told["message"] == f"The buyer disputes the ETA of order #{order_id}: We need it by Friday"
        assert (told["category"], told["severity"]) == ("orders", "high")
    assert act(client, BUYER, updated, "accept_eta").status_code == 409


def test_accept_eta_changes_no_order_and_records_no_event(client: TestClient, db: Session) -> None:
    prefer_supplier_1(db)
    order_id = place_and_match(client, db)
    client.post(f"/api/orders/{order_id}/transitions", json={"status": "CONFIRMED"}, headers=auth(SUPPLIER))
    client.post(
        f"/api/orders/{order_id}/delivery",
        json={"eta": (datetime.now(UTC) + timedelta(days=2)).isoformat()},
        headers=auth(SUPPLIER),
    )
    drain(db)
    events_before = len(db.scalars(select(EventLog)).all())
    accepted = act(client, BUYER, note(client, BUYER, "DELIVERY_PLANNED"), "accept_eta")
    assert accepted.status_code == 200
    assert states(accepted.json()) == {"accept_eta": "done", "dispute_eta": "unavailable"}
    db.expire_all()
    assert len(db.scalars(select(EventLog)).all()) == events_before


def _make_low(client: TestClient, db: Session, quantity: int = 3) -> dict:
    response = client.put(
        "/api/inventory/1",
        json={"quantity": quantity, "low_stock_threshold": 20, "unit_price": "7.80", "lead_time_days": 2},
        headers=auth(SUPPLIER),
    )
    assert response.status_code == 200, response.text
    drain(db)
    return note(client, SUPPLIER, "LOW_STOCK_ALERT")


def test_restock_from_the_low_stock_alert(client: TestClient, db: Session) -> None:
    alert = _make_low(client, db)
    assert alert["category"] == "stock" and alert["severity"] == "high"  # 3 < 20 / 2
    assert [(a["id"], a["label"], a["state"]) for a in alert["actions"]] == [("restock", "Restock", "open")]
    assert note(client, ADMIN, "LOW_STOCK_ALERT")["actions"] == []  # the admins' copy has none
    assert (
        act(client, ADMIN, note(client, ADMIN, "LOW_STOCK_ALERT"), "restock", {"quantity": 5}).status_code
        == 404
    )
    for bad in ({}, {"quantity": 0}, {"quantity": 1_000_001}, {"quantity": "many"}):
        assert act(client, SUPPLIER, alert, "restock", bad).status_code == 422, bad
    response = act(client, SUPPLIER, alert, "restock", {"quantity": 40})
    assert response.status_code == 200, response.text
    restock = response.json()["actions"][0]
    assert (restock["state"], restock["done_by"]) == ("done", "Sven Supplier")
    db.expire_all()
    item = db.scalar(select(InventoryItem).where(InventoryItem.supplier_id == 1, InventoryItem.part_id == 1))
    assert item.quantity == 43  # type: ignore[union-attr]
    again = act(client, SUPPLIER, alert, "restock", {"quantity": 1})
    assert again.status_code == 409 and again.json()["state"] == "above_threshold"


def test_restock_elsewhere_makes_the_action_unavailable(client: TestClient, db: Session) -> None:
    alert = _make_low(client, db, quantity=0)
    assert alert["severity"] == "critical"  # zero stock
    client.put(
        "/api/inventory/1",
        json={"quantity": 500, "low_stock_threshold": 20, "unit_price": "7.80", "lead_time_days": 2},
        headers=auth(SUPPLIER),
    )
    assert states(note(client, SUPPLIER, "LOW_STOCK_ALERT")) == {"restock": "unavailable"}
    refused = act(client, SUPPLIER, alert, "restock", {"quantity": 5})
    assert refused.status_code == 409 and refused.json()["state"] == "above_threshold"


def test_admin_cancel_and_rematch_from_matching_failed(client: TestClient, db: Session) -> None:
    order_id = place_and_match(client, db, items=[{"part_id": 1, "quantity": 5000}])
    failed = note(client, ADMIN, "MATCHING_FAILED")
    assert [(a["id"], a["label"], a["kind"]) for a in failed["actions"]] == [
        ("rematch", "Rematch", "primary"),
        ("cancel", "Cancel order", "secondary"),
    ]
    assert note(client, BUYER, "MATCHING_FAILED")["actions"] == []
    assert act(client, BUYER, note(client, BUYER, "MATCHING_FAILED"), "cancel").status_code == 404
    assert act(client, ADMIN, failed, "rematch").status_code == 200
    drain(db)  # matching ran again and failed again: a new notification
    assert states(client.get("/api/notifications/", headers=auth(ADMIN)).json()["items"][0]) == {
        "rematch": "open",
        "cancel": "open",
    }
    assert states(note(client, ADMIN, "MATCHING_FAILED", offset=0)) == {"rematch": "open", "cancel": "open"}
    cancelled = act(client, ADMIN, failed, "cancel", {"reason": "Ordered by mistake"})
    assert cancelled.status_code == 200, cancelled.text
    assert states(cancelled.json()) == {"rematch": "done", "cancel": "done"}
    db.expire_all()
    assert db.get(Order, order_id).status == "CANCELLED"  # type: ignore[union-attr]
    refused = act(client, ADMIN, note(client, ADMIN, "MATCHING_FAILED"), "rematch")
    assert refused.status_code == 409 and refused.json()["state"] == "CANCELLED"
    drain(db)
    assert "Ordered by mistake" in note(client, ADMIN, "ORDER_CANCELLED")["message"]


def test_rematch_releases_a_matched_supplier(client: TestClient, db: Session) -> None:
    prefer_supplier_1(db)
    order_id = place_and_match(client, db)
    escalated = client.post(
        "/api/events/",
        json={"event_type": "ORDER_ESCALATED", "entity_type": "order", "entity_id": order_id},
        headers=auth(ADMIN),
    )
    assert escalated.status_code == 202
    drain(db)
    row = note(client, ADMIN, "ORDER_ESCALATED")
    assert row["category"] == "system" and row["severity"] == "critical"
    assert note(client, SUPPLIER, "ORDER_ESCALATED")["actions"] == []
    assert act(client, ADMIN, row, "rematch").status_code == 200
    assert states(note(client, SUPPLIER, "SUPPLIER_MATCHED")) == {
        "confirm": "unavailable",
        "decline": "unavailable",
    }
    drain(db)
    db.expire_all()
    assert db.get(Order, order_id).supplier_id == 2  # type: ignore[union-attr]


def test_category_and_severity_filters_and_read_all_of_one_tab(client: TestClient, db: Session) -> None:
    prefer_supplier_1(db)
    place_and_match(client, db)  # SUPPLIER_MATCHED: orders
    _make_low(client, db)  # LOW_STOCK_ALERT: stock
    stock = client.get("/api/notifications/", params={"category": "stock"}, headers=auth(SUPPLIER)).json()
    assert [n["event_type"] for n in stock["items"]] == ["LOW_STOCK_ALERT"] and stock["total"] == 1
    high = client.get("/api/notifications/", params={"severity": "high"}, headers=auth(SUPPLIER)).json()
    assert [n["event_type"] for n in high["items"]] == ["LOW_STOCK_ALERT"]
    for bad in ({"category": "misc"}, {"severity": "urgent"}):
        assert client.get("/api/notifications/", params=bad, headers=auth(SUPPLIER)).status_code == 422
    read = client.patch("/api/notifications/read-all", json={"category": "stock"}, headers=auth(SUPPLIER))
    assert read.status_code == 200 and read.json()["updated"] == 1
    count = client.get("/api/notifications/unread-count", headers=auth(SUPPLIER)).json()
    assert count["by_category"] == {"orders": 1, "stock": 0, "system": 0}
    assert (
        client.patch(
            "/api/notifications/read-all", json={"category": "nope"}, headers=auth(SUPPLIER)
        ).status_code
        == 422
    )
    assert client.patch("/api/notifications/read-all", headers=auth(SUPPLIER)).json()["updated"] == 1


def test_actions_of_a_page_take_a_bounded_number_of_queries(client: TestClient, db: Session) -> None:
    from sqlalchemy import event

    from common.db import get_engine
    from common.services.actions import actions_for_rows

    prefer_supplier_1(db)
    for _ in range(3):
        place_and_match(client, db)

    def count_queries(n_rows: int) -> int:
        rows = db.scalars(
            select(Notification).where(Notification.user_id == user_by_email(db, SUPPLIER).id).limit(n_rows)
        ).all()
        seen = []
        listener = lambda *args: seen.append(1)  # noqa: E731
        event.listen(get_engine(), "before_cursor_execute", listener)
        try:
            result = actions_for_rows(db, rows)
        finally:
            event.remove(get_engine(), "before_cursor_execute", listener)
        assert len(result) == len(rows)
        return len(seen)

    assert count_queries(1) == count_queries(3)


def test_an_action_on_the_row_that_the_service_now_refuses_is_403(client: TestClient, db: Session) -> None:
    """CONTRACT section 8: `403` when the action is on the notification but the service refuses the
    caller: the buyer was moved to another factory (by the accounts module, straight in the
    database) after the ETA was told, so the order is no longer theirs; nothing is recorded."""
    from common.models import EventAction, Factory

    confirmed_with_a_planned_delivery(client, db)
    plan = note(client, BUYER, "DELIVERY_PLANNED")
    assert states(plan)["accept_eta"] == "open"
    buyer = user_by_email(db, BUYER)
    buyer.factory_id = db.scalar(select(Factory.id).where(Factory.id != buyer.factory_id).limit(1))
    db.commit()
    response = act(client, BUYER, plan, "accept_eta")
    assert response.status_code == 403, response.text
    assert response.json()["detail"].startswith("Accept ETA is no longer yours to do: ")
    assert db.scalars(select(EventAction)).all() == []
