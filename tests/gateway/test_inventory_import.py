"""PUT /api/inventory/: the bulk import, all or nothing, one alert per row that crossed below."""

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from common.models import EventLog, InventoryItem, Part
from tests.conftest import auth, user_by_email

SUPPLIER = "supplier@demo.test"


def make_parts(db: Session, n: int) -> list[int]:
    parts = [Part(sku=f"IMP-{i}", name=f"Import part {i}") for i in range(n)]
    db.add_all(parts)
    db.commit()
    return [p.id for p in parts]


def row(part_id: int, quantity: int, threshold: int = 10) -> dict:
    return {
        "part_id": part_id,
        "quantity": quantity,
        "low_stock_threshold": threshold,
        "unit_price": "2.50",
        "lead_time_days": 4,
    }


def alerts(db: Session) -> list[EventLog]:
    db.expire_all()
    return list(db.scalars(select(EventLog).where(EventLog.event_type == "LOW_STOCK_ALERT")))


def test_import_upserts_every_row_and_alerts_once_per_crossing(client: TestClient, db: Session) -> None:
    ids = make_parts(db, 300)
    supplier_id = user_by_email(db, SUPPLIER).supplier_id
    first = client.put("/api/inventory/", json={"items": [row(p, 100) for p in ids]}, headers=auth(SUPPLIER))
    assert first.status_code == 200, first.text
    assert first.json() == {"updated": 300}
    assert alerts(db) == []
    # 200 rows go below their threshold, 100 stay above.
    items = [row(p, 5 if i < 200 else 50) for i, p in enumerate(ids)]
    second = client.put("/api/inventory/", json={"items": items}, headers=auth(SUPPLIER))
    assert second.status_code == 200, second.text
    got = alerts(db)
    assert len(got) == 200
    assert {e.event_metadata["part_id"] for e in got} == set(ids[:200])
    assert all(e.event_metadata["supplier_id"] == supplier_id for e in got)
    assert all(e.state == "PENDING" for e in got)
    # Staying below emits nothing more.
    third = client.put("/api/inventory/", json={"items": items}, headers=auth(SUPPLIER))
    assert third.status_code == 200
    assert len(alerts(db)) == 200
    stock = db.scalar(
        select(InventoryItem).where(InventoryItem.supplier_id == supplier_id, InventoryItem.part_id == ids[0])
    )
    assert stock is not None and stock.quantity == 5 and str(stock.unit_price) == "2.50"


def test_a_new_row_already_below_its_threshold_alerts(client: TestClient, db: Session) -> None:
    ids = make_parts(db, 2)
    response = client.put(
        "/api/inventory/", json={"items": [row(ids[0], 1), row(ids[1], 99)]}, headers=auth(SUPPLIER)
    )
    assert response.status_code == 200
    assert [e.event_metadata["part_id"] for e in alerts(db)] == [ids[0]]


def test_import_is_all_or_nothing(client: TestClient, db: Session) -> None:
    ids = make_parts(db, 3)
    before = db.scalar(select(func.count()).select_from(InventoryItem))
    bad = [row(ids[0], 1), row(ids[1], 1), row(999_999, 1)]
    response = client.put("/api/inventory/", json={"items": bad}, headers=auth(SUPPLIER))
    assert response.status_code == 422
    assert "999999" in response.json()["detail"]
    twice = client.put(
        "/api/inventory/", json={"items": [row(ids[2], 1), row(ids[2], 2)]}, headers=auth(SUPPLIER)
    )
    assert twice.status_code == 422
    assert str(ids[2]) in twice.json()["detail"]
    db.expire_all()
    assert db.scalar(select(func.count()).select_from(InventoryItem)) == before
    assert alerts(db) == []


def test_import_bounds(client: TestClient, db: Session) -> None:
    empty = client.put("/api/inventory/", json={"items": []}, headers=auth(SUPPLIER))
    assert empty.status_code == 422
    too_many = client.put("/api/inventory/", json={"items": [row(1, 1)] * 5001}, headers=auth(SUPPLIER))
    assert too_many.status_code == 422
    buyer = client.put("/api/inventory/", json={"items": [row(1, 1)]}, headers=auth("buyer@demo.test"))
    assert buyer.status_code == 403
