"""The Socket.IO server: token check at connect, the user's and role's rooms, expiry."""

import asyncio
import heapq
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import socketio
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as SQLAlchemyTimeoutError

from common import json_codec, metrics
from common.config import Settings
from common.db import DATABASE_UNAVAILABLE, get_sessionmaker
from common.events.publisher import role_room, user_room
from common.models import User
from common.redis_client import RedisUse, connection_options
from common.services.errors import Unauthorized
from common.services.notifications import unread_states
from gateway.deps import user_from_token
from gateway.realtime.catch_up import Message, missed_messages
from gateway.realtime.filesystem_manager import AsyncFilesystemManager
from gateway.realtime.limits import SocketLimits, limits_for
from gateway.realtime.redis_manager import RoomChannelManager

log = logging.getLogger(__name__)


async def _catch_up(user_ids: set[int], since: float) -> tuple[list[Message], set[int]]:
    return await asyncio.to_thread(missed_messages, user_ids, since)


def _client_manager(settings: Settings) -> socketio.AsyncManager:
    if settings.distributed:
        return RoomChannelManager(
            settings,
            _catch_up,
            connection_options(RedisUse.SUBSCRIBER, settings),
            connection_options(RedisUse.COMMAND, settings),
        )
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


class Deadlines:
    """Sockets' token expiries in a heap: each second costs the sockets that expired, not a walk of all.

    An entry of a socket that left stays until its time comes (or the heap is
    rebuilt once it holds more than twice the live sockets)."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, str]] = []

    def add(self, sid: str, expires_at: float) -> None:
        heapq.heappush(self._heap, (expires_at, sid))

    def due(self, sockets: dict[str, _Socket], now: float) -> list[str]:
        expired = []
        while self._heap and self._heap[0][0] <= now:
            at, sid = heapq.heappop(self._heap)
            sock = sockets.get(sid)
            if sock is not None and sock.expires_at == at:
                expired.append(sid)
        if len(self._heap) > 2 * len(sockets) + 1_000:
            self._heap = [(at, sid) for at, sid in self._heap if sid in sockets]
            heapq.heapify(self._heap)
        return expired

    def __len__(self) -> int:
        return len(self._heap)


WATCH_TICK_SECONDS = 1.0
EXPIRED = "Your session has expired"


def create_socket_server(settings: Settings) -> socketio.AsyncServer:
    """The gateway's Socket.IO server, its handlers (SocketHandlers) registered."""
    sio = socketio.AsyncServer(
        async_mode="asgi",
        client_manager=_client_manager(settings),
        cors_allowed_origins=_origin_checker(settings),
        json=json_codec,  # every packet encoded by orjson (issue 26)
        logger=False,
        engineio_logger=False,
    )
    limits = limits_for(sio, settings)  # per-user and per-gateway caps, unjoined sessions (issue 20)
    handlers = SocketHandlers(sio, limits)
    sio.manager.watcher = handlers  # deactivation notices, re-checks after a catch-up (issue 21)
    sio.on("connect", handlers.connect)
    sio.on("disconnect", handlers.disconnect)
    return sio


class SocketHandlers:
    """The server's handlers and what they share: this gateway's authenticated sockets
    and the task that watches them (started by the first connect).

    Client-sent events named "connect" or "disconnect" reach these handlers
    too: python-socketio dispatches a client EVENT packet by name, and only
    checks that the sender is connected (AsyncServer._handle_event). So each
    handler first makes sure it runs for the real thing:
    - the real connect runs while the sid is still pre-connected (the
      manager marks it connected only after this handler accepted it);
    - the real disconnect runs while the sid is pending disconnect, so the
      manager no longer reports it connected.
    A client event finds the sid fully connected and changes nothing
    (tests/integration/test_abuse.py holds the library to this).
    """

    def __init__(self, sio: socketio.AsyncServer, limits: SocketLimits) -> None:
        self.sio = sio
        self.limits = limits
        self.sockets: dict[str, _Socket] = {}
        self.deadlines = Deadlines()
        self._watcher: asyncio.Task[None] | None = None

    async def connect(self, sid: str, environ: Any = None, auth: Any = None) -> None:
        """The handshake: the token checked, the user's and role's rooms joined, the unread count sent."""
        sio = self.sio
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
        self.limits.admit(sid, user_id, token)  # ConnectionRefusedError past MAX_SOCKETS_PER_USER
        await sio.save_session(sid, {"user_id": user_id, "role": role})
        await sio.enter_room(sid, user_room(user_id))
        await sio.enter_room(sid, role_room(role))
        self.sockets[sid] = _Socket(user_id, expires_at)
        self.deadlines.add(sid, expires_at)
        wait = getattr(sio.manager, "wait_subscribed", None)
        if wait is not None and not await wait([user_room(user_id), role_room(role)]):
            log.warning("socket %s connected before its room channels were subscribed", sid)
        metrics.socket_connected()  # ops (issue 11)
        if self._watcher is None:
            self._watcher = asyncio.create_task(self.watch())
        await sio.emit("unread_count", count, to=sid)

    async def disconnect(self, sid: str, reason: Any = None) -> None:
        if self.sio.manager.is_connected(sid, "/"):
            return None  # a client-sent "disconnect" event: the socket is not going anywhere
        self.forget(sid)

    def forget(self, sid: str) -> None:
        self.limits.forget(sid)
        if self.sockets.pop(sid, None) is not None:  # a socket that got past connect
            metrics.socket_disconnected()  # ops (issue 11)

    async def end(self, sid: str, message: str) -> None:
        """Tell the socket why, then close it."""
        self.forget(sid)
        await self.sio.emit("session_expired", {"message": message}, to=sid)
        await self.sio.disconnect(sid)

    async def watch(self) -> None:
        """Ends the sockets whose token expired, from their deadlines (Deadlines).

        Deactivations are not polled here (issue 21): a deactivation's notice on
        the user's room channel, the re-check after a catch-up and the slow
        account sweep of limits.py end those sockets.
        """
        while True:
            await asyncio.sleep(WATCH_TICK_SECONDS)
            try:
                for sid in self.deadlines.due(self.sockets, time.time()):
                    await self.end(sid, EXPIRED)
            except Exception:
                log.exception("socket watch failed; trying again")

    # --- the manager's watcher (redis_manager.Watcher) ---

    async def deactivated(self, user_id: int, at: float) -> None:
        await self.limits.deactivated(user_id, at)

    async def recheck(self, user_ids: set[int]) -> None:
        try:
            await self.limits.recheck(user_ids)
        except (DBAPIError, SQLAlchemyTimeoutError) as exc:
            log.warning("re-check after a catch-up: database unavailable (%s)", type(exc).__name__)

    async def too_far_behind(self, user_ids: set[int]) -> None:
        """Sockets whose catch-up was too long: their transport is closed, so the client
        reconnects and reloads over REST (the web app does on every connect)."""
        manager = self.sio.manager
        for user_id in user_ids:
            for sid, eio_sid in list(manager.get_participants("/", user_room(user_id))):
                log.warning("closing socket %s of user %s: its catch-up is too long", sid, user_id)
                self.limits.close_session(eio_sid)
