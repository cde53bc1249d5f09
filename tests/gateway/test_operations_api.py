"""The operator's API in-process: the event log's fields and state filter, replay, /metrics, /api/health."""

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from common.config import get_settings
from common.models import DeliveryState, EventLog, utcnow
from tests.conftest import auth

ADMIN = "admin@demo.test"


def fire(client: TestClient, event_type: str = "LOW_STOCK_ALERT", entity_id: int = 1) -> int:
    entity = "inventory" if event_type == "LOW_STOCK_ALERT" else "order"
    response = client.post(
        "/api/events/",
        json={"event_type": event_type, "entity_type": entity, "entity_id": entity_id},
        headers=auth(ADMIN),
    )
    assert response.status_code == 202, response.text
    return int(response.json()["event_id"])


def test_event_log_carries_state_attempts_error_processed_at(client: TestClient, db: Session) -> None:
    pending = fire(client)
    failed = fire(client)
    db.execute(
        EventLog.__table__.update()
        .where(EventLog.id == failed)
        .values(state="FAILED", attempts=6, error="OperationalError: boom", processed_at=None)
    )
    db.commit()
    page = client.get("/api/events/", headers=auth(ADMIN)).json()
    by_id = {item["id"]: item for item in page["items"]}
    assert by_id[pending]["state"] == "PENDING" and by_id[pending]["attempts"] == 0
    assert by_id[pending]["error"] is None and by_id[pending]["processed_at"] is None
    assert by_id[failed]["state"] == "FAILED" and by_id[failed]["attempts"] == 6
    assert by_id[failed]["error"] == "OperationalError: boom"

    only_failed = client.get("/api/events/", params={"state": "FAILED"}, headers=auth(ADMIN)).json()
    assert [i["id"] for i in only_failed["items"]] == [failed] and only_failed["total"] == 1
    assert client.get("/api/events/", params={"state": "DONE"}, headers=auth(ADMIN)).status_code == 422


def test_replay_sets_pending_keeps_processed_at_and_needs_admin(client: TestClient, db: Session) -> None:
    event_id = fire(client)
    done_at = utcnow()
    db.execute(
        EventLog.__table__.update()
        .where(EventLog.id == event_id)
        .values(state="PROCESSED", attempts=1, processed_at=done_at, sends=3, queued_at=done_at)
    )
    db.commit()
    assert client.post(f"/api/events/{event_id}/replay", headers=auth("buyer@demo.test")).status_code == 403
    assert client.post(f"/api/events/{event_id}/replay").status_code == 401
    response = client.post(f"/api/events/{event_id}/replay", headers=auth(ADMIN))
    assert response.status_code == 202
    body = response.json()
    assert body["id"] == event_id and body["state"] == "PENDING" and body["attempts"] == 1
    assert body["processed_at"] is not None
    db.expire_all()
    row = db.get(EventLog, event_id)
    assert row is not None and row.state == DeliveryState.PENDING and row.processed_at is not None
    assert row.sends == 0 and row.queued_at is None  # the redelivery sweep starts over
    # Replaying twice is harmless: still one row, still PENDING.
    assert client.post(f"/api/events/{event_id}/replay", headers=auth(ADMIN)).status_code == 202
    assert len(list(db.scalars(select(EventLog)))) == 1
    assert client.post("/api/events/424242/replay", headers=auth(ADMIN)).status_code == 404
    assert client.post("/api/events/0/replay", headers=auth(ADMIN)).status_code == 422


def test_metrics_auth(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer nonsense"}).status_code == 401
    assert client.get("/metrics", headers=auth("supplier@demo.test")).status_code == 403
    admin = client.get("/metrics", headers=auth(ADMIN))
    assert admin.status_code == 200 and admin.headers["content-type"].startswith("text/plain")
    # Without a METRICS_TOKEN configured, no bearer string is taken for one.
    monkeypatch.setattr(get_settings(), "metrics_token", "")
    assert client.get("/metrics", headers={"Authorization": "Bearer "}).status_code == 401
    monkeypatch.setattr(get_settings(), "metrics_token", "s3cret-scraper")
    assert client.get("/metrics", headers={"Authorization": "Bearer s3cret-scraper"}).status_code == 200
    assert client.get("/metrics", headers={"Authorization": "Bearer s3cret-scrapeR"}).status_code == 401


def test_metrics_count_events_by_type_and_state(client: TestClient) -> None:
    def scrape() -> str:
        return str(client.get("/metrics", headers=auth(ADMIN)).text)

    import time

    assert 'partpulse_events_total{event_type="LOW_STOCK_ALERT",state="PENDING"}' not in scrape()
    fire(client)
    fire(client)
    time.sleep(1.1)  # the database counts are shared between scrapes for a second
    text = scrape()
    assert 'partpulse_events_total{event_type="LOW_STOCK_ALERT",state="PENDING"} 2.0' in text
    assert "partpulse_outbox_pending 2.0" in text
    assert 'partpulse_queue_depth{queue="notifications"}' in text
    assert "partpulse_delivery_seconds_bucket" in text and "partpulse_sockets_connected" in text


def test_health_shape_and_outbox_age(client: TestClient, db: Session) -> None:
    body = client.get("/api/health").json()
    assert set(body) >= {"status", "database", "broker", "workers", "outbox_pending", "oldest_pending_seconds"}
    assert body["database"] == "ok" and body["broker"] == "ok" and body["outbox_pending"] == 0
    event_id = fire(client)
    db.execute(
        EventLog.__table__.update()
        .where(EventLog.id == event_id)
        .values(created_at=utcnow().replace(year=utcnow().year - 1))
    )
    db.commit()
    old = client.get("/api/health")
    assert old.status_code == 200
    assert old.json()["outbox_pending"] == 1 and old.json()["oldest_pending_seconds"] > 86400
    assert old.json()["status"] == "degraded"  # older than EVENT_REDELIVER_SECONDS, whoever answers


def test_health_names_what_is_down(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(get_settings(), "redis_url", "redis://127.0.0.1:1/0")
    response = client.get("/api/health")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "down" and body["broker"].startswith("unavailable") and body["down"] == ["broker"]
    assert body["database"] == "ok" and body["workers"] == 0


def test_rows_of_a_type_this_release_does_not_know_are_listed_and_not_replayed(
    client: TestClient, db: Session
) -> None:
    # Another module's transaction on a newer release records a type this one lacks
    # (emit_event takes the type as a string): the row is written as that module would.
    newer = EventLog(event_type="ORDER_RETURNED", entity_type="order", entity_id=1, event_metadata={})
    db.add(newer)
    db.commit()
    listed = client.get("/api/events/", params={"event_type": "ORDER_RETURNED"}, headers=auth(ADMIN))
    assert listed.status_code == 200, listed.text
    assert [e["id"] for e in listed.json()["items"]] == [newer.id]
    assert listed.json()["items"][0]["state"] == "PENDING"
    nothing = client.get("/api/events/", params={"event_type": "NO_SUCH_TYPE"}, headers=auth(ADMIN))
    assert nothing.status_code == 200 and nothing.json()["total"] == 0
    replay = client.post(f"/api/events/{newer.id}/replay", headers=auth(ADMIN))
    assert replay.status_code == 409
    assert "ORDER_RETURNED" in replay.json()["detail"]
    db.expire_all()
    assert db.get(EventLog, newer.id).sends == 0  # untouched
