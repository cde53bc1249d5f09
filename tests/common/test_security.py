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
