"""Standalone mode (no DATABASE_URL, no REDIS_URL: SQLite under VAR_DIR): events fired together.

The group commit of POST /api/events/ writes a group's rows with one INSERT ...
RETURNING; on SQLite too, each request must get its own row's id, in order.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT

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
