"""Access tokens: a token's signature is checked once and kept; its expiry never is."""

import time
from datetime import UTC, datetime, timedelta

import jwt
import pytest

from common.config import get_settings
from common.security import ALGORITHM, InvalidToken, create_access_token, decode_access_token


def _token(**claims: object) -> str:
    now = datetime.now(UTC)
    base: dict[str, object] = {"sub": "7", "role": "admin", "iat": now, "exp": now + timedelta(minutes=5)}
    return jwt.encode({**base, **claims}, get_settings().signing_key, algorithm=ALGORITHM)


def test_a_kept_token_is_refused_once_it_expires() -> None:
    token = _token(exp=datetime.now(UTC) + timedelta(seconds=1))
    assert decode_access_token(token)["sub"] == "7"  # now checked and kept
    time.sleep(1.2)
    with pytest.raises(InvalidToken, match="expired"):
        decode_access_token(token)


def test_kept_claims_cannot_be_changed_by_a_caller() -> None:
    claims = decode_access_token(create_access_token(7, "buyer"))
    with pytest.raises(TypeError):
        claims["role"] = "admin"  # type: ignore[index]
    assert decode_access_token(create_access_token(7, "buyer"))["role"] == "buyer"


@pytest.mark.parametrize("exp", ["soon", True, None, float("nan"), float("inf")])
def test_an_exp_that_is_not_a_time_is_refused(exp: object) -> None:
    with pytest.raises(InvalidToken):
        decode_access_token(_token(exp=exp))


def test_a_token_living_longer_than_the_server_issues_is_refused() -> None:
    now = datetime.now(UTC)
    limit = timedelta(minutes=get_settings().jwt_expires_minutes + 5)
    assert decode_access_token(_token(iat=now, exp=now + limit))["sub"] == "7"
    for lifetime in (limit + timedelta(seconds=2), timedelta(days=36500)):
        with pytest.raises(InvalidToken, match="longer"):
            decode_access_token(_token(iat=now, exp=now + lifetime))


def test_a_deactivation_revokes_tokens_issued_before_it_rounded_up_to_the_second() -> None:
    from common.security import revoked_by_deactivation

    at = datetime(2026, 12, 3, 8, 0, 0, 300_000, tzinfo=UTC)
    second = int(at.timestamp())
    assert revoked_by_deactivation(second - 1, at)
    assert revoked_by_deactivation(second, at)  # the same second: counted as before it
    assert not revoked_by_deactivation(second + 1, at)
    assert not revoked_by_deactivation(second, None)
    assert revoked_by_deactivation(second, at.replace(tzinfo=None))  # naive (SQLite): UTC
