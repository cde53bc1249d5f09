"""Who is told what (CONTRACT section 6): recipients, title and message per event type."""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, or_, select
from sqlalchemy.orm import Session, joinedload

from common import clock
from common.db import execute_core
from common.events.types import EventType
from common.i18n import messages
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
from common.services.visibility import Audience, order_audiences, user_audience


@dataclass
class Notice:
    """title and message: the English text, stored on the row; key and params: the catalogue entry
    (common/i18n/catalogues) each reader's text is rendered from. A notice without a key is
    shown as its stored text to everyone."""

    title: str
    message: str
    recipients: set[int] = field(default_factory=set)
    link: str | None = None
    key: str | None = None
    params: dict[str, Any] = field(default_factory=dict)


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
    needed_by: datetime | None = None


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
        # Each active user under the audience it belongs to (common/services/visibility.py).
        self._audiences: dict[Audience, set[int]] = {}
        for row in rows:
            audience = user_audience(row)
            if audience is not None:
                self._audiences.setdefault(audience, set()).add(row.id)

    def user(self, user_id: int | None) -> set[int]:
        return {user_id} if user_id in self.active else set()

    def supplier_users(self, supplier_id: int | None) -> set[int]:
        return self._members(("supplier", supplier_id)) if supplier_id is not None else set()

    def factory_buyers(self, factory_id: int) -> set[int]:
        return self._members(("factory", factory_id))

    def order_viewers(self, order: OrderView) -> set[int]:
        """Every user who may see the order, admins apart: the members of its audiences."""
        return set().union(*(self._audiences.get(a, ()) for a in order_audiences(order)))

    def _members(self, audience: Audience) -> set[int]:
        return set(self._audiences.get(audience, set()))


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
            | {c.item.supplier_id for c in stock.values()}
            | released_suppliers(events),
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
        Order.needed_by,
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
            row.needed_by,
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
    """A time for a stored (en) message, always shown in UTC; text that is not a time is shown as it is.
    Readers get theirs in their own zone and locale (common.i18n.messages)."""
    return messages.format_time(value)


def notice(key: str, params: dict[str, Any], recipients: set[int], link: str | None = None) -> Notice:
    """A notice of a catalogue key: its stored text is the English one, in UTC."""
    title, message = messages.render_notice(key, params)
    return Notice(title, message, recipients, link, key, params)


def _supplier_name(ctx: OrderContext) -> str | dict[str, str]:
    return ctx.supplier.name if ctx.supplier else {"word": "not_matched"}


def _first_item(ctx: OrderContext) -> tuple[str, dict[str, Any]]:
    """The key suffix and params naming the first item's part (then `and k more`)."""
    items = ctx.order.items
    if not items:
        return "", {"part": {"word": "no_items"}}
    first = ctx.parts.get(items[0].part_id)
    part: Any = first.name if first else {"word": "part_number", "part_id": items[0].part_id}
    return (".more", {"part": part, "more": len(items) - 1}) if len(items) > 1 else ("", {"part": part})


def _eta(ctx: OrderContext, meta: dict[str, Any]) -> Any:
    return meta.get("eta") or (ctx.delivery.eta if ctx.delivery else ctx.order.eta)


def _carrier(ctx: OrderContext, meta: dict[str, Any]) -> Any:
    return meta.get("carrier") or (ctx.delivery.carrier if ctx.delivery else None)


OrderNoticeBuilder = Callable[[Directory, OrderContext, dict[str, Any]], Notice]


def _placed(d: Directory, ctx: OrderContext, meta: dict[str, Any]) -> Notice:
    units = sum(item.quantity for item in ctx.order.items)
    # Placed again by a decline or a rematch (issue 23): the admins knew of it; matching reruns.
    recipients = set() if meta.get("rematch") else d.admins
    params = {"order_id": ctx.order.id, "factory": ctx.factory.name, "units": units}
    return notice("ORDER_PLACED", params, recipients)


def released_suppliers(events: list[EventLog]) -> set[int]:
    """Suppliers a decline or rematch released: their users hear the order is PLACED again."""
    found = set()
    for e in events:
        released = e.event_metadata.get("released_supplier_id") if e.entity_type == "order" else None
        if isinstance(released, int):
            found.add(released)
    return found


def _eta_disputed(d: Directory, ctx: OrderContext, meta: dict[str, Any]) -> Notice:
    reason = meta.get("reason") or {"word": "no_reason"}
    params = {"order_id": ctx.order.id, "reason": reason}
    return notice("ETA_DISPUTED", params, d.supplier_users(ctx.order.supplier_id) | d.admins)


def _matched(d: Directory, ctx: OrderContext, meta: dict[str, Any]) -> Notice:
    recipients = d.user(ctx.order.buyer_id) | d.supplier_users(ctx.order.supplier_id)
    return notice("SUPPLIER_MATCHED", {"supplier": _supplier_name(ctx)}, recipients)


def _confirmed(d: Directory, ctx: OrderContext, meta: dict[str, Any]) -> Notice:
    suffix, params = _first_item(ctx)
    params = {"supplier": _supplier_name(ctx), **params}
    return notice(f"ORDER_CONFIRMED{suffix}", params, d.user(ctx.order.buyer_id))


def _dispatched(d: Directory, ctx: OrderContext, meta: dict[str, Any]) -> Notice:
    return notice("ORDER_DISPATCHED", {"order_id": ctx.order.id}, d.user(ctx.order.buyer_id))


def _in_transit(d: Directory, ctx: OrderContext, meta: dict[str, Any]) -> Notice:
    carrier, eta = _carrier(ctx, meta), _eta(ctx, meta)
    params: dict[str, Any] = {"order_id": ctx.order.id}
    variant = [name for name, value in (("carrier", carrier), ("eta", eta)) if value]
    if carrier:
        params["carrier"] = carrier
    if eta:
        params["eta"] = messages.time_param(eta)
    key = "ORDER_IN_TRANSIT" + ("." + "_".join(variant) if variant else "")
    return notice(key, params, d.user(ctx.order.buyer_id))


def _delivered(d: Directory, ctx: OrderContext, meta: dict[str, Any]) -> Notice:
    return notice("ORDER_DELIVERED", {"order_id": ctx.order.id}, d.user(ctx.order.buyer_id))


def _cancelled(d: Directory, ctx: OrderContext, meta: dict[str, Any]) -> Notice:
    who = meta.get("cancelled_by") or {"word": "administrator"}
    reason = meta.get("reason")
    params: dict[str, Any] = {"order_id": ctx.order.id, "who": who}
    if reason:
        params["reason"] = reason
    recipients = d.supplier_users(ctx.order.supplier_id) | d.admins
    return notice("ORDER_CANCELLED.reason" if reason else "ORDER_CANCELLED", params, recipients)


def _delivery_planned(d: Directory, ctx: OrderContext, meta: dict[str, Any]) -> Notice:
    carrier = _carrier(ctx, meta)
    params: dict[str, Any] = {"order_id": ctx.order.id, "eta": messages.time_param(_eta(ctx, meta))}
    if carrier:
        params["carrier"] = carrier
    key = "DELIVERY_PLANNED.carrier" if carrier else "DELIVERY_PLANNED"
    return notice(key, params, d.user(ctx.order.buyer_id))


def _delivery_completed(d: Directory, ctx: OrderContext, meta: dict[str, Any]) -> Notice:
    at = meta.get("delivered_at") or ctx.order.delivered_at
    params = {"order_id": ctx.order.id, "at": messages.time_param(at)}
    return notice("DELIVERY_COMPLETED", params, d.supplier_users(ctx.order.supplier_id))


def _eta_updated(d: Directory, ctx: OrderContext, meta: dict[str, Any]) -> Notice:
    params = {"order_id": ctx.order.id, "eta": messages.time_param(_eta(ctx, meta))}
    return notice("ETA_UPDATED", params, d.user(ctx.order.buyer_id))


def _matching_failed(d: Directory, ctx: OrderContext, meta: dict[str, Any]) -> Notice:
    recipients = d.user(ctx.order.buyer_id) | d.admins
    return notice("MATCHING_FAILED", {"order_id": ctx.order.id}, recipients)


def _escalated(d: Directory, ctx: OrderContext, meta: dict[str, Any]) -> Notice:
    """Raised by Celery beat (common/services/escalation.py); the reason is in the metadata."""
    order = ctx.order
    recipients = d.user(order.buyer_id) | d.supplier_users(order.supplier_id) | d.admins
    if meta.get("reason") == "past_eta":
        return notice("ORDER_ESCALATED.past_eta", {"order_id": order.id}, recipients)
    hours = meta.get("hours")
    if not isinstance(hours, int):  # a manual event: hours since the order last changed
        hours = hours_since(order.updated_at, clock.now())
    return notice("ORDER_ESCALATED.unconfirmed", {"order_id": order.id, "hours": hours}, recipients)


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
    EventType.ETA_DISPUTED: _eta_disputed,
}


def low_stock_notice(ctx: StockContext, directory: Directory, event: EventLog) -> Notice:
    item = ctx.item
    quantity = event.event_metadata.get("quantity", item.quantity)
    params = {"part": ctx.part.name if ctx.part else item.part_id, "quantity": quantity}
    recipients = directory.supplier_users(item.supplier_id) | directory.admins
    return notice("LOW_STOCK_ALERT", params, recipients, link=f"/inventory/{item.part_id}")


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
