"""A snoozed notification comes back on a connected socket within 5 s of its time (issue 24).

Real uvicorn, `celery worker` and `celery beat`, PostgreSQL and Redis, on a
database of this module's own. The clock is shifted through the offset file
(common/clock.py), so the snooze's minimum of three minutes passes in two
seconds; the worker is restarted while the row is snoozed (the snooze lives in
the database, not in a worker's memory). The broker is a Redis of the test's
own: on the shared one the session stack's worker would take beat's
resurface tasks and run them against its own database.
"""

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from common.models import User
from common.security import create_access_token
from tests.gateway.test_inbox_round_two import add_rows
from tests.integration.stack import (
    Listener,
    PrivateRedis,
    free_port,
    fresh_seeded_database,
    process_env,
    start_beat,
    start_gateway,
    start_worker,
    wait_for_beat,
)

BUYER = "buyer@demo.test"


def test_a_snooze_resurfaces_on_the_socket_within_5_s_with_the_rest_count(tmp_path: Path) -> None:
    url = fresh_seeded_database("snooze")
    engine = create_engine(url)
    with Session(engine) as session:
        ids = add_rows(session, BUYER, {"entity_id": 1}, {"entity_id": 2})
        buyer = session.query(User).filter_by(email=BUYER).one()
        token = create_access_token(buyer.id, buyer.role)
    engine.dispose()
    offset_file = tmp_path / "clock-offset"
    offset_file.write_text("0")
    redis = PrivateRedis()
    redis.start()
    env = process_env(
        DATABASE_URL=url,
        REDIS_URL=redis.url(),
        VAR_DIR=str(tmp_path / "var"),
        SOCKETIO_CHANNEL=f"partpulse-snooze-{tmp_path.name}",
        PARTPULSE_CLOCK_OFFSET_FILE=str(offset_file),
    )
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    beat = start_beat("snooze-beat", env, str(tmp_path / "beat-schedule"))  # starts meanwhile
    gateway = start_gateway("snooze-gateway", port, env)
    worker = start_worker("snooze-worker", env, concurrency=1)
    wait_for_beat(beat)
    listener = None
    try:
        api = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=10)
        until = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=200)
        snoozed = api.patch(f"/api/notifications/{ids[0]}/snooze", json={"until": until.isoformat()})
        assert snoozed.status_code == 200, snoozed.text
        assert api.get("/api/notifications/unread-count").json()["count"] == 1
        listener = Listener(base, token, name=BUYER)

        # The worker goes away and comes back while the row is snoozed.
        worker.stop()
        worker = start_worker("snooze-worker-2", env, concurrency=1)
        assert api.get("/api/notifications/?snoozed=true").json()["total"] == 1

        # Shift every process so that `until` comes 2 real seconds from now.
        due_in = 2.0
        offset = (until - datetime.now(UTC)).total_seconds() - due_in
        offset_file.write_text(f"{offset:.3f}")
        due_at = time.monotonic() + due_in
        pushed = listener.wait_for("notification", lambda n: n["id"] == ids[0], timeout=due_in + 8)
        arrived = time.monotonic()
        assert arrived - due_at <= 5.0, f"resurfaced {arrived - due_at:.1f} s after its time"
        assert datetime.fromisoformat(pushed["resurfaced_at"]) >= until  # never before its time
        assert pushed["is_read"] is False and pushed["snoozed_until"] is None

        rest = api.get("/api/notifications/unread-count").json()
        count = listener.wait_for("unread_count", lambda c: c["version"] == rest["version"], timeout=5)
        assert count == rest and rest["count"] == 2
        top = api.get("/api/notifications/?limit=1").json()["items"][0]
        assert top["id"] == ids[0]
        assert datetime.fromisoformat(top["resurfaced_at"]) == datetime.fromisoformat(pushed["resurfaced_at"])
    finally:
        if listener is not None:
            listener.close()
        beat.stop()
        worker.stop()
        gateway.stop()
        redis.stop()
