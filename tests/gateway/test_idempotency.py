"""Idempotency-Key on POST /api/orders/ and POST /api/events/ (CONTRACT section 4)."""

import json
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from common.models import EventLog, IdempotencyKey, Order, utcnow
from common.services import idempotency, orders
from gateway.main import create_app
from tests.conftest import auth, user_by_email

BUYER, ADMIN = "buyer@demo.test", "admin@demo.test"
ORDER = {"items": [{"part_id": 1, "quantity": 2}], "notes": "first"}


def post_order(client: TestClient, key: str | bytes | None, body: object = ORDER, who: str = BUYER):
    headers = auth(who)
    if key is not None:
        headers["Idempotency-Key"] = key  # type: ignore[assignment]
    return client.post(
        "/api/orders/", content=json.dumps(body), headers={**headers, "Content-Type": "application/json"}
    )


def count(db: Session, model: type) -> int:
    db.expire_all()
    return db.scalar(select(func.count()).select_from(model)) or 0


def test_same_key_and_body_answers_the_first_response_and_changes_nothing(
    client: TestClient, db: Session
) -> None:
    first = post_order(client, "order-1")
    assert first.status_code == 201, first.text
    assert "Idempotent-Replayed" not in first.headers
    # The same JSON, keys in another order and other spacing, is the same request.
    same = json.loads(json.dumps({"notes": "first", "items": [{"quantity": 2, "part_id": 1}]}))
    for body in (ORDER, same):
        again = post_order(client, "order-1", body)
        assert again.status_code == 201
        assert again.json() == first.json()
        assert again.headers["Idempotent-Replayed"] == "true"
    assert count(db, Order) == 1
    assert db.scalar(select(func.count()).where(EventLog.event_type == "ORDER_PLACED")) == 1
    # Another key, or no key, is another order; the same key of another user too.
    assert post_order(client, "order-2").json()["id"] != first.json()["id"]
    assert post_order(client, None).status_code == 201
    assert post_order(client, "order-1", who="buyer2@demo.test").json()["id"] != first.json()["id"]
    assert count(db, Order) == 4


def test_same_key_with_another_body_is_422(client: TestClient, db: Session) -> None:
    assert post_order(client, "k").status_code == 201
    other = post_order(client, "k", {**ORDER, "notes": "second"})
    assert other.status_code == 422 and "different" in other.json()["detail"]
    assert count(db, Order) == 1
    # The record still answers the first body.
    assert post_order(client, "k").status_code == 201
    assert count(db, Order) == 1


@pytest.mark.parametrize(
    "key", ["", "x" * 256, "has space", "tab\there", "caf\u00e9".encode("latin-1"), "\x7f"]
)
def test_invalid_keys_are_422(client: TestClient, db: Session, key: str | bytes) -> None:
    response = post_order(client, key)
    assert response.status_code == 422, response.text
    assert count(db, Order) == 0 and count(db, IdempotencyKey) == 0


def test_longest_and_oddest_visible_ascii_key_works(client: TestClient, db: Session) -> None:
    key = ("!~" + "".join(chr(c) for c in range(0x21, 0x7F))) * 3
    key = key[:255]
    assert post_order(client, key).status_code == 201
    assert post_order(client, key).headers["Idempotent-Replayed"] == "true"
    assert count(db, Order) == 1


def fingerprint(path: str, body: object) -> str:
    return idempotency.request_fingerprint("POST", path, json.dumps(body).encode())


def test_in_flight_is_409_until_its_mark_expires(client: TestClient, db: Session) -> None:
    buyer_id = user_by_email(db, BUYER).id
    held = idempotency.claim(buyer_id, "busy", fingerprint("/api/orders/", ORDER))
    assert isinstance(held, idempotency.Claim)
    busy = post_order(client, "busy")
    assert busy.status_code == 409
    assert count(db, Order) == 0
    # A different body is still refused as a different body.
    assert post_order(client, "busy", {**ORDER, "notes": "other"}).status_code == 422
    # The holder crashed: after 60 s its mark expires and the retry runs, once.
    db.execute(update(IdempotencyKey).values(locked_until=utcnow() - timedelta(seconds=1)))
    db.commit()
    retried = post_order(client, "busy")
    assert retried.status_code == 201
    assert post_order(client, "busy").json() == retried.json()
    assert count(db, Order) == 1
    # The crashed holder, were it to come back, cannot store its answer over the new one.
    with Session(db.get_bind()) as late, pytest.raises(Exception, match="took this Idempotency-Key over"):
        idempotency.hold(late, held)


def test_key_is_forgotten_after_24_hours(client: TestClient, db: Session) -> None:
    first = post_order(client, "daily")
    db.execute(update(IdempotencyKey).values(created_at=utcnow() - timedelta(hours=24, seconds=1)))
    db.commit()
    later = post_order(client, "daily", {**ORDER, "notes": "next day"})
    assert later.status_code == 201 and later.json()["id"] != first.json()["id"]
    assert count(db, Order) == 2 and count(db, IdempotencyKey) == 1


def test_the_hourly_purge_deletes_keys_past_24_hours_and_keeps_the_rest(
    client: TestClient, db: Session
) -> None:
    from celeryconfig import beat_schedule
    from workers.mail import purge_idempotency_keys

    assert beat_schedule["purge-idempotency-keys"]["task"] == "purge_idempotency_keys"
    post_order(client, "old")
    post_order(client, "recent", {**ORDER, "notes": "recent"})
    db.execute(
        update(IdempotencyKey)
        .where(IdempotencyKey.key == "old")
        .values(created_at=utcnow() - timedelta(hours=24, seconds=1))
    )
    db.commit()
    assert purge_idempotency_keys() == 1
    db.expire_all()
    assert list(db.scalars(select(IdempotencyKey.key))) == ["recent"]


def test_a_refusal_is_kept_and_answered_again(client: TestClient, db: Session) -> None:
    bad_part = {"items": [{"part_id": 999, "quantity": 1}]}
    first = post_order(client, "refused", bad_part)
    assert first.status_code == 422
    again = post_order(client, "refused", bad_part)
    assert (again.status_code, again.json()) == (first.status_code, first.json())
    assert again.headers["Idempotent-Replayed"] == "true"
    # A request that fails validation never reached the work and is not recorded.
    assert post_order(client, "invalid", {"items": []}).status_code == 422
    assert db.scalar(select(func.count()).where(IdempotencyKey.key == "invalid")) == 0
    assert post_order(client, "invalid").status_code == 201


def test_a_5xx_is_not_kept(clean_db: None, db: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    real = orders.place_order
    calls = {"n": 0}

    def flaky(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("database blinked")
        return real(*args, **kwargs)

    monkeypatch.setattr(orders, "place_order", flaky)
    with TestClient(create_app().other_asgi_app, raise_server_exceptions=False) as client:
        assert post_order(client, "retry-me").status_code == 500
        assert count(db, IdempotencyKey) == 0
        retried = post_order(client, "retry-me")
        assert retried.status_code == 201
        assert post_order(client, "retry-me").json() == retried.json()
    assert count(db, Order) == 1


def test_manual_events_too(client: TestClient, db: Session) -> None:
    headers = {**auth(ADMIN), "Idempotency-Key": "fire-1"}
    body = {"event_type": "LOW_STOCK_ALERT", "entity_type": "inventory", "entity_id": 1}
    first = client.post("/api/events/", json=body, headers=headers)
    assert first.status_code == 202
    again = client.post("/api/events/", json=body, headers=headers)
    assert (again.status_code, again.json()) == (202, first.json())
    assert count(db, EventLog) == 1
    assert client.post("/api/events/", json={**body, "entity_id": 2}, headers=headers).status_code == 422
    missing = {**body, "entity_id": 999}
    headers["Idempotency-Key"] = "fire-missing"
    assert client.post("/api/events/", json=missing, headers=headers).status_code == 404
    assert client.post("/api/events/", json=missing, headers=headers).headers["Idempotent-Replayed"] == "true"
    # The role check comes before the key: an admin placing an order is 403, not recorded.
    assert post_order(client, "fire-1", who=ADMIN).status_code == 403
    assert count(db, EventLog) == 1


def test_a_request_still_running_keeps_its_key_past_the_mark(client: TestClient, db: Session) -> None:
    buyer_id = user_by_email(db, BUYER).id
    held = idempotency.claim(buyer_id, "slow", fingerprint("/api/orders/", ORDER))
    assert isinstance(held, idempotency.Claim)
    db.execute(update(IdempotencyKey).values(locked_until=utcnow() - timedelta(seconds=5)))
    db.commit()
    with Session(db.get_bind()) as running:
        idempotency.hold(running, held)  # the first request's work transaction, still open
        assert post_order(client, "slow").status_code == 409  # its row lock says it is alive
        idempotency.complete(running, held, 201, {"id": 12345})
        running.commit()
    replay = post_order(client, "slow")
    assert (replay.status_code, replay.json()) == (201, {"id": 12345})
    assert count(db, Order) == 0
