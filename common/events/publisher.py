"""Write-only Socket.IO publishing for processes without a Socket.IO server (the workers).

Distributed mode: each room's messages go to that room's shard channel
(common/events/channels.py), which only the gateways holding a socket in the
room subscribe to. Standalone mode: the filesystem channel, which every
gateway process reads.
"""

import logging
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import socketio

from common import json_codec
from common.config import get_settings
from common.events.channels import room_channel, sync_client
from common.events.transport import filesystem_connection_options

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Emit:
    event: str
    data: dict[str, Any]
    room: str | list[str]


@dataclass(frozen=True)
class FanOut:
    """One message to many rooms, sent as what they share once and then, per room, what is its own.

    `texts` are parts that several rooms share (a locale's title and message);
    each recipient is (room, the name of its text, its own fields: the row id,
    ...). Each room gets {**shared, **texts[name], **own} (`emits`). The texts
    are rendered once per (locale, zone), not once per recipient.

    `role_rooms` (room -> its user's role room) lets `publish` send the
    recipients of one role, when there are many, as one bulk message on the
    role's channel (issue 26); without it every room gets a message of its own.
    """

    event: str
    shared: dict[str, Any]
    texts: dict[str, dict[str, Any]]
    recipients: list[tuple[str, str, dict[str, Any]]]
    role_rooms: Mapping[str, str] = field(default_factory=dict)

    def emits(self) -> list[Emit]:
        return [
            Emit(self.event, {**self.shared, **self.texts[name], **own}, room)
            for room, name, own in self.recipients
        ]


def user_room(user_id: int) -> str:
    return f"user_{user_id}"


def role_room(role: str) -> str:
    return f"role_{role}"


@lru_cache
def _host_id() -> str:
    return uuid.uuid4().hex


@lru_cache
def _kombu_manager() -> socketio.KombuManager:
    settings = get_settings()
    return socketio.KombuManager(
        "filesystem://",
        channel=settings.socketio_channel,
        write_only=True,
        connection_options=filesystem_connection_options(settings, "socketio"),
    )


# A worker's batch goes out as one shard message per room carrying that room's
# emits (up to EMITS_PER_MESSAGE each): one SPUBLISH per room in one pipelined
# round trip, one JSON parse at the gateways holding the room. An emit to
# several rooms goes to each room's channel with that room alone (a socket in
# two of its rooms, an admin viewing an order, may get such a message twice:
# order_status is a state, applying it twice changes nothing).
# The gateways' manager (gateway/realtime/redis_manager.py) unpacks it.
EMIT_BATCH = "emit_batch"
EMITS_PER_MESSAGE = 200
# A fan-out's recipients of one role, BULK_MIN_RECIPIENTS or more, travel as one
# bulk message on the role's channel: the shared part and the texts once, then
# each recipient's room and own fields; a gateway holding any socket of the role
# receives it once and writes to the recipients it holds (those it does not hold
# cost it a dictionary lookup). Fewer recipients go room by room, so a message
# to two buyers does not reach every gateway holding a buyer.
BULK = "bulk"
BULK_MIN_RECIPIENTS = 32
BULK_RECIPIENTS_PER_MESSAGE = 2000
# The notice that a user was deactivated (common/services/accounts.py): the
# gateways holding the user's sockets close them, no query needed.
DEACTIVATED = "deactivated"


def _emit_message(emit: Emit, room: str) -> dict[str, Any]:
    # The message python-socketio's pub/sub managers exchange (see PubSubManager.emit).
    return {
        "method": "emit",
        "event": emit.event,
        "data": [emit.data],
        "binary": False,
        "namespace": "/",
        "room": room,
        "skip_sid": None,
        "callback": None,
        "host_id": _host_id(),
    }


def _pubsub_batch(room: str, emits: list[Emit]) -> str:
    return json_codec.dumps({"method": EMIT_BATCH, "messages": [_emit_message(e, room) for e in emits]})


def by_room(emits: list[Emit]) -> dict[str, list[Emit]]:
    """Each room's emits in their order (an emit to several rooms under each of them)."""
    rooms: dict[str, list[Emit]] = {}
    for emit in emits:
        for room in [emit.room] if isinstance(emit.room, str) else emit.room:
            rooms.setdefault(room, []).append(emit)
    return rooms


def publish(emits: Sequence[Emit | FanOut]) -> None:
    """Publish a batch of socket messages in one round trip (Redis) or one by one (files)."""
    if not emits:
        return
    if get_settings().distributed:
        _spublish(shard_messages(emits))
        return
    manager = _kombu_manager()
    for emit in _flat(emits):
        manager.emit(emit.event, emit.data, room=emit.room)


def _flat(emits: Sequence[Emit | FanOut]) -> list[Emit]:
    return [emit for entry in emits for emit in (entry.emits() if isinstance(entry, FanOut) else [entry])]


def shard_messages(emits: Sequence[Emit | FanOut]) -> list[tuple[str, str]]:
    """(room, message) for each room-channel message, in an order that keeps each room's emits
    in theirs: runs of single-room emits are batched per room, a bulk message between them
    stays where its fan-out was."""
    messages: list[tuple[str, str]] = []
    run: list[Emit] = []

    def end_run() -> None:
        for room, mine in by_room(run).items():
            for start in range(0, len(mine), EMITS_PER_MESSAGE):
                messages.append((room, _pubsub_batch(room, mine[start : start + EMITS_PER_MESSAGE])))
        run.clear()

    for entry in emits:
        if not isinstance(entry, FanOut):
            run.append(entry)
            continue
        bulk, rest = _split(entry)
        if bulk:
            end_run()
            messages += bulk
        run += rest
    end_run()
    return messages


def _split(fan_out: FanOut) -> tuple[list[tuple[str, str]], list[Emit]]:
    """A fan-out as bulk messages on role channels (roles with many recipients) and the rest's emits."""
    by_role: dict[str, list[tuple[str, str, dict[str, Any]]]] = {}
    for recipient in fan_out.recipients:
        by_role.setdefault(fan_out.role_rooms.get(recipient[0], ""), []).append(recipient)
    bulk: list[tuple[str, str]] = []
    rest: list[tuple[str, str, dict[str, Any]]] = []
    for role, recipients in by_role.items():
        if not role or len(recipients) < BULK_MIN_RECIPIENTS:
            rest += recipients
            continue
        step = BULK_RECIPIENTS_PER_MESSAGE
        for start in range(0, len(recipients), step):
            bulk.append((role, _bulk_message(fan_out, recipients[start : start + step])))
    return bulk, FanOut(fan_out.event, fan_out.shared, fan_out.texts, rest).emits()


def _bulk_message(fan_out: FanOut, recipients: list[tuple[str, str, dict[str, Any]]]) -> str:
    names = {name for _, name, _ in recipients}
    return json_codec.dumps(
        {
            "method": BULK,
            "event": fan_out.event,
            "shared": fan_out.shared,
            "texts": {name: text for name, text in fan_out.texts.items() if name in names},
            "recipients": [list(r) for r in recipients],
            "host_id": _host_id(),
        }
    )


def _spublish(messages: list[tuple[str, str]]) -> None:
    pipe = sync_client().pipeline(transaction=False)
    for room, message in messages:
        pipe.execute_command("SPUBLISH", room_channel(room), message)
    pipe.execute()


def deactivation_message(user_id: int, at: float) -> dict[str, Any]:
    return {"method": DEACTIVATED, "user_id": user_id, "at": at, "host_id": _host_id()}


def publish_deactivations(deactivated: list[tuple[int, float]]) -> None:
    """Tell the gateways holding these users' sockets (user id, deactivation as a UNIX time)."""
    if not deactivated:
        return
    if get_settings().distributed:
        notices = [(user_room(u), json_codec.dumps(deactivation_message(u, at))) for u, at in deactivated]
        _spublish(notices)
        return
    manager = _kombu_manager()
    for uid, at in deactivated:
        manager._publish(deactivation_message(uid, at))
