"""An asyncio Socket.IO client manager over kombu's filesystem transport (standalone mode).

python-socketio ships KombuManager only for its threaded server; this is the
asyncio counterpart. Blocking kombu calls run on one dedicated thread.
"""

import asyncio
import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import kombu
from socketio.async_pubsub_manager import AsyncPubSubManager

from common.config import Settings
from common.events.transport import filesystem_connection_options
from gateway.realtime.redis_manager import ControlMixin


class AsyncFilesystemManager(ControlMixin, AsyncPubSubManager):  # type: ignore[misc]
    """Every gateway process reads every message (standalone mode has one or two);
    batches and deactivation notices are handled as in distributed mode."""

    name = "filesystem"

    def __init__(self, settings: Settings) -> None:
        super().__init__(channel=settings.socketio_channel)
        self._options = filesystem_connection_options(settings, "socketio")
        self._exchange = kombu.Exchange(settings.socketio_channel, type="fanout", durable=False)
        # One standalone gateway per port: a fixed queue name, purged at start,
        # so a restart neither replays old messages nor leaves orphan queues.
        self._queue = kombu.Queue(f"socketio.gateway-{settings.port}", self._exchange, durable=False)
        self._io = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sio-files")
        self._publisher_io = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sio-files-pub")
        self._connection: kombu.Connection | None = None
        self._reader: Any = None

    def _publish_sync(self, message: str) -> None:
        with kombu.Connection("filesystem://", **self._options) as connection:
            connection.Producer(exchange=self._exchange).publish(message)

    async def _publish(self, data: dict[str, Any]) -> None:
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._publisher_io, self._publish_sync, json.dumps(data))

    def _open_reader(self) -> None:
        self._connection = kombu.Connection("filesystem://", **self._options)
        self._reader = self._connection.SimpleQueue(self._queue)
        self._reader.clear()

    def _next_message(self) -> Any:
        try:
            message = self._reader.get(block=True, timeout=1)
        except self._reader.Empty:
            return None
        message.ack()
        return message.payload

    async def _listen(self):  # type: ignore[no-untyped-def]
        async for data in self._received(self._payloads()):
            yield data

    async def _payloads(self):  # type: ignore[no-untyped-def]
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._io, self._open_reader)
        while True:
            payload = await loop.run_in_executor(self._io, self._next_message)
            if payload is not None:
                yield payload
