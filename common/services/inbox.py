"""The inbox, round two (issue 24; CONTRACT section 8): snooze and resurfacing, seen, order threads.

Every change of a user's counts goes through common/services/unread.py: a
snoozed row counts in no dimension (unread.contribution), so snoozing takes it
out of all of them in one change row and resurfacing puts it back in another.
"""

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, func, literal_column, not_, select, tuple_, update
from sqlalchemy.orm import Session

from common import clock
from common.config import get_settings
from common.events.kinds import SEVERITIES
from common.models import InventoryItem, Notification, Order, Part
from common.services.errors import Conflict, Invalid, NotFound
from common.services.inbox_query import SORT_KEY
from common.services.notifications import _counted, _own, read_rows
from common.services.pagination import decode_key_cursor, encode_key_cursor
from common.services.unread import Change, contribution, difference, record_changes

SNOOZE_MAX = timedelta(days=90)
SEEN_MAX_IDS = 500


# --- snooze ---------------------------------------------------------------


def snooze(
    session: Session, user_id: int, notification_id: int, until: datetime
) -> tuple[Notification, bool]:
    """Hide one of the user's notifications until `until` (SNOOZE_MIN_SECONDS to 90 days ahead).

    A time without a zone is UTC. An archived row is 409. Returns the row and
    whether it changed.
    """
    if until.tzinfo is None:
        until = until.replace(tzinfo=clock.now().tzinfo)
    now = clock.now()
    shortest = timedelta(seconds=get_settings().snooze_min_seconds)
    if until < now + shortest or until > now + SNOOZE_MAX:
        raise Invalid(f"until must be between {int(shortest.total_seconds())} seconds and 90 days from now")
    row = _own(session, user_id, notification_id)
    if row.archived:
        raise Conflict("An archived notification cannot be snoozed; unarchive it first")
    if row.snoozed_until == until:
        return row, False
    return _set_snooze(session, user_id, row, until), True


def unsnooze(session: Session, user_id: int, notification_id: int) -> tuple[Notification, bool]:
    """End a snooze now: the row is back in the list at its place (not resurfaced), as it was."""
    row = _own(session, user_id, notification_id)
    if row.snoozed_until is None:
        return row, False
    return _set_snooze(session, user_id, row, None), True


def _set_snooze(session: Session, user_id: int, row: Notification, until: datetime | None) -> Notification:
    """Set (or end) the snooze and record what it did to the counts."""
    before = _counted(row)
    row.snoozed_until = until
    record_changes(session, {user_id: difference(before, _counted(row))})
    session.flush()
    return row


# The columns the `notification` push needs (common.events.payloads.notification_payload).
_RESURFACED = (
    Notification.id,
    Notification.user_id,
    Notification.event_id,
    Notification.event_type,
    Notification.title,
    Notification.message,
    Notification.notification_metadata,
    Notification.link,
    Notification.is_read,
    Notification.archived,
    Notification.created_at,
    Notification.category,
    Notification.severity,
    Notification.seen,
    Notification.snoozed_until,
    Notification.resurfaced_at,
    Notification.position,
    Notification.message_key,
    Notification.message_params,
)


def resurface_due(session: Session, limit: int = 500) -> list[Any]:
    """The due snoozes (oldest first, up to `limit`) become unread rows at the top; returns them.

    Claimed by ix_notifications_snoozed_until with FOR UPDATE SKIP LOCKED, so
    two beats (or a slow run and the next) never take one row twice. A row
    takes a fresh position from the id sequence (PostgreSQL) or past the
    highest key (SQLite), is unread and unseen again, keeps its created_at. The
    caller commits, then publishes.
    """
    now = clock.now()
    due = list(
        session.scalars(
            select(Notification.id)
            .where(Notification.snoozed_until.isnot(None), Notification.snoozed_until <= now)
            .order_by(Notification.snoozed_until, Notification.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )
    if not due:
        return []
    if session.get_bind().dialect.name == "postgresql":
        position: Any = literal_column("nextval(pg_get_serial_sequence('notifications', 'id'))")
    else:  # one writer at a time: the next keys past the highest
        top = session.scalar(select(func.max(SORT_KEY))) or 0
        position = case({row_id: top + i for i, row_id in enumerate(due, start=1)}, value=Notification.id)
    rows = _resurface(session, due, now, position)
    changes: dict[int, Change] = {}
    for row in rows:
        changes.setdefault(row.user_id, Counter()).update(
            contribution(
                is_read=False, archived=False, seen=False, category=row.category, severity=row.severity
            )
        )
    record_changes(session, changes)  # each was snoozed: it counted in nothing before
    return sorted(rows, key=lambda r: r.id)


def _resurface(session: Session, ids: list[int], now: datetime, position: Any) -> list[Any]:
    statement = (
        update(Notification)
        # still snoozed: on SQLite (no row locks) the user may have ended the snooze meanwhile
        .where(Notification.id.in_(ids), Notification.snoozed_until.isnot(None))
        # unread and unseen again, at the top; created_at stays
        .values(snoozed_until=None, resurfaced_at=now, position=position)
        .values(is_read=False, read_at=None, seen=False)
        .returning(*_RESURFACED)
        .execution_options(synchronize_session=False)
    )
    return list(session.execute(statement).all())


# --- seen -----------------------------------------------------------------


def mark_seen(session: Session, user_id: int, ids: list[int]) -> list[int]:
    """The caller's rows among `ids` that were unseen become seen; returns their ids.

    Other users' ids are ignored. Split by whether a row counts as unread now
    (in the WHERE clause, re-checked on the newest row version), so the change
    of `unseen` is exact under concurrent writers.
    """
    if not 1 <= len(ids) <= SEEN_MAX_IDS:
        raise Invalid(f"ids takes 1 to {SEEN_MAX_IDS} notification ids")
    scope = (Notification.user_id == user_id, Notification.id.in_(set(ids)), Notification.seen.is_(False))
    counted = (~Notification.is_read, ~Notification.archived, Notification.snoozed_until.is_(None))
    change: Counter[str] = Counter()
    updated: list[int] = []
    for counts in (True, False):
        where = and_(*counted) if counts else not_(and_(*counted))
        rows = session.execute(
            update(Notification)
            .where(*scope, where)
            .values(seen=True)
            .returning(Notification.id)
            .execution_options(synchronize_session=False)
        ).all()
        updated += [r.id for r in rows]
        if counts:
            change["unseen"] -= len(rows)
    record_changes(session, {user_id: change})
    return sorted(updated)


# --- threads --------------------------------------------------------------

_RANK = {s: i for i, s in enumerate(SEVERITIES)}  # critical 0 ... low 3
_THREAD_ROWS = (
    Notification.archived.is_(False),
    Notification.snoozed_until.is_(None),
    Notification.entity_type.isnot(None),
    Notification.entity_id.isnot(None),
)


@dataclass(frozen=True)
class ThreadPage:
    items: list[dict[str, Any]]
    next_cursor: str | None
    limit: int


def threads(
    session: Session, user_id: int, *, limit: int, cursor: str | None, category: str | None
) -> ThreadPage:
    """One entry per entity the user has rows about, newest activity (latest position) first.

    Counts leave out archived and snoozed rows; `severity` is the most severe
    unread one (null when none is unread). Cursor pages by (latest position,
    entity), so a thread that moves up while the user pages is not repeated.
    """
    key = func.max(SORT_KEY)
    unread = ~Notification.is_read
    rank = case(*((Notification.severity == s, i) for s, i in _RANK.items()), else_=len(_RANK))
    query = (
        select(
            Notification.entity_type,
            Notification.entity_id,
            key.label("key"),
            func.count().label("count"),
            func.sum(case((unread, 1), else_=0)).label("unread_count"),
            func.min(case((unread, rank), else_=None)).label("rank"),
        )
        .where(Notification.user_id == user_id, *_THREAD_ROWS)
        .group_by(Notification.entity_type, Notification.entity_id)
    )
    if category is not None:
        query = query.where(Notification.category == category)
    if cursor is not None:
        after = decode_key_cursor(cursor, (int, str, int))
        query = query.having(tuple_(key, Notification.entity_type, Notification.entity_id) < tuple_(*after))
    order = (key.desc(), Notification.entity_type.desc(), Notification.entity_id.desc())
    groups: list[Any] = list(session.execute(query.order_by(*order).limit(limit + 1)).all())
    groups, more = groups[:limit], len(groups) > limit
    latest = _latest_rows(session, user_id, groups)
    statuses = _order_statuses(session, [g.entity_id for g in groups if g.entity_type == "order"])
    parts = _stock_names(session, [g.entity_id for g in groups if g.entity_type == "inventory"])
    items = [
        {
            "entity_type": g.entity_type,
            "entity_id": g.entity_id,
            "title": _thread_title(g.entity_type, g.entity_id, parts),
            "status": statuses.get(g.entity_id) if g.entity_type == "order" else None,
            "count": g.count,
            "unread_count": int(g.unread_count or 0),
            "severity": None if g.rank is None else SEVERITIES[g.rank],
            "latest": latest[g.entity_type, g.entity_id],
        }
        for g in groups
    ]
    next_cursor = None
    if more:
        last = groups[-1]
        next_cursor = encode_key_cursor(last.key, last.entity_type, last.entity_id)
    return ThreadPage(items, next_cursor, limit)


def _latest_rows(session: Session, user_id: int, groups: list[Any]) -> dict[tuple[str, int], Notification]:
    """The newest row of each thread, in one query (keys are per user, so a few rows at most)."""
    if not groups:
        return {}
    wanted = {(g.entity_type, g.entity_id): g.key for g in groups}
    rows = session.scalars(
        select(Notification)
        .where(Notification.user_id == user_id, SORT_KEY.in_(set(wanted.values())), *_THREAD_ROWS)
        .order_by(Notification.id)
    ).all()
    found: dict[tuple[str, int], Notification] = {}
    for row in rows:
        entity = (row.entity_type or "", row.entity_id or 0)
        if wanted.get(entity) == (row.position or row.id):
            found[entity] = row
    return found


def _order_statuses(session: Session, ids: list[int]) -> dict[int, str]:
    if not ids:
        return {}
    return dict(session.execute(select(Order.id, Order.status).where(Order.id.in_(ids))).tuples().all())


def _stock_names(session: Session, ids: list[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = session.execute(
        select(InventoryItem.id, Part.name)
        .join(Part, Part.id == InventoryItem.part_id)
        .where(InventoryItem.id.in_(ids))
    )
    return dict(rows.tuples().all())


def _thread_title(entity_type: str, entity_id: int, parts: dict[int, str]) -> str:
    if entity_type == "order":
        return f"Order #{entity_id}"
    if entity_type == "inventory" and entity_id in parts:
        return f"Stock: {parts[entity_id]}"
    return f"{entity_type.capitalize()} #{entity_id}"


def read_thread(session: Session, user_id: int, entity_type: str, entity_id: int) -> tuple[int, int]:
    """Every unread row of the thread (not archived, not snoozed) up to its newest now becomes read.

    One transaction; returns (rows updated, up_to_id). 404 when the caller has
    no row about that entity.
    """
    thread = (
        Notification.user_id == user_id,
        Notification.entity_type == entity_type,
        Notification.entity_id == entity_id,
    )
    newest = session.scalar(select(func.max(Notification.id)).where(*thread))
    if newest is None:
        raise NotFound(f"No notifications about {entity_type} {entity_id}")
    scope = (*thread, Notification.id <= newest, ~Notification.is_read, ~Notification.archived)
    return read_rows(session, user_id, scope), newest
