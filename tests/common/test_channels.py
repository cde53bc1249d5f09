"""Room channel names and the channel Redis URL (issue 21), how a batch becomes room-channel
messages (issue 26), pure logic."""

import json

import pytest

from common.config import Settings
from common.events import publisher
from common.events.channels import is_room_channel, parse_channel_url, room_channel


def test_a_plain_url_names_one_node_and_its_db() -> None:
    parsed = parse_channel_url("redis://:secret@10.0.0.5:6380/3")
    assert not parsed.cluster
    assert parsed.nodes == (("10.0.0.5", 6380),) and parsed.db == 3 and parsed.password == "secret"


def test_a_cluster_url_names_its_seed_nodes_and_the_channels_db() -> None:
    parsed = parse_channel_url("rediss+cluster://app:p%40ss@n1:7000,n2:7001,[::1]:7002/4")
    assert parsed.cluster and parsed.scheme == "rediss"
    assert parsed.nodes == (("n1", 7000), ("n2", 7001), ("::1", 7002))
    assert (parsed.username, parsed.password, parsed.db) == ("app", "p@ss", 4)
    # A node's own connection: the same credentials, db 0 (a cluster has no other).
    assert parsed.node_url("n2", 7001) == "rediss://app:p%40ss@n2:7001/0"
    assert parse_channel_url("redis+cluster://n1:7000").db == 0
    with pytest.raises(ValueError, match="host:port"):
        parse_channel_url("redis+cluster://n1,n2:7001")


def test_channels_carry_the_db_of_the_channel_redis_and_the_room() -> None:
    plain = Settings(redis_url="redis://127.0.0.1:6379/2", jwt_secret="x" * 40, socketio_channel_name="pp")
    assert room_channel("user_7", plain) == "pp:2:user_7"
    apart = Settings(
        redis_url="redis://127.0.0.1:6379/2",
        socketio_redis_url="redis+cluster://10.0.0.1:7000/5",
        jwt_secret="x" * 40,
        socketio_channel_name="pp",
    )
    assert apart.channel_redis_url.startswith("redis+cluster://")
    assert room_channel("role_admin", apart) == "pp:5:role_admin"
    assert is_room_channel("user_1") and is_room_channel("role_admin")
    assert not is_room_channel("Xy9sidroom") and not is_room_channel(None)


def _fan_out(admins: int, buyers: int) -> publisher.FanOut:
    recipients = [(f"user_{n}", "en", {"id": 1000 + n}) for n in range(admins + buyers)]
    role_rooms = {
        room: "role_admin" if n < admins else "role_buyer" for n, (room, _, _) in enumerate(recipients)
    }
    return publisher.FanOut(
        "notification",
        {"type": "ORDER_PLACED"},
        {"en": {"title": "T"}, "de": {"title": "D"}},
        recipients,
        role_rooms,
    )


def test_many_recipients_of_one_role_travel_as_one_bulk_message_and_few_room_by_room() -> None:
    many = publisher.BULK_MIN_RECIPIENTS
    before = publisher.Emit("order_status", {"n": 1}, "user_0")
    after = publisher.Emit("order_status", {"n": 2}, "user_0")
    messages = publisher.shard_messages([before, _fan_out(many, 2), after])
    rooms = [room for room, _ in messages]
    # user_0's own emits keep their order around the bulk message that carries its notification.
    assert rooms[0] == "user_0" and rooms[1] == "role_admin"
    bulk = json.loads(messages[1][1])
    assert bulk["method"] == publisher.BULK and bulk["shared"] == {"type": "ORDER_PLACED"}
    assert bulk["texts"] == {"en": {"title": "T"}}  # only the texts its recipients read
    assert [r[0] for r in bulk["recipients"]] == [f"user_{n}" for n in range(many)]
    assert bulk["recipients"][3] == ["user_3", "en", {"id": 1003}]
    # The two buyers are too few for their role's channel: a message each, on their own rooms.
    buyer_rooms = {f"user_{many}", f"user_{many + 1}"}
    assert set(rooms[2:4]) == buyer_rooms
    assert rooms[4] == "user_0" and json.loads(messages[4][1])["messages"][0]["data"] == [{"n": 2}]
    assert len(messages) == 5


def test_a_fan_out_without_roles_or_below_the_threshold_goes_room_by_room() -> None:
    few = _fan_out(publisher.BULK_MIN_RECIPIENTS - 1, 0)
    assert {room for room, _ in publisher.shard_messages([few])} == {room for room, _, _ in few.recipients}
    unknown = publisher.FanOut(
        "unread_count", {}, {"": {}}, [(f"user_{n}", "", {"count": n}) for n in range(40)]
    )
    messages = publisher.shard_messages([unknown])
    assert len(messages) == 40
    assert json.loads(messages[7][1])["messages"][0]["data"] == [{"count": 7}]
