from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from common.models import EventLog, InventoryItem, Supplier
from common.services.matching import match_order
from tests.conftest import auth

BUYER, BUYER2 = "buyer@demo.test", "buyer2@demo.test"
SUPPLIER, SUPPLIER2, ADMIN = "supplier@demo.test", "supplier2@demo.test", "admin@demo.test"


def event_rows(db: Session) -> list[EventLog]:
    db.expire_all()
    return list(db.scalars(select(EventLog).order_by(EventLog.id)))


def place(client: TestClient, items=None, **extra) -> dict:
    body = {"items": items or [{"part_id": 1, "quantity": 2}], **extra}
    response = client.post("/api/orders/", json=body, headers=auth(BUYER))
    assert response.status_code == 201, response.text
    return response.json()


def matched_order(client: TestClient, db: Session, **extra) -> dict:
    order = place(client, **extra)
    match_order(db, order["id"])
    db.commit()
    return client.get(f"/api/orders/{order['id']}", headers=auth(ADMIN)).json()


def move(client: TestClient, order_id: int, status: str, who: str, **extra):
    return client.post(
        f"/api/orders/{order_id}/transitions", json={"status": status, **extra}, headers=auth(who)
    )


def test_place_order_records_one_event_with_ids(client: TestClient, db: Session) -> None:
    order = place(client, notes="urgent", needed_by="2030-01-01T10:00:00")
    assert order["status"] == "PLACED"
    assert order["needed_by"].startswith("2030-01-01T10:00:00") and order["needed_by"].endswith("Z")
    rows = event_rows(db)
    assert [r.event_type for r in rows] == ["ORDER_PLACED"]
    assert rows[0].event_metadata["order_id"] == order["id"]
    assert rows[0].event_metadata["factory_id"] == 1
    assert rows[0].state == "PENDING"


@pytest.mark.parametrize(
    "body",
    [
        {"items": []},
        {"items": [{"part_id": 1, "quantity": 0}]},
        {"items": [{"part_id": 999, "quantity": 1}]},
        {"items": [{"part_id": 1, "quantity": 1}, {"part_id": 1, "quantity": 2}]},
        {"items": [{"part_id": 1, "quantity": 1}], "status": "DELIVERED"},
        {"items": [{"part_id": 1, "quantity": 1}], "factory_id": 2},
        {"items": [{"part_id": 1, "quantity": 1}], "supplier_id": 1},
    ],
)
def test_bad_orders_are_422_and_write_nothing(client: TestClient, db: Session, body) -> None:
    response = client.post("/api/orders/", json=body, headers=auth(BUYER))
    assert response.status_code == 422
    assert response.json()["detail"]
    assert event_rows(db) == []


def test_matching_picks_best_supplier_and_emits(client: TestClient, db: Session) -> None:
    db.get(Supplier, 2).reliability_score = 90  # type: ignore[union-attr]
    db.commit()
    order = matched_order(client, db)
    assert order["status"] == "MATCHED"
    assert order["supplier_id"] == 2
    assert order["items"][0]["unit_price"] == "8.40"
    assert [r.event_type for r in event_rows(db)] == ["ORDER_PLACED", "SUPPLIER_MATCHED"]


def test_unfillable_order_stays_placed(client: TestClient, db: Session) -> None:
    order = place(client, items=[{"part_id": 1, "quantity": 100000}])
    match_order(db, order["id"])
    db.commit()
    assert client.get(f"/api/orders/{order['id']}", headers=auth(BUYER)).json()["status"] == "PLACED"
    rows = event_rows(db)
    assert rows[-1].event_type == "MATCHING_FAILED"
    assert rows[-1].event_metadata["order_id"] == order["id"]


def test_full_lifecycle_with_stock_and_delivery(client: TestClient, db: Session) -> None:
    order = matched_order(client, db, items=[{"part_id": 1, "quantity": 101}])
    oid = order["id"]
    assert move(client, oid, "CONFIRMED", SUPPLIER).status_code == 200
    stock = db.scalar(select(InventoryItem).where(InventoryItem.supplier_id == 1, InventoryItem.part_id == 1))
    db.refresh(stock)
    assert stock.quantity == 19  # 120 - 101, below the threshold of 20
    eta = (datetime.now(UTC) + timedelta(days=2)).isoformat()
    planned = client.post(
        f"/api/orders/{oid}/delivery", json={"eta": eta, "carrier": "DHL"}, headers=auth(SUPPLIER)
    )
    assert planned.status_code == 201
    assert (
        client.post(f"/api/orders/{oid}/delivery", json={"eta": eta}, headers=auth(SUPPLIER)).status_code
        == 409
    )
    later = (datetime.now(UTC) + timedelta(days=3)).isoformat()
    assert (
        client.patch(f"/api/orders/{oid}/delivery", json={"eta": later}, headers=auth(SUPPLIER)).status_code
        == 200
    )
    assert move(client, oid, "DISPATCHED", SUPPLIER).status_code == 200
    assert move(client, oid, "IN_TRANSIT", SUPPLIER).status_code == 200
    delivered = move(client, oid, "DELIVERED", BUYER)
    assert delivered.status_code == 200
    body = delivered.json()
    assert [h["status"] for h in body["status_history"]] == [
        "PLACED",
        "MATCHED",
        "CONFIRMED",
        "DISPATCHED",
        "IN_TRANSIT",
        "DELIVERED",
    ]
    assert [r.event_type for r in event_rows(db)] == [
        "ORDER_PLACED",
        "SUPPLIER_MATCHED",
        "ORDER_CONFIRMED",
        "LOW_STOCK_ALERT",
        "DELIVERY_PLANNED",
        "ETA_UPDATED",
        "ORDER_DISPATCHED",
        "ORDER_IN_TRANSIT",
        "ORDER_DELIVERED",
        "DELIVERY_COMPLETED",
    ]
    for row in event_rows(db):
        if row.entity_type == "order":
            assert row.event_metadata["order_id"] == oid
        else:
            assert row.event_metadata["supplier_id"] == 1 and row.event_metadata["part_id"] == 1


def test_illegal_moves_are_409_naming_both_states(client: TestClient, db: Session) -> None:
    order = place(client)
    oid = order["id"]
    response = move(client, oid, "MATCHED", ADMIN)
    assert response.status_code == 409
    assert "PLACED" in response.json()["detail"] and "MATCHED" in response.json()["detail"]
    assert move(client, oid, "DELIVERED", ADMIN).status_code == 409
    assert move(client, oid, "PLACED", BUYER).status_code == 409
    assert move(client, oid, "CANCELLED", BUYER).status_code == 200
    again = move(client, oid, "CANCELLED", BUYER)
    assert again.status_code == 409 and "CANCELLED" in again.json()["detail"]
    assert [r.event_type for r in event_rows(db)] == ["ORDER_PLACED", "ORDER_CANCELLED"]


def test_wrong_actors(client: TestClient, db: Session) -> None:
    order = matched_order(client, db)
    oid = order["id"]
    assert order["supplier_id"] == 1
    assert move(client, oid, "CONFIRMED", BUYER).status_code == 403
    assert move(client, oid, "CONFIRMED", ADMIN).status_code == 403
    assert move(client, oid, "CANCELLED", SUPPLIER).status_code == 403
    # Another factory's buyer and the unmatched supplier cannot even see it.
    assert move(client, oid, "CANCELLED", BUYER2).status_code == 404
    assert move(client, oid, "CONFIRMED", SUPPLIER2).status_code == 404
    assert client.get(f"/api/orders/{oid}", headers=auth(BUYER2)).status_code == 404
    assert client.get(f"/api/orders/{oid}", headers=auth(SUPPLIER2)).status_code == 404
    assert client.get("/api/orders/", headers=auth(BUYER2)).json()["total"] == 0
    assert client.get("/api/orders/", headers=auth(SUPPLIER2)).json()["total"] == 0
    assert client.get("/api/orders/", headers=auth(SUPPLIER)).json()["total"] == 1
    assert move(client, 9999, "CANCELLED", ADMIN).status_code == 404
    assert [r.event_type for r in event_rows(db)] == ["ORDER_PLACED", "SUPPLIER_MATCHED"]


def test_cancelling_confirmed_order_releases_stock(client: TestClient, db: Session) -> None:
    order = matched_order(client, db, items=[{"part_id": 3, "quantity": 5}])
    assert order["supplier_id"] == 1
    assert move(client, order["id"], "CONFIRMED", SUPPLIER).status_code == 200
    assert move(client, order["id"], "CANCELLED", ADMIN, reason="duplicate").status_code == 200
    stock = db.scalar(select(InventoryItem).where(InventoryItem.supplier_id == 1, InventoryItem.part_id == 3))
    db.refresh(stock)
    assert stock.quantity == 300
    cancelled = event_rows(db)[-1]
    assert cancelled.event_type == "ORDER_CANCELLED"
    assert cancelled.event_metadata["reason"] == "duplicate"


def test_low_stock_alert_only_on_crossing(client: TestClient, db: Session) -> None:
    headers = auth(SUPPLIER)
    body = {"quantity": 30, "low_stock_threshold": 10, "unit_price": "5.00", "lead_time_days": 2}
    assert client.put("/api/inventory/3", json=body, headers=headers).status_code == 200
    assert client.put("/api/inventory/3", json={**body, "quantity": 5}, headers=headers).status_code == 200
    assert client.put("/api/inventory/3", json={**body, "quantity": 4}, headers=headers).status_code == 200
    assert client.put("/api/inventory/3", json={**body, "quantity": 50}, headers=headers).status_code == 200
    assert client.put("/api/inventory/3", json={**body, "quantity": 1}, headers=headers).status_code == 200
    alerts = [r for r in event_rows(db) if r.event_type == "LOW_STOCK_ALERT"]
    assert len(alerts) == 2
    assert alerts[0].event_metadata == {
        "inventory_id": alerts[0].entity_id,
        "supplier_id": 1,
        "part_id": 3,
        "quantity": 5,
        "low_stock_threshold": 10,
    }
    own = client.get("/api/inventory/", headers=headers).json()
    assert {row["supplier_id"] for row in own["items"]} == {1}
    assert client.get("/api/inventory/", headers=auth(BUYER)).status_code == 403
    assert client.put("/api/inventory/999", json=body, headers=headers).status_code == 404
    assert client.put("/api/inventory/3", json={**body, "quantity": -1}, headers=headers).status_code == 422


def test_pagination_bounds(client: TestClient) -> None:
    for query in ["limit=0", "limit=101", "offset=-1", "limit=abc"]:
        assert client.get(f"/api/orders/?{query}", headers=auth(ADMIN)).status_code == 422
    page = client.get("/api/parts/?limit=5&offset=10", headers=auth(BUYER)).json()
    assert page["total"] == 12 and page["limit"] == 5 and page["offset"] == 10
    assert len(page["items"]) == 2


def test_failed_request_writes_nothing(client: TestClient, db: Session) -> None:
    order = matched_order(client, db, items=[{"part_id": 1, "quantity": 50}])
    # Drain the stock so that confirming fails halfway through the request.
    stock = db.scalar(select(InventoryItem).where(InventoryItem.supplier_id == 1, InventoryItem.part_id == 1))
    stock.quantity = 10
    db.commit()
    before = db.scalar(select(func.count()).select_from(EventLog))
    response = move(client, order["id"], "CONFIRMED", SUPPLIER)
    assert response.status_code == 409
    assert "10 left, 50 needed" in response.json()["detail"]
    db.expire_all()
    assert db.scalar(select(func.count()).select_from(EventLog)) == before
    assert client.get(f"/api/orders/{order['id']}", headers=auth(ADMIN)).json()["status"] == "MATCHED"


def test_order_and_inventory_carry_names_for_people(client: TestClient, db: Session) -> None:
    """Read-only fields for the web app: part name/SKU per item, supplier name, the delivery."""
    order = matched_order(client, db)
    assert order["supplier_name"] and order["delivery"] is None
    item = order["items"][0]
    assert item["part_name"] and item["part_sku"]
    assert move(client, order["id"], "CONFIRMED", SUPPLIER).status_code == 200
    planned = client.post(
        f"/api/orders/{order['id']}/delivery",
        json={"eta": "2030-01-01T10:00:00Z", "carrier": "DHL", "tracking_ref": "TR-1"},
        headers=auth(SUPPLIER),
    )
    assert planned.status_code == 201, planned.text
    listed = client.get("/api/orders/", headers=auth(BUYER)).json()["items"]
    mine = next(o for o in listed if o["id"] == order["id"])
    assert mine["delivery"]["carrier"] == "DHL" and mine["delivery"]["tracking_ref"] == "TR-1"
    assert mine["items"][0]["part_name"] == item["part_name"]

    stock = client.get(f"/api/inventory/?part_id={item['part_id']}", headers=auth(ADMIN)).json()
    assert stock["total"] >= 1
    assert all(row["part_id"] == item["part_id"] for row in stock["items"])
    assert all(row["part_name"] == item["part_name"] and row["supplier_name"] for row in stock["items"])
    row = stock["items"][0]
    body = {"quantity": 1, "low_stock_threshold": 5, "unit_price": "2.50", "lead_time_days": 3}
    updated = client.put(f"/api/inventory/{item['part_id']}", json=body, headers=auth(SUPPLIER))
    assert updated.status_code == 200, updated.text
    assert updated.json()["is_low"] is True and updated.json()["part_sku"] == row["part_sku"]


def test_placing_an_order_answers_with_part_names(client: TestClient) -> None:
    order = place(client)
    assert order["items"][0]["part_name"] and order["items"][0]["part_sku"]
