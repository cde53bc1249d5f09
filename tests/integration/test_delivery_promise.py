"""The delivery promise (CONTRACT section 5) at its edges, against real processes.

A stack of its own: a private redis-server without persistence (a restart
loses everything the broker held, as docker-compose's Redis did), a private
database, a real uvicorn gateway and a real `celery worker`, and real
Socket.IO clients. The gateways reach Redis as their own ACL user, so a test
can cut their subscription (and keep it cut) without touching the workers'.

- broker loss: an event the broker lost is handed over again and handled once;
- subscription cut: an old event published while a gateway was cut off from
  Redis reaches its connected client anyway, with the order's status;
- a worker killed between its commit and its publish: the rows still reach
  the connected socket (the event is not PROCESSED until they are published);
- racing read-all: every socket's last count equals REST;
- chaos: all of it at random moments under a stream of events (seeded;
  CHAOS_SEED picks another run), with a one-line summary printed.
"""

import contextlib
import json
import os
import random
import signal
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx
import pytest
import redis
from sqlalchemy import Engine, create_engine, func, select, text
from sqlalchemy.orm import Session

from common.events.publisher import EMIT_BATCH
from common.models import DeliveryState, EventLog, InventoryItem, Notification, Order, OrderStatusChange, User
from common.security import create_access_token
from tests.conftest import TEST_DB_NAME
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

BUYER, ADMIN = "buyer@demo.test", "admin@demo.test"
GATEWAY_USER = "gateway"
CHANNEL_NAME = f"partpulse-{TEST_DB_NAME}-delivery"
# Small, so an event the broker lost goes out again within seconds (default 60).
REDELIVER_SECONDS = "2"


@dataclass
class Delivery:
    redis: PrivateRedis
    engine: Engine
    env: dict[str, str]  # workers: Redis's default user
    gateway_env: dict[str, str]  # gateways: their own Redis user
    url: str
    gateway: Process
    worker: Process | None = None
    extra: list[Process] = field(default_factory=list)

    # --- processes ---
    def start_worker(self, name: str = "worker-delivery") -> Process:
        if self.worker is None:
            self.worker = start_worker(name, self.env)
        return self.worker

    def supervise_worker(self) -> bool:
        """Start the worker again if its main process died (as docker-compose's restart policy does)."""
        if self.worker is None or self.worker.proc.poll() is None:
            return False
        died = self.worker
        died.stop()
        self.worker = None
        self.start_worker(f"{died.log_path.stem}-again")
        return True

    def stop_worker(self) -> None:
        if self.worker is not None:
            self.worker.stop()
            self.worker = None

    def start_gateway(self, name: str) -> str:
        port = free_port()
        self.extra.append(start_gateway(name, port, self.gateway_env))
        return f"http://127.0.0.1:{port}"

    # --- Redis ---
    def gateway_subscriptions(self) -> int:
        return self.redis.cli("client", "list", "type", "pubsub").count(f"user={GATEWAY_USER} ")

    def cut_gateways(self) -> None:
        """Kill the gateways' subscriptions, and let none come back until reconnect_gateways()."""
        assert self.redis.cli("acl", "setuser", GATEWAY_USER, "off") == "OK"
        self.redis.cli("client", "kill", "type", "pubsub", "user", GATEWAY_USER)
        wait_until(lambda: self.gateway_subscriptions() == 0, 10, "the gateways' subscriptions to go")

    def reconnect_gateways(self) -> None:
        assert self.redis.cli("acl", "setuser", GATEWAY_USER, "on") == "OK"

    # --- database (the stack's own, not the main test database) ---
    def session(self) -> Session:
        return Session(self.engine)

    def user_id(self, email: str) -> int:
        with self.session() as session:
            return int(session.scalar(select(User.id).where(User.email == email)) or 0)

    def token(self, email: str) -> str:
        with self.session() as session:
            user = session.scalar(select(User).where(User.email == email))
            assert user is not None, email
            return create_access_token(user.id, user.role)

    def api(self, email: str, url: str | None = None) -> httpx.Client:
        return httpx.Client(
            base_url=url or self.url, headers={"Authorization": f"Bearer {self.token(email)}"}, timeout=30
        )

    def listen(self, email: str, url: str | None = None, name: str = "") -> Listener:
        listener = Listener(url or self.url, self.token(email), name=name or email)
        listener.wait_for("unread_count", timeout=30)  # connected and in its rooms
        return listener

    def event(self, event_id: int) -> EventLog:
        with self.session() as session:
            row = session.get(EventLog, event_id)
            assert row is not None
            session.expunge(row)
            return row

    def event_of(self, entity_id: int, event_type: str) -> EventLog | None:
        with self.session() as session:
            row = session.scalar(
                select(EventLog)
                .where(EventLog.entity_id == entity_id, EventLog.event_type == event_type)
                .order_by(EventLog.id.desc())
                .limit(1)
            )
            if row is not None:
                session.expunge(row)
            return row

    def rows_per_user(self, event_id: int) -> dict[int, int]:
        """How many notification rows each user has for this event."""
        with self.session() as session:
            rows = session.execute(
                select(Notification.user_id, func.count())
                .where(Notification.event_id == event_id)
                .group_by(Notification.user_id)
            ).all()
            return {user_id: count for user_id, count in rows}

    def open_events(self, after_id: int = 0) -> int:
        with self.session() as session:
            return int(
                session.scalar(
                    select(func.count())
                    .select_from(EventLog)
                    .where(EventLog.id > after_id, EventLog.state != DeliveryState.PROCESSED)
                )
                or 0
            )

    def waiting_on(self, fragment: str) -> int:
        """Sessions of this database waiting for a lock in a statement like `fragment`."""
        with self.session() as session:
            query = (
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock' AND query ILIKE :q"
            )
            return int(session.execute(text(query), {"q": f"%{fragment}%"}).scalar() or 0)

    def newest(self, column: Any) -> int:
        with self.session() as session:
            return int(session.scalar(select(func.max(column))) or 0)

    # --- orders ---
    def matched_order(self) -> tuple[int, int]:
        """A new order of the buyer, matched; returns (order id, supplier id)."""
        with self.api(BUYER) as api:
            response = api.post("/api/orders/", json={"items": [{"part_id": 5, "quantity": 1}]})
        assert response.status_code == 201, response.text
        order_id = int(response.json()["id"])

        def supplier() -> int | None:
            with self.session() as session:
                order = session.get(Order, order_id)
                return order.supplier_id if order is not None and order.status == "MATCHED" else None

        return order_id, int(wait_until(supplier, 60, "the order to be matched"))

    def supplier_user(self, supplier_id: int) -> tuple[int, str]:
        with self.session() as session:
            user = session.scalars(
                select(User).where(User.supplier_id == supplier_id).order_by(User.id)
            ).first()
            assert user is not None
            return user.id, user.email


def fire(api: httpx.Client, event_type: str, entity_type: str, entity_id: int) -> int:
    response = api.post(
        "/api/events/", json={"event_type": event_type, "entity_type": entity_type, "entity_id": entity_id}
    )
    assert response.status_code == 202, response.text
    return int(response.json()["event_id"])


def rest_ids(api: httpx.Client, after_id: int = 0) -> set[int]:
    """Every notification id of the caller newer than after_id, paged by cursor as the app does."""
    ids: set[int] = set()
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"limit": 100}
        if cursor:
            params["cursor"] = cursor
        page = api.get("/api/notifications/", params=params).json()
        ids |= {item["id"] for item in page["items"] if item["id"] > after_id}
        cursor = page["next_cursor"]
        if not cursor or not page["items"] or min(i["id"] for i in page["items"]) <= after_id:
            return ids


def rest_count(api: httpx.Client) -> int:
    return int(api.get("/api/notifications/unread-count").json()["count"])


def kept_count(listener: Listener) -> dict[str, int]:
    """The unread_count a client keeps: the one with the highest version."""
    counts = listener.of("unread_count")
    assert counts, f"{listener.name} got no unread_count"
    kept = counts[0]
    for count in counts[1:]:
        if count["version"] >= kept["version"]:
            kept = count
    return kept


def received_ids(listener: Listener, after_id: int = 0) -> set[int]:
    return {n["id"] for n in listener.of("notification") if n["id"] > after_id}


def out_of_order(listener: Listener) -> int:
    """How many unread_count messages arrived after one with a higher version."""
    highest, late = -1, 0
    for count in listener.of("unread_count"):
        late += count["version"] < highest
        highest = max(highest, count["version"])
    return late


def wait_quiet(listeners: list[Listener], seconds: float = 1.5, timeout: float = 30) -> None:
    """Until no listener has received anything for `seconds`."""

    def total() -> int:
        return sum(len(v) for listener in listeners for v in listener.events.values())

    deadline = time.monotonic() + timeout
    last, since = total(), time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.1)
        now = total()
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= seconds:
            return
    raise AssertionError("the sockets never went quiet")


def wait_processed(delivery: Delivery, after_id: int, timeout: float) -> None:
    wait_until(lambda: delivery.open_events(after_id) == 0, timeout, "every event to be PROCESSED")


@pytest.fixture(scope="module")
def delivery() -> Iterator[Delivery]:
    private_redis = PrivateRedis(users={GATEWAY_USER: "gateway-secret"})
    private_redis.start()
    database_url = fresh_seeded_database("delivery")
    env = process_env(
        DATABASE_URL=database_url,
        REDIS_URL=private_redis.url(),
        SOCKETIO_CHANNEL=CHANNEL_NAME,
        EVENT_REDELIVER_SECONDS=REDELIVER_SECONDS,
    )
    gateway_env = {**env, "REDIS_URL": private_redis.url(user=GATEWAY_USER)}
    engine = create_engine(database_url, pool_size=4)
    port = free_port()
    gateway = start_gateway("gateway-delivery", port, gateway_env)
    stack = Delivery(private_redis, engine, env, gateway_env, f"http://127.0.0.1:{port}", gateway)
    try:
        stack.start_worker()
        yield stack
    finally:
        stack.stop_worker()
        for process in [*stack.extra, gateway]:
            process.stop()
        private_redis.stop()
        engine.dispose()


def test_an_event_the_broker_lost_is_handed_over_again_and_handled_once(delivery: Delivery) -> None:
    d = delivery
    admin_id, buyer_id = d.user_id(ADMIN), d.user_id(BUYER)
    buyer, admin = d.listen(BUYER), d.listen(ADMIN)
    try:
        d.stop_worker()
        with d.api(BUYER) as api:
            response = api.post("/api/orders/", json={"items": [{"part_id": 5, "quantity": 1}]})
        assert response.status_code == 201, response.text
        order_id = int(response.json()["id"])

        def queued() -> EventLog | None:
            event = d.event_of(order_id, "ORDER_PLACED")
            return event if event is not None and event.state == DeliveryState.QUEUED else None

        placed = wait_until(queued, 30, "ORDER_PLACED to be taken by the broker")
        assert int(d.redis.cli("llen", "matching") or 0) >= 1, "the task is not in the broker"
        # Redis restarts without persistence: the task is gone, the row still says QUEUED.
        d.redis.restart()
        assert d.redis.cli("llen", "matching") == "0"
        assert d.event(placed.id).state == DeliveryState.QUEUED
        d.start_worker()

        matched = buyer.wait_for(
            "notification",
            lambda n: n["event_type"] == "SUPPLIER_MATCHED" and n["metadata"]["order_id"] == order_id,
            timeout=90,
        )
        wait_until(lambda: d.event(placed.id).state == DeliveryState.PROCESSED, 30, "ORDER_PLACED processed")
        event = d.event(placed.id)
        assert event.sends >= 2, f"handled from its first send ({event.sends}): the broker did not lose it"
        # Exactly once: one row per (event, user), the admins' ORDER_PLACED notice once.
        assert d.rows_per_user(placed.id) == {admin_id: 1}
        match_event = d.event_of(order_id, "SUPPLIER_MATCHED")
        assert match_event is not None
        supplier_user_id, _ = d.supplier_user(int(match_event.event_metadata["supplier_id"]))
        assert d.rows_per_user(match_event.id) == {buyer_id: 1, supplier_user_id: 1}
        admin.wait_for(
            "notification",
            lambda n: n["event_type"] == "ORDER_PLACED" and n["metadata"]["order_id"] == order_id,
        )
        wait_quiet([buyer, admin])
        placed_ids = {
            n["id"]
            for n in admin.of("notification")
            if n["event_type"] == "ORDER_PLACED" and n["metadata"]["order_id"] == order_id
        }
        with d.session() as session:
            row_ids = set(session.scalars(select(Notification.id).where(Notification.event_id == placed.id)))
            buyer_row = session.scalar(
                select(Notification.id).where(
                    Notification.event_id == match_event.id, Notification.user_id == buyer_id
                )
            )
        assert placed_ids == row_ids
        assert matched["id"] == buyer_row
    finally:
        buyer.close()
        admin.close()
        d.start_worker()


class ChannelWatch:
    """Our own subscriber on a room's channel (issue 21): sees what the workers publish, and when."""

    def __init__(self, port: int, room: str, match: Callable[[dict[str, Any]], bool]) -> None:
        self.seen = threading.Event()
        self._stop = threading.Event()
        self._match = match
        self._pubsub = redis.Redis(port=port).pubsub()
        self._pubsub.ssubscribe(f"{CHANNEL_NAME}:0:{room}")
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            message = self._pubsub.get_sharded_message(ignore_subscribe_messages=True, timeout=0.2)
            if message is None:
                continue
            data = json.loads(message["data"])
            # A worker publishes a batch of emits as one message (common/events/publisher.py).
            emits = data["messages"] if data.get("method") == EMIT_BATCH else [data]
            if any(self._match(emit) for emit in emits):
                self.seen.set()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self._pubsub.close()


def test_a_cut_gateway_replays_an_old_event_to_a_connected_client(delivery: Delivery) -> None:
    d = delivery
    d.start_worker()
    buyer_id = d.user_id(BUYER)
    order_id, supplier_id = d.matched_order()
    _, supplier_email = d.supplier_user(supplier_id)
    with d.api(supplier_email) as api:
        response = api.post(f"/api/orders/{order_id}/transitions", json={"status": "CONFIRMED"})
        assert response.status_code == 200, response.text
        wait_processed(d, 0, 30)
        buyer = d.listen(BUYER)
        sid = buyer.sio.sid
        watch: ChannelWatch | None = None
        try:
            d.stop_worker()
            response = api.post(f"/api/orders/{order_id}/transitions", json={"status": "DISPATCHED"})
            assert response.status_code == 200, response.text
            dispatched = wait_until(
                lambda: d.event_of(order_id, "ORDER_DISPATCHED"), 10, "the ORDER_DISPATCHED event"
            )
            # The event waited ten minutes (the workers were away): its time and the
            # order's status changes are older than any catch-up margin measured from the cut.
            with d.session() as session:
                event_row = session.get(EventLog, dispatched.id)
                assert event_row is not None
                event_row.created_at -= timedelta(minutes=10)
                history = session.scalars(
                    select(OrderStatusChange).where(OrderStatusChange.order_id == order_id)
                )
                for change in history:
                    change.at -= timedelta(minutes=10)
                session.commit()

            def dispatched_notice(message: dict[str, Any]) -> bool:
                data = message["data"][0] if message.get("data") else {}
                return (
                    message.get("event") == "notification"
                    and data.get("event_type") == "ORDER_DISPATCHED"
                    and data.get("metadata", {}).get("order_id") == order_id
                )

            watch = ChannelWatch(d.redis.port, f"user_{buyer_id}", dispatched_notice)
            d.cut_gateways()
            d.start_worker()
            # Published while the gateway is cut off (it cannot subscribe again yet).
            assert watch.seen.wait(90), "the worker never published the notification"
            wait_until(lambda: d.event(dispatched.id).state == DeliveryState.PROCESSED, 30, "PROCESSED")
            time.sleep(1)
            assert d.gateway_subscriptions() == 0
            assert not [n for n in buyer.of("notification") if n["event_type"] == "ORDER_DISPATCHED"]

            d.reconnect_gateways()
            note = buyer.wait_for(
                "notification",
                lambda n: n["event_type"] == "ORDER_DISPATCHED" and n["metadata"]["order_id"] == order_id,
                timeout=30,
            )
            buyer.wait_for(
                "order_status",
                lambda s: s["order_id"] == order_id and s["status"] == "DISPATCHED",
                timeout=30,
            )
            with d.session() as session:
                row = session.scalar(
                    select(Notification).where(
                        Notification.event_id == dispatched.id, Notification.user_id == buyer_id
                    )
                )
                assert row is not None
                assert note["id"] == row.id
                assert note["metadata"]["occurred_at"] < row.created_at.isoformat()
            wait_quiet([buyer])
            with d.api(BUYER) as buyer_api:
                assert kept_count(buyer)["count"] == rest_count(buyer_api)
            # The same socket all along: the replay came without a reconnect.
            assert buyer.sio.connected and buyer.sio.sid == sid and buyer.disconnects == 0
        finally:
            if watch is not None:
                watch.close()
            d.reconnect_gateways()
            buyer.close()
            d.start_worker()


def test_a_worker_killed_between_its_commit_and_its_publish_publishes_again(delivery: Delivery) -> None:
    d = delivery
    d.start_worker()
    buyer_id = d.user_id(BUYER)
    order_id, _ = d.matched_order()
    wait_processed(d, 0, 30)
    buyer = d.listen(BUYER)
    table_lock = d.session()
    locking = threading.Thread(
        # Both tables the worker writes; it already holds its lock on the first when
        # this queues, and takes the second before its commit, ahead of this one.
        target=lambda: table_lock.execute(
            text("LOCK TABLE notifications, unread_changes IN ACCESS EXCLUSIVE MODE")
        ),
        daemon=True,
    )
    try:
        with d.session() as row_lock:
            # 1. The worker's transaction waits on the buyer's row (the foreign key
            #    of its notification row), holding its lock on the notifications table.
            row_lock.execute(select(User.id).where(User.id == buyer_id).with_for_update())
            with d.api(ADMIN) as api:
                event_id = fire(api, "ORDER_DISPATCHED", "order", order_id)
            wait_until(lambda: d.waiting_on("INSERT INTO notifications"), 30, "the worker to wait on the row")
            # 2. A table lock queues behind that transaction. PostgreSQL lets the
            #    transaction's own later statements on the table go first (it holds a
            #    conflicting lock), so it commits; then the lock is granted, and the
            #    worker's first read after its commit (the unread counts) waits on it:
            #    committed, not published.
            locking.start()
            wait_until(lambda: d.waiting_on("LOCK TABLE notifications"), 30, "the table lock to queue")
            row_lock.rollback()
        wait_until(lambda: d.event(event_id).processed_at is not None, 30, "the worker's commit")
        wait_until(lambda: d.waiting_on("unread_totals"), 30, "the worker to wait after its commit")
        # 3. Killed between its commit and its publish.
        assert d.worker is not None
        for pid in worker_children(d.worker.proc.pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        locking.join(10)
        table_lock.rollback()
        # The killed task is handed over again (acks_late, reject on worker lost):
        # the event is not done until its messages are out, so they go out now.
        note = buyer.wait_for(
            "notification",
            lambda n: n["event_type"] == "ORDER_DISPATCHED" and n["metadata"]["order_id"] == order_id,
            timeout=60,
        )
        wait_until(lambda: d.event(event_id).state == DeliveryState.PROCESSED, 30, "the event PROCESSED")
        assert d.rows_per_user(event_id) == {buyer_id: 1}
        with d.session() as session:
            assert note["id"] == session.scalar(
                select(Notification.id).where(Notification.event_id == event_id)
            )
        wait_quiet([buyer])
        with d.api(BUYER) as api:
            assert kept_count(buyer)["count"] == rest_count(api)
    finally:
        table_lock.rollback()
        table_lock.close()
        buyer.close()


def test_racing_read_all_leaves_every_socket_on_the_true_count(delivery: Delivery) -> None:
    d = delivery
    d.start_worker()
    order_id, _ = d.matched_order()
    wait_processed(d, 0, 30)
    first_event = d.newest(EventLog.id)
    sockets = [d.listen(BUYER, name="buyer socket 1"), d.listen(BUYER, name="buyer socket 2")]
    reads: list[int] = []
    truths: list[int] = []
    rng = random.Random(3)

    def read_all(stop: threading.Event) -> None:
        with d.api(BUYER) as api:
            while not stop.is_set():
                response = api.patch("/api/notifications/read-all")
                assert response.status_code == 200, response.text
                reads.append(int(response.json()["updated"]))
                time.sleep(rng.uniform(0, 0.05))

    try:
        # Rounds, each settling and checked: every end of a race is a chance to catch a stale count.
        with d.api(ADMIN) as admin_api, d.api(BUYER) as buyer_api:
            for _ in range(4):
                stop = threading.Event()
                reader = threading.Thread(target=read_all, args=(stop,), daemon=True)
                reader.start()
                for i in range(25):
                    fire(admin_api, "ORDER_DISPATCHED" if i % 2 else "ORDER_IN_TRANSIT", "order", order_id)
                # The reader stops with the stream: the workers' last batches race its last calls.
                stop.set()
                reader.join(30)
                assert not reader.is_alive()
                wait_processed(d, first_event, 90)
                wait_quiet(sockets, seconds=1)
                rest = buyer_api.get("/api/notifications/unread-count").json()
                truth = int(rest["count"])
                truths.append(truth)
                for socket in sockets:
                    counts = socket.of("unread_count")
                    # The count a client keeps is the highest version's (CONTRACT section 5: two may
                    # arrive out of order, the gateway's read-all push and a worker's); it is REST's,
                    # version included.
                    kept = kept_count(socket)
                    assert (kept["count"], kept["version"]) == (truth, rest["version"]), (
                        socket.name,
                        counts[-5:],
                        rest,
                    )
        print(
            f"\nracing read-all: 100 events in 4 rounds, {len(reads)} read-all "
            f"({sum(1 for r in reads if r)} changed rows), "
            f"unread_count messages per socket {[len(s.of('unread_count')) for s in sockets]} "
            f"(out of order {[out_of_order(s) for s in sockets]}), truths {truths}"
        )
    finally:
        for socket in sockets:
            socket.close()


def test_chaos_every_listener_ends_on_the_truth(delivery: Delivery) -> None:
    d = delivery
    seed = int(os.environ.get("CHAOS_SEED", "20261126"))
    rng = random.Random(seed)
    started = time.monotonic()
    d.start_worker()
    order_id, supplier_id = d.matched_order()
    wait_processed(d, 0, 30)
    url2 = d.start_gateway("gateway-delivery-2")
    buyer_id, admin_id = d.user_id(BUYER), d.user_id(ADMIN)
    supplier_user_id, supplier_email = d.supplier_user(supplier_id)
    with d.session() as session:
        inventory_id = session.scalar(
            select(InventoryItem.id)
            .where(InventoryItem.supplier_id == supplier_id)
            .order_by(InventoryItem.id)
        )
    assert inventory_id is not None
    first_event, first_note = d.newest(EventLog.id), d.newest(Notification.id)
    listeners = {
        "buyer@1": (BUYER, d.listen(BUYER, name="buyer on gateway 1")),
        "buyer@2": (BUYER, d.listen(BUYER, url2, name="buyer on gateway 2")),
        "supplier@2": (supplier_email, d.listen(supplier_email, url2, name="supplier on gateway 2")),
        "admin@1": (ADMIN, d.listen(ADMIN, name="admin on gateway 1")),
        "admin@2": (ADMIN, d.listen(ADMIN, url2, name="admin on gateway 2")),
    }
    kinds = {
        "ORDER_DISPATCHED": ("order", order_id, {buyer_id}),
        "ORDER_IN_TRANSIT": ("order", order_id, {buyer_id}),
        "SUPPLIER_MATCHED": ("order", order_id, {buyer_id, supplier_user_id}),
        "LOW_STOCK_ALERT": ("inventory", inventory_id, {supplier_user_id, admin_id}),
    }
    events = 400
    faults = ["kill", "redis", "cut"] * 4
    rng.shuffle(faults)
    moments = dict(zip(sorted(rng.sample(range(10, events - 10), len(faults))), faults, strict=True))
    injected: Counter[str] = Counter()
    fired: dict[int, str] = {}
    reads = 0
    apis = {email: (d.api(email), d.api(email, url2)) for email in (BUYER, ADMIN, supplier_email)}
    try:
        for i in range(events):
            if d.supervise_worker():
                injected["worker restarted"] += 1
            fault = moments.get(i)
            if fault == "kill":
                assert d.worker is not None
                for pid in worker_children(d.worker.proc.pid):
                    with contextlib.suppress(ProcessLookupError):  # it may have gone already
                        os.kill(pid, signal.SIGKILL)
            elif fault == "redis":
                d.redis.restart()
            elif fault == "cut":
                d.redis.cli("client", "kill", "type", "pubsub")
            if fault:
                injected[fault] += 1
            event_type = rng.choice(list(kinds))
            entity_type, entity_id, _ = kinds[event_type]
            admin_api = apis[ADMIN][i % 2]
            fired[fire(admin_api, event_type, entity_type, entity_id)] = event_type
            if rng.random() < 0.05:
                email = rng.choice(list(apis))
                assert apis[email][rng.randrange(2)].patch("/api/notifications/read-all").status_code == 200
                reads += 1
        stream_seconds = time.monotonic() - started

        def settled() -> bool:
            if d.supervise_worker():
                injected["worker restarted"] += 1
            return d.open_events(first_event) == 0

        wait_until(settled, 120, "every event to be PROCESSED")
        wait_until(lambda: d.gateway_subscriptions() == 2, 30, "both gateways subscribed again")
        wait_quiet([listener for _, listener in listeners.values()], seconds=2)

        # No row doubled, none missing: each event's recipients exactly once.
        wrong = {}
        for event_id, event_type in fired.items():
            rows = d.rows_per_user(event_id)
            expected = {user_id: 1 for user_id in kinds[event_type][2]}
            if rows != expected:
                wrong[event_id] = (event_type, rows, expected)
        assert not wrong, f"{len(wrong)} events with wrong rows: {list(wrong.items())[:5]}"

        mismatches = []
        for key, (email, listener) in listeners.items():
            api = apis[email][0]
            live, rest = received_ids(listener, first_note), rest_ids(api, first_note)
            assert listener.disconnects == 0 and listener.sio.connected, f"{key} was disconnected"
            # The gateway kept the socket, so the app would not refetch: live alone must hold it all.
            if live != rest:
                mismatches.append(
                    f"{key}: missing {sorted(rest - live)[:10]}, extra {sorted(live - rest)[:10]}"
                )
            # The count a client keeps is the one of the highest version (CONTRACT section 5):
            # a catch-up's count, read before a live push, may arrive after it (seen once in a
            # full run on the loaded 2-core machine), so the last to arrive is not the measure.
            truth, kept = rest_count(api), kept_count(listener)
            if kept["count"] != truth:
                mismatches.append(f"{key}: kept count {kept} != {truth}")
        print(
            f"\nchaos (seed {seed}): {len(fired)} events ({dict(Counter(fired.values()))}), {reads} read-all, "
            f"faults {dict(injected)}, stream {stream_seconds:.0f}s, "
            f"settled after {time.monotonic() - started:.0f}s, "
            f"sends>1: {redelivered(d, first_event)}, "
            f"outcome: {'OK' if not mismatches else '; '.join(mismatches)}"
        )
        assert not mismatches, mismatches
    finally:
        for pair in apis.values():
            for client in pair:
                client.close()
        for _, listener in listeners.values():
            listener.close()


def redelivered(d: Delivery, after_id: int) -> int:
    with d.session() as session:
        return int(
            session.scalar(
                select(func.count()).select_from(EventLog).where(EventLog.id > after_id, EventLog.sends > 1)
            )
            or 0
        )
