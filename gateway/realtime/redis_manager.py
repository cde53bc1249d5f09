"""The gateways' Socket.IO manager in distributed mode: one shard channel per room (issue 21).

A gateway SSUBSCRIBEs a room's channel (common/events/channels.py) while it
holds a socket in that room and SUNSUBSCRIBEs after the last one left, so it
receives only its own sockets' messages (socket.io's dynamic sharding).

Race-free by construction: python-socketio's own room table (`self.rooms`) is
the truth; entering or leaving a room only marks the table changed, and one
task per gateway (the reconciler) compares what the table wants with what each
subscriber connection was sent, and sends the difference. Commands and their
confirmations travel in order on one connection, so a leave and a re-enter
during a pass end subscribed, whatever the interleaving. The connect handler
waits until its rooms' subscriptions are confirmed before it answers, so a
message published after a socket connected reaches it.

One subscriber connection per Redis node (one for a plain Redis; one per
master of a Cluster, a channel's node found from its slot), made of
redis-py's Connection but read by this module: redis-py's PubSub resubscribes
silently after a reconnect, which would hide that messages were lost. Here a
connection that breaks marks its channels lost; once it is back (retried
every second) every room still held is subscribed again, and then the
database catch-up (catch_up.py) runs for the users whose rooms were lost, and
their accounts are checked again (a deactivation notice may have been lost).

Publishing: the gateway's own emits (read state, event_state) go by SPUBLISH
to each room's channel; an emit to a sid stays on this gateway (the sid is
local). A message reaching the gateway passes `_handle_emit`, which
`partpulse_delivery_seconds` observes: its count is what this gateway received.
"""

import asyncio
import contextlib
import logging
import math
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import redis.asyncio as aioredis
import socketio
from engineio import packet as eio_packet
from redis.asyncio.cluster import ClusterNode, RedisCluster
from socketio import packet as sio_packet
from socketio.async_pubsub_manager import AsyncPubSubManager

from common import json_codec, metrics
from common.config import Settings
from common.events.channels import (
    ChannelUrl,
    cluster_kwargs,
    is_room_channel,
    parse_channel_url,
    room_channel,
)
from common.events.publisher import BULK, DEACTIVATED, EMIT_BATCH

log = logging.getLogger(__name__)
Message = tuple[str, dict[str, Any], str]
CatchUp = Callable[[set[int], float], Awaitable[tuple[list[Message], set[int]]]]
RETRY_SECONDS = 1.0
# A subscriber connection pings every HEALTH_SECONDS and counts as lost when nothing,
# not even the answer, arrives for three times that (a half-open TCP connection).
HEALTH_SECONDS = 15.0
SUBSCRIBE_WAIT_SECONDS = 5.0
CHANNELS_PER_COMMAND = 500  # plain Redis: one SSUBSCRIBE for many channels (a Cluster: one per slot)


class Watcher(Protocol):
    """What the server's handlers do for the manager (gateway/realtime/server.py)."""

    async def deactivated(self, user_id: int, at: float) -> None: ...
    async def recheck(self, user_ids: set[int]) -> None: ...
    async def too_far_behind(self, user_ids: set[int]) -> None: ...


def unpack(message: Any, json: Any) -> list[dict[str, Any]]:
    """A received message as python-socketio's messages (a batch unpacked); [] if not ours."""
    try:
        data = message if isinstance(message, dict) else json.loads(message)
    except ValueError:
        return []
    if not isinstance(data, dict):
        return []
    if data.get("method") == EMIT_BATCH:
        return [m for m in data.get("messages", []) if isinstance(m, dict)]
    return [data]


class ControlMixin:
    """Shared by both managers: batches unpacked, deactivation notices handed to the watcher."""

    watcher: Watcher | None = None

    def _deactivation(self, data: dict[str, Any]) -> None:
        watcher = self.watcher
        user_id, at = data.get("user_id"), data.get("at")
        if watcher is None or not isinstance(user_id, int) or not isinstance(at, (int, float)):
            return
        _background(watcher.deactivated(user_id, float(at)))

    async def _received(self, source: AsyncIterator[Any]) -> AsyncIterator[dict[str, Any]]:
        async for message in source:
            for data in unpack(message, self.json):  # type: ignore[attr-defined]
                if data.get("method") == DEACTIVATED:
                    self._deactivation(data)
                elif data.get("method") == BULK:
                    await self._deliver_bulk(data)
                else:
                    yield data

    async def _deliver_bulk(self, data: dict[str, Any]) -> None:
        """A fan-out's bulk message (common/events/publisher.py): each recipient room held here
        gets its payload, encoded once and written to each of its sockets, with no task per
        socket. Counted as one received message per room held, like the room's own message."""
        event, shared, texts = data.get("event"), data.get("shared"), data.get("texts")
        recipients = data.get("recipients")
        if not (isinstance(event, str) and isinstance(shared, dict) and isinstance(texts, dict)):
            return
        held = self.rooms.get("/", {})  # type: ignore[attr-defined]  # room -> {sid: eio_sid}
        for recipient in recipients if isinstance(recipients, list) else []:
            if not (isinstance(recipient, list) and len(recipient) == 3):
                continue
            room, name, own = recipient
            if not isinstance(room, str) or not held.get(room) or not isinstance(own, dict):
                continue
            payload = {**shared, **texts.get(name, {}), **own}
            metrics.observe_socket_message(
                {"method": "emit", "event": event, "data": [payload], "room": room}
            )
            sockets = [eio_sid for _, eio_sid in self.get_participants("/", room)]  # type: ignore[attr-defined]
            await self._write(event, payload, sockets)

    async def _write(self, event: str, payload: dict[str, Any], eio_sids: list[str]) -> None:
        server = self.server  # type: ignore[attr-defined]
        encoded = server.packet_class(sio_packet.EVENT, namespace="/", data=[event, payload]).encode()
        frame = eio_packet.Packet(eio_packet.MESSAGE, encoded)
        for eio_sid in eio_sids:
            try:
                await server._send_eio_packet(eio_sid, frame)  # noqa: SLF001
            except Exception:  # a socket closing meanwhile: the others still get theirs
                log.debug("a bulk message's socket went away", exc_info=True)

    # --- ops (issue 11): every emit reaching this gateway passes here decoded ---
    # _handle_emit is python-socketio's (5.x); tests/integration/test_operations.py
    # fails if it stops being called.
    async def _handle_emit(self, message):  # type: ignore[no-untyped-def]
        metrics.observe_socket_message(message)
        await super()._handle_emit(message)  # type: ignore[misc]


_TASKS: set[asyncio.Task[Any]] = set()


def _background(coro: Awaitable[Any]) -> None:
    # Referenced until done: the event loop keeps only a weak reference to a task.
    task = asyncio.ensure_future(coro)
    _TASKS.add(task)
    task.add_done_callback(_TASKS.discard)

    def report(done: asyncio.Task[Any]) -> None:
        if not done.cancelled() and done.exception() is not None:
            log.error("socket manager task failed", exc_info=done.exception())

    task.add_done_callback(report)


@dataclass(eq=False)
class _Link:
    """One subscriber connection, to one Redis node."""

    name: str
    pool: aioredis.ConnectionPool
    conn: Any = None
    up: bool = False
    sent: set[str] = field(default_factory=set)  # channels subscribed (or asked) on this connection
    confirmed: set[str] = field(default_factory=set)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    lost_at: float | None = None
    lost: set[str] = field(default_factory=set)  # channels lost with the previous connection
    marker: int = 0
    heard_at: float = 0.0  # time.monotonic() of the last reply read on this connection


class RoomChannelManager(ControlMixin, AsyncPubSubManager):  # type: ignore[misc]
    name = "roomchannels"

    def __init__(
        self,
        settings: Settings,
        catch_up: CatchUp,
        subscriber_options: dict[str, Any],
        command_options: dict[str, Any],
    ) -> None:
        super().__init__(channel=settings.socketio_channel, json=json_codec)
        self.settings = settings
        self.parsed: ChannelUrl = parse_channel_url(settings.channel_redis_url)
        # RESP2: the replies read here are plain arrays (RESP3 would make them pushes).
        self.redis_options = {**subscriber_options, "protocol": 2}
        self.command_options = command_options
        self._catch_up = catch_up
        self._changed = asyncio.Event()
        self._inbox: asyncio.Queue[bytes] = asyncio.Queue()
        self._links: dict[str, _Link] = {}
        self._waiters: dict[str, list[asyncio.Future[None]]] = defaultdict(list)
        self._started = False
        self._cluster: RedisCluster | None = None
        self._publisher: Any = None
        self._prefix = room_channel("", settings)  # a channel is this plus its room

    # --- the room table: every change wakes the reconciler ---

    def basic_enter_room(self, sid, namespace, room, eio_sid=None):  # type: ignore[no-untyped-def]
        super().basic_enter_room(sid, namespace, room, eio_sid=eio_sid)
        if is_room_channel(room):
            self._changed.set()

    def basic_leave_room(self, sid, namespace, room):  # type: ignore[no-untyped-def]
        super().basic_leave_room(sid, namespace, room)
        if is_room_channel(room):
            self._changed.set()

    def held_rooms(self) -> set[str]:
        return {room for room in self.rooms.get("/", {}) if is_room_channel(room)}

    def connected_user_ids(self) -> set[int]:
        return {int(room[5:]) for room in self.held_rooms() if room.startswith("user_")}

    def channel_of(self, room: str) -> str:
        return self._prefix + room

    def room_of(self, name: str) -> str | None:
        return name[len(self._prefix) :] if name.startswith(self._prefix) else None

    async def wait_subscribed(self, rooms: list[str], timeout: float = SUBSCRIBE_WAIT_SECONDS) -> bool:
        """Until these rooms' channels are confirmed subscribed (False: not within timeout)."""
        self._start()
        loop = asyncio.get_running_loop()
        waiting = []
        for room in rooms:
            name = self.channel_of(room)
            if not any(name in link.confirmed for link in self._links.values()):
                future: asyncio.Future[None] = loop.create_future()
                self._waiters[name].append(future)
                waiting.append(future)
        if not waiting:
            return True
        self._changed.set()
        done, pending = await asyncio.wait(waiting, timeout=timeout)
        for future in pending:  # not left behind for a channel that may never come
            future.cancel()
            for futures in self._waiters.values():
                if future in futures:
                    futures.remove(future)
        return not pending

    # --- connections ---

    async def _node_for(self, name: str) -> tuple[str, int]:
        if not self.parsed.cluster:
            return self.parsed.nodes[0]
        cluster = await self._cluster_client()
        node = cluster.get_node_from_key(name)
        if node is None:
            raise ConnectionError(f"no cluster node serves {name}")
        return str(node.host), int(node.port)

    async def _cluster_client(self) -> RedisCluster:
        if self._cluster is None:
            nodes = [ClusterNode(host, port) for host, port in self.parsed.nodes]
            kwargs = cluster_kwargs(self.parsed, self.command_options)
            self._cluster = RedisCluster(startup_nodes=nodes, **kwargs)
            await self._cluster.initialize()
        return self._cluster

    def _link(self, host: str, port: int) -> _Link:
        key = f"{host}:{port}"
        link = self._links.get(key)
        if link is None:
            url = self.parsed.node_url(host, port) if self.parsed.cluster else self.parsed.url
            pool = aioredis.ConnectionPool.from_url(url, **self.redis_options)
            link = self._links[key] = _Link(key, pool)
            _background(self._run_link(link))
        return link

    async def _run_link(self, link: _Link) -> None:
        while True:
            try:
                link.conn = link.pool.make_connection()
                await link.conn.connect()
                async with link.lock:
                    link.sent.clear()
                    link.confirmed.clear()
                    link.up = True
                if link.lost_at is not None:
                    log.warning("room channels on %s are back; resubscribing and catching up", link.name)
                self._changed.set()
                link.heard_at = time.monotonic()
                pinger = asyncio.ensure_future(self._ping(link))
                try:
                    while True:
                        # No timeout per read: a timer armed and cancelled for every message cost
                        # a sixth of the gateway's CPU (issue 26); the pinger watches for silence.
                        reply = await link.conn.read_response(timeout=math.inf)
                        link.heard_at = time.monotonic()
                        self._on_reply(link, reply)
                finally:
                    pinger.cancel()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                async with link.lock:
                    link.up = False
                    if link.sent or link.lost:
                        link.lost |= link.sent | link.confirmed
                        if link.lost_at is None:
                            # From the last thing the link heard, not from now: a half-open
                            # link is noticed 3 health intervals into its silence, and what
                            # was published meanwhile never arrived either.
                            silent = time.monotonic() - link.heard_at if link.heard_at else 0.0
                            link.lost_at = time.time() - silent
                    link.sent.clear()
                    link.confirmed.clear()
                log.error("room channels on %s: cannot receive (%s); retrying in 1 s", link.name, exc)
                with contextlib.suppress(Exception):
                    await link.conn.disconnect()
                if self._cluster is not None:
                    with contextlib.suppress(Exception):
                        await self._cluster.nodes_manager.initialize()  # the slot map may have moved
                await asyncio.sleep(RETRY_SECONDS)

    async def _ping(self, link: _Link) -> None:
        """A PING every HEALTH_SECONDS; a link that has answered nothing for three times that
        (a half-open connection) is closed, so its reader fails and the link starts again."""
        while True:
            await asyncio.sleep(HEALTH_SECONDS)
            if time.monotonic() - link.heard_at > 3 * HEALTH_SECONDS:
                log.error(
                    "room channels on %s: no answer for %.0f s; reconnecting", link.name, 3 * HEALTH_SECONDS
                )
                await link.conn.disconnect(nowait=True)
                return
            async with link.lock:
                await link.conn.send_command("PING", "health")

    def _on_reply(self, link: _Link, reply: Any) -> None:
        if isinstance(reply, Exception):
            raise reply  # MOVED and the like: this connection's view is wrong, start again
        if not isinstance(reply, list) or not reply:
            return
        kind = reply[0]
        if kind == b"smessage":
            self._inbox.put_nowait(reply[2])
        elif kind == b"ssubscribe":
            name = reply[1].decode()
            link.confirmed.add(name)
            for future in self._waiters.pop(name, []):
                if not future.done():
                    future.set_result(None)
        elif kind == b"sunsubscribe":
            link.confirmed.discard(reply[1].decode())  # a re-subscribe's confirmation comes after
        elif kind == b"pong" and link.lost_at is not None and reply[1] == str(link.marker).encode():
            self._after_resubscribe(link)

    def _after_resubscribe(self, link: _Link) -> None:
        """Every held room of this connection is subscribed again: catch up on what it lost."""
        lost_rooms = {self.room_of(name) for name in link.lost}
        since = link.lost_at or time.time()
        link.lost_at, link.lost = None, set()
        held = self.held_rooms()
        users = {int(r[5:]) for r in lost_rooms if r and r.startswith("user_") and r in held}
        if any(r and r.startswith("role_") and r in held for r in lost_rooms):
            users = self.connected_user_ids()
        if users:
            _background(self._replay(users, since))

    async def _replay(self, user_ids: set[int], since: float) -> None:
        try:
            messages, behind = await self._catch_up(user_ids, since)
            metrics.log_catch_up(messages, since)  # ops (issue 11): one JSON line with the ids
            for event, data, room in messages:
                await socketio.AsyncManager.emit(self, event, data, namespace="/", room=room)
            if self.watcher is not None:
                if behind:
                    await self.watcher.too_far_behind(behind)
                await self.watcher.recheck(user_ids)
        except Exception:
            log.exception("catch-up after the room channels came back failed")

    # --- the reconciler ---

    def _start(self) -> None:
        if not self._started:
            self._started = True
            _background(self._reconcile_forever())

    async def _reconcile_forever(self) -> None:
        while True:
            await self._changed.wait()
            self._changed.clear()
            try:
                await self._reconcile()
            except Exception as exc:
                log.error("room channels: subscribing failed (%s); trying again", exc)
                await asyncio.sleep(RETRY_SECONDS)
                self._changed.set()

    async def _reconcile(self) -> None:
        wanted: dict[_Link, set[str]] = defaultdict(set)
        for room in self.held_rooms():
            name = self.channel_of(room)
            wanted[self._link(*(await self._node_for(name)))].add(name)
        for link in list(self._links.values()):
            async with link.lock:
                if not link.up:
                    continue
                mine = wanted.get(link, set())
                add, remove = sorted(mine - link.sent), sorted(link.sent - mine)
                commands = self._commands("SUNSUBSCRIBE", remove) + self._commands("SSUBSCRIBE", add)
                if link.lost_at is not None:
                    link.marker += 1
                    commands.append(("PING", str(link.marker)))
                if not commands:
                    continue
                link.sent -= set(remove)
                link.sent |= set(add)
                await link.conn.send_packed_command(link.conn.pack_commands(commands))

    def _commands(self, command: str, names: list[str]) -> list[tuple[str, ...]]:
        if self.parsed.cluster:  # a shard command's channels must share one slot
            return [(command, name) for name in names]
        step = CHANNELS_PER_COMMAND
        return [(command, *names[i : i + step]) for i in range(0, len(names), step)]

    # --- python-socketio's pub/sub hooks ---

    async def _incoming(self) -> AsyncIterator[bytes]:
        while True:
            yield await self._inbox.get()

    async def _listen(self):  # type: ignore[no-untyped-def]
        self._start()
        async for data in self._received(self._incoming()):
            yield data

    async def _publish(self, data: dict[str, Any]) -> None:
        if data.get("method") != "emit":
            return  # disconnects and room changes concern this gateway's own sockets only
        room = data.get("room")
        rooms = [room] if isinstance(room, str) else list(room or [])
        for one in rooms:
            if is_room_channel(one):
                await self._spublish(self.channel_of(one), self.json.dumps({**data, "room": one}))

    async def _spublish(self, name: str, message: str) -> None:
        for attempt in range(2):
            try:
                client = await self._publish_client()
                await client.execute_command("SPUBLISH", name, message)
                return
            except Exception as exc:
                log.error(
                    "cannot publish to the room channels (%s)%s", exc, "; retrying" if not attempt else ""
                )
                self._publisher = None

    async def _publish_client(self) -> Any:
        if self._publisher is None:
            if self.parsed.cluster:
                self._publisher = await self._cluster_client()
            else:
                self._publisher = aioredis.Redis.from_url(self.parsed.url, **self.command_options)
        return self._publisher
