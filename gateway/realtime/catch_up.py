"""What a gateway replays to its sockets after its Redis subscription came back.

Pub/sub is fire-and-forget: what the workers published while this gateway was
not subscribed never reaches it. So once subscribed again, the gateway reads
from the database what its connected users missed and sends it itself.

Why by the row's write time, with a margin. A notification's created_at is
taken inside the worker's transaction, before its commit; a row written at
time t may become visible (and be published) as late as t plus the length of
that transaction. A task never runs longer than Celery's hard time limit
(task_time_limit), so replaying every row with created_at >= lost_at - that
limit cannot miss one, however old its event (the event's own time is
metadata.occurred_at and plays no part here). The margin makes the replay send
some rows the sockets already have; clients dedupe by id.

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

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select, union
from sqlalchemy.orm import Session

from common.db import get_sessionmaker
from common.events.payloads import notification_payload
from common.events.publisher import role_room, user_room
from common.events.types import EntityType
from common.models import EventLog, Notification, Order, OrderStatusChange, Role, User
from common.services.notifications import unread_states

Message = tuple[str, dict[str, Any], str]
# The longest a worker transaction can last: Celery's hard time limit for a task.
LONGEST_TRANSACTION = timedelta(seconds=120)
MAX_ROWS = 5000


def missed_messages(user_ids: set[int], lost_at: float) -> list[Message]:
    if not user_ids:
        return []
    cutoff = datetime.fromtimestamp(lost_at, UTC) - LONGEST_TRANSACTION
    with get_sessionmaker()() as session:
        messages = _notifications(session, user_ids, cutoff)
        messages += _order_statuses(session, user_ids, cutoff)
        states = unread_states(session, user_ids)
        messages += [("unread_count", state.payload(), user_room(uid)) for uid, state in states.items()]
        return messages


def _notifications(session: Session, user_ids: set[int], cutoff: datetime) -> list[Message]:
    rows = session.scalars(
        select(Notification)
        .where(Notification.user_id.in_(user_ids), Notification.created_at >= cutoff)
        .order_by(Notification.id.desc())
        .limit(MAX_ROWS)
    ).all()
    return [("notification", notification_payload(r), user_room(r.user_id)) for r in reversed(rows)]


def _order_statuses(session: Session, user_ids: set[int], cutoff: datetime) -> list[Message]:
    # event_logs.processed_at has no index, on purpose: an event row is updated three
    # times on its way (QUEUED, handled, PROCESSED), each update adding an entry to
    # every index, while this scan runs once per gateway per lost subscription.
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
    users = session.execute(
        select(User.id, User.role, User.factory_id, User.supplier_id).where(
            User.id.in_(user_ids),
            or_(
                User.factory_id.in_({o.factory_id for o in orders}),
                User.supplier_id.in_({o.supplier_id for o in orders if o.supplier_id}),
            ),
        )
    ).all()
    messages: list[Message] = []
    for order in orders:
        payload = {"order_id": order.id, "status": order.status, "timestamp": order.at.isoformat()}
        messages.append(("order_status", payload, role_room(Role.ADMIN)))
        for user in users:
            buyer_of = user.role == Role.BUYER and user.factory_id == order.factory_id
            supplier_of = order.supplier_id is not None and user.supplier_id == order.supplier_id
            if buyer_of or supplier_of:
                messages.append(("order_status", payload, user_room(user.id)))
    return messages
