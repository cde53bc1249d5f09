"""A gateway's room-channel subscriptions come back after every cut, once each, and
the catch-up runs for the rooms that were lost.

A subscription redis-py resubscribed on its own, beside the manager's new one,
made every message reach the gateway twice (the chaos test once saw three
subscriptions for two gateways); and a resubscription that nobody noticed
would skip the catch-up of what was published meanwhile.
"""

import asyncio
import time

import pytest

from common.config import Settings
from gateway.realtime import redis_manager
from gateway.realtime.redis_manager import RoomChannelManager
from tests.integration.stack import PrivateRedis

CHANNEL = "partpulse-sub-test"
ROOMS = {"s1": "user_1", "s2": "user_2", "s3": "role_buyer"}


def _numsub(redis: PrivateRedis, settings: Settings) -> list[int]:
    """PUBSUB SHARDNUMSUB answers each channel's name, then its number of subscribers."""
    names = [f"{settings.socketio_channel}:{room}" for room in ROOMS.values()]
    reply = redis.cli("pubsub", "shardnumsub", *names).splitlines()
    return [int(n) for n in reply[1::2]]


async def _settles(
    redis: PrivateRedis, settings: Settings, want: list[int], timeout: float = 10
) -> list[int]:
    """Waits for `want`, then makes sure no second subscription shows up."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and _numsub(redis, settings) != want:
        await asyncio.sleep(0.05)
    await asyncio.sleep(1.5)  # longer than the manager's retry pause
    return _numsub(redis, settings)


async def _subscribed_manager(settings: Settings, caught: list[tuple[set[int], float]]) -> RoomChannelManager:
    """A manager holding a socket in each of ROOMS, subscribed; its catch-ups are appended to `caught`."""

    async def catch_up(user_ids: set[int], since: float) -> tuple[list, set[int]]:
        caught.append((set(user_ids), since))
        return [], set()

    options = {"socket_connect_timeout": 2}
    manager = RoomChannelManager(settings, catch_up, options, {**options, "socket_timeout": 2})
    for sid, room in ROOMS.items():
        manager.basic_enter_room(sid, "/", None, eio_sid=f"e{sid}")
        manager.basic_enter_room(sid, "/", room)
    assert await manager.wait_subscribed(list(ROOMS.values()))
    return manager


def test_cuts_and_restarts_resubscribe_every_held_room_once_and_catch_up_on_them() -> None:
    redis = PrivateRedis()
    redis.start()
    settings = Settings(redis_url=redis.url(3), jwt_secret="x" * 40, socketio_channel_name=CHANNEL)
    caught: list[tuple[set[int], float]] = []

    async def scenario() -> list[list[int]]:
        manager = await _subscribed_manager(settings, caught)
        counts = [await _settles(redis, settings, [1, 1, 1])]
        for fault in ["cut", "restart", "cut", "restart"]:
            before, cut_at = len(caught), time.time()
            if fault == "cut":
                redis.cli("client", "kill", "type", "pubsub")
            else:
                redis.stop()
                await asyncio.sleep(0.3)
                redis.start()
            counts.append(await _settles(redis, settings, [1, 1, 1]))
            assert len(caught) == before + 1, f"one catch-up per {fault}"
            users, since = caught[-1]
            # The role room was lost too: every local user is caught up, from before the cut.
            assert users == {1, 2} and cut_at - 2 <= since <= time.time()
        # The last socket of a room leaves: its channel goes, the others stay.
        manager.basic_leave_room("s2", "/", "user_2")
        counts.append(await _settles(redis, settings, [1, 0, 1]))
        return counts

    try:
        counts = asyncio.run(scenario())
        assert counts == [[1, 1, 1]] * 5 + [[1, 0, 1]]
    finally:
        redis.stop()


def test_a_silent_link_is_dropped_resubscribed_and_caught_up(monkeypatch: pytest.MonkeyPatch) -> None:
    """A connection that answers nothing (CLIENT PAUSE: Redis reads no command, answers no
    PING) counts as lost after three health intervals: the manager reconnects, subscribes
    again once Redis answers, and catches up on the rooms from before the silence."""
    monkeypatch.setattr(redis_manager, "HEALTH_SECONDS", 0.3)
    redis = PrivateRedis()
    redis.start()
    settings = Settings(redis_url=redis.url(3), jwt_secret="x" * 40, socketio_channel_name=CHANNEL)
    caught: list[tuple[set[int], float]] = []

    async def scenario() -> float:
        _held = await _subscribed_manager(settings, caught)  # kept referenced while Redis is paused
        await _settles(redis, settings, [1, 1, 1])
        redis.cli("client", "pause", "3000", "all")
        paused_by = time.time()  # the pause began before redis-cli returned
        deadline = time.monotonic() + 15
        while not caught and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        assert await _settles(redis, settings, [1, 1, 1]) == [1, 1, 1]
        return paused_by

    try:
        paused_by = asyncio.run(scenario())
        assert len(caught) == 1, "the silence was noticed once, and caught up once"
        users, since = caught[0]
        # Caught up from the last reply before the silence, not from when it was noticed.
        assert users == {1, 2} and since <= paused_by
    finally:
        redis.stop()
