"""The `Idempotency-Key` header for POST routes whose retry must not repeat the work.

    def place_order(..., idem: IdempotencyDep):
        return run_once(session, user.id, idem, lambda: (201, body_of(work())))

Without the header the work runs as always. With it, see
common/services/idempotency.py. Requests that fail validation (or auth) never
reach the work and are not recorded, as at Stripe: they changed nothing, and
a retry gets the same answer.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Header, Request
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from common.services import idempotency
from common.services.errors import DomainError

REPLAYED_HEADER = "Idempotent-Replayed"


@dataclass(frozen=True)
class IdempotentRequest:
    key: str
    fingerprint: str


async def idempotency_key(
    request: Request,
    key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            description="1-255 visible ASCII characters; a retry with the same key and body "
            "within 24 h answers the first response again and changes nothing",
        ),
    ] = None,
) -> IdempotentRequest | None:
    if key is None:
        return None
    idempotency.validate_key(key)
    body = await request.body()  # already read and kept by FastAPI for the body model
    return IdempotentRequest(key, idempotency.request_fingerprint(request.method, request.url.path, body))


IdempotencyDep = Annotated[IdempotentRequest | None, Depends(idempotency_key)]


def run_once(
    session: Session,
    user_id: int,
    request: IdempotentRequest | None,
    work: Callable[[], tuple[int, Any]],
) -> JSONResponse:
    """Run work() -> (status, JSON body) at most once per key; answer a repeat with the first answer."""
    if request is None:
        status_code, body = work()
        return JSONResponse(body, status_code=status_code)
    outcome = idempotency.claim(user_id, request.key, request.fingerprint)
    if isinstance(outcome, idempotency.StoredResponse):
        return JSONResponse(outcome.body, status_code=outcome.status_code, headers={REPLAYED_HEADER: "true"})
    try:
        idempotency.hold(session, outcome)
        status_code, body = work()
        idempotency.complete(session, outcome, status_code, body)
    except DomainError as exc:
        # The work is rolled back; a refusal (4xx) is an answer too, and is kept.
        session.rollback()
        if exc.status_code < 500:
            idempotency.complete(session, outcome, exc.status_code, exc.body())
        else:
            idempotency.release(session, outcome)
        session.commit()
        raise
    except BaseException:
        # A 5xx is not kept: the key is free for a retry at once.
        session.rollback()
        try:
            idempotency.release(session, outcome)
            session.commit()
        except Exception:
            session.rollback()  # the mark expires after 60 s instead
        raise
    return JSONResponse(body, status_code=status_code)
