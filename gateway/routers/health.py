"""GET /api/health: the database, the broker, the workers that answer, and how far behind the outbox is."""

import asyncio
import logging
import threading
import time
from datetime import datetime
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import func, select

from common.config import get_settings
from common.db import get_engine
from common.events.relay import KNOWN_TYPES
from common.models import DeliveryState, EventLog, utcnow

log = logging.getLogger(__name__)
router = APIRouter(tags=["health"])

PING_TIMEOUT_SECONDS = 0.8  # how long the gateway waits for workers to answer a ping
PING_CACHE_SECONDS = 2.0  # health checks within this window share one ping


def _outbox() -> tuple[int, float, int]:
    """Events not yet handled (PENDING or QUEUED) of the types this release routes, the age of
    the oldest, and the open rows of types it does not know (unroutable_pending), in one round trip."""
    waiting = (DeliveryState.PENDING, DeliveryState.QUEUED)
    known = EventLog.event_type.in_(KNOWN_TYPES)
    with get_engine().connect() as connection:
        count, oldest, unroutable = connection.execute(
            select(
                func.count().filter(known),
                func.min(EventLog.created_at).filter(known),
                func.count().filter(~known),
            ).where(EventLog.state.in_(waiting))
        ).one()
    age = 0.0
    if isinstance(oldest, datetime):
        age = max(0.0, (utcnow() - oldest).total_seconds())
    return int(count or 0), round(age, 3), int(unroutable or 0)


def _check_broker() -> None:
    settings = get_settings()
    if not settings.distributed:
        return  # the filesystem broker is a directory: nothing to reach
    from common.redis_client import RedisUse, redis_client

    client = redis_client(RedisUse.PROBE, settings)
    try:
        client.ping()
    finally:
        client.close()


def _ping_workers() -> int:
    from common.events.broker import app

    replies = app.control.ping(timeout=PING_TIMEOUT_SECONDS) or []
    return len(replies)


class _WorkerPing:
    """The workers that answer a Celery ping, shared for PING_CACHE_SECONDS.

    A ping waits its whole timeout (0.8 s) for replies. Only the first health
    check waits for one; after that a stale count is answered at once while
    one ping, in a thread of its own, refreshes it: health answers in
    milliseconds even under load (issue 20), and its count is at most one
    ping older.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._at = -PING_CACHE_SECONDS
        self._count = 0
        self._pinged = False
        self._refreshing = False

    def count(self) -> int:
        with self._lock:
            if not self._pinged:
                self._refresh_locked()
            elif time.monotonic() - self._at >= PING_CACHE_SECONDS and not self._refreshing:
                self._refreshing = True
                threading.Thread(target=self._refresh, name="health-worker-ping", daemon=True).start()
            return self._count

    def _ping(self) -> int:
        try:
            return _ping_workers()
        except Exception as exc:
            log.warning("worker ping failed: %s", exc)
            return 0

    def _refresh_locked(self) -> None:
        self._count = self._ping()
        self._at = time.monotonic()
        self._pinged = True

    def _refresh(self) -> None:
        count = self._ping()
        with self._lock:
            self._count, self._at, self._refreshing = count, time.monotonic(), False


_workers = _WorkerPing()


def _unavailable(exc: Exception) -> str:
    return f"unavailable: {type(exc).__name__}"


@router.get("/health")
async def health() -> JSONResponse:
    """`200` with `status` `ok` or `degraded` (no worker answers, or the outbox is behind);
    `503` with the same shape when the database or the broker is down."""
    settings = get_settings()
    body: dict[str, Any] = {
        "status": "ok",
        "mode": "distributed" if settings.distributed else "standalone",
        "database": "ok",
        "broker": "ok",
        "workers": 0,
        "outbox_pending": None,
        "oldest_pending_seconds": None,
        "unroutable_pending": None,
    }
    outbox, broker = await asyncio.gather(
        asyncio.to_thread(_outbox), asyncio.to_thread(_check_broker), return_exceptions=True
    )
    if isinstance(outbox, BaseException):
        body["database"] = _unavailable(outbox)  # type: ignore[arg-type]
    else:
        body["outbox_pending"], body["oldest_pending_seconds"], body["unroutable_pending"] = outbox
    if isinstance(broker, BaseException):
        body["broker"] = _unavailable(broker)  # type: ignore[arg-type]
    else:
        body["workers"] = await asyncio.to_thread(_workers.count)
    down = [name for name in ("database", "broker") if body[name] != "ok"]
    if down:
        body["status"] = "down"
        body["down"] = down
        return JSONResponse(body, status_code=503)
    behind = (body["oldest_pending_seconds"] or 0) > settings.event_redeliver_seconds
    if body["workers"] == 0 or behind:
        body["status"] = "degraded"
    return JSONResponse(body, status_code=200)
