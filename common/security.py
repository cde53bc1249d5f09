"""Password hashing (bcrypt) and access tokens (JWT, HS256)."""

import math
import re
import time
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from types import MappingProxyType
from typing import Any

import bcrypt
import jwt

from common.config import get_settings

ALGORITHM = "HS256"
REQUIRED_CLAIMS = ["exp", "iat", "sub"]
SUB_PATTERN = re.compile(r"[1-9][0-9]{0,9}")


class InvalidToken(Exception):
    """The token is missing, malformed, wrongly signed, expired or lacks a required claim."""


def hash_password(password: str) -> str:
    salt = bcrypt.gensalt(rounds=get_settings().bcrypt_rounds)
    return bcrypt.hashpw(password.encode()[:72], salt).decode()


def verify_password(password: str, password_hash: str) -> bool:
    try:
        return bcrypt.checkpw(password.encode()[:72], password_hash.encode())
    except ValueError:
        return False


@lru_cache
def _dummy_hash() -> str:
    return hash_password("not-a-real-password")


def burn_password_check(password: str) -> None:
    """Keeps an unknown email as slow as a wrong password, so timing tells nothing."""
    verify_password(password, _dummy_hash())


def create_access_token(user_id: int, role: str, expires_minutes: int | None = None) -> str:
    settings = get_settings()
    now = datetime.now(UTC)
    lifetime = timedelta(minutes=expires_minutes or settings.jwt_expires_minutes)
    claims = {"sub": str(user_id), "role": role, "iat": now, "exp": now + lifetime}
    return jwt.encode(claims, settings.signing_key, algorithm=ALGORITHM)


# A token may live JWT_EXPIRES_MINUTES plus this margin (clock skew of other
# modules that mint tokens); a longer one is refused, however well signed.
LIFETIME_MARGIN_SECONDS = 300


def decode_access_token(token: str) -> Mapping[str, Any]:
    """The token's claims, or InvalidToken. The expiry is checked on every call."""
    settings = get_settings()
    claims = _signed_claims(token, settings.signing_key)
    if claims["exp"] <= time.time():
        raise InvalidToken("Signature has expired")
    if claims["exp"] - claims["iat"] > settings.jwt_expires_minutes * 60 + LIFETIME_MARGIN_SECONDS:
        raise InvalidToken("The token lives longer than this server issues tokens for")
    return claims


def revoked_by_deactivation(issued_at: float, deactivated_at: datetime | None) -> bool:
    """True for a token issued before its user's last deactivation, whatever came after.

    `iat` has whole seconds; the deactivation time is rounded up to the second,
    so a token of the same second as the deactivation counts as issued before it.
    """
    if deactivated_at is None:
        return False
    if deactivated_at.tzinfo is None:
        deactivated_at = deactivated_at.replace(tzinfo=UTC)
    return issued_at < math.ceil(deactivated_at.timestamp())


# Every request of a session carries the same token: its signature and claims are
# checked once (0.17 ms of the gateway's event loop per request, bench/throughput.py),
# while the expiry above is checked each time. A bad token raises, so it is never kept.
@lru_cache(maxsize=4096)
def _signed_claims(token: str, key: str) -> Mapping[str, Any]:
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            key,
            algorithms=[ALGORITHM],
            options={"require": REQUIRED_CLAIMS, "verify_exp": False},
        )
    except jwt.PyJWTError as exc:
        raise InvalidToken(str(exc)) from exc
    # ASCII digits only: str.isdigit() also takes "²" or "٣", which int() then refuses.
    if not isinstance(claims["sub"], str) or not SUB_PATTERN.fullmatch(claims["sub"]):
        raise InvalidToken("sub is not a user id")
    for name in ("exp", "iat"):
        value = claims[name]
        if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value):
            raise InvalidToken(f"{name} is not a time")
    return MappingProxyType(claims)  # shared by every caller: read-only
