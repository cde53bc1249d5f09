"""Per-room delivery across real gateways (issue 21, CONTRACT section 8).

Four gateway processes on a database of this module's own, each holding 250
users' sockets (one asyncio client process holds them all): single-user
messages reach only the gateway holding that user, counted by its
`partpulse_delivery_seconds_count`; a user moving between gateways keeps
getting everything and a room's channel is unsubscribed once its last local
socket left (PUBSUB SHARDNUMSUB); a deactivation made on one gateway closes
the user's socket on another within 2 s without reading any account.
"""

import asyncio
import os
import time
from collections import defaultdict
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import redis
import socketio
from sqlalchemy import create_engine, insert, select
from sqlalchemy.orm import Session

from common.config import get_settings
from common.events import channels, publisher
from common.models import Factory, Role, User
from common.security import create_access_token
from tests.conftest import TEST_REDIS_URL
from tests.integration import stack
from tests.integration.stack import Process
from tests.integration.test_operations import sample, scrape

CHANNEL = "partpulse-rooms-test"
METRICS_TOKEN = "rooms-test-metrics"
USERS_PER_GATEWAY = 250
GATEWAYS = 4
ADMIN = "admin@demo.test"
DELIVERED = "partpulse_delivery_seconds_count"


@dataclass
class Rooms:
    urls: list[str]
    gateways: list[Process]
    users: list[tuple[int, str]]  # (id, token), USERS_PER_GATEWAY per gateway in order
    redis: redis.Redis
    admin_token: str
    database_url: str

    def channel(self, room: str) -> str:
        return channels.room_channel(room)

    def numsub(self, room: str) -> int:
        reply = self.redis.execute_command("PUBSUB", "SHARDNUMSUB", self.channel(room))
        return int(reply[1])

    def delivered(self) -> list[float]:
        return [sample(scrape(url, METRICS_TOKEN), DELIVERED) for url in self.urls]


def _make_users(
    url: str, count: int, role: Role = Role.BUYER, prefix: str = "rooms"
) -> list[tuple[int, str]]:
    engine = create_engine(url)
    with Session(engine) as session:
        factory_id = session.scalar(select(Factory.id).order_by(Factory.id).limit(1))
        rows = [
            {
                "email": f"{prefix}-{n}@example.test",
                "password_hash": "x",
                "full_name": f"Rooms {n}",
                "role": role,
                "factory_id": factory_id if role == Role.BUYER else None,
                "is_active": True,
            }
            for n in range(count)
        ]
        ids = list(session.scalars(insert(User).returning(User.id), rows))
        session.commit()
    engine.dispose()
    return [(uid, create_access_token(uid, role)) for uid in ids]


def _admin_token(url: str) -> str:
    engine = create_engine(url)
    with Session(engine) as session:
        admin_id = session.scalar(select(User.id).where(User.email == ADMIN))
    engine.dispose()
    assert admin_id is not None
    return create_access_token(admin_id, Role.ADMIN)


@pytest.fixture(scope="module")
def rooms() -> Iterator[Rooms]:
    url = stack.fresh_seeded_database("rooms")
    saved = os.environ.get("SOCKETIO_CHANNEL")
    os.environ["SOCKETIO_CHANNEL"] = CHANNEL  # this process's publisher, like the gateways
    get_settings.cache_clear()
    env = stack.process_env(
        DATABASE_URL=url, SOCKETIO_CHANNEL=CHANNEL, METRICS_TOKEN=METRICS_TOKEN, EVENT_RELAY="0"
    )
    ports = [stack.free_port() for _ in range(GATEWAYS)]
    with ThreadPoolExecutor(GATEWAYS) as pool:
        gateways = list(
            pool.map(lambda i: stack.start_gateway(f"gateway-rooms-{i}", ports[i], env), range(GATEWAYS))
        )
    users = _make_users(url, USERS_PER_GATEWAY * GATEWAYS)
    client = redis.Redis.from_url(TEST_REDIS_URL)
    try:
        yield Rooms([f"http://127.0.0.1:{p}" for p in ports], gateways, users, client, _admin_token(url), url)
    finally:
        for gateway in gateways:
            gateway.stop()
        client.close()
        if saved is None:
            os.environ.pop("SOCKETIO_CHANNEL", None)
        else:
            os.environ["SOCKETIO_CHANNEL"] = saved
        get_settings.cache_clear()


class Sockets:
    """Many Socket.IO clients in this one process, each recording the notification ids it got."""

    def __init__(self) -> None:
        self.got: dict[int, list[int]] = defaultdict(list)  # client index -> ids
        self.clients: list[socketio.AsyncClient] = []
        self.ended: list[tuple[int, float]] = []  # (client index, when its socket closed)

    async def connect(self, url: str, token: str) -> int:
        index = len(self.clients)
        client = socketio.AsyncClient(reconnection=False)
        client.on("notification", lambda data, i=index: self.got[i].append(data["id"]))
        client.on("disconnect", lambda *_, i=index: self.ended.append((i, time.monotonic())))
        self.clients.append(client)
        # A connect waits for its room's subscription (at most 5 s): on a loaded machine the
        # namespace can take longer than the client's default of 1 s to answer.
        await client.connect(
            url, socketio_path="ws", auth={"token": token}, transports=["websocket"], wait_timeout=15
        )
        return index

    async def connect_many(self, pairs: list[tuple[str, str]], at_once: int = 50) -> list[int]:
        indexes = []
        for start in range(0, len(pairs), at_once):
            batch = pairs[start : start + at_once]
            # Every connect of the batch ends before a failure is raised: one still under way
            # would otherwise connect after close_all and outlive the test.
            results = await asyncio.gather(
                *(self.connect(url, token) for url, token in batch), return_exceptions=True
            )
            failures = [r for r in results if isinstance(r, BaseException)]
            if failures:
                raise failures[0]
            indexes += [r for r in results if isinstance(r, int)]
        return indexes

    async def close(self, index: int) -> None:
        await self.clients[index].disconnect()

    async def close_all(self) -> None:
        await asyncio.gather(*(c.disconnect() for c in self.clients))


def _notification(nid: int) -> dict[str, Any]:
    return {"id": nid, "title": "t", "message": "m", "timestamp": datetime.now(UTC).isoformat()}


def _send(user_ids: list[int], first_id: int) -> dict[int, int]:
    """One notification per user, published as the workers do; returns user id -> notification id."""
    ids = {uid: first_id + n for n, uid in enumerate(user_ids)}
    publisher.publish(
        [publisher.Emit("notification", _notification(ids[u]), publisher.user_room(u)) for u in user_ids]
    )
    return ids


async def _until(check: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


def test_each_gateway_receives_only_its_own_sockets_messages(rooms: Rooms) -> None:
    per_user = 3

    async def scenario() -> None:
        sockets = Sockets()
        pairs = [(rooms.urls[n // USERS_PER_GATEWAY], token) for n, (_uid, token) in enumerate(rooms.users)]
        await sockets.connect_many(pairs)
        try:
            user_ids = [uid for uid, _ in rooms.users]
            # Every user's channel has one subscriber (its gateway), the role's channel four.
            # (A connect waits at most 5 s for its subscription: on a machine loaded enough
            # a few may still be on their way, so this waits for them rather than racing.)
            names = [rooms.channel(f"user_{u}") for u in user_ids]

            def subscribers() -> set[int]:
                reply = rooms.redis.execute_command("PUBSUB", "SHARDNUMSUB", *names)
                return {int(n) for n in reply[1::2]}

            await _until(lambda: subscribers() == {1}, 20, "one subscriber on every user's channel")
            assert rooms.numsub("role_buyer") == GATEWAYS
            before = rooms.delivered()
            expected: dict[int, list[int]] = defaultdict(list)
            for round_ in range(per_user):
                for uid, nid in _send(user_ids, 1 + round_ * len(user_ids)).items():
                    expected[uid].append(nid)
            wanted = {n: expected[uid] for n, (uid, _) in enumerate(rooms.users)}
            await _until(
                lambda: all(sockets.got[n] == wanted[n] for n in wanted), 20, "every socket's own messages"
            )
            await asyncio.sleep(0.5)  # anything stray would have arrived by now
            gained = [after - b for after, b in zip(rooms.delivered(), before, strict=True)]
            assert gained == [USERS_PER_GATEWAY * per_user] * GATEWAYS
            assert all(len(sockets.got[n]) == per_user for n in wanted)  # no copy either
        finally:
            await sockets.close_all()

    asyncio.run(scenario())


def test_a_user_moving_between_gateways_keeps_everything_and_left_rooms_are_unsubscribed(
    rooms: Rooms,
) -> None:
    uid, token = rooms.users[0]
    room = f"user_{uid}"

    async def scenario() -> None:
        sockets = Sockets()
        try:
            current = await sockets.connect(rooms.urls[0], token)
            sent: list[int] = []
            next_id = 10_000
            for hop in [1, 2, 3, 0, 2]:
                moved = await sockets.connect(
                    rooms.urls[hop], token
                )  # the new tab first, then the old one goes
                await sockets.close(current)
                current = moved
                await _until(lambda: rooms.numsub(room) == 1, 10, "the old gateway to unsubscribe")
                before = rooms.delivered()
                sent.append(_send([uid], next_id)[uid])
                next_id += 1
                await _until(
                    lambda c=current: sockets.got[c] == sent[-1:], 5, "the message on the new gateway"
                )
                await asyncio.sleep(0.3)
                gained = [after - b for after, b in zip(rooms.delivered(), before, strict=True)]
                assert gained == [1.0 if g == hop else 0.0 for g in range(GATEWAYS)], (hop, gained)
            # Sockets of one user coming and going at once on one gateway: the room stays
            # subscribed while one is held, and is unsubscribed when the last one goes.
            churn = await sockets.connect_many([(rooms.urls[2], token)] * 8)
            await asyncio.gather(*(sockets.close(i) for i in churn))
            await asyncio.sleep(0.5)
            assert rooms.numsub(room) == 1
            sent.append(_send([uid], next_id)[uid])
            await _until(lambda: sockets.got[current] == sent[-2:], 5, "the message after the churn")
            await sockets.close(current)
            await _until(lambda: rooms.numsub(room) == 0, 5, "the last gateway to unsubscribe")
            listed = rooms.redis.execute_command("PUBSUB", "SHARDCHANNELS", rooms.channel(room))
            assert listed == []
        finally:
            await sockets.close_all()

    asyncio.run(scenario())


def test_a_fan_out_to_many_admins_is_one_bulk_message_and_each_admin_gets_its_own_row(rooms: Rooms) -> None:
    """issue 26: 40 admins (20 on gateway 0, 20 on gateway 2) and one buyer (gateway 1) in one fan-out:
    the admins' part is one message on the admins' role channel, received by the two gateways
    holding admins only, and each socket gets its own id exactly once."""
    admins = _make_users(rooms.database_url, 40, Role.ADMIN, "rooms-admin")
    buyer_id, buyer_token = rooms.users[USERS_PER_GATEWAY]
    assert len(admins) >= publisher.BULK_MIN_RECIPIENTS  # enough of one role for a bulk message

    async def scenario() -> None:
        sockets = Sockets()
        try:
            at = [(rooms.urls[0] if n < 20 else rooms.urls[2], token) for n, (_, token) in enumerate(admins)]
            await sockets.connect_many(at)
            buyer = await sockets.connect(rooms.urls[1], buyer_token)
            assert rooms.numsub("role_admin") == 2
            recipients = [
                (publisher.user_room(uid), "en", {"id": 50_000 + n}) for n, (uid, _) in enumerate(admins)
            ]
            recipients.append((publisher.user_room(buyer_id), "en", {"id": 60_000}))
            role_rooms = {room: "role_admin" for room, _, _ in recipients[:-1]}
            role_rooms[publisher.user_room(buyer_id)] = "role_buyer"
            shared = {"timestamp": datetime.now(UTC).isoformat(), "message": "m"}
            fan_out = publisher.FanOut("notification", shared, {"en": {"title": "t"}}, recipients, role_rooms)
            assert [room for room, _ in publisher.shard_messages([fan_out])] == [
                "role_admin",
                publisher.user_room(buyer_id),
            ]
            before = rooms.delivered()
            publisher.publish([fan_out])
            wanted = {n: [50_000 + n] for n in range(40)} | {buyer: [60_000]}
            await _until(
                lambda: all(sockets.got[i] == ids for i, ids in wanted.items()), 10, "each one's own row"
            )
            await asyncio.sleep(0.5)  # anything stray would have arrived by now
            assert all(sockets.got[i] == ids for i, ids in wanted.items())
            gained = [after - b for after, b in zip(rooms.delivered(), before, strict=True)]
            assert gained == [20.0, 1.0, 20.0, 0.0]
        finally:
            await sockets.close_all()

    asyncio.run(scenario())


def test_a_deactivation_on_one_gateway_drops_the_socket_on_another_within_two_seconds(rooms: Rooms) -> None:
    others = rooms.users[USERS_PER_GATEWAY : USERS_PER_GATEWAY + 100]
    target_id, target_token = rooms.users[USERS_PER_GATEWAY + 200]
    checks = "partpulse_socket_account_checks_total"

    async def scenario() -> None:
        sockets = Sockets()
        try:
            await sockets.connect_many([(rooms.urls[1], token) for _, token in others])
            target = await sockets.connect(rooms.urls[1], target_token)
            before = sample(scrape(rooms.urls[1], METRICS_TOKEN), checks)
            async with httpx.AsyncClient(base_url=rooms.urls[0], timeout=10) as api:
                headers = {"Authorization": f"Bearer {rooms.admin_token}"}
                response = await api.patch(
                    f"/api/users/{target_id}", json={"is_active": False}, headers=headers
                )
                assert response.status_code == 200, response.text
            done = time.monotonic()
            await _until(
                lambda: any(i == target for i, _ in sockets.ended), 2.0, "the socket on gateway B to close"
            )
            assert not sockets.clients[target].connected
            # No account was read for it, and the other users' sockets stay.
            assert sample(scrape(rooms.urls[1], METRICS_TOKEN), checks) == before
            assert [i for i, _ in sockets.ended] == [target]
            elapsed = next(t for i, t in sockets.ended if i == target) - done
            print(f"deactivation on gateway A closed the socket on gateway B in {elapsed:.2f} s")
        finally:
            await sockets.close_all()

    asyncio.run(scenario())
    stack.wait_until(
        lambda: rooms.numsub(f"user_{target_id}") == 0, 5, "the deactivated user's channel to go"
    )
