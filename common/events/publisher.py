"""Write-only Socket.IO publishing for processes without a Socket.IO server (the workers).

Messages go through the same channel the gateways listen on (Redis pub/sub in
distributed mode, the filesystem channel in standalone mode); every gateway
delivers them to its own sockets in the named rooms.
"""

import json
import logging
import uuid
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import redis
import socketio

from common.config import get_settings
from common.events.transport import filesystem_connection_options

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Emit:
    event: str
    data: dict[str, Any]
    room: str | list[str]


def user_room(user_id: int) -> str:
    return f"user_{user_id}"


def role_room(role: str) -> str:
    return f"role_{role}"


@lru_cache
def _host_id() -> str:
    return uuid.uuid4().hex


@lru_cache
def _redis_client() -> "redis.Redis":
    return redis.Redis.from_url(get_settings().redis_url, socket_connect_timeout=3, socket_timeout=5)


@lru_cache
def _kombu_manager() -> socketio.KombuManager:
    settings = get_settings()
    return socketio.KombuManager(
        "filesystem://",
        channel=settings.socketio_channel,
        write_only=True,
        connection_options=filesystem_connection_options(settings, "socketio"),
    )


# A worker's batch goes out as one pub/sub message carrying many emits: one
# PUBLISH, one delivery per gateway and one JSON parse there, not one per emit.
# The gateways' manager (gateway/realtime/redis_manager.py) unpacks it.
EMIT_BATCH = "emit_batch"
EMITS_PER_MESSAGE = 200


def _emit_message(emit: Emit) -> dict[str, Any]:
    # The message python-socketio's pub/sub managers exchange (see PubSubManager.emit).
    return {
        "method": "emit",
        "event": emit.event,
        "data": [emit.data],
        "binary": False,
        "namespace": "/",
        "room": emit.room,
        "skip_sid": None,
        "callback": None,
        "host_id": _host_id(),
    }


def _pubsub_batch(emits: list[Emit]) -> str:
    return json.dumps({"method": EMIT_BATCH, "messages": [_emit_message(e) for e in emits]})


def publish(emits: list[Emit]) -> None:
    """Publish a batch of socket messages in one round trip (Redis) or one by one (files)."""
    if not emits:
        return
    settings = get_settings()
    if settings.distributed:
        pipe = _redis_client().pipeline(transaction=False)
        for start in range(0, len(emits), EMITS_PER_MESSAGE):
            pipe.publish(settings.socketio_channel, _pubsub_batch(emits[start : start + EMITS_PER_MESSAGE]))
        pipe.execute()
        return
    manager = _kombu_manager()
    for emit in emits:
        manager.emit(emit.event, emit.data, room=emit.room)
