"""E-mail (CONTRACT section 6): which notification is mailed to whom, recorded before it is sent.

The pipeline calls record_mails() in the transaction that writes the
notification rows. A mail is a row in mail_outbox (unique per event and user,
so a replayed or redelivered event never writes a second one); LOW_STOCK_ALERT
mails are gathered as digest items and written as one digest per user when the
period the user's first alert opened ends. After the commit, the new mails'
ids are handed to the `send_mail` task on the `email` queue; the beat sweep
hands over again whatever a lost task left behind, so a broker that lost its
queue delays mail and never loses it.

Sending state: PENDING (send at or after next_attempt_at) -> SENDING (claimed;
the lease ends at next_attempt_at) -> SENT, or back to PENDING with a backoff
after a refusal, or FAILED after MAIL_MAX_ATTEMPTS.
"""

import html
import logging
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parseaddr
from typing import Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import Session

from common.config import get_settings
from common.db import insert_on_conflict
from common.events.types import EventType, Queue
from common.models import (
    EventLog,
    InventoryItem,
    MailDigestItem,
    MailKind,
    MailOutbox,
    MailState,
    Part,
    Role,
    Supplier,
    User,
    utcnow,
)
from common.services.preferences import email_recipients

log = logging.getLogger(__name__)

SEND_TASK = "send_mail"
SWEEP_BATCH = 500
DIGEST_BATCH = 200


def full_url(link: str | None) -> str | None:
    """PUBLIC_URL + a notification's link (`/orders/42`)."""
    if not link:
        return None
    return get_settings().public_base_url + (link if link.startswith("/") else f"/{link}")


def new_message_id(prefix: str) -> str:
    """A Message-ID decided when the mail is recorded, so every retry sends the same one."""
    domain = parseaddr(get_settings().mail_from)[1].rpartition("@")[2] or "partpulse.local"
    return f"<{prefix}.{secrets.token_hex(6)}@{domain}>"


# ---------------------------------------------------------------- rendering


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


def _footer_text() -> str:
    return (
        "\n-- \nPartPulse notifications. Choose which mails you get: "
        f"{get_settings().public_base_url}/settings\n"
    )


def _page(title: str, body: str) -> str:
    settings_url = html.escape(f"{get_settings().public_base_url}/settings")
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title></head>\n"
        '<body style="font-family:Arial,Helvetica,sans-serif;color:#1f2933;line-height:1.5">\n'
        f'<h1 style="font-size:20px;margin:0 0 12px">{html.escape(title)}</h1>\n{body}\n'
        '<p style="color:#52606d;font-size:12px;margin-top:24px">PartPulse notifications. '
        f'<a href="{settings_url}">Choose which mails you get</a>.</p>\n</body></html>\n'
    )


def render_single(title: str, message: str, link: str | None, full_name: str | None = None) -> Rendered:
    """Subject = the title; body = the message and the link as a full URL."""
    url = full_url(link)
    greeting = f"Hello {full_name},\n\n" if full_name else ""
    text = f"{greeting}{message}\n"
    if url:
        text += f"\n{url}\n"
    text += _footer_text()
    body = f"<p>{html.escape(greeting.strip())}</p>\n" if full_name else ""
    body += f"<p>{html.escape(message)}</p>\n"
    if url:
        body += f'<p><a href="{html.escape(url)}">{html.escape(url)}</a></p>'
    return Rendered(title, text, _page(title, body))


@dataclass(frozen=True)
class DigestLine:
    part_id: int
    part_name: str
    sku: str
    # (supplier name, quantity, threshold), one per supplier whose stock of the part is low
    stock: list[tuple[str, int, int | None]]


def render_digest(lines: list[DigestLine], *, name_suppliers: bool, full_name: str | None = None) -> Rendered:
    """`Low stock: {n} parts`, each part once; an admin's digest names the supplier with each part."""
    subject = f"Low stock: {len(lines)} parts"
    intro = "These parts went below their low-stock threshold:"
    text_lines: list[str] = []
    html_items: list[str] = []
    for line in lines:
        levels = []
        for supplier, quantity, threshold in line.stock:
            level = f"{quantity} remaining" + (f" (threshold {threshold})" if threshold is not None else "")
            levels.append(f"{supplier}: {level}" if name_suppliers else level)
        url = full_url(f"/inventory/{line.part_id}") or ""
        text_lines.append(f"- {line.part_name} ({line.sku}): {'; '.join(levels)}\n  {url}")
        html_items.append(
            f'<li><a href="{html.escape(url)}">{html.escape(line.part_name)}</a> '
            f"({html.escape(line.sku)}): {html.escape('; '.join(levels))}</li>"
        )
    greeting = f"Hello {full_name},\n\n" if full_name else ""
    text = f"{greeting}{intro}\n\n" + "\n".join(text_lines) + "\n" + _footer_text()
    body = f"<p>{html.escape(greeting.strip())}</p>\n" if full_name else ""
    body += f"<p>{html.escape(intro)}</p>\n<ul>\n" + "\n".join(html_items) + "\n</ul>"
    return Rendered(subject, text, _page(subject, body))


# ---------------------------------------------------------------- recording


@dataclass(frozen=True)
class MailEntry:
    """One handled event's notice, as the pipeline has it."""

    event: EventLog
    title: str
    message: str
    link: str | None
    user_ids: frozenset[int]


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
    wanted: dict[int, set[int]] = {}
    by_type: dict[str, list[MailEntry]] = {}
    for entry in entries:
        by_type.setdefault(entry.event.event_type, []).append(entry)
    for event_type, group in by_type.items():
        allowed = email_recipients(session, event_type, {u for e in group for u in e.user_ids})
        for entry in group:
            wanted[entry.event.id] = set(entry.user_ids) & allowed
    digest = [e for e in entries if e.event.event_type == EventType.LOW_STOCK_ALERT and wanted[e.event.id]]
    single = [e for e in entries if e.event.event_type != EventType.LOW_STOCK_ALERT and wanted[e.event.id]]
    if digest:
        record_digest_items(session, [(e.event, wanted[e.event.id]) for e in digest])
    if not single:
        return []
    users = {
        row.id: row
        for row in session.execute(
            select(User.id, User.email, User.full_name).where(
                User.id.in_({u for e in single for u in wanted[e.event.id]}), User.is_active
            )
        )
    }
    now = utcnow()
    rows = []
    for entry in single:
        for user_id in sorted(wanted[entry.event.id] & users.keys()):
            user = users[user_id]
            rendered = render_single(entry.title, entry.message, entry.link, user.full_name)
            rows.append(
                {
                    "user_id": user_id,
                    "to_address": user.email,
                    "kind": MailKind.SINGLE.value,
                    "event_id": entry.event.id,
                    "subject": rendered.subject[:300],
                    "body_text": rendered.text,
                    "body_html": rendered.html,
                    "message_id": new_message_id(f"mail.{entry.event.id}.{user_id}"),
                    "state": MailState.PENDING.value,
                    "attempts": 0,
                    "next_attempt_at": now,
                    "created_at": now,
                }
            )
    if not rows:
        return []
    statement = (
        insert_on_conflict(session, MailOutbox)
        .on_conflict_do_nothing(index_elements=["event_id", "user_id"])
        .returning(MailOutbox.id)
    )
    new_ids = list(session.scalars(statement, rows))
    send_after_commit(session, new_ids)
    return new_ids


def record_digest_items(session: Session, alerts: list[tuple[EventLog, set[int]]]) -> None:
    """Each LOW_STOCK_ALERT joins its users' open digests, or opens one due a period from now."""
    missing = {e.entity_id for e, _ in alerts if not {"supplier_id", "part_id"} <= e.event_metadata.keys()}
    stock = {}
    if missing:
        stock = {i.id: i for i in session.scalars(select(InventoryItem).where(InventoryItem.id.in_(missing)))}
    user_ids = {u for _, users in alerts for u in users}
    now = utcnow()
    new_period_ends = now + timedelta(seconds=get_settings().low_stock_digest_seconds)
    open_until = dict(
        session.execute(
            select(MailDigestItem.user_id, func.min(MailDigestItem.due_at))
            .where(MailDigestItem.user_id.in_(user_ids), MailDigestItem.mail_id.is_(None))
            .group_by(MailDigestItem.user_id)
        ).all()
    )
    rows = []
    for event, users in alerts:
        meta = event.event_metadata
        item = stock.get(event.entity_id)
        supplier_id = meta.get("supplier_id") or (item.supplier_id if item else None)
        part_id = meta.get("part_id") or (item.part_id if item else None)
        if supplier_id is None or part_id is None:
            continue  # the stock row is gone and the event does not say what it was
        quantity = meta.get("quantity", item.quantity if item else 0)
        threshold = meta.get("low_stock_threshold", item.low_stock_threshold if item else None)
        for user_id in sorted(users):
            # The user's first pending alert opened the period; later ones join it.
            due = open_until.setdefault(user_id, new_period_ends)
            rows.append(
                {
                    "user_id": user_id,
                    "event_id": event.id,
                    "supplier_id": int(supplier_id),
                    "part_id": int(part_id),
                    "quantity": int(quantity),
                    "low_stock_threshold": int(threshold) if threshold is not None else None,
                    "created_at": now,
                    "due_at": due,
                }
            )
    if rows:
        statement = insert_on_conflict(session, MailDigestItem).on_conflict_do_nothing(
            index_elements=["event_id", "user_id"]
        )
        session.execute(statement, rows)


def write_due_digests(session: Session, now: datetime | None = None) -> list[int]:
    """Turn every period that has ended into one digest mail per user; returns the new mail ids.

    The caller commits; items are locked (SKIP LOCKED), so two beat-driven runs
    never write the same digest twice.
    """
    now = now or utcnow()
    user_ids = list(
        session.scalars(
            select(MailDigestItem.user_id)
            .where(MailDigestItem.mail_id.is_(None), MailDigestItem.due_at <= now)
            .group_by(MailDigestItem.user_id)
            .order_by(MailDigestItem.user_id)
            .limit(DIGEST_BATCH)
        )
    )
    created: list[int] = []
    for user_id in user_ids:
        items = list(
            session.scalars(
                select(MailDigestItem)
                .where(
                    MailDigestItem.user_id == user_id,
                    MailDigestItem.mail_id.is_(None),
                    MailDigestItem.due_at <= now,
                )
                .order_by(MailDigestItem.id)
                .with_for_update(skip_locked=True)
            )
        )
        if not items:
            continue
        user = session.get(User, user_id)
        if user is None or not user.is_active:
            session.execute(delete(MailDigestItem).where(MailDigestItem.id.in_([i.id for i in items])))
            continue
        rendered = render_digest(
            digest_lines(session, items), name_suppliers=user.role == Role.ADMIN, full_name=user.full_name
        )
        mail = MailOutbox(
            user_id=user.id,
            to_address=user.email,
            kind=MailKind.DIGEST,
            event_id=None,
            subject=rendered.subject,
            body_text=rendered.text,
            body_html=rendered.html,
            message_id=new_message_id(f"digest.{user.id}.{items[0].id}"),
            state=MailState.PENDING,
            attempts=0,
            next_attempt_at=now,
            created_at=now,
        )
        session.add(mail)
        session.flush()
        session.execute(
            update(MailDigestItem)
            .where(MailDigestItem.id.in_([i.id for i in items]))
            .values(mail_id=mail.id)
            .execution_options(synchronize_session=False)
        )
        created.append(mail.id)
    send_after_commit(session, created)
    return created


def digest_lines(session: Session, items: list[MailDigestItem]) -> list[DigestLine]:
    """Each part once, in the order its first alert came; per supplier the latest level."""
    part_ids = {i.part_id for i in items}
    supplier_ids = {i.supplier_id for i in items}
    parts = {p.id: p for p in session.scalars(select(Part).where(Part.id.in_(part_ids)))}
    suppliers = {s.id: s for s in session.scalars(select(Supplier).where(Supplier.id.in_(supplier_ids)))}
    latest: dict[int, dict[int, MailDigestItem]] = {}
    for item in items:  # ordered by id: a later alert of the same stock row replaces the earlier
        latest.setdefault(item.part_id, {})[item.supplier_id] = item
    lines = []
    for part_id, by_supplier in latest.items():
        part = parts.get(part_id)
        stock = [
            (
                suppliers[sid].name if sid in suppliers else f"supplier {sid}",
                row.quantity,
                row.low_stock_threshold,
            )
            for sid, row in sorted(by_supplier.items())
        ]
        lines.append(
            DigestLine(
                part_id=part_id,
                part_name=part.name if part else f"part {part_id}",
                sku=part.sku if part else "",
                stock=stock,
            )
        )
    return lines


# ---------------------------------------------------------------- handing over to the email queue

_IDS_KEY = "partpulse_mail_ids"
_HOOK_KEY = "partpulse_mail_hook"


def send_after_commit(session: Session, mail_ids: list[int]) -> None:
    """Enqueue `send_mail` for these ids once the session commits (never for a rolled-back one)."""
    if not mail_ids:
        return
    session.info.setdefault(_IDS_KEY, []).extend(mail_ids)
    if session.info.get(_HOOK_KEY):
        return
    session.info[_HOOK_KEY] = True
    from sqlalchemy import event as sa_event

    def _after_commit(committed: Session) -> None:
        committed.info.pop(_HOOK_KEY, None)
        enqueue_send(committed.info.pop(_IDS_KEY, []))

    def _after_rollback(rolled_back: Session) -> None:
        rolled_back.info.pop(_HOOK_KEY, None)
        rolled_back.info.pop(_IDS_KEY, None)

    sa_event.listen(session, "after_commit", _after_commit, once=True)
    sa_event.listen(session, "after_rollback", _after_rollback, once=True)


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


# ---------------------------------------------------------------- sending state


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
