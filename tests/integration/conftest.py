from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from sqlalchemy import func, select

from common.db import get_sessionmaker
from common.models import DeliveryState, EventLog
from tests.conftest import reset_data, token_for
from tests.integration.stack import (
    Listener,
    Process,
    free_port,
    process_env,
    start_gateway,
    start_worker,
    wait_until,
)


@dataclass
class Stack:
    url: str
    gateway: Process
    worker: Process

    def api(self, email: str) -> httpx.Client:
        return httpx.Client(
            base_url=self.url, headers={"Authorization": f"Bearer {token_for(email)}"}, timeout=10
        )

    def listen(self, email: str) -> Listener:
        return Listener(self.url, token_for(email), name=email)


def _quiet() -> bool:
    with get_sessionmaker()() as session:
        busy = session.scalar(
            select(func.count())
            .select_from(EventLog)
            .where(EventLog.state.in_([DeliveryState.PENDING, DeliveryState.QUEUED]))
        )
        return busy == 0


@pytest.fixture(scope="session")
def stack(database: str) -> Iterator[Stack]:
    import redis

    from tests.conftest import TEST_REDIS_URL

    redis.Redis.from_url(TEST_REDIS_URL).flushdb()
    reset_data()
    port = free_port()
    env = process_env()
    gateway = start_gateway("gateway", port, env)
    worker = start_worker("worker", env)
    yield Stack(f"http://127.0.0.1:{port}", gateway, worker)
    worker.stop()
    gateway.stop()


@pytest.fixture
def live(stack: Stack) -> Iterator[Stack]:
    """The running stack with fresh demo data; waits for the previous test's events to settle."""
    try:
        wait_until(_quiet, 20, "previous events to settle")
    finally:
        reset_data()
    yield stack
