"""Faults: duplicate deliveries, a worker killed mid-task, Redis down, several gateways."""

import os
import shutil
import signal
import time

import httpx
import pytest
from sqlalchemy import create_engine, func, select, text, update
from sqlalchemy.orm import Session

from common.db import get_sessionmaker
from common.events.broker import app as celery_app
from common.models import DeliveryState, EventLog, Notification
from tests.conftest import token_for
from tests.integration.conftest import Stack
from tests.integration.stack import (
    Listener,
    PrivateRedis,
    free_port,
    fresh_seeded_database,
    process_env,
    start_gateway,
    start_worker,
    wait_until,
    worker_children,
)

BUYER, ADMIN = "buyer@demo.test", "admin@demo.test"


def notifications_for(event_id: int) -> int:
    with get_sessionmaker()() as session:
        return (
            session.scalar(
                select(func.count()).select_from(Notification).where(Notification.event_id == event_id)
            )
            or 0
        )


def event_state(event_id: int) -> str:
    with get_sessionmaker()() as session:
        return session.scalar(select(EventLog.state).where(EventLog.id == event_id)) or ""


def fire_dispatched(live: Stack, order_id: int) -> int:
    with live.api(ADMIN) as api:
        response = api.post(
            "/api/events/",
            json={"event_type": "ORDER_DISPATCHED", "entity_type": "order", "entity_id": order_id},
        )
        assert response.status_code == 202
        return response.json()["event_id"]


def place_order(base_url: str, quantity: int = 1) -> int:
    headers = {"Authorization": f"Bearer {token_for(BUYER)}"}
    response = httpx.post(
        f"{base_url}/api/orders/",
        json={"items": [{"part_id": 5, "quantity": quantity}]},
        headers=headers,
        timeout=10,
    )
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def test_same_task_delivered_twice_makes_one_notification(live: Stack) -> None:
    order_id = place_order(live.url)
    event_id = fire_dispatched(live, order_id)
    wait_until(lambda: event_state(event_id) == "PROCESSED", 15, "event processed")
    assert notifications_for(event_id) == 1
    # A redelivery after the work was committed: the task sees PROCESSED and does nothing.
    first = celery_app.send_task("ORDER_DISPATCHED", args=[event_id], queue="notifications")
    wait_until(lambda: f"{first.id}] succeeded" in live.worker.log(), 15, "the redelivered task")
    # A redelivery that runs the handler again (as if it died before marking the event).
    with get_sessionmaker()() as session:
        session.execute(update(EventLog).where(EventLog.id == event_id).values(state=DeliveryState.QUEUED))
        session.commit()
    second = celery_app.send_task("ORDER_DISPATCHED", args=[event_id], queue="notifications")
    wait_until(lambda: f"{second.id}] succeeded" in live.worker.log(), 15, "the re-run task")
    assert event_state(event_id) == "PROCESSED"
    assert notifications_for(event_id) == 1


def sessions_waiting_on(fragment: str) -> int:
    # A fresh session each time: pg_stat_activity is a snapshot within a transaction.
    with get_sessionmaker()() as session:
        query = "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query ILIKE :q"
        return int(session.execute(text(query), {"q": f"%{fragment}%"}).scalar() or 0)


def test_worker_killed_mid_task_is_replaced_and_event_delivered_once(live: Stack) -> None:
    order_id = place_order(live.url, quantity=999_999)  # nobody can fill it: it stays PLACED
    listener = live.listen(ADMIN)
    try:
        listener.wait_for("notification", lambda d: d["event_type"] == "MATCHING_FAILED")
        with get_sessionmaker()() as blocker:
            # Hold the order locked: the worker handling ORDER_PLACED runs matching,
            # which locks the order, so the task blocks in the middle of its transaction.
            blocker.execute(text("SELECT id FROM orders WHERE id = :id FOR UPDATE"), {"id": order_id})
            with live.api(ADMIN) as api:
                response = api.post(
                    "/api/events/",
                    json={"event_type": "ORDER_PLACED", "entity_type": "order", "entity_id": order_id},
                )
            event_id = response.json()["event_id"]
            wait_until(lambda: sessions_waiting_on("FROM orders"), 15, "the worker to block on the order")
            assert event_state(event_id) == "QUEUED"
            children_before = worker_children(live.worker.proc.pid)
            for pid in children_before:
                os.kill(pid, signal.SIGKILL)
            blocker.rollback()
        wait_until(lambda: event_state(event_id) == "PROCESSED", 30, "the event after the kill")
        note = listener.wait_for(
            "notification",
            lambda d: d["event_type"] == "ORDER_PLACED" and d["metadata"].get("manual"),
            timeout=30,
        )
        assert note["metadata"]["order_id"] == order_id
        assert notifications_for(event_id) == 1
        wait_until(
            lambda: len(worker_children(live.worker.proc.pid)) == len(children_before),
            20,
            "replacement processes",
        )
        assert set(worker_children(live.worker.proc.pid)).isdisjoint(children_before)
    finally:
        listener.close()


def test_two_gateways_share_events(live: Stack) -> None:
    port = free_port()
    second = start_gateway("gateway-2", port, process_env())
    try:
        listener = Listener(f"http://127.0.0.1:{port}", token_for(BUYER), name="buyer on gateway 2")
        order_id = place_order(live.url)  # through the first gateway
        note = listener.wait_for("notification", lambda d: d["event_type"] == "SUPPLIER_MATCHED")
        assert note["metadata"]["order_id"] == order_id
        listener.wait_for("order_status", lambda d: d["order_id"] == order_id and d["status"] == "MATCHED")
        listener.close()
    finally:
        second.stop()


@pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs redis-server")
def test_redis_outage_delays_but_never_loses_events(live: Stack) -> None:
    redis = PrivateRedis()
    redis.start()
    # A database of its own: the main stack's relay would otherwise send this stack's
    # pending events through the main Redis, and the outage would prove nothing.
    database_url = fresh_seeded_database("outage")
    env = process_env(
        DATABASE_URL=database_url,
        REDIS_URL=redis.url(),
        SOCKETIO_CHANNEL="partpulse-outage",
    )
    gateway_port = free_port()
    gateway = start_gateway("gateway-outage", gateway_port, env)
    worker = start_worker("worker-outage", env, concurrency=1)
    url = f"http://127.0.0.1:{gateway_port}"
    try:
        listener = Listener(url, token_for(BUYER), name="buyer")
        redis.stop()
        started = time.monotonic()
        order_id = place_order(url)
        assert time.monotonic() - started < 2, "placing an order must not wait for the broker"
        time.sleep(1.5)
        engine = create_engine(database_url)
        with Session(engine) as session:
            state = session.scalar(
                select(EventLog.state).where(
                    EventLog.entity_id == order_id, EventLog.event_type == "ORDER_PLACED"
                )
            )
        engine.dispose()
        assert state == "PENDING"
        redis.start()
        note = listener.wait_for(
            "notification",
            lambda d: d["event_type"] == "SUPPLIER_MATCHED" and d["metadata"]["order_id"] == order_id,
            timeout=45,
        )
        assert note["title"] == "Supplier Matched"
        listener.close()
    finally:
        worker.stop()
        gateway.stop()
        redis.stop()
