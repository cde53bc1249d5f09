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
from common.models import DeliveryState, EventLog, utcnow

log = logging.getLogger(__name__)
router = APIRouter(tags=["health"])

PING_TIMEOUT_SECONDS = 0.8  # how long the gateway waits for workers to answer a ping
PING_CACHE_SECONDS = 2.0  # health checks within this window share one ping


def _outbox() -> tuple[int, float]:
    """Events not yet handled (PENDING or QUEUED) and the age of the oldest, in one round trip."""
    waiting = (DeliveryState.PENDING, DeliveryState.QUEUED)
    with get_engine().connect() as connection:
        count, oldest = connection.execute(
            select(func.count(), func.min(EventLog.created_at)).where(EventLog.state.in_(waiting))
        ).one()
    age = 0.0
    if isinstance(oldest, datetime):
        age = max(0.0, (utcnow() - oldest).total_seconds())
    return int(count or 0), round(age, 3)


def _check_broker() -> None:
    settings = get_settings()
    if not settings.distributed:
        return  # the filesystem broker is a directory: nothing to reach
    import redis

    client = redis.Redis.from_url(settings.redis_url, socket_connect_timeout=1, socket_timeout=1)
    try:
        client.ping()
    finally:
        client.close()


def _ping_workers() -> int:
    from common.events.broker import app

    replies = app.control.ping(timeout=PING_TIMEOUT_SECONDS) or []
    return len(replies)


class _WorkerPing:
    """One Celery ping at a time (in a thread, off the event loop), shared for PING_CACHE_SECONDS."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._at = -PING_CACHE_SECONDS
        self._count = 0

    def count(self) -> int:
        with self._lock:
            if time.monotonic() - self._at >= PING_CACHE_SECONDS:
                try:
                    self._count = _ping_workers()
                except Exception as exc:
                    log.warning("worker ping failed: %s", exc)
                    self._count = 0
                self._at = time.monotonic()
            return self._count


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
    }
    outbox, broker = await asyncio.gather(
        asyncio.to_thread(_outbox), asyncio.to_thread(_check_broker), return_exceptions=True
    )
    if isinstance(outbox, BaseException):
        body["database"] = _unavailable(outbox)  # type: ignore[arg-type]
    else:
        body["outbox_pending"], body["oldest_pending_seconds"] = outbox
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
