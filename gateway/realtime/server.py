"""The Socket.IO server: token check at connect, the user's and role's rooms, expiry."""

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

import socketio

from common import metrics
from common.config import Settings
from common.db import get_sessionmaker
from common.events.publisher import role_room, user_room
from common.models import User
from common.services.errors import Unauthorized
from common.services.notifications import unread_states
from gateway.deps import user_from_token
from gateway.realtime.catch_up import missed_messages
from gateway.realtime.filesystem_manager import AsyncFilesystemManager
from gateway.realtime.redis_manager import CatchUpRedisManager

log = logging.getLogger(__name__)


async def _catch_up(user_ids: set[int], since: float) -> list[tuple[str, dict[str, Any], str]]:
    return await asyncio.to_thread(missed_messages, user_ids, since)


def _client_manager(settings: Settings) -> socketio.AsyncManager:
    if settings.distributed:
        return CatchUpRedisManager(settings.redis_url, settings.socketio_channel, _catch_up)
    return AsyncFilesystemManager(settings)


def _authenticate(token: Any) -> tuple[int, str, dict[str, int], float]:
    """Returns (user id, role, the unread_count message, token expiry as a UNIX time)."""
    from common.security import decode_access_token

    session = get_sessionmaker()()
    try:
        user: User = user_from_token(session, token if isinstance(token, str) else None)
        expires_at = float(decode_access_token(token)["exp"])
        state = unread_states(session, [user.id])[user.id]
        return user.id, user.role, state.payload(), expires_at
    finally:
        session.close()


def _origin_checker(settings: Settings) -> Callable[[str | None, dict[str, Any]], bool]:
    """The configured origins, plus the gateway's own origin whatever port it was started on."""
    allowed = set(settings.allowed_origins)

    def is_allowed(origin: str | None, environ: dict[str, Any]) -> bool:
        if origin is None:
            return True  # not a browser: nothing cross-origin to guard against
        own = f"{environ.get('wsgi.url_scheme', 'http')}://{environ.get('HTTP_HOST', '')}"
        return origin.rstrip("/") in allowed or origin == own

    return is_allowed


def create_socket_server(settings: Settings) -> socketio.AsyncServer:
    sio = socketio.AsyncServer(
        async_mode="asgi",
        client_manager=_client_manager(settings),
        cors_allowed_origins=_origin_checker(settings),
        logger=False,
        engineio_logger=False,
    )
    expiry_timers: dict[str, asyncio.TimerHandle] = {}

    @sio.event
    async def connect(sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        token = auth.get("token") if isinstance(auth, dict) else None
        try:
            user_id, role, count, expires_at = await asyncio.to_thread(_authenticate, token)
        except Unauthorized as exc:
            raise socketio.exceptions.ConnectionRefusedError(exc.detail) from None
        await sio.save_session(sid, {"user_id": user_id, "role": role})
        await sio.enter_room(sid, user_room(user_id))
        await sio.enter_room(sid, role_room(role))
        loop = asyncio.get_running_loop()
        delay = max(0.0, expires_at - time.time())
        expiry_timers[sid] = loop.call_later(delay, lambda: asyncio.ensure_future(_expire(sid)))
        metrics.socket_connected()  # ops (issue 11)
        await sio.emit("unread_count", count, to=sid)

    async def _expire(sid: str) -> None:
        await sio.emit("session_expired", {"message": "Your session has expired"}, to=sid)
        await sio.disconnect(sid)

    @sio.event
    async def disconnect(sid: str, reason: Any = None) -> None:
        timer = expiry_timers.pop(sid, None)
        if timer is not None:  # a socket that got past connect
            timer.cancel()
            metrics.socket_disconnected()  # ops (issue 11)

    return sio
