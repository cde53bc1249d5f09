"""Operations against real processes: two gateways and two workers on a broker and database of their own.

Replay, health with the workers stopped, the gateway's /metrics, the worker
hosts' aggregated metrics and the JSON event-handled log.
"""

import json
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx
import pytest
from sqlalchemy import create_engine, func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from common.models import DeliveryState, EventLog, Notification, Order, Supplier, User
from common.security import create_access_token
from common.seed import seed
from tests.conftest import TEST_DATABASE_URL, TEST_DB_NAME, _recreate_database, alembic
from tests.integration.stack import (
    Listener,
    PrivateRedis,
    Process,
    free_port,
    process_env,
    start_gateway,
    start_worker,
    wait_until,
)

METRICS_TOKEN = "ops-test-metrics-token"
ADMIN, BUYER = "admin@demo.test", "buyer@demo.test"


@dataclass
class OpsStack:
    engine: Engine
    redis_port: int
    env: dict[str, str]
    gateways: list[str] = field(default_factory=list)
    gateway_procs: list[Process] = field(default_factory=list)
    workers: dict[str, Process] = field(default_factory=dict)
    worker_ports: dict[str, int] = field(default_factory=dict)

    def token(self, email: str) -> str:
        with Session(self.engine) as session:
            user = session.scalar(select(User).where(User.email == email))
            assert user is not None
            return create_access_token(user.id, user.role)

    def api(self, email: str, gateway: int = 0) -> httpx.Client:
        return httpx.Client(
            base_url=self.gateways[gateway], headers={"Authorization": f"Bearer {self.token(email)}"}, timeout=10
        )

    def event(self, event_id: int) -> EventLog:
        with Session(self.engine) as session:
            row = session.get(EventLog, event_id)
            assert row is not None
            return row

    def notifications_of(self, event_id: int) -> int:
        with Session(self.engine) as session:
            return int(
                session.scalar(select(func.count()).select_from(Notification).where(Notification.event_id == event_id))
                or 0
            )

    def start_worker(self, name: str) -> None:
        port = self.worker_ports.setdefault(name, free_port())
        self.workers[name] = start_worker(name, {**self.env, "WORKER_METRICS_PORT": str(port)}, concurrency=2)

    def wait_processed(self, event_id: int, timeout: float = 30) -> EventLog:
        return wait_until(
            lambda: (row := self.event(event_id)).state == DeliveryState.PROCESSED and row,
            timeout,
            f"event {event_id} processed",
        )


@pytest.fixture(scope="module")
def ops(database: str) -> Iterator[OpsStack]:
    # Its own Redis (broker and channel) and database: another stack's worker
    # must never take this stack's tasks, nor this relay send another's events.
    redis = PrivateRedis()
    redis.start()
    url = TEST_DATABASE_URL.rsplit("/", 1)[0] + f"/{TEST_DB_NAME}_ops"
    _recreate_database(url)
    assert alembic("upgrade", "head", database_url=url).returncode == 0
    engine = create_engine(url)
    with Session(engine) as session:
        seed(session)
        session.commit()
    env = process_env(
        DATABASE_URL=url,
        REDIS_URL=redis.url(0),
        SOCKETIO_CHANNEL=f"partpulse-ops-{TEST_DB_NAME}",
        METRICS_TOKEN=METRICS_TOKEN,
        EVENT_REDELIVER_SECONDS="30",
        # Small limits (CONTRACT section 8) so a handler blocked on a row lock the test
        # holds ends FAILED "timeout" in 2 s (lock_timeout is a quarter of the soft limit).
        TASK_SOFT_TIME_LIMIT_SECONDS="8",
        TASK_TIME_LIMIT_SECONDS="16",
    )
    stack = OpsStack(engine, redis.port, env)
    try:
        for i in (1, 2):
            port = free_port()
            stack.gateway_procs.append(start_gateway(f"ops-gateway-{i}", port, env))
            stack.gateways.append(f"http://127.0.0.1:{port}")
        stack.start_worker("ops-worker-1")
        stack.start_worker("ops-worker-2")
        yield stack
    finally:
        for process in [*stack.workers.values(), *stack.gateway_procs]:
            process.stop()
        redis.stop()
        engine.dispose()


def place_order(stack: OpsStack, gateway: int = 0) -> int:
    with stack.api(BUYER, gateway) as api:
        response = api.post("/api/orders/", json={"items": [{"part_id": 1, "quantity": 1}]})
        assert response.status_code == 201, response.text
        return int(response.json()["id"])


def fire(stack: OpsStack, event_type: str, order_id: int, gateway: int = 0) -> int:
    with stack.api(ADMIN, gateway) as api:
        response = api.post(
            "/api/events/", json={"event_type": event_type, "entity_type": "order", "entity_id": order_id}
        )
        assert response.status_code == 202, response.text
        return int(response.json()["event_id"])


def scrape(url: str, token: str | None = METRICS_TOKEN) -> str:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = httpx.get(f"{url}/metrics", headers=headers, timeout=10)
    assert response.status_code == 200, response.text
    return response.text


def sample(text: str, name: str, **labels: str) -> float:
    """The sum of every sample of `name` whose labels include `labels`."""
    total = 0.0
    for line in text.splitlines():
        match = re.match(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$", line)
        if not match or match.group(1) != name:
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', match.group(2) or ""))
        if all(found.get(k) == v for k, v in labels.items()):
            total += float(match.group(3))
    return total


def handled_lines(process: Process) -> list[dict]:
    lines = []
    for line in process.log().splitlines():
        if line.startswith("{") and '"partpulse.events"' in line:
            lines.append(json.loads(line))
    return [line for line in lines if line["msg"] == "event handled"]


def test_two_gateways_two_workers_clients_on_both_receive_everything(ops: OpsStack) -> None:
    listeners = {
        (who, i): Listener(url, ops.token(who), name=f"{who}@gw{i}")
        for who in (ADMIN, BUYER)
        for i, url in enumerate(ops.gateways)
    }
    try:
        orders = [place_order(ops, gateway=n % 2) for n in range(4)]
        events = [fire(ops, "ORDER_DISPATCHED", oid, gateway=n % 2) for n, oid in enumerate(orders)]
        for event_id in events:
            ops.wait_processed(event_id)
        for (who, _i), listener in listeners.items():
            for oid in orders:
                if who == ADMIN:
                    listener.wait_for(
                        "system_event", lambda d, oid=oid: d["event_type"] == "ORDER_PLACED" and d["entity_id"] == oid
                    )
                else:
                    listener.wait_for(
                        "notification",
                        lambda d, oid=oid: d["event_type"] == "SUPPLIER_MATCHED" and d["metadata"]["order_id"] == oid,
                    )
            for event_id, oid in zip(events, orders, strict=True):
                if who == ADMIN:
                    listener.wait_for("system_event", lambda d, e=event_id: d["event_id"] == e)
                else:
                    listener.wait_for(
                        "notification",
                        lambda d, oid=oid: d["event_type"] == "ORDER_DISPATCHED" and d["metadata"]["order_id"] == oid,
                    )
        # Every event handled is one JSON line in the log of the worker that handled it.
        # (Written after the commit and the publish: wait for it.)
        def logged_lines() -> dict[int, dict]:
            return {line["event_id"]: line for w in ops.workers.values() for line in handled_lines(w)}

        wait_until(lambda: set(events) <= set(logged_lines()), 10, "the event-handled log lines")
        logged = logged_lines()
        for event_id in events:
            line = logged[event_id]
            assert line["event_type"] == "ORDER_DISPATCHED" and line["task_id"] and line["attempt"] >= 1
            assert line["recipients"] == 1 and line["duration_ms"] > 0
    finally:
        for listener in listeners.values():
            listener.close()


def test_replay_writes_no_duplicates_and_repeats_no_side_work(ops: OpsStack) -> None:
    order_id = place_order(ops)
    with stack_api(ops) as api:
        delivered = fire(ops, "ORDER_DELIVERED", order_id)
        first = ops.wait_processed(delivered)
        rows_before = ops.notifications_of(delivered)
        assert rows_before == 1 and first.attempts == 1
        score = supplier_score(ops)
        buyer = Listener(ops.gateways[1], ops.token(BUYER), name="buyer")
        admin = Listener(ops.gateways[1], ops.token(ADMIN), name="admin")
        try:
            response = api.post(f"/api/events/{delivered}/replay")
            assert response.status_code == 202, response.text
            assert response.json()["state"] == "PENDING"
            assert response.json()["processed_at"] is not None  # kept: the pipeline sees it was handled
            again = wait_until(
                # a replay resets attempts (CONTRACT section 8); each delivery counts one
                lambda: (row := ops.event(delivered)).attempts >= 1 and row.state == "PROCESSED" and row,
                30,
                "replayed event handled",
            )
            # Its socket message goes out again (clients dedupe by id); the row is not written twice.
            note = buyer.wait_for("notification", lambda d: d["metadata"].get("order_id") == order_id
                                  and d["event_type"] == "ORDER_DELIVERED")
            assert ops.notifications_of(delivered) == rows_before
            assert supplier_score(ops) == score, "the reliability score moved twice"
            # Admins on any gateway follow the row: PENDING when replayed, then PROCESSED again.
            admin.wait_for("event_state", lambda d: d["event_id"] == delivered and d["state"] == "PENDING")
            admin.wait_for(
                "event_state",
                lambda d: d["event_id"] == delivered and d["state"] == "PROCESSED" and d["attempts"] >= 1,
            )
            assert again.processed_at is not None and note["id"] > 0
            listed = api.get("/api/events/", params={"event_type": "ORDER_DELIVERED", "state": "PROCESSED"}).json()
            item = next(i for i in listed["items"] if i["id"] == delivered)
            assert item["attempts"] == again.attempts and item["error"] is None and item["processed_at"]
        finally:
            buyer.close()
            admin.close()


def test_failed_event_replayed_is_processed(ops: OpsStack) -> None:
    # A real failure, not a row written FAILED by hand: an order no supplier can fill
    # (it stays PLACED), its row held FOR UPDATE by the test as a slow request would,
    # and an ORDER_PLACED for it: matching blocks inside libpq on the row until the
    # handler's lock_timeout (a quarter of the soft limit, 2 s here) ends it FAILED
    # "timeout: ...". Once the lock is gone, the replay handles it.
    with stack_api(ops) as api, ops.api(BUYER) as buyer:
        placed = buyer.post("/api/orders/", json={"items": [{"part_id": 1, "quantity": 900_000}]})
        assert placed.status_code == 201, placed.text
        order_id = int(placed.json()["id"])
        wait_until(lambda: open_events_of(ops, order_id) == 0, 30, "the order's own events handled")
        original = first_placed_event(ops, order_id)
        lock = ops.engine.connect()
        try:
            lock.execute(select(Order.id).where(Order.id == order_id).with_for_update())
            event_id = fire(ops, "ORDER_PLACED", order_id)
            failed_row = wait_until(
                lambda: (row := ops.event(event_id)).state == DeliveryState.FAILED and row, 30, "the event FAILED"
            )
        finally:
            lock.rollback()
            lock.close()
        assert failed_row.error.startswith("timeout"), failed_row.error
        assert ops.notifications_of(event_id) == 0  # its transaction rolled back
        failed = api.get("/api/events/", params={"state": "FAILED"}).json()
        assert [i["id"] for i in failed["items"]] == [event_id] and failed["items"][0]["attempts"] == 1
        assert api.post(f"/api/events/{event_id}/replay").status_code == 202
        done = ops.wait_processed(event_id)
        assert done.attempts == 1 and done.error is None  # a replay resets the count (CONTRACT section 8)
        assert ops.notifications_of(event_id) == ops.notifications_of(original) >= 1
        assert api.post("/api/events/987654/replay").status_code == 404


def first_placed_event(stack: OpsStack, order_id: int) -> int:
    """The ORDER_PLACED that placing the order recorded."""
    with Session(stack.engine) as session:
        found = session.scalar(
            select(func.min(EventLog.id)).where(EventLog.event_type == "ORDER_PLACED", EventLog.entity_id == order_id)
        )
        assert found is not None
        return int(found)


def open_events_of(stack: OpsStack, order_id: int) -> int:
    with Session(stack.engine) as session:
        return int(
            session.scalar(
                select(func.count())
                .select_from(EventLog)
                .where(EventLog.entity_id == order_id, EventLog.state.in_([DeliveryState.PENDING, DeliveryState.QUEUED]))
            )
            or 0
        )


def test_gateway_metrics_need_a_token_and_move_after_an_event(ops: OpsStack) -> None:
    url = ops.gateways[0]
    assert httpx.get(f"{url}/metrics").status_code == 401
    assert httpx.get(f"{url}/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    buyer = {"Authorization": f"Bearer {ops.token(BUYER)}"}
    assert httpx.get(f"{url}/metrics", headers=buyer).status_code == 403
    assert "partpulse_outbox_pending" in scrape(url, ops.token(ADMIN))

    listener = Listener(url, ops.token(ADMIN), name="admin")
    try:
        before = scrape(url)
        for name in ("partpulse_events_total", "partpulse_outbox_pending", "partpulse_delivery_seconds_count",
                     "partpulse_sockets_connected"):
            assert f"\n{name}" in before or before.startswith(name) or f"{name}{{" in before, name
        for queue in ("notifications", "matching", "scoring"):
            assert f'partpulse_queue_depth{{queue="{queue}"}}' in before
        assert sample(before, "partpulse_sockets_connected") >= 1
        order_id = place_order(ops)
        event_id = fire(ops, "ORDER_DISPATCHED", order_id)
        ops.wait_processed(event_id)
        listener.wait_for("system_event", lambda d: d["event_id"] == event_id)
        processed = {"event_type": "ORDER_DISPATCHED", "state": "PROCESSED"}
        # The database counts are read at scrape time (shared for a second between scrapes).
        after = wait_until(
            lambda: (text := scrape(url))
            and sample(text, "partpulse_delivery_seconds_count") > sample(before, "partpulse_delivery_seconds_count")
            and sample(text, "partpulse_events_total", **processed)
            == sample(before, "partpulse_events_total", **processed) + 1
            and text,
            10,
            "the delivery histogram and the event counts to move",
        )
        assert sample(after, "partpulse_events_total", event_type="ORDER_PLACED") >= 1
        # A socket message reached this gateway well within a minute of its event being written.
        assert sample(after, "partpulse_delivery_seconds_bucket", le="60.0") == sample(
            after, "partpulse_delivery_seconds_count"
        )
    finally:
        listener.close()
    wait_until(lambda: sample(scrape(url), "partpulse_sockets_connected") == 0, 10, "socket gauge back to 0")


def test_worker_hosts_serve_their_pools_metrics(ops: OpsStack) -> None:
    def counts() -> dict[str, float]:
        result = {}
        for name, port in ops.worker_ports.items():
            text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
            assert "partpulse_event_lag_seconds_bucket" in text or "partpulse_handler_seconds" not in text
            result[name] = sample(text, "partpulse_handler_seconds_count")
        return result

    order_ids = [place_order(ops) for _ in range(3)]
    events = [fire(ops, "ORDER_CONFIRMED" if n % 2 else "ETA_UPDATED", oid) for n, oid in enumerate(order_ids * 2)]
    for event_id in events:
        ops.wait_processed(event_id)

    def settled() -> bool:
        # Each host's endpoint counts exactly what its pool processes logged.
        per_host = counts()
        return all(per_host[name] == len(handled_lines(proc)) for name, proc in ops.workers.items())

    try:
        wait_until(settled, 10, "worker metrics to match the handled-event log")
    except AssertionError as exc:
        logged = {name: len(handled_lines(proc)) for name, proc in ops.workers.items()}
        raise AssertionError(f"{exc}: metrics {counts()}, log {logged}") from None
    per_host = counts()
    assert sum(per_host.values()) >= len(events) + 2 * len(order_ids)  # + placed and matched
    for name, port in ops.worker_ports.items():
        text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
        lines = handled_lines(ops.workers[name])
        assert sample(text, "partpulse_event_lag_seconds_count") == len(lines)
        pids = {line["pid"] for line in lines}
        main_pid = ops.workers[name].proc.pid
        assert main_pid not in pids, "events are handled in the pool, served by the main process"
        by_type = sample(text, "partpulse_handler_seconds_count", event_type="ORDER_CONFIRMED")
        assert by_type == sum(1 for line in lines if line["event_type"] == "ORDER_CONFIRMED")


def test_health_reports_workers_and_outbox_age(ops: OpsStack) -> None:
    """Runs last in this module: it stops the workers."""
    url = ops.gateways[0]
    healthy = wait_until(lambda: (b := httpx.get(f"{url}/api/health", timeout=10).json())["workers"] == 2 and b,
                         15, "both workers to answer")
    assert healthy["status"] == "ok" and healthy["database"] == "ok" and healthy["broker"] == "ok"
    assert healthy["outbox_pending"] == 0 and healthy["oldest_pending_seconds"] == 0

    for process in ops.workers.values():
        process.stop()
    place_order(ops)
    first = wait_until(
        lambda: (b := httpx.get(f"{url}/api/health", timeout=10).json())["workers"] == 0 and b["outbox_pending"] and b,
        20,
        "health to see no worker and a pending event",
    )
    assert first["status"] == "degraded"
    time.sleep(2.5)
    later = httpx.get(f"{url}/api/health", timeout=10)
    assert later.status_code == 200
    body = later.json()
    assert body["status"] == "degraded" and body["workers"] == 0 and body["outbox_pending"] >= 1
    assert body["oldest_pending_seconds"] >= first["oldest_pending_seconds"] + 2

    ops.start_worker("ops-worker-1")
    recovered = wait_until(
        lambda: (b := httpx.get(f"{url}/api/health", timeout=10).json())["outbox_pending"] == 0
        and b["workers"] == 1 and b,
        45,
        "the outbox to drain once a worker is back",
    )
    assert recovered["status"] == "ok"


def supplier_score(stack: OpsStack) -> list[int]:
    with Session(stack.engine) as session:
        return list(session.scalars(select(Supplier.reliability_score).order_by(Supplier.id)))


def stack_api(stack: OpsStack) -> httpx.Client:
    return stack.api(ADMIN)
