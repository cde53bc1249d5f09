"""Acting from a notification (issue 23, CONTRACT section 8).

A notification's `actions` are computed, never stored: from its event, the
*current* state of the entity (the order, the stock row) and the recipient's
role. So every copy of one event's notification shows the same states, and a
move made any other way (a REST transition, another notification) shows at once.
`done_by`/`done_at` come from the order's status history for the actions that
move an order, from `event_actions` for the others.

`actions_for_rows` computes them for any number of rows with a fixed number of
queries (orders, history, exclusions, actions done, newest events, stock rows,
users): never a query per row. `perform` runs one action through the same
services as the REST routes.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import and_, bindparam, func, or_, select, tuple_
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from common.events.bus import emit_event
from common.events.publisher import Emit, publish, user_room
from common.events.types import EntityType, EventType
from common.models import (
    EventAction,
    EventLog,
    InventoryItem,
    Notification,
    Order,
    OrderExclusion,
    OrderItem,
    OrderStatus,
    OrderStatusChange,
    Role,
    User,
)
from common.schemas.catalog import InventoryUpdate
from common.schemas.orders import TransitionRequest
from common.services import inventory, orders
from common.services.errors import Conflict, Forbidden, Invalid, NotFound
from common.services.metadata import order_ids

S = OrderStatus
OPEN, DONE, UNAVAILABLE = "open", "done", "unavailable"
LABELS = {
    "confirm": ("Confirm", "primary"),
    "decline": ("Decline", "secondary"),
    "dispatch": ("Dispatch", "primary"),
    "accept_eta": ("Accept ETA", "primary"),
    "dispute_eta": ("Dispute ETA", "secondary"),
    "restock": ("Restock", "primary"),
    "rematch": ("Rematch", "primary"),
    "cancel": ("Cancel order", "secondary"),
}
ETA_TYPES = ("DELIVERY_PLANNED", "ETA_UPDATED")
ESCALATION_TYPES = ("ORDER_ESCALATED", "MATCHING_FAILED")
# The event types whose notifications can carry actions, and the role whose rows carry them:
# other recipients' rows have none, and their facts are never loaded (an alert told to 1,000
# admins and one supplier loads the supplier's).
ACTION_ROLE = {
    "SUPPLIER_MATCHED": Role.SUPPLIER,
    "LOW_STOCK_ALERT": Role.SUPPLIER,
    **dict.fromkeys(ETA_TYPES, Role.BUYER),
    **dict.fromkeys(ESCALATION_TYPES, Role.ADMIN),
}
ACTIONABLE_TYPES = tuple(ACTION_ROLE)
RESTOCK_MAX = 1_000_000


class NotificationLike(Protocol):
    @property
    def id(self) -> int: ...
    @property
    def user_id(self) -> int: ...
    @property
    def event_id(self) -> int | None: ...
    @property
    def event_type(self) -> str: ...
    @property
    def entity_type(self) -> str | None: ...
    @property
    def entity_id(self) -> int | None: ...


@dataclass(frozen=True)
class Done:
    by: str | None
    at: datetime | None


@dataclass
class Facts:
    """What the actions of a set of rows depend on, loaded in bulk."""

    orders: dict[int, Any] = field(default_factory=dict)  # id -> (status, supplier_id)
    history: dict[int, dict[str, Done]] = field(default_factory=dict)  # order -> status -> latest change
    exclusions: dict[tuple[int, int], tuple[str, Done]] = field(default_factory=dict)
    done: dict[tuple[int, str], Done] = field(default_factory=dict)  # (event, action) -> done
    newest: dict[tuple[str, int], int] = field(default_factory=dict)  # entity -> newest alert / ETA event
    stock: dict[int, Any] = field(default_factory=dict)  # id -> row
    users: dict[int, Any] = field(default_factory=dict)  # id -> (role, supplier_id)
    supplier_of_event: dict[int, int | None] = field(default_factory=dict)


def _action(action_id: str, state: str, done: Done | None = None) -> dict[str, Any]:
    label, kind = LABELS[action_id]
    return {
        "id": action_id,
        "label": label,
        "kind": kind,
        "state": state,
        "done_by": done.by if done and state == DONE else None,
        "done_at": done.at.isoformat() if done and state == DONE and done.at else None,
    }


def _may_act(facts: Facts, row: NotificationLike) -> bool:
    """The row's type carries actions and its recipient has the role they are for."""
    role = facts.users.get(row.user_id, (None, None))[0]
    return row.event_type in ACTION_ROLE and role == ACTION_ROLE[row.event_type]


def _load(session: Session, rows: Sequence[NotificationLike]) -> Facts:
    facts = Facts()
    rows = [r for r in rows if r.event_type in ACTIONABLE_TYPES and r.entity_id is not None]
    if not rows:
        return facts
    user_ids = sorted({r.user_id for r in rows})
    for uid, role, supplier_id in session.execute(
        select(User.id, User.role, User.supplier_id).where(User.id.in_(user_ids))
    ):
        facts.users[uid] = (role, supplier_id)
    rows = [r for r in rows if _may_act(facts, r)]
    if not rows:
        return facts
    order_ids_ = sorted({r.entity_id for r in rows if r.entity_type == "order" and r.entity_id})
    stock_ids = sorted({r.entity_id for r in rows if r.entity_type == "inventory" and r.entity_id})
    event_ids = sorted({r.event_id for r in rows if r.event_id is not None})
    if event_ids:
        for eid, metadata in session.execute(
            select(EventLog.id, EventLog.event_metadata).where(EventLog.id.in_(event_ids))
        ):
            supplier = (metadata or {}).get("supplier_id")
            facts.supplier_of_event[eid] = supplier if isinstance(supplier, int) else None
        for eid, action, name, at in session.execute(
            select(EventAction.event_id, EventAction.action, User.full_name, EventAction.at)
            .outerjoin(User, User.id == EventAction.actor_id)
            .where(EventAction.event_id.in_(event_ids))
        ):
            facts.done[(eid, action)] = Done(name, at)
    if order_ids_:
        for oid, status, supplier_id in session.execute(
            select(Order.id, Order.status, Order.supplier_id).where(Order.id.in_(order_ids_))
        ):
            facts.orders[oid] = (status, supplier_id)
        for oid, status, name, at in session.execute(
            select(OrderStatusChange.order_id, OrderStatusChange.status, User.full_name, OrderStatusChange.at)
            .outerjoin(User, User.id == OrderStatusChange.actor_id)
            .where(OrderStatusChange.order_id.in_(order_ids_))
            .order_by(OrderStatusChange.id)
        ):
            facts.history.setdefault(oid, {})[status] = Done(name, at)  # the latest of each status
        for oid, sid, via, name, at in session.execute(
            select(
                OrderExclusion.order_id,
                OrderExclusion.supplier_id,
                OrderExclusion.via,
                User.full_name,
                OrderExclusion.at,
            )
            .outerjoin(User, User.id == OrderExclusion.actor_id)
            .where(OrderExclusion.order_id.in_(order_ids_))
        ):
            facts.exclusions[(oid, sid)] = (via, Done(name, at))
    if stock_ids:
        for item in session.execute(
            select(InventoryItem.id, InventoryItem.quantity, InventoryItem.low_stock_threshold).where(
                InventoryItem.id.in_(stock_ids)
            )
        ):
            facts.stock[item.id] = item
    entity_filters = []
    if order_ids_:
        entity_filters.append(
            and_(
                EventLog.entity_type == "order",
                EventLog.entity_id.in_(order_ids_),
                EventLog.event_type.in_(ETA_TYPES),
            )
        )
    if stock_ids:
        entity_filters.append(
            and_(
                EventLog.entity_type == "inventory",
                EventLog.entity_id.in_(stock_ids),
                EventLog.event_type == "LOW_STOCK_ALERT",
            )
        )
    for etype, eid, newest in session.execute(
        select(EventLog.entity_type, EventLog.entity_id, func.max(EventLog.id))
        .where(or_(*entity_filters))
        .group_by(EventLog.entity_type, EventLog.entity_id)
    ):
        facts.newest[(etype, eid)] = newest
    return facts


def _order_actions(facts: Facts, row: NotificationLike, supplier_id: int | None) -> list[dict[str, Any]]:
    order = facts.orders.get(row.entity_id or 0)
    if order is None:
        return []
    status, current_supplier = order
    history = facts.history.get(row.entity_id or 0, {})
    if row.event_type == "SUPPLIER_MATCHED":
        matched = facts.supplier_of_event.get(row.event_id or 0)
        if matched is None or matched != supplier_id:
            return []
        excluded = facts.exclusions.get((row.entity_id or 0, matched))
        here = current_supplier == matched and excluded is None
        if here and status == S.MATCHED:
            return [_action("confirm", OPEN), _action("decline", OPEN)]
        if here and S.CONFIRMED in history and status != S.PLACED:
            confirmed = _action("confirm", DONE, history[S.CONFIRMED])
            if S.DISPATCHED in history:
                dispatch = _action("dispatch", DONE, history[S.DISPATCHED])
            else:
                dispatch = _action("dispatch", OPEN if status == S.CONFIRMED else UNAVAILABLE)
            return [confirmed, _action("decline", UNAVAILABLE), dispatch]
        declined = excluded is not None and excluded[0] == "decline"
        return [
            _action("confirm", UNAVAILABLE),
            _action("decline", DONE, excluded[1])
            if declined and excluded
            else _action("decline", UNAVAILABLE),
        ]
    if row.event_type in ETA_TYPES:
        accepted = facts.done.get((row.event_id or 0, "accept_eta"))
        disputed = facts.done.get((row.event_id or 0, "dispute_eta"))
        if accepted or disputed:
            return [
                _action("accept_eta", DONE, accepted) if accepted else _action("accept_eta", UNAVAILABLE),
                _action("dispute_eta", DONE, disputed) if disputed else _action("dispute_eta", UNAVAILABLE),
            ]
        newer = facts.newest.get(("order", row.entity_id or 0), 0) > (row.event_id or 0)
        state = UNAVAILABLE if newer or status in (S.DELIVERED, S.CANCELLED) else OPEN
        return [_action("accept_eta", state), _action("dispute_eta", state)]
    if row.event_type in ESCALATION_TYPES:
        rematched = facts.done.get((row.event_id or 0, "rematch"))
        if rematched:
            rematch = _action("rematch", DONE, rematched)
        else:
            rematch = _action("rematch", OPEN if status in (S.PLACED, S.MATCHED) else UNAVAILABLE)
        if status == S.CANCELLED:
            cancel = _action("cancel", DONE, history.get(S.CANCELLED))
        else:
            cancel = _action("cancel", OPEN if status in (S.PLACED, S.MATCHED, S.CONFIRMED) else UNAVAILABLE)
        return [rematch, cancel]
    return []


def _stock_actions(facts: Facts, row: NotificationLike, supplier_id: int | None) -> list[dict[str, Any]]:
    if row.event_type != "LOW_STOCK_ALERT":
        return []
    item = facts.stock.get(row.entity_id or 0)
    owner = facts.supplier_of_event.get(row.event_id or 0)
    if item is None or owner is None or owner != supplier_id:
        return []
    done = facts.done.get((row.event_id or 0, "restock"))
    if done:
        return [_action("restock", DONE, done)]
    newer = facts.newest.get(("inventory", item.id), 0) > (row.event_id or 0)
    low = item.quantity < item.low_stock_threshold
    return [_action("restock", OPEN if low and not newer else UNAVAILABLE)]


def actions_for_rows(session: Session, rows: Sequence[NotificationLike]) -> dict[int, list[dict[str, Any]]]:
    """{notification id: actions} for the rows, each for its own recipient's role."""
    facts = _load(session, rows)
    result: dict[int, list[dict[str, Any]]] = {}
    for row in rows:
        supplier_id = facts.users.get(row.user_id, (None, None))[1]
        if not _may_act(facts, row):
            result[row.id] = []
        elif row.entity_type == "order":
            result[row.id] = _order_actions(facts, row, supplier_id)
        elif row.entity_type == "inventory":
            result[row.id] = _stock_actions(facts, row, supplier_id)
        else:
            result[row.id] = []
    return result


def attach_actions(session: Session, rows: Sequence[Notification]) -> None:
    """Set `actions` on ORM rows for their response (NotificationOut reads the attribute)."""
    computed = actions_for_rows(session, rows)
    for row in rows:
        row.actions = computed.get(row.id, [])  # type: ignore[attr-defined]


_HOLDERS = select(
    Notification.id,
    Notification.user_id,
    Notification.event_id,
    Notification.event_type,
    Notification.entity_type,
    Notification.entity_id,
).where(
    tuple_(Notification.entity_type, Notification.entity_id).in_(bindparam("entities", expanding=True)),
    Notification.event_type.in_(ACTIONABLE_TYPES),
)


def holder_updates(
    session: Session, entities: Iterable[tuple[str, int]], *, skip: Iterable[int] = ()
) -> list[Emit]:
    """`notification_updated {id, actions}` for every holder of an actionable notification about
    the entities (one bulk query on ix_notifications_entity, then actions_for_rows)."""
    keys = sorted(set(entities))
    if not keys:
        return []
    skipped = set(skip)  # rows just pushed whole, as `notification`
    rows = [r for r in session.execute(_HOLDERS, {"entities": keys}) if r.id not in skipped]
    computed = actions_for_rows(session, rows)
    return [
        Emit("notification_updated", {"id": row.id, "actions": computed[row.id]}, user_room(row.user_id))
        for row in rows
        if computed.get(row.id)
    ]


def push_action_states(entities: list[tuple[str, int]]) -> None:
    """After a commit in the gateway (an action, a stock update by REST): every holder of an
    actionable notification about the entities hears the new action states at once. A fresh
    session: the request's transaction has committed."""
    if not entities:
        return
    from common.db import get_sessionmaker

    with get_sessionmaker()() as session:
        emits = holder_updates(session, entities)
    publish(emits)


def stock_entities_of_orders(session: Session, order_ids: Iterable[int]) -> list[tuple[str, int]]:
    """The stock rows the orders' confirmation or cancellation moved (each order's supplier's
    rows of its parts), in one query."""
    ids = sorted(set(order_ids))
    if not ids:
        return []
    query = (
        select(InventoryItem.id)
        .join(Order, Order.supplier_id == InventoryItem.supplier_id)
        .join(OrderItem, and_(OrderItem.order_id == Order.id, OrderItem.part_id == InventoryItem.part_id))
        .where(Order.id.in_(ids))
        .distinct()
    )
    return [("inventory", int(i)) for i in session.scalars(query)]


class ActionConflict(Conflict):
    """409 {detail, state}: the action is done or unavailable (state: the order's status, or the stock's)."""

    def __init__(self, detail: str, state: str) -> None:
        super().__init__(detail)
        self.state = state

    def body(self) -> dict[str, object]:
        return {"detail": self.detail, "state": self.state}


@dataclass(frozen=True)
class ActionInput:
    quantity: int | None = None
    reason: str | None = None


def _entity_state(session: Session, row: Notification) -> str:
    if row.entity_type == "inventory":
        item = session.get(InventoryItem, row.entity_id, populate_existing=True)
        if item is None:
            return "deleted"
        return "below_threshold" if item.quantity < item.low_stock_threshold else "above_threshold"
    status = session.scalar(select(Order.status).where(Order.id == row.entity_id))
    return str(status) if status else "deleted"


def _lock_entity(session: Session, row: Notification) -> None:
    """The entity's row locked (PostgreSQL) before the states are read: two presses serialise."""
    model = InventoryItem if row.entity_type == "inventory" else Order
    session.execute(select(model.id).where(model.id == row.entity_id).with_for_update())


def perform(
    session: Session, user: User, notification_id: int, action_id: str, data: ActionInput
) -> Notification:
    """Run one action of one of the caller's notifications; returns the notification, actions attached."""
    row = session.scalar(
        select(Notification).where(Notification.id == notification_id, Notification.user_id == user.id)
    )
    if row is None:
        raise NotFound(f"Notification {notification_id} not found")
    if row.event_type in ACTIONABLE_TYPES and row.entity_id is not None:
        _lock_entity(session, row)
    current = {a["id"]: a for a in actions_for_rows(session, [row]).get(row.id, [])}
    action = current.get(action_id)
    if action is None:
        raise NotFound(f"Notification {notification_id} has no action {action_id!r}")
    if action_id == "restock" and data.quantity is None:
        raise Invalid("Restock needs a quantity: 1 to 1000000 units")
    if action_id == "dispute_eta" and not data.reason:
        raise Invalid("Disputing an ETA needs a reason")
    if action["state"] != OPEN:
        who = f" by {action['done_by']}" if action["done_by"] else ""
        raise ActionConflict(f"{action['label']} is {action['state']}{who}", _entity_state(session, row))
    try:
        _run(session, user, row, action_id, data)
    except (NotFound, Forbidden) as exc:
        raise Forbidden(f"{action['label']} is no longer yours to do: {exc.detail}") from exc
    except ActionConflict:
        raise
    except Conflict as exc:
        raise ActionConflict(exc.detail, _entity_state(session, row)) from exc
    session.flush()
    attach_actions(session, [row])
    return row


def _record(session: Session, row: Notification, user: User, action_id: str) -> None:
    if row.event_id is None:
        raise Conflict("The event of this notification was purged")
    try:
        with session.begin_nested():
            session.add(EventAction(event_id=row.event_id, action=action_id, actor_id=user.id))
    except IntegrityError as exc:  # pressed at once elsewhere (SQLite has no row lock)
        raise Conflict(f"{LABELS[action_id][0]} was done meanwhile") from exc


def _run(session: Session, user: User, row: Notification, action_id: str, data: ActionInput) -> None:
    order_id = row.entity_id or 0
    if action_id == "confirm":
        orders.transition(session, user, order_id, TransitionRequest(status=S.CONFIRMED))
    elif action_id == "dispatch":
        orders.transition(session, user, order_id, TransitionRequest(status=S.DISPATCHED))
    elif action_id == "cancel":
        orders.transition(session, user, order_id, TransitionRequest(status=S.CANCELLED, reason=data.reason))
    elif action_id in ("decline", "rematch"):
        orders.release_supplier(session, user, order_id, via=action_id, reason=data.reason)
        if action_id == "rematch":
            _record(session, row, user, action_id)
    elif action_id == "accept_eta":
        orders.get_order(session, user, order_id)  # still the buyer's to see
        _record(session, row, user, action_id)
    elif action_id == "dispute_eta":
        order = orders.get_order(session, user, order_id)
        _record(session, row, user, action_id)
        emit_event(
            session,
            EventType.ETA_DISPUTED,
            EntityType.ORDER,
            order.id,
            actor_id=user.id,
            metadata={
                **order_ids(order),
                "reason": data.reason,
                "eta": order.eta.isoformat() if order.eta else None,
                "disputed_event_id": row.event_id,
            },
        )
    elif action_id == "restock":
        _restock(session, user, row, data.quantity or 0)
        _record(session, row, user, action_id)


def _restock(session: Session, user: User, row: Notification, quantity: int) -> None:
    item = session.scalar(
        select(InventoryItem)
        .where(InventoryItem.id == row.entity_id)
        .execution_options(populate_existing=True)
    )
    if item is None or user.role != Role.SUPPLIER or item.supplier_id != user.supplier_id:
        raise Forbidden("Only the supplier's users can restock its stock")
    if item.quantity >= item.low_stock_threshold:
        raise Conflict(f"The stock of part {item.part_id} is at or above its threshold")
    total = item.quantity + quantity
    if total > 10_000_000:
        raise Invalid(f"The stock would be {total}; at most 10000000 units fit one row")
    inventory.set_stock(
        session,
        supplier_id=item.supplier_id,
        part_id=item.part_id,
        data=InventoryUpdate(
            quantity=total,
            low_stock_threshold=item.low_stock_threshold,
            unit_price=item.unit_price,
            lead_time_days=item.lead_time_days,
        ),
        actor_id=user.id,
    )
