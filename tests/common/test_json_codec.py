"""The socket path's JSON module: orjson's output is what the standard library's compact form
was, and what orjson refuses still goes through the standard library."""

import json

import pytest
import socketio
from socketio import packet as sio_packet

from common import json_codec
from common.events.publisher import Emit, _pubsub_batch, user_room

PAYLOAD = {
    "id": 7,
    "title": "Auftrag versandt",  # non-ASCII text stays as it is, not \\u-escaped
    "message": 'Order #7 "pumps" \u00fc',
    "metadata": {"order_id": 7, "quantity": 2.5, "tags": [None, True]},
    "by_severity": {"critical": 1},
}


def test_encodes_what_the_standard_library_decodes_to_the_same_value() -> None:
    assert json.loads(json_codec.dumps(PAYLOAD)) == PAYLOAD
    assert json_codec.loads(json.dumps(PAYLOAD)) == PAYLOAD


def test_output_is_compact_like_socketio_asked_for() -> None:
    assert json_codec.dumps({"a": [1, 2]}, separators=(",", ":")) == '{"a":[1,2]}'


def test_what_orjson_refuses_goes_to_the_standard_library() -> None:
    huge = 2**70  # past orjson's 64-bit integers
    assert json.loads(json_codec.dumps({"n": huge})) == {"n": huge}
    with pytest.raises(TypeError):
        json_codec.dumps({"n": object()})  # refused by both, as before
    with pytest.raises(json.JSONDecodeError):
        json_codec.loads("{not json")


def test_socketio_packets_and_channel_messages_use_it() -> None:
    server = socketio.AsyncServer(async_mode="asgi", json=json_codec)
    encoded = server.packet_class(sio_packet.EVENT, namespace="/", data=["notification", PAYLOAD]).encode()
    assert encoded == "2" + json.dumps(["notification", PAYLOAD], separators=(",", ":"), ensure_ascii=False)
    batch = json_codec.loads(_pubsub_batch(user_room(3), [Emit("notification", PAYLOAD, user_room(3))]))
    assert batch["messages"][0]["data"] == [PAYLOAD]
