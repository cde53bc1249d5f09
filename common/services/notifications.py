"""A user's notifications. Every query filters on the caller: nobody reads another's."""

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import BindParameter, bindparam, func, select, update
from sqlalchemy.orm import Session

from common.db import execute_core
from common.models import Notification, User, utcnow
from common.services.errors import NotFound
from common.services.pagination import CursorPageData, paginate_by_id

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
) -> CursorPageData[Notification]:
    """The inbox (or, with archived=True, the archive), newest first by id."""
    query = select(Notification).where(Notification.user_id == user_id, Notification.archived.is_(archived))
    if is_read is not None:
        query = query.where(Notification.is_read.is_(is_read))
    return paginate_by_id(session, query, Notification.id, limit=limit, offset=offset, cursor=cursor)


@dataclass(frozen=True)
class UnreadState:
    count: int
    version: int

    def payload(self) -> dict[str, int]:
        """The `unread_count` socket message (CONTRACT section 5)."""
        return {"count": self.count, "version": self.version}


def bump_unread_versions(session: Session, user_ids: Iterable[int]) -> None:
    """Mark a change of these users' unread state, in the transaction that makes it.

    Locking the user rows (in id order, so two writers cannot deadlock) orders
    every change of one user's unread state: after commit, a reader that sees a
    higher version also sees every change before it, so a client that keeps the
    count with the highest version ends on the truth.
    """
    ids = sorted(set(user_ids))
    if not ids:
        return
    # Its own statement, so the rows are locked in id order (inside UPDATE ... IN
    # (subquery) the planner may lock them in any order), and FOR NO KEY UPDATE,
    # which does not wait for the KEY SHARE locks that concurrent INSERTs of
    # notification rows hold on the same users (their foreign key); FOR UPDATE
    # does, and two workers deadlocked on it.
    execute_core(session, _LOCK_USERS, {"ids": ids})
    execute_core(session, _BUMP_VERSIONS, {"ids": ids})


# The workers' statements are built once, not per batch (building one cost more CPU than running it).
_USER_IDS: BindParameter[list[int]] = bindparam("ids", expanding=True)
_LOCK_USERS = select(User.id).where(User.id.in_(_USER_IDS)).order_by(User.id).with_for_update(key_share=True)
_BUMP_VERSIONS = (
    update(User)
    .where(User.id.in_(_USER_IDS))
    .values(unread_version=User.unread_version + 1)
    .execution_options(synchronize_session=False)
)


def unread_states(session: Session, user_ids: Iterable[int]) -> dict[int, UnreadState]:
    """Count and version per user, read together in one statement (one snapshot).

    Call it after the commit that changed the state, never before: a count read
    inside an uncommitted transaction may never become the truth.
    """
    ids = list(set(user_ids))
    if not ids:
        return {}
    rows = execute_core(session, _UNREAD_STATES, {"ids": ids})
    return {row.id: UnreadState(row.unread, row.unread_version) for row in rows}


_UNREAD_STATES = select(
    User.id,
    select(func.count())
    .where(Notification.user_id == User.id, *_UNREAD)
    .correlate(User)
    .scalar_subquery()
    .label("unread"),
    User.unread_version,
).where(User.id.in_(_USER_IDS))


def unread_count(session: Session, user_id: int) -> int:
    return unread_counts(session, [user_id]).get(user_id, 0)


def unread_counts(session: Session, user_ids: Iterable[int]) -> dict[int, int]:
    """Unread count per user (archived rows left out), in one query; users with none get 0."""
    ids = list(set(user_ids))
    counts = {uid: 0 for uid in ids}
    rows = session.execute(
        select(Notification.user_id, func.count())
        .where(Notification.user_id.in_(ids), *_UNREAD)
        .group_by(Notification.user_id)
    ).all()
    counts.update({user_id: count for user_id, count in rows})
    return counts


def _own(session: Session, user_id: int, notification_id: int) -> Notification:
    notification = session.scalar(
        select(Notification)
        .where(Notification.id == notification_id, Notification.user_id == user_id)
        .with_for_update()
    )
    if notification is None:
        raise NotFound(f"Notification {notification_id} not found")
    return notification


def set_read(
    session: Session, user_id: int, notification_id: int, is_read: bool
) -> tuple[Notification, bool]:
    """Mark one of the user's notifications read or unread; returns it and whether it changed."""
    # The user's row first (the order every writer of unread state keeps), then the notification.
    bump_unread_versions(session, [user_id])
    notification = _own(session, user_id, notification_id)
    if notification.is_read == is_read:
        return notification, False
    notification.is_read = is_read
    notification.read_at = utcnow() if is_read else None
    session.flush()
    return notification, True


def set_archived(
    session: Session, user_id: int, notification_id: int, archived: bool
) -> tuple[Notification, bool]:
    """Archive one of the user's notifications or bring it back; returns it and whether it changed."""
    bump_unread_versions(session, [user_id])
    notification = _own(session, user_id, notification_id)
    if notification.archived == archived:
        return notification, False
    notification.archived = archived
    notification.archived_at = utcnow() if archived else None
    session.flush()
    return notification, True


def mark_read(session: Session, user_id: int, notification_id: int) -> Notification:
    return set_read(session, user_id, notification_id, True)[0]


def mark_all_read(session: Session, user_id: int, *, up_to_id: int | None = None) -> tuple[int, int]:
    """Every unread, unarchived row of the user with id <= up_to_id becomes read.

    up_to_id defaults to the user's newest row now, so a notification written
    after the click stays unread. Returns (rows updated, up_to_id).
    """
    bump_unread_versions(session, [user_id])
    newest = session.scalar(select(func.max(Notification.id)).where(Notification.user_id == user_id)) or 0
    limit = newest if up_to_id is None else min(up_to_id, newest)
    result = session.execute(
        update(Notification)
        .where(Notification.user_id == user_id, Notification.id <= limit, *_UNREAD)
        .values(is_read=True, read_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0), limit  # type: ignore[attr-defined]
