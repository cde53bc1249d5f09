"""The Socket.IO server: token check at connect, the user's and role's rooms, expiry."""

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import socketio
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as SQLAlchemyTimeoutError

from common import metrics
from common.config import Settings
from common.db import DATABASE_UNAVAILABLE, get_sessionmaker
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


def _active_user_ids(user_ids: set[int]) -> set[int]:
    """Which of these users still exist and are active: one query, whatever their number."""
    session = get_sessionmaker()()
    try:
        return set(session.scalars(select(User.id).where(User.id.in_(user_ids), User.is_active.is_(True))))
    finally:
        session.close()


@dataclass
class _Socket:
    user_id: int
    expires_at: float


def _origin_checker(settings: Settings) -> Callable[[str | None, dict[str, Any]], bool]:
    """The configured origins, plus the gateway's own origin whatever port it was started on."""
    allowed = set(settings.allowed_origins)

    def is_allowed(origin: str | None, environ: dict[str, Any]) -> bool:
        if origin is None:
            return True  # not a browser: nothing cross-origin to guard against
        own = f"{environ.get('wsgi.url_scheme', 'http')}://{environ.get('HTTP_HOST', '')}"
        return origin.rstrip("/") in allowed or origin == own

    return is_allowed


def expired_sockets(sockets: dict[str, _Socket], now: float) -> list[tuple[str, str]]:
    return [(sid, "Your session has expired") for sid, sock in sockets.items() if sock.expires_at <= now]


def deactivated_sockets(
    sockets: dict[str, _Socket], asked: set[int], active: set[int]
) -> list[tuple[str, str]]:
    """The sockets of users the is_active query asked about and did not return.

    Only those: a socket that connected while the query ran is not in `active`
    either, yet nothing is known against its user.
    """
    return [
        (sid, "Your account has been deactivated")
        for sid, sock in sockets.items()
        if sock.user_id in asked and sock.user_id not in active
    ]


# How often each gateway looks at its sockets: token expiry every tick (no I/O),
# the users' is_active every ACTIVE_CHECK_TICKS ticks in one query.
WATCH_TICK_SECONDS = 1.0
ACTIVE_CHECK_TICKS = 2


def create_socket_server(settings: Settings) -> socketio.AsyncServer:
    sio = socketio.AsyncServer(
        async_mode="asgi",
        client_manager=_client_manager(settings),
        cors_allowed_origins=_origin_checker(settings),
        logger=False,
        engineio_logger=False,
    )
    sockets: dict[str, _Socket] = {}
    watcher: list[asyncio.Task[None]] = []

    # Client-sent events named "connect" or "disconnect" reach these handlers
    # too: python-socketio dispatches a client EVENT packet by name, and only
    # checks that the sender is connected (AsyncServer._handle_event). So each
    # handler first makes sure it runs for the real thing:
    # - the real connect runs while the sid is still pre-connected (the
    #   manager marks it connected only after this handler accepted it);
    # - the real disconnect runs while the sid is pending disconnect, so the
    #   manager no longer reports it connected.
    # A client event finds the sid fully connected and changes nothing
    # (tests/integration/test_abuse.py holds the library to this).

    @sio.event
    async def connect(sid: str, environ: Any = None, auth: Any = None) -> None:
        if not sio.manager.is_pre_connected(sid, "/"):
            return None  # a client-sent "connect" event, not a handshake
        token = auth.get("token") if isinstance(auth, dict) else None
        try:
            user_id, role, count, expires_at = await asyncio.to_thread(_authenticate, token)
        except Unauthorized as exc:
            raise socketio.exceptions.ConnectionRefusedError(exc.detail) from None
        except (DBAPIError, SQLAlchemyTimeoutError):
            log.warning("refusing a socket: the database is unavailable")
            raise socketio.exceptions.ConnectionRefusedError(DATABASE_UNAVAILABLE) from None
        if not sio.manager.is_pre_connected(sid, "/"):
            return None  # the client left while we were checking its token
        await sio.save_session(sid, {"user_id": user_id, "role": role})
        await sio.enter_room(sid, user_room(user_id))
        await sio.enter_room(sid, role_room(role))
        sockets[sid] = _Socket(user_id, expires_at)
        metrics.socket_connected()  # ops (issue 11)
        if not watcher:
            watcher.append(asyncio.create_task(_watch()))
        await sio.emit("unread_count", count, to=sid)

    @sio.event
    async def disconnect(sid: str, reason: Any = None) -> None:
        if sio.manager.is_connected(sid, "/"):
            return None  # a client-sent "disconnect" event: the socket is not going anywhere
        _forget(sid)

    def _forget(sid: str) -> None:
        if sockets.pop(sid, None) is not None:  # a socket that got past connect
            metrics.socket_disconnected()  # ops (issue 11)

    async def _end(sid: str, message: str) -> None:
        _forget(sid)
        await sio.emit("session_expired", {"message": message}, to=sid)
        await sio.disconnect(sid)

    async def _watch() -> None:
        """Ends the sockets whose token expired or whose user was deactivated.

        Deactivation is read from the database rather than announced on the
        socket channel: every gateway sees it within ACTIVE_CHECK_TICKS ticks
        (whichever gateway served the PATCH, even a change made straight in
        the database), and a pub/sub message lost while Redis blinked cannot
        leave a socket open. The cost is one indexed query per gateway every
        2 s, and none while no socket is connected.
        """
        tick = 0
        while True:
            await asyncio.sleep(WATCH_TICK_SECONDS)
            tick += 1
            try:
                for sid, message in expired_sockets(sockets, time.time()):
                    await _end(sid, message)
                if tick % ACTIVE_CHECK_TICKS or not sockets:
                    continue
                asked = {sock.user_id for sock in sockets.values()}
                active = await asyncio.to_thread(_active_user_ids, asked)
                for sid, message in deactivated_sockets(sockets, asked, active):
                    await _end(sid, message)
            except (DBAPIError, SQLAlchemyTimeoutError) as exc:
                log.warning("socket watch: database unavailable (%s); trying again", type(exc).__name__)
            except Exception:
                log.exception("socket watch failed; trying again")

    return sio
