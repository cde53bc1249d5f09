"""Failure paths of the event engine (issue 19), driven for real against real processes.

One stack for the module: a private redis-server with ACL users, gateway A
(Redis user `gwa`, PostgreSQL role of its own, so the test can cut it alone),
gateway B (Redis user `gwb`) and a celery worker (Redis default user, its relay
off, so the gateways' relays are the ones the broker test restricts). Limits are
settings, small here, so each case takes seconds: soft time limit 4 s (so the
handler's lock_timeout and statement_timeout are 1 s), EVENT_MAX_ATTEMPTS 3,
catch-up pages of 5 rows.

Every injected fault is a real one (a row another module wrote, a row lock the
test holds, a SIGKILLed pool process, a Redis ACL, a PostgreSQL role without
LOGIN); every outcome is read back from the database, the API and sockets.
"""

import json
import os
import re
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from common.models import Base
from common.seed import seed
from tests.conftest import TEST_DATABASE_URL, TEST_DB_NAME, token_for
from tests.integration.stack import (
    Listener,
    PrivateRedis,
    Process,
    free_port,
    fresh_seeded_database,
    process_env,
    start_gateway,
    start_worker,
    wait_until,
    worker_children,
)

GW_ROLE = f"{TEST_DB_NAME}_gwa"
# A database of this module's own: the session's shared stack (tests/integration/conftest.py)
# runs relays on the main test database, and they would claim this module's events.
FP_DATABASE_URL = TEST_DATABASE_URL.rsplit("/", 1)[0] + f"/{TEST_DB_NAME}_failure_paths"


def reset_data() -> None:
    """Every table of this module's database emptied, the demo data put back."""
    engine = create_engine(FP_DATABASE_URL)
    tables = ", ".join(f'"{t.name}"' for t in reversed(Base.metadata.sorted_tables))
    with engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    with Session(engine) as session:
        seed(session)
        session.commit()
    engine.dispose()
# The handler's lock_timeout is a quarter of the soft limit: 3 s leaves the
# killer thread (pg_stat_activity, then ss) time to act on a busy machine.
LIMITS = {
    "TASK_SOFT_TIME_LIMIT_SECONDS": "12",
    "TASK_TIME_LIMIT_SECONDS": "24",
    "EVENT_MAX_ATTEMPTS": "3",
    "CATCH_UP_PAGE_ROWS": "5",
    "EVENT_REDELIVER_SECONDS": "30",
}


@dataclass
class Stack:
    redis: PrivateRedis
    a: str
    b: str
    gateway_a: Process
    gateway_b: Process
    worker: Process

    def api(self, email: str, url: str | None = None) -> httpx.Client:
        return httpx.Client(
            base_url=url or self.a, headers={"Authorization": f"Bearer {token_for(email)}"}, timeout=15
        )

    def listen(self, email: str, url: str | None = None) -> Listener:
        return Listener(url or self.a, token_for(email), name=email)


def _sql(statement: str, params: dict[str, Any] | None = None) -> list[Any]:
    engine = create_engine(FP_DATABASE_URL, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            result = connection.execute(text(statement), params or {})
            return list(result.all()) if result.returns_rows else []
    finally:
        engine.dispose()


def _event(event_id: int) -> Any:
    (row,) = _sql("SELECT id, state, attempts, error, sends FROM event_logs WHERE id = :id", {"id": event_id})
    return row


def _insert_events(rows: list[tuple[str, int, Any]]) -> list[int]:
    """Event rows written in one transaction, as another module's emit_event does."""
    engine = create_engine(FP_DATABASE_URL)
    ids: list[int] = []
    with engine.begin() as connection:
        for event_type, order_id, metadata in rows:
            ids.append(
                connection.execute(
                    text(
                        "INSERT INTO event_logs (event_type, entity_type, entity_id, metadata, created_at,"
                        " state, attempts, sends) VALUES (:t, 'order', :e, CAST(:m AS jsonb), now(),"
                        " 'PENDING', 0, 0) RETURNING id"
                    ),
                    {"t": event_type, "e": order_id, "m": json.dumps(metadata)},
                ).scalar_one()
            )
    engine.dispose()
    return ids


@pytest.fixture(scope="module")
def stack(database: str) -> Iterator[Stack]:
    assert fresh_seeded_database("failure_paths") == FP_DATABASE_URL
    _sql(f'DROP ROLE IF EXISTS "{GW_ROLE}"')
    _sql(f'CREATE ROLE "{GW_ROLE}" LOGIN SUPERUSER')
    redis = PrivateRedis(users={"gwa": "a-secret", "gwb": "b-secret"})
    redis.start()
    own_db = FP_DATABASE_URL.replace("postgres@", f"{GW_ROLE}@")
    env = process_env(**LIMITS, DATABASE_URL=FP_DATABASE_URL)
    a_port, b_port = free_port(), free_port()
    gateway_a = start_gateway(
        "fp-gateway-a", a_port, {**env, "REDIS_URL": redis.url(user="gwa"), "DATABASE_URL": own_db}
    )
    gateway_b = start_gateway("fp-gateway-b", b_port, {**env, "REDIS_URL": redis.url(user="gwb")})
    worker = start_worker("fp-worker", {**env, "REDIS_URL": redis.url(), "EVENT_RELAY": "0"})
    yield Stack(
        redis, f"http://127.0.0.1:{a_port}", f"http://127.0.0.1:{b_port}", gateway_a, gateway_b, worker
    )
    worker.stop()
    gateway_b.stop()
    gateway_a.stop()
    redis.stop()
    _sql(f'DROP ROLE IF EXISTS "{GW_ROLE}"')


def _settled() -> bool:
    rows = _sql("SELECT count(*) FROM event_logs WHERE state IN ('PENDING', 'QUEUED')")
    return rows[0][0] == 0


@pytest.fixture
def live(stack: Stack) -> Iterator[Stack]:
    try:
        wait_until(_settled, 30, "previous events to settle")
    finally:
        reset_data()
    yield stack


def _part(client: httpx.Client) -> int:
    return int(client.get("/api/parts/").json()["items"][0]["id"])


def _order(buyer: httpx.Client, quantity: int = 1) -> int:
    response = buyer.post("/api/orders/", json={"items": [{"part_id": _part(buyer), "quantity": quantity}]})
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def _status(order_id: int) -> str:
    return str(_sql("SELECT status FROM orders WHERE id = :id", {"id": order_id})[0][0])


def _unmatched_orders(buyer: httpx.Client, n: int) -> list[int]:
    """Orders no supplier can fill: they stay PLACED (MATCHING_FAILED), so matching can run again."""
    ids = [_order(buyer, quantity=900_000) for _ in range(n)]
    wait_until(_settled, 20, "the orders' events")
    assert all(_status(i) == "PLACED" for i in ids)
    return ids


class RowLock:
    """The test's own transaction holding an order row FOR UPDATE, as a slow request would."""

    def __init__(self, order_id: int) -> None:
        self.engine = create_engine(FP_DATABASE_URL)
        self.connection = self.engine.connect()
        self.connection.execute(text("SELECT id FROM orders WHERE id = :id FOR UPDATE"), {"id": order_id})
        self.pid = int(self.connection.execute(text("SELECT pg_backend_pid()")).scalar_one())

    def waiting_client_ports(self) -> list[int]:
        # Inside this (open) transaction pg_stat_activity is a snapshot taken at
        # its first read: drop it, or later waiters never show.
        self.connection.execute(text("SELECT pg_stat_clear_snapshot()"))
        rows = self.connection.execute(
            text(
                # Waiting for a lock, directly on this one or queued behind another waiter
                # (the backend of a killed process waits on until its statement_timeout).
                "SELECT client_port FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                " AND :pid = ANY(pg_blocking_pids(pid))"
                " AND datname = current_database() AND client_port IS NOT NULL"
            ),
            {"pid": self.pid},
        ).all()
        return [int(r[0]) for r in rows]

    def release(self) -> None:
        self.connection.rollback()
        self.connection.close()
        self.engine.dispose()


def _owner_of_port(port: int, candidates: list[int]) -> int | None:
    out = subprocess.run(["ss", "-tnpH", f"sport = :{port}"], capture_output=True, text=True).stdout
    for pid in map(int, re.findall(r"pid=(\d+)", out)):
        if pid in candidates:
            return pid
    return None


# --------------------------------------------------------------------------- 1. unknown type


def test_unknown_type_waits_and_is_reported_while_everything_else_flows(live: Stack) -> None:
    buyer = live.api("buyer@demo.test")
    order = _order(buyer)
    wait_until(lambda: _status(order) == "MATCHED", 20, "the first order matched")
    (unknown,) = _insert_events([("ORDER_RETURNED", order, {"order_id": order})])
    listener = live.listen("buyer@demo.test")
    try:
        second = _order(buyer)
        listener.wait_for(
            "notification",
            lambda n: n["event_type"] == "SUPPLIER_MATCHED" and n["metadata"].get("order_id") == second,
            timeout=20,
        )
    finally:
        listener.close()
    health = httpx.get(f"{live.a}/api/health", timeout=10).json()
    assert health["unroutable_pending"] == 1
    wait_until(lambda: httpx.get(f"{live.a}/api/health", timeout=10).json()["outbox_pending"] == 0, 20)
    row = _event(unknown)
    assert (row.state, row.sends, row.attempts) == ("PENDING", 0, 0)  # never claimed, never sent
    admin = live.api("admin@demo.test")
    metrics = admin.get("/metrics").text
    assert re.search(r"^partpulse_unroutable_pending 1\.0$", metrics, re.M), metrics
    _sql("DELETE FROM event_logs WHERE id = :id", {"id": unknown})


# --------------------------------------------------------------------------- 2. poison in a batch


def test_a_poison_event_fails_alone_with_its_own_error(live: Stack) -> None:
    buyer = live.api("buyer@demo.test")
    order = _order(buyer)
    wait_until(lambda: _status(order) == "MATCHED", 20, "the order matched")
    listener = live.listen("buyer@demo.test")
    try:
        good = {"order_id": order, "hours": 5}
        # One transaction, one relay pass, one task: 10 good, the poison (its metadata a
        # JSON list, not an object: a module's bug), 10 good.
        ids = _insert_events(
            [("ORDER_ESCALATED", order, good)] * 10
            + [("ORDER_ESCALATED", order, [1, 2])]
            + [("ORDER_ESCALATED", order, good)] * 10
        )
        poison = ids[10]
        goods = [i for i in ids if i != poison]
        wait_until(lambda: all(_event(i).state == "PROCESSED" for i in goods), 30, "the good ones handled")
        wait_until(lambda: _event(poison).state == "FAILED", 20, "the poison FAILED")
        for event_id in goods:
            listener.wait_for(
                "notification",
                lambda n, e=event_id: (
                    n["metadata"].get("order_id") == order and n["id"] and _notification_event(n["id"]) == e
                ),
                timeout=10,
            )
    finally:
        listener.close()
    assert all(_event(i).error is None for i in goods)
    failed = _event(poison)
    assert failed.error.startswith(("AttributeError", "TypeError")), failed.error  # its own error
    assert failed.attempts == 1  # deterministic: failed at once, not retried


def _notification_event(notification_id: int) -> int:
    return int(_sql("SELECT event_id FROM notifications WHERE id = :id", {"id": notification_id})[0][0])


# --------------------------------------------------------------------------- 3. a handler that hangs


def test_a_hung_handler_ends_failed_with_a_timeout_and_its_neighbours_are_delivered(live: Stack) -> None:
    buyer = live.api("buyer@demo.test")
    first, hung, last = _unmatched_orders(buyer, 3)
    lock = RowLock(hung)  # matching takes the order row FOR UPDATE: it blocks inside libpq
    try:
        ids = _insert_events([("ORDER_PLACED", o, {"order_id": o}) for o in (first, hung, last)])
        wait_until(lambda: _event(ids[1]).state == "FAILED", 20, "the hung event FAILED")
        wait_until(lambda: _event(ids[0]).state == _event(ids[2]).state == "PROCESSED", 20, "neighbours")
    finally:
        lock.release()
    failed = _event(ids[1])
    assert failed.error.startswith("timeout"), failed.error
    assert _event(ids[0]).error is None and _event(ids[2]).error is None


# --------------------------------------------------------------------------- 4. a killer event


def test_an_event_that_kills_its_process_ends_worker_lost_and_the_worker_keeps_serving(live: Stack) -> None:
    buyer = live.api("buyer@demo.test")
    first, killer, last = _unmatched_orders(buyer, 3)
    lock = RowLock(killer)
    kills: list[int] = []
    stop = threading.Event()

    def kill_whoever_takes_it() -> None:
        while not stop.is_set():
            children = worker_children(live.worker.proc.pid)
            for port in lock.waiting_client_ports():
                pid = _owner_of_port(port, children)
                if pid is not None:
                    os.kill(pid, signal.SIGKILL)
                    kills.append(pid)
            time.sleep(0.05)

    killer_thread = threading.Thread(target=kill_whoever_takes_it, daemon=True)
    try:
        ids = _insert_events([("ORDER_PLACED", o, {"order_id": o}) for o in (first, killer, last)])
        killer_thread.start()
        wait_until(lambda: _event(ids[1]).state == "FAILED", 45, "the killer event FAILED")
        wait_until(lambda: _event(ids[0]).state == _event(ids[2]).state == "PROCESSED", 20, "neighbours")
    finally:
        stop.set()
        killer_thread.join(5)
        lock.release()
    failed = _event(ids[1])
    assert failed.error.startswith("worker lost"), failed.error
    assert 1 <= len(kills) <= 3, kills  # at most EVENT_MAX_ATTEMPTS deliveries ran the handler
    assert _event(ids[0]).error is None and _event(ids[2]).error is None
    # The worker keeps serving.
    order = _order(buyer)
    wait_until(lambda: _status(order) == "MATCHED", 20, "a new order matched after the kills")


# --------------------------------------------------------------------------- 5. broker refusing half-way


def test_a_pass_the_broker_refuses_half_way_marks_what_it_took_and_sends_the_rest_later(live: Stack) -> None:
    buyer = live.api("buyer@demo.test")
    order = _order(buyer)
    (placed_for,) = _unmatched_orders(buyer, 1)
    wait_until(lambda: _status(order) == "MATCHED", 20, "the order matched")
    # The relays (the gateways') may no longer write keys starting with "m": the
    # `matching` queue. Redis refuses before the write (NOPERM): nothing is ambiguous.
    for user in ("gwa", "gwb"):
        live.redis.cli("ACL", "SETUSER", user, "resetkeys", "%R~*", "%W~[^m]*")
    try:
        escalated, placed = _insert_events(
            [
                ("ORDER_ESCALATED", order, {"order_id": order, "hours": 5}),
                ("ORDER_PLACED", placed_for, {"order_id": placed_for}),
            ]
        )
        wait_until(lambda: _event(escalated).state == "PROCESSED", 20, "the first send handled")
        time.sleep(2)  # several relay passes, each refused on the second send
        assert _event(placed).state == "PENDING"
        assert _event(escalated).sends == 1  # taken once, marked QUEUED, never sent again
    finally:
        for user in ("gwa", "gwb"):
            live.redis.cli("ACL", "SETUSER", user, "resetkeys", "~*")
    wait_until(lambda: _event(placed).state == "PROCESSED", 20, "the refused send, sent later")
    assert _event(placed).sends == 1 and _event(escalated).sends == 1
    rows = _sql(
        "SELECT count(*), count(DISTINCT user_id) FROM notifications WHERE event_id = :id", {"id": escalated}
    )
    assert rows[0][0] == rows[0][1]  # one row per recipient: handled once


# --------------------------------------------------------------------------- 6. catch-up, DB down


def _cut_redis(stack: Stack, *users: str) -> None:
    for user in users:
        stack.redis.cli("ACL", "SETUSER", user, "off")
        stack.redis.cli("CLIENT", "KILL", "USER", user)


def _restore_redis(stack: Stack, *users: str) -> None:
    for user in users:
        stack.redis.cli("ACL", "SETUSER", user, "on")


def test_catch_up_retries_while_the_database_is_down_and_pages_a_long_window(live: Stack) -> None:
    buyer = live.api("buyer@demo.test")
    order = _order(buyer)
    wait_until(lambda: _status(order) == "MATCHED", 20, "the order matched")
    listener = live.listen("buyer@demo.test", live.a)
    try:
        _cut_redis(live, "gwa")  # gateway A misses what is published now
        time.sleep(1.5)
        # 12 notifications for the buyer (more than two catch-up pages), relayed by gateway B.
        ids = _insert_events([("ORDER_ESCALATED", order, {"order_id": order, "hours": 5})] * 12)
        wait_until(lambda: all(_event(i).state == "PROCESSED" for i in ids), 30, "the 12 handled")
        # Gateway A's own database role is cut, then Redis comes back: its catch-up meets no database.
        _sql(f'ALTER ROLE "{GW_ROLE}" NOLOGIN')
        _sql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = :r", {"r": GW_ROLE})
        _restore_redis(live, "gwa")
        time.sleep(3)  # A is subscribed again; its catch-up is failing and retrying
        assert "catch-up could not read the database" in live.gateway_a.log()
        _sql(f'ALTER ROLE "{GW_ROLE}" LOGIN')
        wanted = {
            int(r[0])
            for r in _sql(
                "SELECT id FROM notifications WHERE event_id = ANY(:ids) AND user_id = "
                "(SELECT id FROM users WHERE email = 'buyer@demo.test')",
                {"ids": ids},
            )
        }
        assert len(wanted) == 12
        wait_until(lambda: wanted <= {n["id"] for n in listener.of("notification")}, 30, "all 12 caught up")
    finally:
        _sql(f'ALTER ROLE "{GW_ROLE}" LOGIN')
        _restore_redis(live, "gwa")
        listener.close()


# --------------------------------------------------------------------------- 7. read-all across gateways


def test_a_read_all_on_gateway_a_during_a_redis_blip_reaches_the_socket_on_gateway_b(live: Stack) -> None:
    buyer = live.api("buyer@demo.test")
    order = _order(buyer)
    wait_until(lambda: _status(order) == "MATCHED", 20, "the order matched")
    wait_until(lambda: buyer.get("/api/notifications/unread-count").json()["count"] > 0, 20, "unread rows")
    listener = live.listen("buyer@demo.test", live.b)
    try:
        _cut_redis(live, "gwa", "gwb")  # both gateways lose Redis for a few seconds
        time.sleep(1)
        response = buyer.patch("/api/notifications/read-all")  # on gateway A: its push cannot go out
        assert response.status_code == 200, response.text
        up_to = response.json()["up_to_id"]
        _restore_redis(live, "gwa", "gwb")
        listener.wait_for("unread_count", lambda c: c["count"] == 0, timeout=20)
        listener.wait_for(
            "notification_updated",
            lambda u: u.get("is_read") is True and u.get("id", u.get("up_to_id")) <= up_to,
            timeout=5,
        )
    finally:
        _restore_redis(live, "gwa", "gwb")
        listener.close()


# --------------------------------------------------------------------------- 8. archived stays archived


def test_a_replay_does_not_bring_an_archived_notification_back(live: Stack) -> None:
    buyer = live.api("buyer@demo.test")
    order = _order(buyer)
    wait_until(lambda: _status(order) == "MATCHED", 20, "the order matched")
    items = wait_until(lambda: buyer.get("/api/notifications/").json()["items"], 20, "a notification")
    row = items[0]
    assert buyer.patch(f"/api/notifications/{row['id']}/archive").status_code == 200
    event_id = _notification_event(row["id"])
    listener = live.listen("buyer@demo.test")
    try:
        admin = live.api("admin@demo.test")
        assert admin.post(f"/api/events/{event_id}/replay").status_code == 202
        pushed = listener.wait_for("notification", lambda n: n["id"] == row["id"], timeout=20)
    finally:
        listener.close()
    assert pushed["archived"] is True and pushed["is_read"] is False
