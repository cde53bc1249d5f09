"""A gateway's Redis subscription comes back after every cut, once: no leaked subscriber.

A pub/sub the manager gave up on kept its pooled connection, and redis-py
reconnected and resubscribed it on its own, beside the new one: every message
then reached the gateway twice (the chaos test saw three subscriptions for two
gateways).
"""

import asyncio
import contextlib
import shutil
import time

import pytest

from gateway.realtime.redis_manager import CatchUpRedisManager
from tests.integration.stack import PrivateRedis

pytestmark = pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs redis-server")
CHANNEL = "partpulse-sub-test"


async def _no_catch_up(user_ids: set[int], since: float) -> list[tuple[str, dict, str]]:
    return []


def _subscribers(redis: PrivateRedis) -> int:
    """PUBSUB NUMSUB answers the channel's name, then its number of subscribers."""
    return int(redis.cli("pubsub", "numsub", CHANNEL).splitlines()[-1])


async def _settles_at_one(redis: PrivateRedis, timeout: float = 10) -> int:
    """Waits for one subscriber, then makes sure no second one shows up."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and _subscribers(redis) != 1:
        await asyncio.sleep(0.05)
    await asyncio.sleep(1.5)  # longer than the manager's retry pause
    return _subscribers(redis)


def test_cuts_and_restarts_leave_exactly_one_subscription() -> None:
    redis = PrivateRedis()
    redis.start()

    async def scenario() -> list[int]:
        manager = CatchUpRedisManager(redis.url(), CHANNEL, _no_catch_up)
        listening = manager._redis_listen_with_retries()
        consumer = asyncio.ensure_future(listening.__anext__())
        counts = [await _settles_at_one(redis)]
        for fault in ["cut", "restart", "cut", "cut", "restart"]:
            if fault == "cut":
                redis.cli("client", "kill", "type", "pubsub")
            else:
                redis.stop()
                await asyncio.sleep(0.3)
                redis.start()
            counts.append(await _settles_at_one(redis))
        consumer.cancel()
        with contextlib.suppress(BaseException):
            await consumer
        return counts

    try:
        assert asyncio.run(scenario()) == [1] * 6
    finally:
        redis.stop()
