"""Who is told what (CONTRACT section 6): recipients, title and message per event type."""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from common.events.types import EventType
from common.models import (
    Delivery,
    EventLog,
    Factory,
    InventoryItem,
    Order,
    Part,
    Role,
    Supplier,
    User,
)
from common.services.escalation import unconfirmed_hours


@dataclass
class Notice:
    title: str
    message: str
    recipients: set[int] = field(default_factory=set)
    link: str | None = None


@dataclass
class OrderContext:
    order: Order
    factory: Factory
    supplier: Supplier | None
    delivery: Delivery | None
    parts: dict[int, Part]


def admin_ids(session: Session) -> set[int]:
    return set(session.scalars(select(User.id).where(User.role == Role.ADMIN, User.is_active)))


def supplier_user_ids(session: Session, supplier_id: int | None) -> set[int]:
    if supplier_id is None:
        return set()
    return set(session.scalars(select(User.id).where(User.supplier_id == supplier_id, User.is_active)))


def order_viewer_ids(session: Session, order: Order) -> set[int]:
    """Every user who may see the order: its factory's buyers and the matched supplier's users."""
    buyers = set(
        session.scalars(
            select(User.id).where(
                User.factory_id == order.factory_id, User.role == Role.BUYER, User.is_active
            )
        )
    )
    return buyers | supplier_user_ids(session, order.supplier_id)


def load_order_context(session: Session, order_id: int) -> OrderContext | None:
    order = session.scalar(select(Order).where(Order.id == order_id).options(selectinload(Order.items)))
    if order is None:
        return None
    factory = session.get(Factory, order.factory_id)
    assert factory is not None
    supplier = session.get(Supplier, order.supplier_id) if order.supplier_id else None
    delivery = session.scalar(select(Delivery).where(Delivery.order_id == order.id))
    part_ids = [item.part_id for item in order.items]
    parts = {p.id: p for p in session.scalars(select(Part).where(Part.id.in_(part_ids)))}
    return OrderContext(order, factory, supplier, delivery, parts)


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


OrderNoticeBuilder = Callable[[Session, OrderContext, dict[str, Any]], Notice]


def _placed(s: Session, ctx: OrderContext, meta: dict[str, Any]) -> Notice:
    units = sum(item.quantity for item in ctx.order.items)
    return Notice(
        f"New Order #{ctx.order.id}",
        f"{ctx.factory.name} placed an order for {units} parts",
        admin_ids(s),
    )


def _matched(s: Session, ctx: OrderContext, meta: dict[str, Any]) -> Notice:
    return Notice(
        "Supplier Matched",
        f"Supplier {_supplier_name(ctx)} has been matched to your order",
        {ctx.order.buyer_id} | supplier_user_ids(s, ctx.order.supplier_id),
    )


def _confirmed(s: Session, ctx: OrderContext, meta: dict[str, Any]) -> Notice:
    return Notice(
        "Order Confirmed",
        f"Supplier {_supplier_name(ctx)} confirmed order item {_first_item_text(ctx)}",
        {ctx.order.buyer_id},
    )


def _dispatched(s: Session, ctx: OrderContext, meta: dict[str, Any]) -> Notice:
    return Notice("Order Dispatched", "Your order is on its way", {ctx.order.buyer_id})


def _in_transit(s: Session, ctx: OrderContext, meta: dict[str, Any]) -> Notice:
    carrier = meta.get("carrier") or (ctx.delivery.carrier if ctx.delivery else None)
    eta = _eta(ctx, meta)
    parts = [f"Order #{ctx.order.id} is in transit"]
    if carrier:
        parts.append(f"with {carrier}")
    message = " ".join(parts)
    if eta:
        message += f", expected {format_time(eta)}"
    return Notice("Order In Transit", message, {ctx.order.buyer_id})


def _delivered(s: Session, ctx: OrderContext, meta: dict[str, Any]) -> Notice:
    return Notice("Order Delivered", f"Order #{ctx.order.id} delivered successfully", {ctx.order.buyer_id})


def _cancelled(s: Session, ctx: OrderContext, meta: dict[str, Any]) -> Notice:
    who = meta.get("cancelled_by") or "An administrator"
    reason = meta.get("reason")
    message = f"Order #{ctx.order.id} was cancelled by {who}"
    message += f": {reason}" if reason else " (no reason given)"
    return Notice("Order Cancelled", message, supplier_user_ids(s, ctx.order.supplier_id) | admin_ids(s))


def _delivery_planned(s: Session, ctx: OrderContext, meta: dict[str, Any]) -> Notice:
    carrier = meta.get("carrier") or (ctx.delivery.carrier if ctx.delivery else None)
    message = f"Delivery of order #{ctx.order.id} planned for {format_time(_eta(ctx, meta))}"
    if carrier:
        message += f" with {carrier}"
    return Notice("Delivery Planned", message, {ctx.order.buyer_id})


def _delivery_completed(s: Session, ctx: OrderContext, meta: dict[str, Any]) -> Notice:
    at = meta.get("delivered_at") or ctx.order.delivered_at
    return Notice(
        "Delivery Completed",
        f"Order #{ctx.order.id} was delivered at {format_time(at)}",
        supplier_user_ids(s, ctx.order.supplier_id),
    )


def _eta_updated(s: Session, ctx: OrderContext, meta: dict[str, Any]) -> Notice:
    return Notice(
        "ETA Updated",
        f"Order #{ctx.order.id} is now expected {format_time(_eta(ctx, meta))}",
        {ctx.order.buyer_id},
    )


def _matching_failed(s: Session, ctx: OrderContext, meta: dict[str, Any]) -> Notice:
    return Notice(
        "No Supplier Available",
        f"No supplier can fill order #{ctx.order.id} now",
        {ctx.order.buyer_id} | admin_ids(s),
    )


def _escalated(s: Session, ctx: OrderContext, meta: dict[str, Any]) -> Notice:
    """Raised by Celery beat (common/services/escalation.py); the reason is in the metadata."""
    recipients = {ctx.order.buyer_id} | supplier_user_ids(s, ctx.order.supplier_id) | admin_ids(s)
    if meta.get("reason") == "past_eta":
        return Notice("Order Escalated", f"Order #{ctx.order.id} is past its ETA", recipients)
    hours = meta.get("hours")
    if not isinstance(hours, int):
        hours = unconfirmed_hours(s, ctx.order)
    return Notice("Order Escalated", f"Order #{ctx.order.id} not confirmed for {hours} h", recipients)


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


def low_stock_notice(session: Session, event: EventLog) -> Notice | None:
    item = session.get(InventoryItem, event.entity_id)
    if item is None:
        return None
    part = session.get(Part, item.part_id)
    quantity = event.event_metadata.get("quantity", item.quantity)
    return Notice(
        "Low Stock Alert",
        f"Part {part.name if part else item.part_id} is below threshold ({quantity} remaining)",
        supplier_user_ids(session, item.supplier_id) | admin_ids(session),
    )


def build_notice(session: Session, event: EventLog, ctx: OrderContext | None) -> Notice | None:
    """The notice for an event, or None when its entity no longer exists."""
    event_type = EventType(event.event_type)
    if event_type == EventType.LOW_STOCK_ALERT:
        return low_stock_notice(session, event)
    if ctx is None:
        return None
    notice = ORDER_NOTICES[event_type](session, ctx, event.event_metadata)
    notice.link = f"/orders/{ctx.order.id}"
    return notice
