"""A user's notifications. Every query filters on the caller: nobody reads another's."""

from collections import Counter
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from common.models import Notification, utcnow
from common.services.errors import NotFound
from common.services.inbox_query import SORT_KEY, ListFilters
from common.services.pagination import CursorPageData, paginate_by_key
from common.services.unread import (
    UnreadState,
    contribution,
    difference,
    record_changes,
    unread_state,
    unread_states,
)

__all__ = ["UnreadState", "unread_state", "unread_states"]

# A row counts as unread while it is neither read nor archived. Written as
# `NOT is_read AND NOT archived`, the predicate of the partial index
# ix_notifications_user_unread, so PostgreSQL counts from that index alone
# (`is_read IS false` would not match it and scans the user's rows).
_UNREAD = (~Notification.is_read, ~Notification.archived)


def list_for_user(
    session: Session,
    user_id: int,
    *,
    is_read: bool | None,
    archived: bool = False,
    limit: int,
    offset: int | None,
    cursor: str | None = None,
    filters: ListFilters | None = None,
) -> CursorPageData[Notification]:
    """The inbox (or, with archived=True, the archive), newest first by position."""
    query = select(Notification).where(Notification.user_id == user_id, Notification.archived.is_(archived))
    if is_read is not None:
        query = query.where(Notification.is_read.is_(is_read))
    query = query.where(*(filters or ListFilters()).conditions(session))
    return paginate_by_key(
        session, query, SORT_KEY, Notification.id, limit=limit, offset=offset, cursor=cursor
    )


def _own(session: Session, user_id: int, notification_id: int) -> Notification:
    notification = session.scalar(
        select(Notification)
        .where(Notification.id == notification_id, Notification.user_id == user_id)
        .with_for_update()
        # The row as it is now, locked, even if this session holds an older copy:
        # the change of the counts is computed from it.
        .execution_options(populate_existing=True)
    )
    if notification is None:
        raise NotFound(f"Notification {notification_id} not found")
    return notification


def _counted(n: Notification) -> Counter[str]:
    return contribution(
        is_read=n.is_read,
        archived=n.archived,
        seen=n.seen,
        category=n.category,
        severity=n.severity,
        snoozed=n.snoozed_until is not None,
    )


def set_read(
    session: Session, user_id: int, notification_id: int, is_read: bool
) -> tuple[Notification, bool]:
    """Mark one of the user's notifications read or unread; returns it and whether it changed."""
    return _set_flag(session, user_id, notification_id, "is_read", "read_at", is_read)


def set_archived(
    session: Session, user_id: int, notification_id: int, archived: bool
) -> tuple[Notification, bool]:
    """Archive one of the user's notifications or bring it back; returns it and whether it changed."""
    return _set_flag(session, user_id, notification_id, "archived", "archived_at", archived)


def _set_flag(
    session: Session, user_id: int, notification_id: int, flag: str, stamp: str, value: bool
) -> tuple[Notification, bool]:
    """`flag` (is_read, archived) set to `value`, `stamp` (read_at, archived_at) to now or None."""
    notification = _own(session, user_id, notification_id)
    if getattr(notification, flag) == value and not (value and notification.snoozed_until):
        return notification, False
    before = _counted(notification)
    setattr(notification, flag, value)
    setattr(notification, stamp, utcnow() if value else None)
    if flag == "is_read" and value:
        notification.seen = True  # read implies seen
    if value:
        notification.snoozed_until = None  # reading or archiving ends a snooze (issue 24)
    record_changes(session, {user_id: difference(before, _counted(notification))})
    session.flush()
    return notification, True


def mark_read(session: Session, user_id: int, notification_id: int) -> Notification:
    return set_read(session, user_id, notification_id, True)[0]


def mark_all_read(
    session: Session, user_id: int, *, up_to_id: int | None = None, category: str | None = None
) -> tuple[int, int]:
    """Every unread, unarchived row of the user with id <= up_to_id becomes read.

    up_to_id defaults to the user's newest row now, so a notification written
    after the click stays unread. Returns (rows updated, up_to_id).
    """
    newest = session.scalar(select(func.max(Notification.id)).where(Notification.user_id == user_id)) or 0
    limit = newest if up_to_id is None else min(up_to_id, newest)
    scope: tuple[Any, ...] = (Notification.user_id == user_id, Notification.id <= limit, *_UNREAD)
    if category is not None:  # the current tab's `Mark all read` (issue 23)
        scope = (*scope, Notification.category == category)
    return read_rows(session, user_id, scope), limit


def read_rows(session: Session, user_id: int, scope: tuple[Any, ...]) -> int:
    """The user's unread rows within `scope` become read (never snoozed ones); returns how many."""
    scope = (*scope, Notification.snoozed_until.is_(None))
    change: Counter[str] = Counter()
    updated = 0
    # Split by the old `seen`, in the WHERE clause (re-checked on the newest row
    # version), so each row's difference is exact under concurrent writers.
    for was_seen in (False, True):
        rows = session.execute(
            update(Notification)
            .where(*scope, Notification.seen.is_(was_seen))
            .values(is_read=True, read_at=utcnow(), seen=True)
            .returning(Notification.category, Notification.severity)
            .execution_options(synchronize_session=False)
        ).all()
        updated += len(rows)
        for row in rows:
            change.subtract(("unread", row.category, row.severity))
            change["unseen"] -= 0 if was_seen else 1
    record_changes(session, {user_id: change})
    return updated
