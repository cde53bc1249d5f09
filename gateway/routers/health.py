import asyncio

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text

from common.config import get_settings
from common.db import get_engine

router = APIRouter(tags=["health"])


def _check_database() -> None:
    with get_engine().connect() as connection:
        connection.execute(text("SELECT 1"))


def _check_redis() -> None:
    import redis

    client = redis.Redis.from_url(get_settings().redis_url, socket_connect_timeout=2, socket_timeout=2)
    try:
        client.ping()
    finally:
        client.close()


@router.get("/health")
async def health() -> JSONResponse:
    settings = get_settings()
    checks: dict[str, str] = {}
    for name, check in [("database", _check_database)] + (
        [("redis", _check_redis)] if settings.distributed else []
    ):
        try:
            await asyncio.to_thread(check)
            checks[name] = "ok"
        except Exception as exc:
            checks[name] = f"unavailable: {type(exc).__name__}"
    healthy = all(value == "ok" for value in checks.values())
    body = {
        "status": "ok" if healthy else "degraded",
        "mode": "distributed" if settings.distributed else "standalone",
        **checks,
    }
    return JSONResponse(body, status_code=200 if healthy else 503)
