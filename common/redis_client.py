"""The one place Redis connections are made: the URL and the timeouts come from the settings.

Every client of this code's own goes through `redis_client(use)`. The libraries
that build their own clients (python-socketio's AsyncRedisManager, the
`limits` RedisStorage of the login throttle) are given `redis_url()` and
`connection_options(use)`, which they pass to redis-py's `from_url` as they are.

The timeouts differ by use, each a setting (common/config.py):

- PROBE (the health check, the queue depths in /metrics): a Redis that does not
  answer within REDIS_PROBE_TIMEOUT_SECONDS counts as down, it never holds the probe;
- COMMAND (the workers' socket publisher): rides out a short stall;
- THROTTLE (the login counters): a sign-in waits little for them;
- SUBSCRIBER (the gateways' Socket.IO manager): connecting times out like a
  command, but there is no read timeout, as a subscription waits for messages
  however long the channel stays quiet.
"""

from enum import Enum
from typing import Any

import redis

from common.config import Settings, get_settings


class RedisUse(Enum):
    PROBE = "probe"
    COMMAND = "command"
    THROTTLE = "throttle"
    SUBSCRIBER = "subscriber"


def redis_url(settings: Settings | None = None) -> str:
    return (settings or get_settings()).redis_url


def connection_options(use: RedisUse, settings: Settings | None = None) -> dict[str, Any]:
    """The keyword arguments of redis-py's `from_url` (and of the clients libraries build) for `use`."""
    s = settings or get_settings()
    connect, answer = {
        RedisUse.PROBE: (s.redis_probe_timeout_seconds, s.redis_probe_timeout_seconds),
        RedisUse.COMMAND: (s.redis_connect_timeout_seconds, s.redis_command_timeout_seconds),
        RedisUse.THROTTLE: (s.redis_throttle_timeout_seconds, s.redis_throttle_timeout_seconds),
        RedisUse.SUBSCRIBER: (s.redis_connect_timeout_seconds, None),
    }[use]
    options: dict[str, Any] = {"socket_connect_timeout": connect}
    if answer is not None:
        options["socket_timeout"] = answer
    return options


def redis_client(use: RedisUse, settings: Settings | None = None) -> redis.Redis:
    """A new client (its own connection pool) for `use`; the caller closes it or keeps it for good."""
    return redis.Redis.from_url(redis_url(settings), **connection_options(use, settings))
