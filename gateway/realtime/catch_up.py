"""What a gateway replays to its sockets after its Redis subscription came back.

Pub/sub is fire-and-forget: what the workers published while this gateway was
not subscribed never reaches it. So once subscribed again, the gateway reads
from the database what its connected users missed and sends it itself.

Why by the row's write time, with a margin. A notification's created_at is
taken inside the worker's transaction, before its commit; a row written at
time t may become visible (and be published) as late as t plus the length of
that transaction. A task never runs longer than Celery's hard time limit
(task_time_limit, TASK_TIME_LIMIT_SECONDS), so replaying every row with
created_at >= lost_at - that limit cannot miss one, however old its event (the event's own time is
metadata.occurred_at and plays no part here). The margin makes the replay send
some rows the sockets already have; clients dedupe by id. Each replayed row
carries its real is_read and archived (a client toasts only new unread rows and
lists no archived one).

Paged, no row dropped: the window is read in pages of CATCH_UP_PAGE_ROWS by
(created_at, id) (read-state changes by id), each page one indexed range
(migration 0014: the time columns it filters on are indexed). Bounded: a user
whose backlog passes CATCH_UP_MAX_ROWS rows is not replayed, nor is anyone once
the catch-up has taken CATCH_UP_MAX_SECONDS (a database down included: it is
retried with a doubling backoff until then); those users' sockets are closed
instead (server.py), so their clients reconnect and reload over REST, which
the web app does on every connect (frontend/src/hooks/useNotifications.ts).

Read state (issue 19, bug 6): the read, read-all and archive changes a gateway
pushes itself have no outbox; published during a Redis blip they are lost.
Every gateway whose subscription the blip cut catches up, so the catch-up also
sends `notification_updated` {id, is_read, archived} for each row of its users
read or archived in the window, with the versioned counts after it. The
database is the truth and these are idempotent snapshots, so a replayed one is
harmless; an outbox for them would put a worker on the path of every click.

Trackers: the current status of every order whose status changed in that
window, or whose event a worker handled in it, goes to each connected user
who may see the order (and the admins), so a tracker that missed
`order_status` catches up too. The handling counts, not only the change: the
workers publish `order_status` when they handle the event, which for an event
that waited (the workers were away) is long after the change itself; its
processed_at, like a notification's created_at, is taken inside the worker's
transaction, so the same margin covers it. Counts go with their versions,
read after everything they count was committed.
"""

import logging
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select, tuple_, union
from sqlalchemy.orm import Session

from common.config import get_settings
from common.db import get_sessionmaker
from common.events.publisher import role_room, user_room
from common.events.types import EntityType
from common.i18n.rows import payload_for
from common.i18n.zones import ENGLISH_UTC, readers
from common.models import EventLog, Notification, Order, OrderStatusChange, Role
from common.services.actions import actions_for_rows
from common.services.notifications import unread_states
from common.services.visibility import viewers_by_order

log = logging.getLogger(__name__)
Message = tuple[str, dict[str, Any], str]
RETRY_FIRST_SECONDS = 0.5
RETRY_MAX_SECONDS = 15.0
CATCH_UP_MAX_ROWS = 5_000
CATCH_UP_MAX_SECONDS = 30.0


class TooLong(Exception):
    """The catch-up passed CATCH_UP_MAX_SECONDS."""


def longest_transaction() -> timedelta:
    """The longest a worker transaction can last: Celery's hard time limit for a task."""
    from celeryconfig import task_time_limit

    return timedelta(seconds=float(task_time_limit))


def missed_messages(user_ids: set[int], lost_at: float) -> tuple[list[Message], set[int]]:
    """What the users missed since lost_at, and the users too far behind to be replayed."""
    if not user_ids:
        return [], set()
    deadline = time.monotonic() + CATCH_UP_MAX_SECONDS
    delay = RETRY_FIRST_SECONDS
    while True:
        try:
            return _read_missed(user_ids, lost_at, deadline)
        except TooLong:
            break
        except Exception as exc:
            log.warning("catch-up could not read the database (%s); trying again in %.1f s", exc, delay)
            if time.monotonic() + delay >= deadline:
                break
            time.sleep(delay)
            delay = min(delay * 2, RETRY_MAX_SECONDS)
    log.warning(
        "catch-up passed %.0f s: closing the sockets of %d users instead", CATCH_UP_MAX_SECONDS, len(user_ids)
    )
    return [], set(user_ids)


def _read_missed(user_ids: set[int], lost_at: float, deadline: float) -> tuple[list[Message], set[int]]:
    cutoff = datetime.fromtimestamp(lost_at, UTC) - longest_transaction()
    backlog: Counter[int] = Counter()
    with get_sessionmaker()() as session:
        messages = _notifications(session, user_ids, cutoff, backlog, deadline)
        messages += _read_state_changes(session, user_ids, cutoff, backlog, deadline)
        behind = {uid for uid, rows in backlog.items() if rows > CATCH_UP_MAX_ROWS}
        kept = user_ids - behind
        messages = (
            [m for m in messages if m[2] not in {user_room(uid) for uid in behind}] if behind else messages
        )
        messages += _order_statuses(session, kept, cutoff) if kept else []
        states = unread_states(session, kept) if kept else {}
        messages += [("unread_count", state.payload(), user_room(uid)) for uid, state in states.items()]
        return messages, behind


def _in_time(deadline: float) -> None:
    if time.monotonic() > deadline:
        raise TooLong


def _notifications(
    session: Session, user_ids: set[int], cutoff: datetime, backlog: Counter[int], deadline: float
) -> list[Message]:
    """Every row written (or resurfaced) since the cutoff, oldest first, read in pages by (created_at, id)."""
    page_rows = get_settings().catch_up_page_rows
    reader_of = readers(session, user_ids)  # issue 22: re-pushed in each reader's language and zone
    messages: list[Message] = []
    after: tuple[datetime, int] | None = None
    while True:
        _in_time(deadline)
        query = select(Notification).where(
            Notification.user_id.in_(user_ids),
            # a snooze that resurfaced in the window too (issue 24)
            or_(Notification.created_at >= cutoff, Notification.resurfaced_at >= cutoff),
        )
        if after is not None:
            query = query.where(tuple_(Notification.created_at, Notification.id) > tuple_(*after))
        rows = session.scalars(
            query.order_by(Notification.created_at, Notification.id).limit(page_rows)
        ).all()
        acts = actions_for_rows(session, rows)  # issue 23: bounded queries per page
        for r in rows:
            backlog[r.user_id] += 1
            if backlog[r.user_id] <= CATCH_UP_MAX_ROWS:  # issue 22: in each reader's language and zone
                reader = reader_of.get(r.user_id, ENGLISH_UTC)
                messages.append(
                    ("notification", payload_for(r, reader, acts.get(r.id)), user_room(r.user_id))
                )
        if len(rows) < page_rows:
            return messages
        after = (rows[-1].created_at, rows[-1].id)
        session.expunge_all()


def _read_state_changes(
    session: Session, user_ids: set[int], cutoff: datetime, backlog: Counter[int], deadline: float
) -> list[Message]:
    """notification_updated for rows read or archived in the window (pushed by a gateway, maybe lost)."""
    page_rows = get_settings().catch_up_page_rows
    messages: list[Message] = []
    after = 0
    while True:
        _in_time(deadline)
        rows = session.execute(
            select(Notification.id, Notification.user_id, Notification.is_read, Notification.archived)
            .where(
                Notification.user_id.in_(user_ids),
                or_(Notification.read_at >= cutoff, Notification.archived_at >= cutoff),
                Notification.id > after,
            )
            .order_by(Notification.id)
            .limit(page_rows)
        ).all()
        for r in rows:
            backlog[r.user_id] += 1
            update = {"id": r.id, "is_read": r.is_read, "archived": r.archived}
            messages.append(("notification_updated", update, user_room(r.user_id)))
        if len(rows) < page_rows:
            return messages
        after = rows[-1].id


def _order_statuses(session: Session, user_ids: set[int], cutoff: datetime) -> list[Message]:
    # event_logs.processed_at is indexed since migration 0014 (issue 21): after a Redis
    # restart every gateway runs this at once, and a scan of the whole table each is
    # worse than the index's one entry per processed event.
    touched = union(
        select(OrderStatusChange.order_id).where(OrderStatusChange.at >= cutoff),
        select(EventLog.entity_id).where(
            EventLog.entity_type == EntityType.ORDER, EventLog.processed_at >= cutoff
        ),
    ).subquery()
    changed = (
        select(OrderStatusChange.order_id, func.max(OrderStatusChange.at).label("at"))
        .where(OrderStatusChange.order_id.in_(select(touched.c[0])))
        .group_by(OrderStatusChange.order_id)
        .subquery()
    )
    orders = session.execute(
        select(Order.id, Order.status, Order.factory_id, Order.supplier_id, changed.c.at).join(
            changed, changed.c.order_id == Order.id
        )
    ).all()
    if not orders:
        return []
    viewers = viewers_by_order(session, user_ids, orders)
    messages: list[Message] = []
    for order in orders:
        payload = {"order_id": order.id, "status": order.status, "timestamp": order.at.isoformat()}
        messages.append(("order_status", payload, role_room(Role.ADMIN)))
        messages += [("order_status", payload, user_room(uid)) for uid in sorted(viewers[order])]
    return messages
