"""AsyncRedisManager that catches up after losing its Redis subscription.

Pub/sub is fire-and-forget: what workers publish while this gateway is not
subscribed never reaches it. So the gateway retries every second (not with
python-socketio's backoff up to a minute) and, once subscribed again, replays
from the database the notifications its connected users got meanwhile, and
pushes their unread counts. Clients dedupe by notification id.
"""

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import socketio

from common import metrics
from common.events.publisher import EMIT_BATCH

log = logging.getLogger(__name__)
CatchUp = Callable[[set[int], float], Awaitable[list[tuple[str, dict[str, Any], str]]]]


class CatchUpRedisManager(socketio.AsyncRedisManager):  # type: ignore[misc]
    def __init__(self, url: str, channel: str, catch_up: CatchUp) -> None:
        super().__init__(url, channel=channel)
        self._catch_up = catch_up

    def connected_user_ids(self) -> set[int]:
        rooms = self.rooms.get("/", {})
        return {int(room[5:]) for room in rooms if isinstance(room, str) and room.startswith("user_")}

    async def _replay(self, since: float) -> None:
        try:
            messages = await self._catch_up(self.connected_user_ids(), since)
            metrics.log_catch_up(messages, since)  # ops (issue 11): one JSON line with the ids
            for event, data, room in messages:
                await socketio.AsyncManager.emit(self, event, data, namespace="/", room=room)
        except Exception:
            log.exception("catch-up after the Redis subscription came back failed")

    async def _redis_listen_with_retries(self):  # type: ignore[no-untyped-def]
        lost_at: float | None = None
        pubsub = None
        while True:
            try:
                if pubsub is not None:
                    # A pub/sub left behind keeps its pooled connection, and the
                    # subscription on it, open: close it before making the next one.
                    with contextlib.suppress(Exception):
                        await pubsub.aclose()
                self._redis_connect()
                pubsub = self.pubsub  # _publish may replace self.pubsub meanwhile
                await pubsub.subscribe(self.channel)
                if lost_at is not None:
                    log.warning("Redis subscription is back; catching up from the database")
                    asyncio.ensure_future(self._replay(lost_at))
                    lost_at = None
                async for message in pubsub.listen():
                    yield message
                raise ConnectionError("the subscription ended")  # messages may have been missed
            except Exception as exc:
                if lost_at is None:
                    lost_at = time.time()
                log.error("Cannot receive from Redis (%s); retrying in 1 s", exc)
                await asyncio.sleep(1)

    async def _listen(self):  # type: ignore[no-untyped-def]
        """Unpack the workers' batches (common/events/publisher.py) into python-socketio's messages."""
        async for message in super()._listen():
            try:
                data = message if isinstance(message, dict) else self.json.loads(message)
            except ValueError:
                continue  # not ours; python-socketio skips what it cannot parse too
            if isinstance(data, dict) and data.get("method") == EMIT_BATCH:
                for one in data.get("messages", []):
                    yield one
            else:
                yield data

    # --- ops (issue 11): metrics hook, kept apart from the catch-up above ---
    # Every message from the shared channel passes here already decoded, so
    # timing it costs no second parse. _handle_emit is python-socketio's
    # (5.x); tests/integration/test_operations.py fails if it stops being called.
    async def _handle_emit(self, message):  # type: ignore[no-untyped-def]
        metrics.observe_socket_message(message)
        await super()._handle_emit(message)
