"""Admission bounded by waiting time (CONTRACT section 8, ADMISSION_WAIT_SECONDS) on a
real uvicorn: the test holds a lock on event_logs so POST /api/events/ queues for real
(behind the admission limit and in the group commit's queue); a request that would
wait past the limit is 503 with Retry-After: 1 and writes nothing, and /api/health
answers meanwhile."""

import asyncio
import time
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.orm import Session

from common.models import EventLog
from tests.conftest import TEST_DATABASE_URL, token_for
from tests.integration.conftest import Stack
from tests.integration.stack import Process, free_port, process_env, start_gateway

WAIT = 1.0
REQUESTS = 40  # more than the gateway admits at once (REQUESTS_IN_FLIGHT = 32)
EVENT = {"event_type": "LOW_STOCK_ALERT", "entity_type": "inventory", "entity_id": 1}


@pytest.fixture
def waiting_gateway(live: Stack) -> Iterator[str]:
    port = free_port()
    process: Process = start_gateway(
        "gateway-admission", port, process_env(ADMISSION_WAIT_SECONDS=str(WAIT), EVENT_RELAY="0")
    )
    yield f"http://127.0.0.1:{port}"
    process.stop()


async def _fire_all(url: str) -> tuple[list[httpx.Response], float, float]:
    headers = {"Authorization": f"Bearer {token_for('admin@demo.test')}"}
    limits = httpx.Limits(max_connections=REQUESTS + 5)
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=30, limits=limits) as client:
        # The first is written at once and waits on the lock, holding the group commit's writer.
        first = asyncio.create_task(client.post("/api/events/", json=EVENT))
        await asyncio.sleep(0.5)
        started = time.monotonic()
        queued = [asyncio.create_task(client.post("/api/events/", json=EVENT)) for _ in range(REQUESTS - 1)]
        await asyncio.sleep(0.3)
        health_started = time.monotonic()
        health = await client.get("/api/health")
        health_took = time.monotonic() - health_started
        assert health.status_code == 200, health.text
        done, pending = await asyncio.wait(queued, timeout=3 * WAIT + 2)
        took = time.monotonic() - started
        assert not first.done()  # still held by the lock
        for task in [first, *pending]:
            task.cancel()
        await asyncio.gather(first, *pending, return_exceptions=True)
        return [task.result() for task in done], health_took, took


def test_requests_past_the_admission_wait_are_503_and_health_answers(waiting_gateway: str) -> None:
    engine = create_engine(TEST_DATABASE_URL)
    try:
        with Session(engine) as counting:
            before = counting.scalar(select(func.count()).select_from(EventLog)) or 0
        locker = engine.connect()
        locker.execute(text("LOCK TABLE event_logs IN EXCLUSIVE MODE"))  # inserts wait behind it
        try:
            answered, health_took, took = asyncio.run(_fire_all(waiting_gateway))
        finally:
            locker.rollback()
            locker.close()
        assert health_took < WAIT, f"health took {health_took:.2f}s behind a saturated admission"
        refused = [r for r in answered if r.status_code == 503]
        # Every request behind the held write was answered, and refused, while the lock was held:
        # 31 from the group commit's queue, 8 from the admission queue (32 admitted at once).
        assert len(refused) == len(answered) == REQUESTS - 1, [r.status_code for r in answered]
        assert all(r.headers["retry-after"] == "1" for r in refused)
        assert took < 3 * WAIT + 2
        with Session(engine) as counting:
            written = (counting.scalar(select(func.count()).select_from(EventLog)) or 0) - before
        # Nothing refused was written: at most the held first request went through.
        assert written <= 1
    finally:
        engine.dispose()
