"""LOW_STOCK_ALERT mails: digest items gathered per user, one digest mail per user when the period ends."""

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from common.config import get_settings
from common.db import insert_rows
from common.models import (
    EventLog,
    InventoryItem,
    MailDigestItem,
    MailKind,
    MailOutbox,
    MailState,
    Notification,
    Part,
    Role,
    Supplier,
    User,
    utcnow,
)
from common.services.mail.delivery import send_after_commit
from common.services.mail.holding import held_until, log_held
from common.services.mail.rendering import DigestLine, new_message_id, render_digest

DIGEST_BATCH = 200


def record_digest_items(session: Session, alerts: list[tuple[EventLog, set[int]]]) -> None:
    """Each LOW_STOCK_ALERT joins its users' open digests, or opens one due a period from now."""
    stock = _stock_rows_the_alerts_do_not_describe(session, alerts)
    now = utcnow()
    new_period_ends = now + timedelta(seconds=get_settings().low_stock_digest_seconds)
    open_until = _open_periods_end(session, {u for _, users in alerts for u in users})
    rows = []
    for event, users in alerts:
        alerted = _alerted_stock(event, stock.get(event.entity_id))
        if alerted is None:
            continue  # the stock row is gone and the event does not say what it was
        for user_id in sorted(users):
            # The user's first pending alert opened the period; later ones join it.
            due = open_until.setdefault(user_id, new_period_ends)
            rows.append(
                {"user_id": user_id, "event_id": event.id, **alerted, "created_at": now, "due_at": due}
            )
    if rows:
        # One statement for all (psycopg2's executemany would run one per row: 0.27 s for an
        # alert told to 1,000 admins).
        table = MailDigestItem.__table__
        insert_rows(session, table, rows, skip_conflicts_on=("event_id", "user_id"))  # type: ignore[arg-type]


def _stock_rows_the_alerts_do_not_describe(
    session: Session, alerts: list[tuple[EventLog, set[int]]]
) -> dict[int, InventoryItem]:
    """The stock rows of alerts whose metadata lacks the supplier or the part (older events)."""
    missing = {e.entity_id for e, _ in alerts if not {"supplier_id", "part_id"} <= e.event_metadata.keys()}
    if not missing:
        return {}
    return {i.id: i for i in session.scalars(select(InventoryItem).where(InventoryItem.id.in_(missing)))}


def _open_periods_end(session: Session, user_ids: set[int]) -> dict[int, datetime]:
    """When each user's open digest period ends (the due time of the user's pending items)."""
    return dict(
        session.execute(
            select(MailDigestItem.user_id, func.min(MailDigestItem.due_at))
            .where(MailDigestItem.user_id.in_(user_ids), MailDigestItem.mail_id.is_(None))
            .group_by(MailDigestItem.user_id)
        ).all()
    )


def _alerted_stock(event: EventLog, item: InventoryItem | None) -> dict[str, Any] | None:
    """Supplier, part and levels as the alert says them, else as the stock row has them; None if unknown."""
    meta = event.event_metadata
    supplier_id = meta.get("supplier_id") or (item.supplier_id if item else None)
    part_id = meta.get("part_id") or (item.part_id if item else None)
    if supplier_id is None or part_id is None:
        return None
    quantity = meta.get("quantity", item.quantity if item else 0)
    threshold = meta.get("low_stock_threshold", item.low_stock_threshold if item else None)
    return {
        "supplier_id": int(supplier_id),
        "part_id": int(part_id),
        "quantity": int(quantity),
        "low_stock_threshold": int(threshold) if threshold is not None else None,
    }


def write_due_digests(session: Session, now: datetime | None = None) -> list[int]:
    """Turn every period that has ended into one digest mail per user; returns the new mail ids.

    The caller commits; items are locked (SKIP LOCKED), so two beat-driven runs
    never write the same digest twice.
    """
    now = now or utcnow()
    created: list[int] = []
    held: list[tuple[int, int, str, datetime]] = []
    user_ids = _users_with_due_digests(session, now)
    until = held_until(session, user_ids)  # quiet hours (issue 25)
    for user_id in user_ids:
        items = _lock_due_items(session, user_id, now)
        if not items:
            continue
        user = session.get(User, user_id)
        if user is None or not user.is_active:
            session.execute(delete(MailDigestItem).where(MailDigestItem.id.in_([i.id for i in items])))
            continue
        opening = until.get(user_id)
        if opening is not None and _holds_a_critical_alert(session, items):
            opening = None  # a digest holding a critical alert is never held
        mail_id = _write_digest_mail(session, user, items, now, opening)
        if opening is None:
            created.append(mail_id)
        else:
            held.append((mail_id, user_id, user.email, opening))
    log_held(held)
    send_after_commit(session, created)
    return created + [h[0] for h in held]


def _holds_a_critical_alert(session: Session, items: list[MailDigestItem]) -> bool:
    """Whether any of the items' alerts was notified as critical (every copy has one severity)."""
    event_ids = {i.event_id for i in items if i.event_id is not None}
    if not event_ids:
        return False
    found = session.scalar(
        select(Notification.id)
        .where(Notification.event_id.in_(event_ids), Notification.severity == "critical")
        .limit(1)
    )
    return found is not None


def _users_with_due_digests(session: Session, now: datetime) -> list[int]:
    return list(
        session.scalars(
            select(MailDigestItem.user_id)
            .where(MailDigestItem.mail_id.is_(None), MailDigestItem.due_at <= now)
            .group_by(MailDigestItem.user_id)
            .order_by(MailDigestItem.user_id)
            .limit(DIGEST_BATCH)
        )
    )


def _lock_due_items(session: Session, user_id: int, now: datetime) -> list[MailDigestItem]:
    """The user's due items no other run holds, oldest first, locked until the caller commits."""
    return list(
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


def _write_digest_mail(
    session: Session,
    user: User,
    items: list[MailDigestItem],
    now: datetime,
    hold_until: datetime | None = None,
) -> int:
    """One PENDING (or HELD until `hold_until`) digest mail for these items, which point at it."""
    rendered = render_digest(
        digest_lines(session, items),
        name_suppliers=user.role == Role.ADMIN,
        full_name=user.full_name,
        locale=user.locale,  # issue 22: null mails in en
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
        state=MailState.PENDING if hold_until is None else MailState.HELD,
        attempts=0,
        next_attempt_at=now if hold_until is None else hold_until,
        created_at=now,
        not_before=hold_until,
    )
    session.add(mail)
    session.flush()
    session.execute(
        update(MailDigestItem)
        .where(MailDigestItem.id.in_([i.id for i in items]))
        .values(mail_id=mail.id)
        .execution_options(synchronize_session=False)
    )
    return mail.id


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
