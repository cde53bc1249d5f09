"""A user's notifications. Every query filters on the caller: nobody reads another's."""

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from common.models import Notification, utcnow
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
