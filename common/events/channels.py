"""Room channels (issue 21, CONTRACT section 8): one Redis shard channel per Socket.IO room.

Every `user_{id}` and `role_{name}` room has a channel of its own,
`{SOCKETIO_CHANNEL}:{db}:{room}` (the db number keeps two deployments on one
Redis apart: pub/sub ignores the db). Publishers SPUBLISH a room's messages to
its channel; a gateway SSUBSCRIBEs a room's channel only while it holds a
socket in that room (gateway/realtime/redis_manager.py), so a gateway receives
only its own sockets' messages.

Sharded pub/sub (Redis 7) rather than plain PUBLISH: on a Redis Cluster a
plain PUBLISH is broadcast to every node, a shard message stays on the node
owning the channel's slot. The channels live on SOCKETIO_REDIS_URL (default
REDIS_URL), apart from the broker if need be (kombu does not speak Cluster).

How a cluster is named: `redis+cluster://[user:password@]host:port[,host:port...][/db]`
(`rediss+cluster://` for TLS). The hosts are seed nodes (any of them will do,
the slot map is read from the cluster); the db number only names the channels,
a cluster has db 0 alone.
"""

from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import unquote, urlsplit

import redis
from redis.cluster import ClusterNode, RedisCluster

from common.config import Settings, get_settings
from common.redis_client import RedisUse, connection_options

CLUSTER_SCHEMES = {"redis+cluster": "redis", "rediss+cluster": "rediss"}
ROOM_PREFIXES = ("user_", "role_")


@dataclass(frozen=True)
class ChannelUrl:
    url: str
    cluster: bool
    scheme: str  # redis or rediss
    nodes: tuple[tuple[str, int], ...]
    username: str | None
    password: str | None
    db: int

    def node_url(self, host: str, port: int) -> str:
        """A plain URL for one node (a subscriber connection to it)."""
        auth = ""
        if self.password is not None or self.username:
            from urllib.parse import quote

            auth = f"{quote(self.username or '', safe='')}:{quote(self.password or '', safe='')}@"
        return f"{self.scheme}://{auth}{host}:{port}/0"


def parse_channel_url(url: str) -> ChannelUrl:
    parts = urlsplit(url)
    if parts.scheme not in CLUSTER_SCHEMES:
        from redis.connection import parse_url

        parsed = parse_url(url)
        host, port = parsed.get("host", "localhost"), int(parsed.get("port", 6379))
        return ChannelUrl(
            url,
            False,
            parts.scheme,
            ((host, port),),
            parsed.get("username"),
            parsed.get("password"),
            int(parsed.get("db") or 0),
        )
    netloc = parts.netloc
    username = password = None
    if "@" in netloc:
        auth, netloc = netloc.rsplit("@", 1)
        username, _, password = (unquote(p) for p in auth.partition(":"))
        username = username or None
    nodes: list[tuple[str, int]] = []
    for hostport in netloc.split(","):
        host, _, port_text = hostport.strip().rpartition(":")
        if not host or not port_text.isdigit():
            raise ValueError(f"a cluster URL names its nodes as host:port, not {hostport!r}")
        nodes.append((host.strip("[]"), int(port_text)))
    path = parts.path.strip("/")
    return ChannelUrl(
        url, True, CLUSTER_SCHEMES[parts.scheme], tuple(nodes), username, password, int(path) if path else 0
    )


def is_room_channel(room: Any) -> bool:
    """Rooms that have a channel: users' and roles'. A sid's own room never leaves its gateway."""
    return isinstance(room, str) and room.startswith(ROOM_PREFIXES)


def room_channel(room: str, settings: Settings | None = None) -> str:
    return f"{(settings or get_settings()).socketio_channel}:{room}"


def cluster_kwargs(parsed: ChannelUrl, options: dict[str, Any]) -> dict[str, Any]:
    kwargs: dict[str, Any] = dict(options)
    if parsed.username:
        kwargs["username"] = parsed.username
    if parsed.password is not None:
        kwargs["password"] = parsed.password
    if parsed.scheme == "rediss":
        kwargs["ssl"] = True
    return kwargs


@lru_cache
def sync_client() -> "redis.Redis | RedisCluster":
    """The publishers' client (workers, the service's deactivation notice): kept for good."""
    settings = get_settings()
    parsed = parse_channel_url(settings.channel_redis_url)
    options = connection_options(RedisUse.COMMAND, settings)
    if parsed.cluster:
        nodes = [ClusterNode(host, port) for host, port in parsed.nodes]
        return RedisCluster(startup_nodes=nodes, **cluster_kwargs(parsed, options))
    return redis.Redis.from_url(parsed.url, **options)
