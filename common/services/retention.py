"""Retention (CONTRACT section 8): what is older than RETENTION_DAYS and done with goes, in small batches.

Purged: PROCESSED events whose mails are all sent or failed, with the read or
archived notifications and the mail rows of them; sent or failed digest mails
with their items. Kept whatever their age: PENDING, QUEUED and FAILED events,
unread notifications (their `event_id` becomes NULL; their text, metadata and
link are their own, so they still render and count), order status history.

No count moves: only rows that are read or archived leave, and those count in
no unread dimension. Each batch is one short transaction; the events are
claimed with SKIP LOCKED, so a replay or a worker holding one is not waited for.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Delete, Select, delete, exists, or_, select
from sqlalchemy.orm import Session

from common.models import DeliveryState, EventLog, MailDigestItem, MailOutbox, MailState, Notification

# HELD (quiet hours) is still to go; MERGED went inside its bundle (self-contained).
_OPEN_MAIL = (MailState.PENDING, MailState.SENDING, MailState.HELD)
_DONE_MAIL = (MailState.SENT, MailState.FAILED, MailState.MERGED)


@dataclass
class Purged:
    events: int = 0
    notifications: int = 0
    mails: int = 0

    def __bool__(self) -> bool:
        return bool(self.events or self.notifications or self.mails)


def purge_batch(session: Session, *, now: datetime, days: int, batch: int) -> Purged:
    """One batch, in the caller's transaction (commit it before the next)."""
    cutoff = now - timedelta(days=days)
    purged = Purged()
    event_ids = list(session.scalars(_expired_events(cutoff, batch)))
    if event_ids:
        purged.notifications = _rowcount(
            session,
            delete(Notification).where(
                Notification.event_id.in_(event_ids), or_(Notification.is_read, Notification.archived)
            ),
        )
        session.execute(delete(MailDigestItem).where(MailDigestItem.event_id.in_(event_ids)))
        purged.mails = _rowcount(session, delete(MailOutbox).where(MailOutbox.event_id.in_(event_ids)))
        purged.events = _rowcount(session, delete(EventLog).where(EventLog.id.in_(event_ids)))
    digest_ids = list(
        session.scalars(
            select(MailOutbox.id)
            .where(MailOutbox.event_id.is_(None), MailOutbox.state.in_(_DONE_MAIL))
            .where(MailOutbox.created_at < cutoff)
            .order_by(MailOutbox.id)
            .limit(batch)
            .with_for_update(skip_locked=True)
        )
    )
    if digest_ids:
        # Items first: with their mail gone they would look unsent and go out again.
        session.execute(delete(MailDigestItem).where(MailDigestItem.mail_id.in_(digest_ids)))
        purged.mails += _rowcount(session, delete(MailOutbox).where(MailOutbox.id.in_(digest_ids)))
    return purged


def _expired_events(cutoff: datetime, batch: int) -> Select[Any]:
    open_mail = exists().where(MailOutbox.event_id == EventLog.id, MailOutbox.state.in_(_OPEN_MAIL))
    open_digest = (
        exists()
        .select_from(MailDigestItem)
        .where(MailDigestItem.event_id == EventLog.id)
        .where(
            or_(
                MailDigestItem.mail_id.is_(None),
                exists().where(MailOutbox.id == MailDigestItem.mail_id, MailOutbox.state.in_(_OPEN_MAIL)),
            )
        )
    )
    return (
        select(EventLog.id)
        .where(EventLog.state == DeliveryState.PROCESSED, EventLog.created_at < cutoff)
        .where(~open_mail, ~open_digest)
        .order_by(EventLog.id)
        .limit(batch)
        .with_for_update(of=EventLog, skip_locked=True)
    )


def _rowcount(session: Session, statement: Delete) -> int:
    result = session.execute(statement.execution_options(synchronize_session=False))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
