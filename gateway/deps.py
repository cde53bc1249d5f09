"""Request dependencies: the database session, the current user, role checks, paging."""

from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Query
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from common.db import session_scope
from common.models import Role, User
from common.security import InvalidToken, decode_access_token, revoked_by_deactivation
from common.services.accounts import get_active_user
from common.services.errors import Forbidden, Unauthorized

oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/api/auth/token", auto_error=False)


def get_session() -> Iterator[Session]:
    """One transaction per request: committed when the endpoint returns, rolled back on error.

    Scoped to the endpoint function (below), so the commit happens before the
    response is sent: a client that gets 2xx can read its write at once, and a
    failed commit is an error response, never a success for a lost write.
    """
    with session_scope() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session, scope="function")]


def token_claims(token: str | None) -> Mapping[str, Any]:
    """A token's claims, or 401 saying why not: no I/O."""
    if not token:
        raise Unauthorized("Not authenticated")
    try:
        return decode_access_token(token)
    except InvalidToken as exc:
        raise Unauthorized("Invalid or expired token") from exc


# A token issued before its user's last deactivation (issue 20): refused even after a
# reactivation. Its own message, so that the web app can tell the user why.
REVOKED = "This session ended when the account was deactivated; sign in again"


def user_from_token(session: Session, token: str | None) -> User:
    claims = token_claims(token)
    user = get_active_user(session, int(claims["sub"]))  # sub is ASCII digits (decode_access_token)
    if user is None:
        raise Unauthorized("Invalid or expired token")
    if revoked_by_deactivation(claims["iat"], user.deactivated_at):
        raise Unauthorized(REVOKED)
    return user


def get_current_user(session: SessionDep, token: Annotated[str | None, Depends(oauth2_scheme)]) -> User:
    return user_from_token(session, token)


CurrentUser = Annotated[User, Depends(get_current_user)]


def ensure_role(role: str | None, allowed: frozenset[str]) -> None:
    if role not in allowed:
        raise Forbidden(f"This needs the role {' or '.join(sorted(allowed))}")


def require_role(*roles: Role) -> Callable[[User], Awaitable[User]]:
    allowed = frozenset(role.value for role in roles)

    async def check(user: CurrentUser) -> User:  # no I/O: no trip through the threadpool
        ensure_role(user.role, allowed)
        return user

    return check


AdminUser = Annotated[User, Depends(require_role(Role.ADMIN))]
BuyerUser = Annotated[User, Depends(require_role(Role.BUYER))]
SupplierUser = Annotated[User, Depends(require_role(Role.SUPPLIER))]
SupplierOrAdmin = Annotated[User, Depends(require_role(Role.SUPPLIER, Role.ADMIN))]

# --- The hot write routes: authentication, work and commit in one thread hop ---
#
# A sync route with SessionDep and a user dependency costs four trips through
# the threadpool (open the session, load the user, the endpoint, commit), each
# a lock handoff and a thread wake-up on the gateway's busiest path. The routes
# every order and event goes through (POST /api/orders/, POST /api/events/)
# instead check the token in the event loop (no I/O: a 401 or 403 still comes
# before the body's 422, as on every other route) and then do the rest,
# loading the user included, in ONE call: `await in_transaction(caller, work)`.

T = TypeVar("T")


@dataclass(frozen=True)
class Caller:
    """A valid token's claims: checked against the database inside in_transaction."""

    user_id: int
    admitted_roles: frozenset[str]  # the roles the route admits (not the user's own role)
    issued_at: float = 0.0  # the token's iat


def token_caller(*roles: Role) -> Callable[[str | None], Awaitable[Caller]]:
    allowed = frozenset(role.value for role in roles)

    async def check(token: Annotated[str | None, Depends(oauth2_scheme)]) -> Caller:
        claims = token_claims(token)
        ensure_role(claims.get("role"), allowed)
        return Caller(int(claims["sub"]), allowed, float(claims["iat"]))

    return check


def _run_in_transaction(caller: Caller, work: Callable[[Session, User], T]) -> T:
    with session_scope() as session:  # commits before the response, as SessionDep does
        return work(session, checked_user(caller, get_active_user(session, caller.user_id)))


def checked_user(caller: Caller, user: User | None) -> User:
    """The caller's user as loaded now: 401 when gone or deactivated, 403 when its role changed."""
    if user is None:
        checked_role(caller, None)
    assert user is not None
    checked_role(caller, user.role, user.deactivated_at)
    return user


def checked_role(caller: Caller, role: str | None, deactivated_at: datetime | None = None) -> None:
    """The caller's role as it is now (None: the user is gone or deactivated): 401, or 403
    when the role changed since the token was issued; 401 when the token was issued
    before the user's last deactivation."""
    if role is None:
        raise Unauthorized("Invalid or expired token")
    if revoked_by_deactivation(caller.issued_at, deactivated_at):
        raise Unauthorized(REVOKED)
    ensure_role(role, caller.admitted_roles)


async def in_transaction(caller: Caller, work: Callable[[Session, User], T]) -> T:
    """work(session, user) with the caller's user loaded and checked, then commit: one thread hop."""
    return await run_in_threadpool(_run_in_transaction, caller, work)


AdminCaller = Annotated[Caller, Depends(token_caller(Role.ADMIN))]
BuyerCaller = Annotated[Caller, Depends(token_caller(Role.BUYER))]

Limit = Annotated[int, Query(ge=1, le=100, description="Page size, 1 to 100")]
# Bounded by what the database can take (a 64-bit OFFSET); past it 422, never a 500.
Offset = Annotated[int, Query(ge=0, le=2**63 - 1, description="Rows to skip")]
