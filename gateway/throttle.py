"""Login throttling (CONTRACT section 2, LOGIN_ATTEMPTS_PER_MINUTE), with the `limits` library.

Failed logins are counted per (account, client address) and per client address
alone, in one-minute fixed windows. Past LOGIN_ATTEMPTS_PER_MINUTE failures for
a pair, that pair gets 429 with Retry-After until its window ends, the right
password included (otherwise the 429 itself would tell a guesser when it hit).
One address gets at most 5x that across accounts, so spraying one password over
many accounts is throttled too. Only failures count: a user who signs in keeps
signing in. Counters live in Redis in distributed mode (every gateway shares
them), in memory in standalone mode (one gateway).

The client address is the TCP peer or, when the peer is one of TRUSTED_PROXIES,
the last address in X-Forwarded-For that is not a trusted proxy. Gateways are
started with `--no-proxy-headers` so that uvicorn does not rewrite the peer from
X-Forwarded-For on its own (it trusts 127.0.0.1 by default); this rule is the only one.
"""

import hashlib
import ipaddress
import math
import time
from functools import lru_cache

from fastapi import Request
from limits import RateLimitItemPerMinute
from limits.storage import MemoryStorage, RedisStorage, Storage
from limits.strategies import FixedWindowRateLimiter

from common.config import Settings, get_settings
from common.redis_client import RedisUse, connection_options, redis_url
from common.services.accounts import normalize_email
from common.services.errors import DomainError

ADDRESS_FACTOR = 5
KEY_PREFIX = "partpulse-login"

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class TooManyAttempts(DomainError):
    status_code = 429

    def __init__(self, retry_after: int) -> None:
        super().__init__("Too many failed sign-in attempts; try again later")
        self.headers = {"Retry-After": str(retry_after)}


def _networks(value: str) -> tuple[IPNetwork, ...]:
    networks = []
    for part in value.split(","):
        part = part.strip()
        if part:
            networks.append(ipaddress.ip_network(part, strict=False))
    return tuple(networks)


def _parse(address: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(address.strip().strip("[]"))
    except ValueError:
        return None


def client_address(request: Request, trusted_proxies: str | None = None) -> str:
    """The caller's address per the TRUSTED_PROXIES / X-Forwarded-For rule."""
    trusted = _networks(get_settings().trusted_proxies if trusted_proxies is None else trusted_proxies)
    peer = request.client.host if request.client else "unknown"

    def is_trusted(address: str) -> bool:
        ip = _parse(address)
        return ip is not None and any(ip in network for network in trusted)

    if not trusted or not is_trusted(peer):
        return peer
    hops = [h.strip() for v in request.headers.getlist("x-forwarded-for") for h in v.split(",")]
    for hop in reversed(hops):
        if not hop:
            continue
        if _parse(hop) is None:
            return peer  # a malformed hop: believe nothing further left
        if not is_trusted(hop):
            return str(_parse(hop))
    return peer


class LoginThrottle:
    def __init__(self, storage: Storage, attempts_per_minute: int) -> None:
        self.storage = storage
        self.limiter = FixedWindowRateLimiter(storage)
        self.pair = RateLimitItemPerMinute(max(1, attempts_per_minute), namespace=KEY_PREFIX)
        per_address = max(1, attempts_per_minute * ADDRESS_FACTOR)
        self.address = RateLimitItemPerMinute(per_address, namespace=KEY_PREFIX)

    def check(self, account: str, address: str) -> None:
        """Raises TooManyAttempts when this pair (or this address) is past its limit."""
        account = _account_key(account)
        blocked = [
            (item, ids)
            for item, ids in ((self.pair, ("pair", account, address)), (self.address, ("address", address)))
            if not self.limiter.test(item, *ids)
        ]
        if blocked:
            reset = max(self.limiter.get_window_stats(item, *ids).reset_time for item, ids in blocked)
            raise TooManyAttempts(max(1, math.ceil(reset - time.time())))

    def failed(self, account: str, address: str) -> None:
        account = _account_key(account)
        self.limiter.hit(self.pair, "pair", account, address)
        self.limiter.hit(self.address, "address", address)


def _account_key(account: str) -> str:
    """The account as typed at sign-in, normalized like the lookup, hashed to a short key."""
    return hashlib.sha256(normalize_email(account).encode("utf-8", "replace")).hexdigest()[:32]


def _storage(settings: Settings) -> Storage:
    if settings.distributed:
        options = connection_options(RedisUse.THROTTLE, settings)
        return RedisStorage(redis_url(settings), key_prefix=KEY_PREFIX, **options)
    return MemoryStorage()


@lru_cache
def login_throttle() -> LoginThrottle:
    settings = get_settings()
    return LoginThrottle(_storage(settings), settings.login_attempts_per_minute)
