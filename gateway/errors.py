"""Every error is a clear `{"detail": ...}`: 4xx for the caller's mistakes, 503 when a dependency is down.

The handlers here turn what would otherwise be a bare 500 into an answer:
- a database that cannot be reached (refused, timed out, dropped) is 503 naming the database;
- Redis (the login counters) unreachable is 503 naming Redis;
- a value the database refuses (a number out of range, text it cannot store) is 422;
- text with a NUL character or a lone surrogate is 422 wherever it came in (query, form, body);
- a 422 from validation never echoes what was sent (no `input`, so never a password).

`ERROR_RESPONSES` and friends declare these answers in the OpenAPI, so a client
(and schemathesis) knows every status a route can give.
"""

import json
import logging
from typing import Any

import redis.exceptions
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from common.db import DATABASE_UNAVAILABLE
from common.services.errors import DomainError

log = logging.getLogger("partpulse.gateway")

REDIS_UNAVAILABLE = "Redis is unavailable; try again shortly"
BAD_TEXT = "Text must not contain NUL characters or unpaired surrogates"


class SafeJSONResponse(JSONResponse):
    """JSON escaped to ASCII: a lone surrogate in an error's location cannot break the answer."""

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=True, allow_nan=False, separators=(",", ":")).encode()


def error(status_code: int, detail: Any, headers: dict[str, str] | None = None) -> JSONResponse:
    return SafeJSONResponse({"detail": detail}, status_code=status_code, headers=headers)


def _without_input(errors: Any) -> list[dict[str, Any]]:
    """FastAPI's validation errors minus what the caller sent (`input`, and `ctx` values built from it)."""
    cleaned = []
    for item in errors:
        entry: dict[str, Any] = {
            "type": item.get("type"),
            "loc": [part if isinstance(part, int) else str(part)[:200] for part in item.get("loc", ())],
            "msg": item.get("msg"),
        }
        ctx = item.get("ctx")
        if isinstance(ctx, dict):
            # Limits of the schema (max_length, pattern, ...) are worth keeping; an
            # exception object or anything else may carry the input: left out.
            kept = {
                key: value
                for key, value in ctx.items()
                if isinstance(value, int | float | bool) or key in ("pattern", "expected")
            }
            if kept:
                entry["ctx"] = {
                    key: value if isinstance(value, int | float | bool) else str(value)
                    for key, value in kept.items()
                }
        cleaned.append(entry)
    return cleaned


def _is_bad_text(exc: BaseException) -> bool:
    """psycopg2 refuses NUL characters; UTF-8 encoding refuses lone surrogates."""
    return isinstance(exc, UnicodeError) or "NUL (0x00)" in str(exc)


def database_unavailable(exc: BaseException) -> bool:
    if isinstance(exc, PoolTimeoutError):
        return True
    if isinstance(exc, DBAPIError):
        from sqlalchemy.exc import InterfaceError, OperationalError

        return isinstance(exc, OperationalError | InterfaceError) or exc.connection_invalidated
    return False


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def domain_error(_request: Request, exc: DomainError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status_code == 401 else None
        headers = {**(headers or {}), **getattr(exc, "headers", {})}
        return SafeJSONResponse(exc.body(), status_code=exc.status_code, headers=headers or None)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        return error(422, _without_input(exc.errors()))

    @app.exception_handler(DBAPIError)
    async def database_error(_request: Request, exc: DBAPIError) -> JSONResponse:
        if database_unavailable(exc):
            log.warning("database unavailable: %s", type(exc.orig).__name__ if exc.orig else exc)
            return error(503, DATABASE_UNAVAILABLE, {"Retry-After": "5"})
        if isinstance(exc, DataError):
            if exc.orig is not None and _is_bad_text(exc.orig):
                return error(422, BAD_TEXT)
            return error(422, "A value is out of range or malformed")
        if isinstance(exc, IntegrityError):
            return error(409, "This conflicts with data that exists (or was just changed); try again")
        raise exc

    @app.exception_handler(PoolTimeoutError)
    async def pool_timeout(_request: Request, _exc: PoolTimeoutError) -> JSONResponse:
        return error(503, DATABASE_UNAVAILABLE, {"Retry-After": "5"})

    @app.exception_handler(redis.exceptions.ConnectionError)
    @app.exception_handler(redis.exceptions.TimeoutError)
    async def redis_error(_request: Request, _exc: Exception) -> JSONResponse:
        return error(503, REDIS_UNAVAILABLE, {"Retry-After": "5"})

    @app.exception_handler(ValueError)
    async def bad_text(_request: Request, exc: ValueError) -> JSONResponse:
        if _is_bad_text(exc):
            return error(422, BAD_TEXT)
        raise exc


# --- the OpenAPI side: what each route may answer ---------------------------------


class ErrorOut(BaseModel):
    detail: str


class ValidationIssue(BaseModel):
    type: str | None = None
    loc: list[str | int]
    msg: str | None = None
    ctx: dict[str, Any] | None = None


class ValidationErrorOut(BaseModel):
    detail: str | list[ValidationIssue]


def _r(description: str, model: type[BaseModel] = ErrorOut) -> dict[str, Any]:
    return {"model": model, "description": description}


# Every route under /api can answer these.
COMMON_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: _r("The body is not what its Content-Type says (not UTF-8, not JSON, a bad Content-Length)"),
    413: _r("The request body is larger than MAX_BODY_BYTES"),
    422: _r("The request is not valid (never echoes what was sent)", ValidationErrorOut),
    503: _r("A dependency (the database, Redis) is unavailable"),
}
# Routes that need a token (and a role).
UNAUTHORIZED: dict[int | str, dict[str, Any]] = {
    401: _r("Missing, malformed, wrongly signed or expired token, or a deactivated user"),
}
AUTH_RESPONSES: dict[int | str, dict[str, Any]] = {
    **UNAUTHORIZED,
    403: _r("The token's user does not have the role this needs"),
}
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: _r("Not found, or not yours to see")}
CONFLICT: dict[int | str, dict[str, Any]] = {409: _r("Conflicts with the current state")}
THROTTLED: dict[int | str, dict[str, Any]] = {
    401: _r("Incorrect email or password"),
    429: _r("Too many failed logins for this account from this address; see Retry-After"),
}
