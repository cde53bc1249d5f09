"""Quiet hours (issue 25): mails due outside a user's e-mail window are held, then released.

A mail recorded while its user's effective window (common/services/schedule.py)
is closed is written HELD with `not_before` = the window's next opening; the
`release_held_mail` beat task (the `periodic` queue) claims the due ones by the
partial index ix_mail_outbox_held, with SKIP LOCKED, so any number of beat or
worker restarts releases each once: one held mail of a user goes as it is,
several become one mail `{n} updates while you were away` (the originals
MERGED into it). Critical mails, and digests holding a critical alert, are
never held; in-app delivery never waits on any of this.
"""

import html
import logging
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from common import clock
from common.i18n.messages import DEFAULT_LOCALE, locale_or_default, mail_text
from common.i18n.zones import user_zones
from common.models import MailKind, MailOutbox, MailState, User, utcnow
from common.services.mail.delivery import send_after_commit
from common.services.mail.rendering import _greeted, new_message_id
from common.services.quiet_hours import recipient, windows

log = logging.getLogger(__name__)

RELEASE_BATCH = 500
# What deciding a window reads of a user: plain rows, not ORM objects (a fan-out reads thousands).
_RECIPIENT_COLUMNS = select(
    User.id, User.email_schedule, User.follow_organisation_calendar, User.factory_id, User.supplier_id
)
_FOOTER = "\n-- \n"


def held_until(session: Session, user_ids: Iterable[int], now: datetime | None = None) -> dict[int, datetime]:
    """The users among user_ids whose window is closed now, with its next opening (two queries at most)."""
    ids = set(user_ids)
    if not ids:
        return {}
    now = now or clock.now()
    zones = user_zones(session, ids)
    users = [
        recipient(u, zones[u.id].key if u.id in zones else None)
        for u in session.execute(_RECIPIENT_COLUMNS.where(User.id.in_(ids)))
    ]
    result = {}
    for user_id, window in windows(session, users, now).items():
        opening = window.next_opening(now)
        if opening is not None and opening > now:
            result[user_id] = opening
    return result


def hold(rows: list[dict[str, Any]], until: dict[int, datetime], critical: Iterable[int] = ()) -> None:
    """Mark the outbox rows (about to be inserted) of users outside their window HELD; not `critical` rows.

    `critical` are indexes into rows that must go at once.
    """
    urgent = set(critical)
    for index, row in enumerate(rows):
        opening = until.get(row["user_id"])
        if opening is None or index in urgent:
            continue
        row["state"] = MailState.HELD.value
        row["not_before"] = opening
        row["next_attempt_at"] = opening


def log_held(mails: Iterable[tuple[int, int, str, datetime]]) -> None:
    """One line per held mail: (mail id, user id, address, until)."""
    for mail_id, user_id, address, until in mails:
        log.info(
            "mail %s to %s held until %s (outside user %s's e-mail window)",
            mail_id,
            address,
            until.isoformat(),
            user_id,
        )


def release_due(session: Session, now: datetime | None = None) -> list[int]:
    """Release the held mails whose window opened; the caller commits (the mails go after it)."""
    now = now or clock.now()
    due = list(
        session.scalars(
            select(MailOutbox)
            .where(MailOutbox.state == MailState.HELD, MailOutbox.not_before <= now)
            .order_by(MailOutbox.user_id, MailOutbox.id)
            .limit(RELEASE_BATCH)
            .with_for_update(skip_locked=True)
        )
    )
    if not due:
        return []
    by_user: dict[int, list[MailOutbox]] = {}
    for row in due:
        by_user.setdefault(row.user_id, []).append(row)
    people = {
        row.id: (row.full_name, locale_or_default(row.locale))
        for row in session.execute(
            select(User.id, User.full_name, User.locale).where(User.id.in_(list(by_user)))
        )
    }
    sendable = utcnow()  # the send path's own clock (claim compares with it)
    released: list[int] = []
    for user_id, rows in by_user.items():
        if len(rows) == 1:
            session.execute(
                update(MailOutbox)
                .where(MailOutbox.id == rows[0].id)
                .values(state=MailState.PENDING, next_attempt_at=sendable)
                .execution_options(synchronize_session=False)
            )
            released.append(rows[0].id)
        else:
            full_name, locale = people.get(user_id, (None, DEFAULT_LOCALE))
            released.append(_bundle(session, user_id, full_name, locale, rows, sendable))
    log.info("released %d held mails as %d mails", len(due), len(released))
    send_after_commit(session, released)
    return released


def _inner_text(body: str, greeting: str | None) -> str:
    """A recorded mail's text without its greeting and footer."""
    text = body.split(_FOOTER, 1)[0]
    if greeting and text.startswith(greeting):
        text = text[len(greeting) :]
    return text.strip()


def _bundle(
    session: Session, user_id: int, full_name: str | None, locale: str, rows: list[MailOutbox], now: datetime
) -> int:
    """One mail `{n} updates while you were away` (in the user's locale) for these held mails."""
    subject = mail_text("held_subject", locale, n=len(rows))
    greeting = mail_text("greeting", locale, name=full_name) if full_name else None
    parts = [(row.subject, _inner_text(row.body_text, greeting)) for row in rows]
    text = "\n\n".join(f"{title}\n{'-' * min(len(title), 60)}\n{inner}" for title, inner in parts) + "\n"
    body = "\n".join(
        f'<h2 style="font-size:16px;margin:16px 0 4px">{html.escape(title)}</h2>'
        f"<p>{html.escape(inner).replace(chr(10), '<br>')}</p>"
        for title, inner in parts
    )
    rendered = _greeted(subject, full_name, text, body, locale)
    mail = MailOutbox(
        user_id=user_id,
        to_address=rows[-1].to_address,
        kind=MailKind.BUNDLE,
        event_id=None,
        subject=subject,
        body_text=rendered.text,
        body_html=rendered.html,
        message_id=new_message_id(f"held.{user_id}.{rows[0].id}"),
        state=MailState.PENDING,
        attempts=0,
        next_attempt_at=now,
        created_at=now,
        not_before=max(row.not_before or now for row in rows),
    )
    session.add(mail)
    session.flush()
    session.execute(
        update(MailOutbox)
        .where(MailOutbox.id.in_([row.id for row in rows]))
        .values(state=MailState.MERGED, merged_into_id=mail.id)
        .execution_options(synchronize_session=False)
    )
    return mail.id


def held_until_of_events(session: Session, event_ids: Iterable[int]) -> dict[int, datetime]:
    """Per event, the latest time one of its mails was held until (one query; the event_id index)."""
    ids = list(event_ids)
    if not ids:
        return {}
    rows = session.execute(
        select(MailOutbox.event_id, func.max(MailOutbox.not_before))
        .where(MailOutbox.event_id.in_(ids), MailOutbox.not_before.is_not(None))
        .group_by(MailOutbox.event_id)
    ).tuples()
    return {event_id: until for event_id, until in rows if event_id is not None and until is not None}
