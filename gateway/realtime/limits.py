"""Socket limits of one gateway process (issue 20, CONTRACT section 8).

- At most MAX_SOCKETS_PER_USER sockets per user on this process: the next
  connect is refused with `connect_error` `Too many open connections for this
  account (20)`. Refusing the newcomer, not closing the oldest: closing the
  oldest would make that tab reconnect and evict the next, in a loop.
- At most MAX_SOCKETS_PER_GATEWAY engine.io sessions, authenticated or not:
  past it a new handshake (polling or websocket) is `503` (gateway/guard.py
  asks `gateway_full()`).
- An engine.io session that has not joined the namespace within
  JOIN_TIMEOUT_SECONDS is closed: without it a client could open transports
  and never authenticate, each held forever.
- A socket whose token was issued before its user's last deactivation, or
  whose user is gone or inactive, is ended (`session_expired`, then a
  disconnect), even when the user is active again. Without polling every
  user (issue 21): a deactivation's notice on the user's room channel ends
  them at once with no query (`deactivated`); after a catch-up the caught-up
  users are read again (`recheck`: a notice may have been lost with the
  subscription); and a slow sweep reads every held user once per
  ACCOUNT_SWEEP_SECONDS in pages of ACCOUNT_PAGE_USERS, for changes made
  straight in the database.

The server's handlers call `admit` once a socket is authenticated and
`forget` when it goes; everything else runs in a sweep task of this module's
own, started by the first Socket.IO request.
"""

import asyncio
import logging
import time
import weakref
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import socketio
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as SQLAlchemyTimeoutError

from common import metrics
from common.config import Settings
from common.db import get_sessionmaker
from common.models import User
from common.security import decode_access_token, revoked_by_deactivation

log = logging.getLogger(__name__)

JOIN_TIMEOUT_SECONDS = 10.0
SWEEP_SECONDS = 1.0
ACCOUNT_SWEEP_SECONDS = 60.0
ACCOUNT_PAGE_USERS = 500  # one query per page; the sweep pauses between pages
ACCOUNT_PAGE_PAUSE_SECONDS = 0.2
NAMESPACE = "/"
REVOKED = "Your session was ended because your account was deactivated; sign in again"


def too_many_message(limit: int) -> str:
    return f"Too many open connections for this account ({limit})"


@dataclass(frozen=True)
class _Held:
    user_id: int
    issued_at: float


class SocketLimits:
    def __init__(self, sio: socketio.AsyncServer, settings: Settings) -> None:
        self.sio = sio
        self.per_user_limit = settings.max_sockets_per_user
        self.per_gateway_limit = settings.max_sockets_per_gateway
        self.join_timeout = JOIN_TIMEOUT_SECONDS
        self.held: dict[str, _Held] = {}
        self.by_user: dict[int, set[str]] = defaultdict(set)
        self._first_seen: dict[str, float] = {}
        self._task: asyncio.Task[None] | None = None
        self._closing: set[asyncio.Task[None]] = set()

    # --- called by the server's handlers ---

    def admit(self, sid: str, user_id: int, token: Any) -> None:
        """Counts an authenticated socket, or refuses it (ConnectionRefusedError: connect_error).

        `token` is the one the socket was just authenticated with (its iat is kept)."""
        mine = self.by_user[user_id]
        if sid not in mine and len(mine) >= self.per_user_limit:
            raise socketio.exceptions.ConnectionRefusedError(too_many_message(self.per_user_limit))
        self.held[sid] = _Held(user_id, float(decode_access_token(str(token))["iat"]))
        mine.add(sid)

    def forget(self, sid: str) -> None:
        held = self.held.pop(sid, None)
        if held is None:
            return
        mine = self.by_user.get(held.user_id)
        if mine is not None:
            mine.discard(sid)
            if not mine:
                del self.by_user[held.user_id]

    # --- asked by the guard ---

    def sessions(self) -> int:
        return len(self.sio.eio.sockets)

    def gateway_full(self) -> bool:
        return self.sessions() >= self.per_gateway_limit

    def start(self) -> None:
        """Starts the sweep once, from inside the event loop (the first Socket.IO request)."""
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._sweep())

    # --- the sweep ---

    def unjoined_expired(self, now: float) -> list[str]:
        """engine.io sessions first seen more than join_timeout ago without a namespace socket."""
        manager = self.sio.manager
        current = set(self.sio.eio.sockets)
        for eio_sid in list(self._first_seen):
            if eio_sid not in current:
                del self._first_seen[eio_sid]
        expired = []
        for eio_sid, session in self.sio.eio.sockets.items():
            if session.closing or session.closed:
                continue  # going already
            if manager.sid_from_eio_sid(eio_sid, NAMESPACE) is not None:
                self._first_seen.pop(eio_sid, None)
                continue
            first = self._first_seen.setdefault(eio_sid, now)
            if now - first >= self.join_timeout:
                expired.append(eio_sid)
        return expired

    def stale(self) -> list[str]:
        """Counted sockets the manager no longer knows (a leave that skipped the handler)."""
        manager = self.sio.manager
        return [
            sid
            for sid in self.held
            if not manager.is_connected(sid, NAMESPACE) and not manager.is_pre_connected(sid, NAMESPACE)
        ]

    def revoked(self, accounts: dict[int, tuple[bool, datetime | None]], asked: set[int]) -> list[str]:
        """Held sockets of the asked users that are gone, inactive, or whose token a deactivation revoked.

        Only those asked: a socket that connected while the query ran was checked at its connect."""
        ended = []
        for sid, held in self.held.items():
            if held.user_id not in asked:
                continue
            active, deactivated_at = accounts.get(held.user_id, (False, None))
            if not active or revoked_by_deactivation(held.issued_at, deactivated_at):
                ended.append(sid)
        return ended

    async def end(self, sids: Iterable[str]) -> None:
        for sid in list(sids):
            await self.sio.emit("session_expired", {"message": REVOKED}, to=sid)
            await self.sio.disconnect(sid)
            self.forget(sid)

    async def deactivated(self, user_id: int, at: float) -> None:
        """A deactivation's notice (common/services/accounts.py): no query."""
        when = datetime.fromtimestamp(at, UTC)
        mine = self.by_user.get(user_id, set())
        await self.end([sid for sid in mine if revoked_by_deactivation(self.held[sid].issued_at, when)])

    async def recheck(self, user_ids: set[int], pause: float = 0.0) -> None:
        """Reads these users' accounts, ACCOUNT_PAGE_USERS per query, and ends what they revoke."""
        ordered = sorted(user_ids)
        for start in range(0, len(ordered), ACCOUNT_PAGE_USERS):
            page = set(ordered[start : start + ACCOUNT_PAGE_USERS])
            page &= set(self.by_user)  # those that left meanwhile need no look
            if page:
                accounts = await asyncio.to_thread(_accounts, page)
                metrics.gateway_metrics().account_checks.inc(len(page))
                await self.end(self.revoked(accounts, page))
            if pause:
                await asyncio.sleep(pause)

    def close_session(self, eio_sid: str) -> None:
        """Closes an engine.io session without waiting for it.

        engine.io's close waits until the client has polled the CLOSE packet,
        which a client that never polls again never does: each close runs as a
        task of its own, so the sweep is never held. The session is marked closed
        at once (its requests get 400 from then on, it stops counting once
        engine.io's service task drops it).
        """
        self._first_seen.pop(eio_sid, None)
        task = asyncio.get_running_loop().create_task(self.sio.eio.disconnect(eio_sid))
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    async def _sweep(self) -> None:
        next_accounts = time.monotonic() + ACCOUNT_SWEEP_SECONDS
        while True:
            await asyncio.sleep(SWEEP_SECONDS)
            try:
                for eio_sid in self.unjoined_expired(time.monotonic()):
                    self.close_session(eio_sid)
                for sid in self.stale():
                    self.forget(sid)
                if time.monotonic() >= next_accounts:
                    await self.recheck(set(self.by_user), pause=ACCOUNT_PAGE_PAUSE_SECONDS)
                    next_accounts = time.monotonic() + ACCOUNT_SWEEP_SECONDS
            except (DBAPIError, SQLAlchemyTimeoutError) as exc:
                log.warning("socket limits: database unavailable (%s); trying again", type(exc).__name__)
            except Exception:
                log.exception("socket limits sweep failed; trying again")


def _accounts(user_ids: Iterable[int]) -> dict[int, tuple[bool, datetime | None]]:
    """(is_active, last deactivation) of each of these users that exists: one query."""
    session = get_sessionmaker()()
    try:
        rows = session.execute(
            select(User.id, User.is_active, User.deactivated_at).where(User.id.in_(list(user_ids)))
        )
        return {user_id: (bool(active), at) for user_id, active, at in rows}
    finally:
        session.close()


_LIMITS: "weakref.WeakKeyDictionary[socketio.AsyncServer, SocketLimits]" = weakref.WeakKeyDictionary()


def limits_for(sio: socketio.AsyncServer, settings: Settings) -> SocketLimits:
    """The one SocketLimits of this server (the handlers and the guard share it)."""
    limits = _LIMITS.get(sio)
    if limits is None:
        limits = _LIMITS[sio] = SocketLimits(sio, settings)
    return limits
