"""The gateway: FastAPI (the API and /docs), Socket.IO at /ws and the built web app at /."""

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import socketio
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from secure.middleware import SecureASGIMiddleware

from common.config import Settings, get_settings
from common.db import set_process_role
from common.events import relay
from gateway.api import TAG_ORDER, api_router
from gateway.docs import install_docs
from gateway.errors import install_error_handlers
from gateway.guard import Guard
from gateway.log_redact import install_token_redaction
from gateway.middleware import BodySizeLimit, security_headers
from gateway.realtime.limits import limits_for
from gateway.realtime.server import create_socket_server
from gateway.routers import metrics as metrics_router

log = logging.getLogger("partpulse.gateway")
# Fewer than the connection pool keeps open (40, common/db.py), leaving room for the
# relay, the socket watch and socket authentication.
REQUESTS_IN_FLIGHT = 32

DESCRIPTION = """
PartPulse: orders, stock and deliveries of the spare-parts marketplace, and the
events and notifications they raise.

**Try it:** press *Authorize*, sign in with a demo account (for example
`admin@demo.test` / `demo1234`), then fire an event with `POST /api/events/`.
"""


def create_fastapi(settings: Settings, sio: socketio.AsyncServer) -> FastAPI:
    settings.signing_key  # noqa: B018  (distributed mode refuses to start without a secret)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        relay.start()
        yield

    app = FastAPI(
        title="PartPulse",
        version="0.1.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        openapi_tags=TAG_ORDER,
        docs_url=None,  # served by install_docs: local assets, no inline script
        redoc_url=None,
        # No OpenTelemetry here (Prometheus is the metrics path): skip its per-request checks.
        telemetry={"tracing": False, "metrics": False, "logs": False, "operation_spans": False},
    )
    app.state.sio = sio
    # Each add_middleware wraps the ones before it: the body limit innermost, then
    # CORS (so a 413 still carries CORS headers), then the security headers on everything.
    app.add_middleware(BodySizeLimit, limit=settings.max_body_bytes)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=settings.allowed_origins,
        allow_credentials=True,
        allow_methods=["*"],
        allow_headers=["*"],
    )
    app.add_middleware(SecureASGIMiddleware, secure=security_headers())
    # The admission limit (REQUESTS_IN_FLIGHT) is the Guard's, in front of Socket.IO (create_app).
    install_error_handlers(app)
    install_docs(app)
    app.include_router(api_router)
    app.include_router(metrics_router.router)  # before the web app's catch-all
    _serve_frontend(app, settings.frontend_dist)
    return app


def _serve_frontend(app: FastAPI, dist: Path) -> None:
    """Serve the built web app, falling back to index.html for client-side routes."""
    index = dist / "index.html"
    if (dist / "assets").is_dir():
        app.mount("/assets", StaticFiles(directory=dist / "assets"), name="assets")

    @app.get("/{path:path}", include_in_schema=False, response_model=None)
    async def spa(path: str) -> FileResponse | JSONResponse:
        if path.startswith(("api/", "ws/", "docs", "redoc", "openapi.json")) or path == "api":
            return JSONResponse({"detail": "Not Found"}, status_code=404)
        try:
            candidate = (dist / path).resolve()
            found = bool(path) and candidate.is_file() and candidate.is_relative_to(dist.resolve())
        except (OSError, ValueError):  # a NUL, a name too long: no such file
            return JSONResponse({"detail": "Not Found"}, status_code=404)
        if found:
            return FileResponse(candidate)
        if index.is_file():
            return FileResponse(index, headers={"Cache-Control": "no-cache"})
        return JSONResponse(
            {"detail": "The web app is not built; run `make run` (or `npm run build` in frontend/)"},
            status_code=404,
        )


def create_app(settings: Settings | None = None) -> Guard:
    settings = settings or get_settings()
    set_process_role("gateway")
    install_token_redaction()
    sio = create_socket_server(settings)
    fastapi_app = create_fastapi(settings, sio)
    socket_app = socketio.ASGIApp(sio, other_asgi_app=fastapi_app, socketio_path="ws")
    # Outermost: control characters, the handshake cap, the body deadline, then admission.
    return Guard(socket_app, settings, limits_for(sio, settings), REQUESTS_IN_FLIGHT)


app = create_app()
