"""Who is told what (CONTRACT section 6): recipients, title and message per event type."""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import bindparam, or_, select
from sqlalchemy.orm import Session, joinedload

from common.db import execute_core
from common.events.types import EventType
from common.models import (
    Delivery,
    EventLog,
    Factory,
    InventoryItem,
    Order,
    OrderItem,
    Part,
    Role,
    Supplier,
    User,
)
from common.services.escalation import hours_since


@dataclass
class Notice:
    title: str
    message: str
    recipients: set[int] = field(default_factory=set)
    link: str | None = None


@dataclass(frozen=True)
class OrderItemView:
    part_id: int
    quantity: int


@dataclass(frozen=True)
class OrderView:
    """What the notices and the socket messages read of an order: plain values, read by Core."""

    id: int
    factory_id: int
    buyer_id: int
    supplier_id: int | None
    eta: datetime | None
    delivered_at: datetime | None
    updated_at: datetime
    items: list[OrderItemView]


@dataclass(frozen=True)
class Named:
    name: str


@dataclass(frozen=True)
class DeliveryView:
    eta: datetime | None
    carrier: str | None


@dataclass
class OrderContext:
    order: OrderView
    factory: Named
    supplier: Named | None
    delivery: DeliveryView | None
    parts: dict[int, Named]


@dataclass
class StockContext:
    item: InventoryItem
    part: Part | None
    supplier: Supplier | None


class Directory:
    """Who is who among the active users a batch of events can reach, loaded in one query.

    Deactivated users are never recipients: they are simply not in here.
    """

    def __init__(self, session: Session, factory_ids: set[int], supplier_ids: set[int], user_ids: set[int]):
        rows = execute_core(
            session,
            _DIRECTORY,
            {"factories": list(factory_ids), "suppliers": list(supplier_ids), "users": list(user_ids)},
        ).all()
        self.active: set[int] = {row.id for row in rows}
        self.admins: set[int] = {row.id for row in rows if row.role == Role.ADMIN}
        self._buyers: dict[int, set[int]] = {}
        self._supplier_users: dict[int, set[int]] = {}
        for row in rows:
            if row.role == Role.BUYER and row.factory_id is not None:
                self._buyers.setdefault(row.factory_id, set()).add(row.id)
            if row.supplier_id is not None:
                self._supplier_users.setdefault(row.supplier_id, set()).add(row.id)

    def user(self, user_id: int | None) -> set[int]:
        return {user_id} if user_id in self.active else set()

    def supplier_users(self, supplier_id: int | None) -> set[int]:
        return set(self._supplier_users.get(supplier_id, set())) if supplier_id is not None else set()

    def factory_buyers(self, factory_id: int) -> set[int]:
        return set(self._buyers.get(factory_id, set()))

    def order_viewers(self, order: OrderView) -> set[int]:
        """Every user who may see the order: its factory's buyers and the matched supplier's users."""
        return self.factory_buyers(order.factory_id) | self.supplier_users(order.supplier_id)


# Built once, not per batch: building a statement cost the workers more CPU than running it.
_DIRECTORY = select(User.id, User.role, User.factory_id, User.supplier_id).where(
    User.is_active,
    or_(
        User.role == Role.ADMIN,
        User.factory_id.in_(bindparam("factories", expanding=True)),
        User.supplier_id.in_(bindparam("suppliers", expanding=True)),
        User.id.in_(bindparam("users", expanding=True)),
    ),
)


@dataclass
class Contexts:
    """Everything a batch of events is about, loaded with a fixed number of queries."""

    orders: dict[int, OrderContext]
    stock: dict[int, StockContext]
    directory: Directory

    @classmethod
    def load(cls, session: Session, events: list[EventLog]) -> "Contexts":
        order_ids = {e.entity_id for e in events if e.entity_type == "order"}
        stock_ids = {e.entity_id for e in events if e.entity_type == "inventory"}
        orders = load_order_contexts(session, order_ids)
        stock = load_stock_contexts(session, stock_ids)
        directory = Directory(
            session,
            factory_ids={c.order.factory_id for c in orders.values()},
            supplier_ids={c.order.supplier_id for c in orders.values() if c.order.supplier_id}
            | {c.item.supplier_id for c in stock.values()},
            user_ids={c.order.buyer_id for c in orders.values()},
        )
        return cls(orders, stock, directory)


# Built once, not per batch: building a statement cost the workers more CPU than running it.
_ORDERS = (
    select(
        Order.id,
        Order.factory_id,
        Order.buyer_id,
        Order.supplier_id,
        Order.eta,
        Order.delivered_at,
        Order.updated_at,
        Factory.name.label("factory_name"),
        Supplier.name.label("supplier_name"),
        Delivery.id.label("delivery_id"),
        Delivery.eta.label("delivery_eta"),
        Delivery.carrier,
    )
    .join(Factory, Factory.id == Order.factory_id)
    .outerjoin(Supplier, Supplier.id == Order.supplier_id)
    .outerjoin(Delivery, Delivery.order_id == Order.id)
    .where(Order.id.in_(bindparam("ids", expanding=True)))
)
_ORDER_ITEMS = (
    select(OrderItem.order_id, OrderItem.part_id, OrderItem.quantity, Part.name.label("part_name"))
    .outerjoin(Part, Part.id == OrderItem.part_id)
    .where(OrderItem.order_id.in_(bindparam("ids", expanding=True)))
    .order_by(OrderItem.id)
)
_STOCK_CONTEXTS = (
    select(InventoryItem)
    .where(InventoryItem.id.in_(bindparam("ids", expanding=True)))
    .options(joinedload(InventoryItem.part), joinedload(InventoryItem.supplier))
)


def load_order_contexts(session: Session, order_ids: set[int]) -> dict[int, OrderContext]:
    """Two queries whatever the number: orders joined to their factory, supplier and
    delivery, then their items joined to the parts. Core rows, no ORM objects: what
    is pending in the session (side work such as matching) is flushed first."""
    if not order_ids:
        return {}
    ids = {"ids": list(order_ids)}
    items: dict[int, list[Any]] = {}
    for item in execute_core(session, _ORDER_ITEMS, ids):
        items.setdefault(item.order_id, []).append(item)
    contexts = {}
    for row in execute_core(session, _ORDERS, ids):
        lines = items.get(row.id, [])
        order = OrderView(
            row.id,
            row.factory_id,
            row.buyer_id,
            row.supplier_id,
            row.eta,
            row.delivered_at,
            row.updated_at,
            [OrderItemView(line.part_id, line.quantity) for line in lines],
        )
        contexts[row.id] = OrderContext(
            order,
            Named(row.factory_name),
            Named(row.supplier_name) if row.supplier_name is not None else None,
            DeliveryView(row.delivery_eta, row.carrier) if row.delivery_id is not None else None,
            {line.part_id: Named(line.part_name) for line in lines if line.part_name is not None},
        )
    return contexts


def load_stock_contexts(session: Session, item_ids: set[int]) -> dict[int, StockContext]:
    """One query: the stock rows joined to their parts and suppliers."""
    if not item_ids:
        return {}
    items = session.scalars(_STOCK_CONTEXTS, {"ids": list(item_ids)})
    return {i.id: StockContext(i, i.part, i.supplier) for i in items}


def format_time(value: datetime | str | None) -> str:
    """A time for a message, always shown in UTC; text that is not a time is shown as it is."""
    if value is None:
        return "not set"
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return value
    else:
        moment = value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _supplier_name(ctx: OrderContext) -> str:
    return ctx.supplier.name if ctx.supplier else "(not matched yet)"


def _first_item_text(ctx: OrderContext) -> str:
    items = ctx.order.items
    if not items:
        return "(no items)"
    first = ctx.parts.get(items[0].part_id)
    text = first.name if first else f"part {items[0].part_id}"
    return f"{text} and {len(items) - 1} more" if len(items) > 1 else text


def _eta(ctx: OrderContext, meta: dict[str, Any]) -> Any:
    return meta.get("eta") or (ctx.delivery.eta if ctx.delivery else ctx.order.eta)


OrderNoticeBuilder = Callable[[Directory, OrderContext, dict[str, Any]], Notice]


def _placed(d: Directory, ctx: OrderContext, meta: dict[str, Any]) -> Notice:
    units = sum(item.quantity for item in ctx.order.items)
    return Notice(
        f"New Order #{ctx.order.id}",
        f"{ctx.factory.name} placed an order for {units} parts",
        d.admins,
    )


def _matched(d: Directory, ctx: OrderContext, meta: dict[str, Any]) -> Notice:
    return Notice(
        "Supplier Matched",
        f"Supplier {_supplier_name(ctx)} has been matched to your order",
        d.user(ctx.order.buyer_id) | d.supplier_users(ctx.order.supplier_id),
    )


def _confirmed(d: Directory, ctx: OrderContext, meta: dict[str, Any]) -> Notice:
    return Notice(
        "Order Confirmed",
        f"Supplier {_supplier_name(ctx)} confirmed order item {_first_item_text(ctx)}",
        d.user(ctx.order.buyer_id),
    )


def _dispatched(d: Directory, ctx: OrderContext, meta: dict[str, Any]) -> Notice:
    return Notice("Order Dispatched", "Your order is on its way", d.user(ctx.order.buyer_id))


def _in_transit(d: Directory, ctx: OrderContext, meta: dict[str, Any]) -> Notice:
    carrier = meta.get("carrier") or (ctx.delivery.carrier if ctx.delivery else None)
    eta = _eta(ctx, meta)
    parts = [f"Order #{ctx.order.id} is in transit"]
    if carrier:
        parts.append(f"with {carrier}")
    message = " ".join(parts)
    if eta:
        message += f", expected {format_time(eta)}"
    return Notice("Order In Transit", message, d.user(ctx.order.buyer_id))


def _delivered(d: Directory, ctx: OrderContext, meta: dict[str, Any]) -> Notice:
    message = f"Order #{ctx.order.id} delivered successfully"
    return Notice("Order Delivered", message, d.user(ctx.order.buyer_id))


def _cancelled(d: Directory, ctx: OrderContext, meta: dict[str, Any]) -> Notice:
    who = meta.get("cancelled_by") or "An administrator"
    reason = meta.get("reason")
    message = f"Order #{ctx.order.id} was cancelled by {who}"
    message += f": {reason}" if reason else " (no reason given)"
    return Notice("Order Cancelled", message, d.supplier_users(ctx.order.supplier_id) | d.admins)


def _delivery_planned(d: Directory, ctx: OrderContext, meta: dict[str, Any]) -> Notice:
    carrier = meta.get("carrier") or (ctx.delivery.carrier if ctx.delivery else None)
    message = f"Delivery of order #{ctx.order.id} planned for {format_time(_eta(ctx, meta))}"
    if carrier:
        message += f" with {carrier}"
    return Notice("Delivery Planned", message, d.user(ctx.order.buyer_id))


def _delivery_completed(d: Directory, ctx: OrderContext, meta: dict[str, Any]) -> Notice:
    at = meta.get("delivered_at") or ctx.order.delivered_at
    return Notice(
        "Delivery Completed",
        f"Order #{ctx.order.id} was delivered at {format_time(at)}",
        d.supplier_users(ctx.order.supplier_id),
    )


def _eta_updated(d: Directory, ctx: OrderContext, meta: dict[str, Any]) -> Notice:
    return Notice(
        "ETA Updated",
        f"Order #{ctx.order.id} is now expected {format_time(_eta(ctx, meta))}",
        d.user(ctx.order.buyer_id),
    )


def _matching_failed(d: Directory, ctx: OrderContext, meta: dict[str, Any]) -> Notice:
    return Notice(
        "No Supplier Available",
        f"No supplier can fill order #{ctx.order.id} now",
        d.user(ctx.order.buyer_id) | d.admins,
    )


def _escalated(d: Directory, ctx: OrderContext, meta: dict[str, Any]) -> Notice:
    """Raised by Celery beat (common/services/escalation.py); the reason is in the metadata."""
    order = ctx.order
    recipients = d.user(order.buyer_id) | d.supplier_users(order.supplier_id) | d.admins
    if meta.get("reason") == "past_eta":
        return Notice("Order Escalated", f"Order #{order.id} is past its ETA", recipients)
    hours = meta.get("hours")
    if not isinstance(hours, int):  # a manual event: hours since the order last changed
        hours = hours_since(order.updated_at, datetime.now(UTC))
    return Notice("Order Escalated", f"Order #{order.id} not confirmed for {hours} h", recipients)


ORDER_NOTICES: dict[EventType, OrderNoticeBuilder] = {
    EventType.ORDER_PLACED: _placed,
    EventType.SUPPLIER_MATCHED: _matched,
    EventType.ORDER_CONFIRMED: _confirmed,
    EventType.ORDER_DISPATCHED: _dispatched,
    EventType.ORDER_IN_TRANSIT: _in_transit,
    EventType.ORDER_DELIVERED: _delivered,
    EventType.ORDER_CANCELLED: _cancelled,
    EventType.DELIVERY_PLANNED: _delivery_planned,
    EventType.DELIVERY_COMPLETED: _delivery_completed,
    EventType.ETA_UPDATED: _eta_updated,
    EventType.MATCHING_FAILED: _matching_failed,
    EventType.ORDER_ESCALATED: _escalated,
}


def low_stock_notice(ctx: StockContext, directory: Directory, event: EventLog) -> Notice:
    item = ctx.item
    quantity = event.event_metadata.get("quantity", item.quantity)
    return Notice(
        "Low Stock Alert",
        f"Part {ctx.part.name if ctx.part else item.part_id} is below threshold ({quantity} remaining)",
        directory.supplier_users(item.supplier_id) | directory.admins,
        link=f"/inventory/{item.part_id}",
    )


def build_notice(contexts: Contexts, event: EventLog) -> Notice | None:
    """The notice for an event, or None when its entity no longer exists."""
    event_type = EventType(event.event_type)
    if event_type == EventType.LOW_STOCK_ALERT:
        stock = contexts.stock.get(event.entity_id)
        return low_stock_notice(stock, contexts.directory, event) if stock else None
    ctx = contexts.orders.get(event.entity_id) if event.entity_type == "order" else None
    if ctx is None:
        return None
    notice = ORDER_NOTICES[event_type](contexts.directory, ctx, event.event_metadata)
    notice.link = f"/orders/{ctx.order.id}"
    return notice
