"""GET /metrics: this gateway's Prometheus metrics, for an admin's JWT or the METRICS_TOKEN."""

import asyncio
import hmac
from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import Response

from common import metrics
from common.config import get_settings
from common.db import get_sessionmaker
from common.models import Role
from common.services.errors import Forbidden
from gateway.deps import oauth2_scheme, user_from_token

router = APIRouter(tags=["operations"])


def require_scraper(token: Annotated[str | None, Depends(oauth2_scheme)]) -> None:
    """METRICS_TOKEN (Prometheus) or an admin's JWT; no token 401, another role 403."""
    expected = get_settings().metrics_token
    if token and expected and hmac.compare_digest(token.encode(), expected.encode()):
        return
    with get_sessionmaker()() as session:
        user = user_from_token(session, token)
    if user.role != Role.ADMIN:
        raise Forbidden("This needs the role admin or the METRICS_TOKEN")


@router.get(
    "/metrics",
    dependencies=[Depends(require_scraper)],
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}, "description": "Prometheus text format"}},
)
async def prometheus_metrics() -> Response:
    """Prometheus text: events by type and state, the outbox, queue depth, delivery latency, sockets."""
    body, content_type = await asyncio.to_thread(metrics.gateway_metrics().render)
    return Response(body, media_type=content_type)
