"""Idempotency-Key: a retried POST answers the first response again and changes nothing.

The records live in the database, so every gateway sees them. A request with a
key first *claims* it in a transaction of its own (INSERT ... ON CONFLICT DO
NOTHING, committed before the work starts): a concurrent duplicate then finds
the in-flight mark and gets 409. The work's transaction locks the record
(`hold`), and stores the answer in it (`complete`) in the same commit as the
work, so the answer is kept exactly when the work happened. An in-flight mark
left by a process that died expires after IN_FLIGHT_SECONDS; the row lock of a
request still running keeps its mark even past that.
"""

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from common.db import insert_on_conflict, session_scope
from common.models import IdempotencyKey, utcnow
from common.services.errors import Conflict, Invalid

KEEP = timedelta(hours=24)
IN_FLIGHT = timedelta(seconds=60)
MAX_KEY_LENGTH = 255
_IN_FLIGHT, _DONE = "IN_FLIGHT", "DONE"


@dataclass(frozen=True)
class Claim:
    """This request holds the key: run the work, then `complete` (or `release`)."""

    id: int
    token: str


@dataclass(frozen=True)
class StoredResponse:
    """The key was used for the same request before: answer this again."""

    status_code: int
    body: Any


def validate_key(raw: str) -> str:
    """1-255 visible ASCII characters (0x21-0x7E), else 422."""
    if not raw:
        raise Invalid("Idempotency-Key must not be empty")
    if len(raw) > MAX_KEY_LENGTH:
        raise Invalid(f"Idempotency-Key must be at most {MAX_KEY_LENGTH} characters")
    if not all("\x21" <= ch <= "\x7e" for ch in raw):
        raise Invalid("Idempotency-Key must be visible ASCII characters only")
    return raw


def request_fingerprint(method: str, path: str, body: bytes) -> str:
    """The request a key names: method, path and the body as JSON (key order and spacing ignored)."""
    try:
        canonical = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":")) if body else ""
    except (ValueError, UnicodeDecodeError):
        canonical = body.hex()
    return hashlib.sha256(f"{method.upper()} {path}\n{canonical}".encode()).hexdigest()


def _stored_or_refused(row: IdempotencyKey, request_hash: str, now: datetime) -> StoredResponse | None:
    """What an existing record means for this request; None = it may be taken over."""
    if row.created_at <= now - KEEP:
        return None  # older than 24 h: forgotten
    if row.request_hash != request_hash:
        raise Invalid("This Idempotency-Key was used with a different request body")
    if row.status == _DONE:
        assert row.response_status is not None
        return StoredResponse(row.response_status, row.response_body)
    if row.locked_until > now:
        raise Conflict("A request with this Idempotency-Key is still being processed; retry later")
    return None  # in flight, but its holder died: take it over


def _claim(session: Session, user_id: int, key: str, request_hash: str) -> Claim | StoredResponse:
    now = utcnow()
    token = uuid.uuid4().hex
    mark = {
        "request_hash": request_hash,
        "status": _IN_FLIGHT,
        "claim_token": token,
        "locked_until": now + IN_FLIGHT,
        "response_status": None,
        "response_body": None,
        "created_at": now,
    }
    inserted = session.scalar(
        insert_on_conflict(session, IdempotencyKey)
        .values(user_id=user_id, key=key, **mark)
        .on_conflict_do_nothing(index_elements=["user_id", "key"])
        .returning(IdempotencyKey.id)
    )
    if inserted is not None:
        return Claim(inserted, token)
    where = (IdempotencyKey.user_id == user_id, IdempotencyKey.key == key)
    row = session.scalar(select(IdempotencyKey).where(*where))
    if row is None:
        raise Conflict("A request with this Idempotency-Key is still being processed; retry later")
    stored = _stored_or_refused(row, request_hash, now)
    if stored is not None:
        return stored
    # Expired, or in flight past its mark: take it over, unless a running request
    # holds the row lock (its work transaction), which SKIP LOCKED sees at once.
    row = session.scalar(
        select(IdempotencyKey)
        .where(*where)
        .with_for_update(skip_locked=True)
        .execution_options(populate_existing=True)
    )
    if row is None:
        raise Conflict("A request with this Idempotency-Key is still being processed; retry later")
    stored = _stored_or_refused(row, request_hash, now)
    if stored is not None:
        return stored
    for name, value in mark.items():
        setattr(row, name, value)
    session.flush()
    return Claim(row.id, token)


def claim(user_id: int, key: str, request_hash: str) -> Claim | StoredResponse:
    """Claim a key in a transaction of its own, committed before the work runs.

    Returns a Claim (run the work), or the StoredResponse to answer again;
    raises Invalid (422) for another body under the same key and Conflict
    (409) while the first request is still running.
    """
    with session_scope() as session:
        return _claim(session, user_id, key, request_hash)


def hold(session: Session, held: Claim) -> None:
    """In the work's transaction: lock the record, checking the claim is still this request's."""
    found = session.scalar(
        select(IdempotencyKey.id)
        .where(
            IdempotencyKey.id == held.id,
            IdempotencyKey.claim_token == held.token,
            IdempotencyKey.status == _IN_FLIGHT,
        )
        .with_for_update()
    )
    if found is None:
        raise Conflict("Another request took this Idempotency-Key over; retry to get its answer")


def complete(session: Session, held: Claim, status_code: int, body: Any) -> None:
    """Store the answer; in the work's transaction, so it is kept exactly when the work is."""
    session.execute(
        update(IdempotencyKey)
        .where(IdempotencyKey.id == held.id, IdempotencyKey.claim_token == held.token)
        .values(status=_DONE, response_status=status_code, response_body=body)
        .execution_options(synchronize_session=False)
    )


def release(session: Session, held: Claim) -> None:
    """Forget the claim (the request failed with a 5xx): a retry runs the work afresh."""
    session.execute(
        delete(IdempotencyKey)
        .where(IdempotencyKey.id == held.id, IdempotencyKey.claim_token == held.token)
        .execution_options(synchronize_session=False)
    )


def purge_expired(session: Session) -> int:
    """Delete records past the 24 h window (optional housekeeping; an expired key is reused anyway)."""
    result = session.execute(
        delete(IdempotencyKey)
        .where(IdempotencyKey.created_at <= utcnow() - KEEP)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
