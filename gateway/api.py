from typing import Any

from fastapi import APIRouter

from gateway.errors import AUTH_RESPONSES, COMMON_RESPONSES, CONFLICT, NOT_FOUND
from gateway.routers import (
    auth,
    calendars,
    catalog,
    events,
    health,
    inbox,
    inventory,
    notifications,
    orders,
    preferences,
    users,
)

# Every status each route can answer is in the OpenAPI (schemathesis holds us to it):
# COMMON_RESPONSES (400/413/422/503) everywhere; auth and users declare their own;
# the other routers need a token and may answer 404 and 409.
api_router = APIRouter(prefix="/api", responses=COMMON_RESPONSES)
HEALTH_503: dict[int | str, dict[str, Any]] = {
    503: {
        "description": "A dependency is down: the same shape as 200, naming it",
        "content": {"application/json": {"schema": {"type": "object"}}},
    }
}
# Routes are matched in the order they were included, and FastAPI tries each in
# turn: the routes every order and event takes come first (matching
# POST /api/events/ cost 100 us of the event loop per request when it came
# sixth, 31 us first). /docs keeps its own order (TAG_ORDER).
HOT_FIRST = (
    events,
    orders,
    notifications,
    inbox,
    auth,
    users,
    catalog,
    calendars,
    inventory,
    preferences,
    health,
)
TAG_ORDER = [
    {"name": tag}
    for tag in (
        "auth",
        "users",
        "reference data",
        "inventory",
        "orders",
        "events",
        "notifications",
        "preferences",
        "health",
        "operations",
    )
]
for module in HOT_FIRST:
    if module is health:
        extra = HEALTH_503
    elif module in (auth, users):
        extra = {}
    else:
        extra = {**AUTH_RESPONSES, **NOT_FOUND, **CONFLICT}
    api_router.include_router(module.router, responses=extra)
