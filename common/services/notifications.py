"""A user's notifications. Every query filters on the caller: nobody reads another's."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from common.models import Notification, User, utcnow
from common.services.errors import NotFound
from common.services.pagination import PageData, paginate


def list_for_user(
    session: Session, user_id: int, *, is_read: bool | None, limit: int, offset: int
) -> PageData[Notification]:
    query = (
        select(Notification)
        .where(Notification.user_id == user_id)
        .order_by(Notification.created_at.desc(), Notification.id.desc())
    )
    if is_read is not None:
        query = query.where(Notification.is_read == is_read)
    return paginate(session, query, limit=limit, offset=offset)


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
    session.execute(
        select(User.id).where(User.id.in_(ids)).order_by(User.id).with_for_update(key_share=True)
    )
    session.execute(
        update(User)
        .where(User.id.in_(ids))
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
    unread = (
        select(func.count())
        .where(Notification.user_id == User.id, Notification.is_read.is_(False))
        .correlate(User)
        .scalar_subquery()
    )
    rows = session.execute(select(User.id, unread, User.unread_version).where(User.id.in_(ids))).all()
    return {user_id: UnreadState(count, version) for user_id, count, version in rows}


def unread_count(session: Session, user_id: int) -> int:
    return unread_counts(session, [user_id]).get(user_id, 0)


def unread_counts(session: Session, user_ids: Iterable[int]) -> dict[int, int]:
    """Unread count per user, recomputed in one query; users with none get 0."""
    ids = list(set(user_ids))
    counts = {uid: 0 for uid in ids}
    rows = session.execute(
        select(Notification.user_id, func.count())
        .where(Notification.user_id.in_(ids), Notification.is_read.is_(False))
        .group_by(Notification.user_id)
    ).all()
    counts.update({user_id: count for user_id, count in rows})
    return counts


def mark_read(session: Session, user_id: int, notification_id: int) -> Notification:
    notification = session.scalar(
        select(Notification).where(Notification.id == notification_id, Notification.user_id == user_id)
    )
    if notification is None:
        raise NotFound(f"Notification {notification_id} not found")
    if not notification.is_read:
        notification.is_read = True
        notification.read_at = utcnow()
        session.flush()
    return notification


def mark_all_read(session: Session, user_id: int, *, up_to: datetime | None = None) -> int:
    query = update(Notification).where(Notification.user_id == user_id, Notification.is_read.is_(False))
    if up_to is not None:
        query = query.where(Notification.created_at <= up_to)
    result = session.execute(query.values(is_read=True, read_at=utcnow()))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
