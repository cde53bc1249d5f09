"""Standalone mode (no DATABASE_URL, no REDIS_URL: SQLite under VAR_DIR): events fired together.

The group commit of POST /api/events/ writes a group's rows with one INSERT ...
RETURNING; on SQLite too, each request must get its own row's id, in order.

Side work runs once (issue 19, bug 8): SQLite has no row locks, and a relay
runs in every process (the gateway, the worker, each pool process), so claims
are compare-and-set on `sends` and matching is a conditional UPDATE.
"""

import asyncio
import json
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.conftest import ROOT
from tests.integration.stack import free_port, start_gateway, start_worker, wait_until

FIRE_TOGETHER = """
import asyncio, json
import httpx
from sqlalchemy import select
from common.db import get_sessionmaker
from common.models import EventLog, User
from common.security import create_access_token
from gateway.main import create_app

session = get_sessionmaker()()
users = {u.email: u for u in session.scalars(select(User))}
admin = {"Authorization": "Bearer " + create_access_token(users["admin@demo.test"].id, "admin")}
buyer = {"Authorization": "Bearer " + create_access_token(users["buyer@demo.test"].id, "buyer")}


async def main():
    app = create_app().other_asgi_app
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        placed = await client.post("/api/orders/", json={"items": [{"part_id": 1, "quantity": 1}]}, headers=buyer)
        order_id = placed.json()["id"]
        bodies = [
            {"event_type": "ORDER_DISPATCHED", "entity_type": "order", "entity_id": order_id, "metadata": {"seq": i}}
            for i in range(20)
        ]
        bodies.insert(7, {**bodies[0], "entity_id": 99999})
        responses = await asyncio.gather(*(client.post("/api/events/", json=b, headers=admin) for b in bodies))
    seqs = {}
    for body, response in zip(bodies, responses):
        if response.status_code == 202:
            row = get_sessionmaker()().get(EventLog, response.json()["event_id"])
            seqs[body["metadata"]["seq"]] = row.event_metadata["seq"]
    print(json.dumps({"statuses": [r.status_code for r in responses], "seqs": seqs}))


asyncio.run(main())
"""


def test_events_fired_together_in_standalone_mode(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(VAR_DIR=str(tmp_path), EVENT_RELAY="0", BCRYPT_ROUNDS="4")

    def run(*args: str) -> str:
        done = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr[-2000:]
        return done.stdout

    run(sys.executable, "-m", "alembic", "upgrade", "head")
    run(sys.executable, "-m", "common.seed")
    outcome = json.loads(run(sys.executable, "-c", FIRE_TOGETHER).strip().splitlines()[-1])
    assert (tmp_path / "partpulse.db").is_file()  # it really ran on SQLite
    assert outcome["statuses"] == [202] * 7 + [404] + [202] * 13
    # Every request's id is its own row: the row carries the request's own seq.
    assert outcome["seqs"] == {str(i): i for i in range(20)}


def test_fifty_orders_at_once_are_each_matched_once_in_standalone_mode(tmp_path: Path) -> None:
    """Injected: 50 orders placed at once against a real uvicorn gateway and a real
    `celery worker --concurrency 2` on SQLite and kombu's filesystem transport, with
    a relay in the gateway, the worker and each pool process (RELAY_INTERVAL 0.05 s: the relays poll together)
    and a redelivery wait of 0.1 s (EVENT_MAX_ATTEMPTS 50, so none is given up), so rows
    are handed over again, to the other pool process, while the first copy is being
    handled: the race the old code lost. Observed: every order MATCHED, with exactly one
    SUPPLIER_MATCHED event and one MATCHED history entry each."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(
        VAR_DIR=str(tmp_path),
        BCRYPT_ROUNDS="4",
        EVENT_RELAY="1",
        RELAY_INTERVAL_SECONDS="0.05",
        EVENT_REDELIVER_SECONDS="0.1",
        EVENT_MAX_ATTEMPTS="50",
    )
    for args in (("alembic", "upgrade", "head"), ("common.seed",)):
        done = subprocess.run(
            [sys.executable, "-m", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, done.stderr[-2000:]
    database = tmp_path / "partpulse.db"
    assert database.is_file()  # it really runs on SQLite

    def query(sql: str) -> list[tuple[object, ...]]:
        with sqlite3.connect(database, timeout=30) as connection:
            return list(connection.execute(sql))

    port = free_port()
    gateway = start_gateway("standalone-gateway", port, env)
    worker = start_worker("standalone-worker", env, concurrency=2)
    try:
        url = f"http://127.0.0.1:{port}"

        async def place_all() -> list[int]:
            async with httpx.AsyncClient(base_url=url, timeout=60) as client:
                login = await client.post(
                    "/api/auth/login", json={"email": "buyer@demo.test", "password": "demo1234"}
                )
                headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
                body = {"items": [{"part_id": 1, "quantity": 1}]}
                placed = await asyncio.gather(
                    *(client.post("/api/orders/", json=body, headers=headers) for _ in range(50))
                )
            assert [r.status_code for r in placed] == [201] * 50, [
                r.text for r in placed if r.status_code != 201
            ]
            return [r.json()["id"] for r in placed]

        order_ids = asyncio.run(place_all())
        assert len(set(order_ids)) == 50
        ids = ",".join(map(str, order_ids))

        last_seen: dict[str, object] = {}

        def settled() -> bool:
            last_seen["events"] = query(
                "SELECT event_type, state, attempts, count(*) FROM event_logs GROUP BY 1, 2, 3"
            )
            last_seen["orders"] = query(
                f"SELECT status, count(*) FROM orders WHERE id IN ({ids}) GROUP BY status"
            )
            open_rows = query("SELECT count(*) FROM event_logs WHERE state IN ('PENDING', 'QUEUED')")[0][0]
            matched = query(f"SELECT count(*) FROM orders WHERE id IN ({ids}) AND status = 'MATCHED'")[0][0]
            return open_rows == 0 and matched == 50

        def not_settled(what: str) -> AssertionError:
            return AssertionError(f"{what}; last seen: {last_seen}; worker log: {worker.log()[-3000:]}")

        wait_until(settled, 180, "50 orders matched and every event handled", error=not_settled)
        # A late copy (a redelivery of a row handled meanwhile) would come within a pass or two.
        time.sleep(2.5)
        events = dict(
            query(
                "SELECT entity_id, count(*) FROM event_logs WHERE event_type = 'SUPPLIER_MATCHED' "
                f"AND entity_id IN ({ids}) GROUP BY entity_id"
            )
        )
        history = dict(
            query(
                "SELECT order_id, count(*) FROM order_status_history WHERE status = 'MATCHED' "
                f"AND order_id IN ({ids}) GROUP BY order_id"
            )
        )
        failed = query("SELECT id, event_type, error FROM event_logs WHERE state = 'FAILED'")
        placed_events = query(
            f"SELECT count(*) FROM event_logs WHERE event_type = 'ORDER_PLACED' AND entity_id IN ({ids})"
        )[0][0]
    finally:
        worker.stop()
        gateway.stop()
    assert placed_events == 50
    assert failed == []
    assert events == {order_id: 1 for order_id in order_ids}
    assert history == {order_id: 1 for order_id in order_ids}
