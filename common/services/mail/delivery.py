"""The outbox: handing mails to the `email` queue after commit, claiming, marking sent or refused, the sweep.

Sending state: PENDING (send at or after next_attempt_at) -> SENDING (claimed;
the lease ends at next_attempt_at) -> SENT, or back to PENDING with a backoff
after a refusal, or FAILED after MAIL_MAX_ATTEMPTS. The sending itself
(common/mailer.py) is done by the `send_mail` task in workers/mail.py.
"""

import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from common.config import get_settings
from common.events.types import Queue
from common.models import MailOutbox, MailState, utcnow

log = logging.getLogger(__name__)

SEND_TASK = "send_mail"
SWEEP_BATCH = 500

_IDS_KEY = "partpulse_mail_ids"
_HOOK_KEY = "partpulse_mail_hook"


def send_after_commit(session: Session, mail_ids: list[int]) -> None:
    """Enqueue `send_mail` for these ids once the session commits (never for a rolled-back one)."""
    if not mail_ids:
        return
    session.info.setdefault(_IDS_KEY, []).extend(mail_ids)
    from common.db import run_after_commit

    def _send(committed: Session) -> None:
        enqueue_send(committed.info.pop(_IDS_KEY, []))

    def _forget(rolled_back: Session) -> None:
        rolled_back.info.pop(_IDS_KEY, None)

    run_after_commit(session, _send, on_rollback=_forget, key=_HOOK_KEY)


def enqueue_send(mail_ids: list[int], countdown: float | None = None) -> bool:
    """Hand mails to the email queue; a broker that is down only delays them (the sweep re-sends)."""
    if not mail_ids:
        return True
    from common.events.broker import app

    try:
        app.send_task(
            SEND_TASK, args=[list(mail_ids)], queue=Queue.EMAIL.value, countdown=countdown, retry=False
        )
        return True
    except Exception as exc:
        log.warning("could not enqueue mails %s (the sweep will): %s", mail_ids, exc)
        return False


def claim(session: Session, mail_id: int, now: datetime | None = None) -> MailOutbox | None:
    """PENDING (or SENDING with a lapsed lease) -> SENDING with a lease; None when not ours to send."""
    settings = get_settings()
    now = now or utcnow()
    lease = timedelta(seconds=max(60.0, 3 * settings.smtp_timeout_seconds))
    result = session.execute(
        update(MailOutbox)
        .where(
            MailOutbox.id == mail_id,
            MailOutbox.state.in_([MailState.PENDING, MailState.SENDING]),
            MailOutbox.next_attempt_at <= now,
        )
        .values(state=MailState.SENDING, attempts=MailOutbox.attempts + 1, next_attempt_at=now + lease)
        .execution_options(synchronize_session=False)
    )
    session.commit()
    if result.rowcount != 1:  # type: ignore[attr-defined]
        return None
    return session.get(MailOutbox, mail_id, populate_existing=True)


def mark_sent(session: Session, mail_id: int) -> None:
    session.execute(
        update(MailOutbox)
        .where(MailOutbox.id == mail_id)
        .values(state=MailState.SENT, sent_at=utcnow(), last_error=None)
        .execution_options(synchronize_session=False)
    )
    session.commit()


def retry_delay(attempts: int) -> float:
    """Seconds before the next try after `attempts` failed ones: doubling, at most an hour."""
    base = get_settings().mail_retry_seconds
    return float(min(base * 2 ** max(attempts - 1, 0), 3600.0))


def mark_refused(session: Session, mail_id: int, attempts: int, error: str) -> float | None:
    """Back to PENDING with a backoff, or FAILED after the last attempt; returns the delay."""
    settings = get_settings()
    if attempts >= settings.mail_max_attempts:
        values: dict[str, Any] = {"state": MailState.FAILED, "last_error": error[:4000]}
        delay = None
    else:
        delay = retry_delay(attempts)
        values = {
            "state": MailState.PENDING,
            "last_error": error[:4000],
            "next_attempt_at": utcnow() + timedelta(seconds=delay),
        }
    session.execute(
        update(MailOutbox)
        .where(MailOutbox.id == mail_id, MailOutbox.state == MailState.SENDING)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    session.commit()
    return delay


def sweep(session: Session, now: datetime | None = None) -> list[int]:
    """Mails a lost task left behind: PENDING and due for a while, or SENDING with a lapsed lease.

    They are made due now (so the sweep hands each over at most once per
    MAIL_REQUEUE_SECONDS, however long the workers are away) and their ids returned.
    """
    now = now or utcnow()
    waited = now - timedelta(seconds=get_settings().mail_requeue_seconds)
    ids = list(
        session.scalars(
            select(MailOutbox.id)
            .where(
                or_(
                    (MailOutbox.state == MailState.PENDING) & (MailOutbox.next_attempt_at <= waited),
                    (MailOutbox.state == MailState.SENDING) & (MailOutbox.next_attempt_at <= now),
                )
            )
            .order_by(MailOutbox.id)
            .limit(SWEEP_BATCH)
            .with_for_update(skip_locked=True)
        )
    )
    if ids:
        session.execute(
            update(MailOutbox)
            .where(MailOutbox.id.in_(ids))
            .values(state=MailState.PENDING, next_attempt_at=now)
            .execution_options(synchronize_session=False)
        )
    return ids
