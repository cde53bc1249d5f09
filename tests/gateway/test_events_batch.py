"""POST /api/events/batch (CONTRACT section 8): up to 500 events, all or none, ids in order."""

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from common.models import EventLog
from tests.conftest import auth

ADMIN = "admin@demo.test"


def fire_batch(client: TestClient, events: list[dict], who: str = ADMIN, **headers: str):
    return client.post("/api/events/batch", json={"events": events}, headers={**auth(who), **headers})


def place_order(client: TestClient) -> int:
    placed = client.post(
        "/api/orders/", json={"items": [{"part_id": 1, "quantity": 1}]}, headers=auth("buyer@demo.test")
    )
    return placed.json()["id"]


def event_count(db: Session) -> int:
    db.expire_all()
    return db.scalar(select(func.count()).select_from(EventLog)) or 0


def test_a_batch_is_recorded_in_order_with_server_ids(client: TestClient, db: Session) -> None:
    order_id = place_order(client)
    before = event_count(db)
    items = [
        {"event_type": "ETA_UPDATED", "entity_type": "order", "entity_id": order_id, "metadata": {"seq": i}}
        for i in range(300)
    ] + [{"event_type": "LOW_STOCK_ALERT", "entity_type": "inventory", "entity_id": 1}]
    response = fire_batch(client, items)
    assert response.status_code == 202, response.text
    ids = response.json()["event_ids"]
    assert len(ids) == 301 and ids == sorted(ids)
    rows = {row.id: row for row in db.scalars(select(EventLog).where(EventLog.id.in_(ids)))}
    assert [rows[i].event_metadata.get("seq") for i in ids[:300]] == list(range(300))
    assert rows[ids[0]].event_metadata["order_id"] == order_id  # the server adds the entity's ids
    assert rows[ids[-1]].event_type == "LOW_STOCK_ALERT" and rows[ids[-1]].state == "PENDING"
    assert event_count(db) == before + 301


def test_one_invalid_item_refuses_the_whole_batch_and_says_which(client: TestClient, db: Session) -> None:
    order_id = place_order(client)
    before = event_count(db)
    good = {"event_type": "ORDER_DISPATCHED", "entity_type": "order", "entity_id": order_id}
    unknown_entity = {"event_type": "ORDER_DISPATCHED", "entity_type": "order", "entity_id": 999_999}
    wrong_type = {"event_type": "ORDER_PLACED", "entity_type": "supplier", "entity_id": 1}
    refused = fire_batch(client, [good, unknown_entity, good, wrong_type])
    assert refused.status_code == 422
    detail = refused.json()["detail"]
    assert [item["loc"] for item in detail] == [
        ["body", "events", 1, "entity_id"],
        ["body", "events", 3, "entity_type"],
    ]
    assert "999999" in detail[0]["msg"]
    schema = fire_batch(client, [good, {**good, "event_type": "NOPE"}])
    assert schema.status_code == 422 and schema.json()["detail"][0]["loc"][:4] == [
        "body",
        "events",
        1,
        "event_type",
    ]
    assert event_count(db) == before  # nothing of any refused batch was written


def test_batch_bounds_roles_and_body_size(client: TestClient, db: Session) -> None:
    order_id = place_order(client)
    one = {"event_type": "ORDER_DISPATCHED", "entity_type": "order", "entity_id": order_id}
    assert fire_batch(client, []).status_code == 422
    assert fire_batch(client, [one] * 501).status_code == 422
    assert fire_batch(client, [one] * 500).status_code == 202
    assert fire_batch(client, [one], who="buyer@demo.test").status_code == 403
    assert client.post("/api/events/batch", json={"events": [one]}).status_code == 401
    padded = {**one, "metadata": {"note": "x" * 500}}
    too_big = fire_batch(client, [{**padded, "metadata": {f"k{i}": "x" * 400 for i in range(30)}}] * 200)
    assert too_big.status_code == 413


def test_the_same_idempotency_key_records_a_batch_once(client: TestClient, db: Session) -> None:
    order_id = place_order(client)
    items = [{"event_type": "ETA_UPDATED", "entity_type": "order", "entity_id": order_id}] * 3
    before = event_count(db)
    first = fire_batch(client, items, **{"Idempotency-Key": "batch-1"})
    again = fire_batch(client, items, **{"Idempotency-Key": "batch-1"})
    assert first.status_code == again.status_code == 202
    assert again.json() == first.json()
    assert event_count(db) == before + 3
    other_body = fire_batch(client, items[:1], **{"Idempotency-Key": "batch-1"})
    assert other_body.status_code == 422  # a key reused for another body
