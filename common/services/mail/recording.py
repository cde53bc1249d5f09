"""Which notification is mailed to whom, recorded in the worker's transaction that writes the notices."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row
from sqlalchemy.orm import Session

from common.db import insert_on_conflict
from common.events.kinds import default_severity
from common.events.types import EventType
from common.i18n.messages import localised
from common.i18n.zones import Reader, reader_of_row, select_with_reader
from common.models import EventLog, MailKind, MailOutbox, MailState, User, utcnow
from common.services.mail.delivery import send_after_commit
from common.services.mail.digests import record_digest_items
from common.services.mail.holding import held_until, hold, log_held
from common.services.mail.rendering import new_message_id, render_single
from common.services.preferences import email_recipients


@dataclass(frozen=True)
class MailEntry:
    """One handled event's notice, as the pipeline has it."""

    event: EventLog
    title: str
    message: str
    link: str | None
    user_ids: frozenset[int]
    # issue 22: the catalogue entry each recipient's mail is rendered from (None: the English text).
    key: str | None = None
    params: dict[str, Any] | None = None
    # The notification's severity; None: the type's default. A critical mail is never held.
    severity: str | None = None

    @property
    def critical(self) -> bool:
        return (self.severity or default_severity(self.event.event_type)) == "critical"


def record_mails(
    session: Session,
    event: EventLog,
    notice_title: str,
    notice_message: str,
    link: str | None,
    user_ids: Iterable[int],
) -> list[int]:
    """Record the event's mails in the caller's transaction; returns the ids of new mails.

    `user_ids` are the notice's recipients (before any in-app muting: muting a
    type in-app does not stop its mail).
    """
    entry = MailEntry(event, notice_title, notice_message, link, frozenset(user_ids))
    return record_mails_batch(session, [entry])


def record_mails_batch(session: Session, entries: list[MailEntry]) -> list[int]:
    """Every mail of a batch of handled events with a fixed number of statements.

    One preference lookup per event type, one query for the addresses, one
    INSERT ... ON CONFLICT DO NOTHING for the single mails (unique per event
    and user: a replayed or redelivered event writes nothing) and one for the
    low-stock digest items. The new mails are handed to `send_mail` after commit.
    """
    wanted = _recipients_who_want_mail(session, entries)
    digest = [e for e in entries if e.event.event_type == EventType.LOW_STOCK_ALERT and wanted[e.event.id]]
    single = [e for e in entries if e.event.event_type != EventType.LOW_STOCK_ALERT and wanted[e.event.id]]
    if digest:
        record_digest_items(session, [(e.event, wanted[e.event.id]) for e in digest])
    if not single:
        return []
    rows = _single_mail_rows(session, single, wanted)
    if not rows:
        return []
    # Quiet hours (issue 25): outside the user's window a mail is held, unless critical.
    critical_events = {e.event.id for e in single if e.critical}
    until = held_until(session, {r["user_id"] for r in rows if r["event_id"] not in critical_events})
    hold(rows, until, [i for i, r in enumerate(rows) if r["event_id"] in critical_events])
    statement = (
        insert_on_conflict(session, MailOutbox)
        .on_conflict_do_nothing(index_elements=["event_id", "user_id"])
        .returning(
            MailOutbox.id, MailOutbox.user_id, MailOutbox.to_address, MailOutbox.not_before, MailOutbox.state
        )
    )
    new = list(session.execute(statement, rows))
    log_held((r.id, r.user_id, r.to_address, r.not_before) for r in new if r.state == MailState.HELD)
    send_after_commit(session, [r.id for r in new if r.state != MailState.HELD])
    return [r.id for r in new]


def _recipients_who_want_mail(session: Session, entries: list[MailEntry]) -> dict[int, set[int]]:
    """Per event id, the notice's recipients whose e-mail preferences take its type (one lookup per type)."""
    wanted: dict[int, set[int]] = {}
    by_type: dict[str, list[MailEntry]] = {}
    for entry in entries:
        by_type.setdefault(entry.event.event_type, []).append(entry)
    for event_type, group in by_type.items():
        allowed = email_recipients(session, event_type, {u for e in group for u in e.user_ids})
        for entry in group:
            wanted[entry.event.id] = set(entry.user_ids) & allowed
    return wanted


def _single_mail_rows(
    session: Session, entries: list[MailEntry], wanted: dict[int, set[int]]
) -> list[dict[str, Any]]:
    """One PENDING outbox row per entry and active recipient, rendered for that user."""
    wanted_ids = {u for e in entries for u in wanted[e.event.id]}
    # issue 22: with each one's language and zone, in the same query
    query = select_with_reader(User.id, User.email, User.full_name)
    users = {row.id: row for row in session.execute(query.where(User.id.in_(wanted_ids), User.is_active))}
    now = utcnow()
    return [
        _single_mail_row(entry, users[user_id], reader_of_row(users[user_id]), now)
        for entry in entries
        for user_id in sorted(wanted[entry.event.id] & users.keys())
    ]


def _single_mail_row(entry: MailEntry, user: Row[Any], reader: Reader, now: datetime) -> dict[str, Any]:
    """The outbox row of a single mail: the notice rendered for this user (language, zone), due now."""
    title, message = localised(
        entry.title, entry.message, entry.key, entry.params, reader.locale, reader.zone
    )
    rendered = render_single(title, message, entry.link, user.full_name, reader.locale)
    return {
        "user_id": user.id,
        "to_address": user.email,
        "kind": MailKind.SINGLE.value,
        "event_id": entry.event.id,
        "subject": rendered.subject[:300],
        "body_text": rendered.text,
        "body_html": rendered.html,
        "message_id": new_message_id(f"mail.{entry.event.id}.{user.id}"),
        "state": MailState.PENDING.value,
        "attempts": 0,
        "next_attempt_at": now,
        "created_at": now,
        "not_before": None,
    }
