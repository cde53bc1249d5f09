"""Orders: placing, seeing, moving through the state machine, deliveries."""

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from common.events.bus import emit_event
from common.events.types import EntityType, EventType
from common.models import (
    Delivery,
    InventoryItem,
    Order,
    OrderExclusion,
    OrderItem,
    OrderStatus,
    OrderStatusChange,
    Part,
    Role,
    User,
    utcnow,
)
from common.schemas.orders import DeliveryCreate, DeliveryUpdate, OrderCreate, TransitionRequest
from common.services.errors import Conflict, Forbidden, Invalid, NotFound
from common.services.inventory import alert_if_newly_low, is_low
from common.services.metadata import order_ids
from common.services.pagination import PageData, paginate
from common.services.visibility import orders_visible_to

S = OrderStatus

# Which moves the state machine allows, and who may ask for each target status.
ALLOWED_MOVES: dict[OrderStatus, set[OrderStatus]] = {
    S.PLACED: {S.MATCHED, S.CANCELLED},
    S.MATCHED: {S.CONFIRMED, S.CANCELLED},
    S.CONFIRMED: {S.DISPATCHED, S.CANCELLED},
    S.DISPATCHED: {S.IN_TRANSIT},
    S.IN_TRANSIT: {S.DELIVERED},
    S.DELIVERED: set(),
    S.CANCELLED: set(),
}
REQUESTABLE_BY: dict[OrderStatus, set[Role]] = {
    S.CONFIRMED: {Role.SUPPLIER},
    S.DISPATCHED: {Role.SUPPLIER},
    S.IN_TRANSIT: {Role.SUPPLIER},
    S.DELIVERED: {Role.BUYER, Role.SUPPLIER, Role.ADMIN},
    S.CANCELLED: {Role.BUYER, Role.ADMIN},
}
EVENT_FOR_STATUS: dict[OrderStatus, EventType] = {
    S.CONFIRMED: EventType.ORDER_CONFIRMED,
    S.DISPATCHED: EventType.ORDER_DISPATCHED,
    S.IN_TRANSIT: EventType.ORDER_IN_TRANSIT,
    S.DELIVERED: EventType.ORDER_DELIVERED,
    S.CANCELLED: EventType.ORDER_CANCELLED,
}
PLANNABLE = {S.CONFIRMED, S.DISPATCHED, S.IN_TRANSIT}


def _with_details() -> Any:
    # One query per relationship for the whole page of orders, never one per row.
    return (
        selectinload(Order.items).selectinload(OrderItem.part),
        selectinload(Order.status_history),
        selectinload(Order.supplier),
        selectinload(Order.delivery),
    )


def list_orders(
    session: Session, user: User, *, status: OrderStatus | None, limit: int, offset: int
) -> PageData[Order]:
    query = (
        select(Order)
        .where(orders_visible_to(user))
        .options(*_with_details())
        .order_by(Order.created_at.desc(), Order.id.desc())
    )
    if status is not None:
        query = query.where(Order.status == status)
    return paginate(session, query, limit=limit, offset=offset)


def get_order(session: Session, user: User, order_id: int, *, for_update: bool = False) -> Order:
    query = select(Order).where(Order.id == order_id, orders_visible_to(user)).options(*_with_details())
    if for_update:
        query = query.with_for_update(of=Order)
    order = session.scalar(query)
    if order is None:
        raise NotFound(f"Order {order_id} not found")
    return order


def place_order(session: Session, buyer: User, data: OrderCreate) -> Order:
    part_ids = [item.part_id for item in data.items]
    duplicates = {pid for pid in part_ids if part_ids.count(pid) > 1}
    if duplicates:
        raise Invalid(f"Part {min(duplicates)} appears more than once; list each part once")
    known = set(session.scalars(select(Part.id).where(Part.id.in_(part_ids))))
    unknown = [pid for pid in part_ids if pid not in known]
    if unknown:
        raise Invalid(f"Unknown part_id {unknown[0]}")
    assert buyer.factory_id is not None
    order = Order(
        status=S.PLACED,
        factory_id=buyer.factory_id,
        buyer_id=buyer.id,
        notes=data.notes,
        needed_by=data.needed_by,
        items=[OrderItem(part_id=i.part_id, quantity=i.quantity) for i in data.items],
    )
    session.add(order)
    session.flush()
    _record_status(session, order, S.PLACED, actor_id=buyer.id)
    units = sum(i.quantity for i in data.items)
    emit_event(
        session,
        EventType.ORDER_PLACED,
        EntityType.ORDER,
        order.id,
        actor_id=buyer.id,
        metadata={**order_ids(order), "total_units": units},
    )
    # The answer names its parts like every other read of an order.
    return session.scalars(
        select(Order)
        .where(Order.id == order.id)
        .options(*_with_details())
        .execution_options(populate_existing=True)
    ).one()


def transition(session: Session, actor: User, order_id: int, data: TransitionRequest) -> Order:
    order = get_order(session, actor, order_id, for_update=True)
    target = data.status
    allowed_roles = REQUESTABLE_BY.get(target)
    if allowed_roles is not None and Role(actor.role) not in allowed_roles:
        raise Forbidden(f"A {actor.role} cannot move an order to {target}")
    current = OrderStatus(order.status)
    if allowed_roles is None or target not in ALLOWED_MOVES[current]:
        raise Conflict(f"Cannot move order {order.id} from {current} to {target}")

    extra: dict[str, Any] = {"previous_status": current.value}
    stock_changes: list[tuple[InventoryItem, bool]] = []
    if target == S.CONFIRMED:
        stock_changes = _reserve_stock(session, order)
    elif target == S.CANCELLED:
        if current == S.CONFIRMED:
            _release_stock(session, order)
        extra["cancelled_by"] = actor.full_name
        extra["cancelled_by_role"] = actor.role
        extra["reason"] = data.reason
    elif target == S.DELIVERED:
        order.delivered_at = utcnow()
    if data.eta is not None:
        order.eta = data.eta
    if data.reason and "reason" not in extra:
        extra["reason"] = data.reason

    order.status = target
    _record_status(session, order, target, actor_id=actor.id)
    metadata = {**order_ids(order), **extra}
    if order.eta is not None:
        metadata["eta"] = order.eta.isoformat()
    emit_event(
        session,
        EVENT_FOR_STATUS[target],
        EntityType.ORDER,
        order.id,
        actor_id=actor.id,
        metadata=metadata,
    )
    alert_if_newly_low(session, stock_changes, actor_id=actor.id)
    if target == S.DELIVERED:
        _complete_delivery(session, order, actor_id=actor.id)
    return order


def _record_status(session: Session, order: Order, status: OrderStatus, *, actor_id: int | None) -> None:
    order.status_history.append(OrderStatusChange(status=status, actor_id=actor_id, at=utcnow()))
    session.flush()


def _stock_rows(session: Session, order: Order) -> dict[int, InventoryItem]:
    rows = session.scalars(
        select(InventoryItem)
        .where(
            InventoryItem.supplier_id == order.supplier_id,
            InventoryItem.part_id.in_([i.part_id for i in order.items]),
        )
        .order_by(InventoryItem.id)
        .with_for_update()
    )
    return {row.part_id: row for row in rows}


def _reserve_stock(session: Session, order: Order) -> list[tuple[InventoryItem, bool]]:
    """Take the order's units from the supplier's stock; returns (row, was it low before)."""
    stock = _stock_rows(session, order)
    for item in order.items:
        row = stock.get(item.part_id)
        available = row.quantity if row else 0
        if available < item.quantity:
            part = session.get(Part, item.part_id)
            name = part.name if part else f"part {item.part_id}"
            raise Conflict(
                f"Not enough stock of {name} to confirm order {order.id}: "
                f"{available} left, {item.quantity} needed"
            )
    changes = []
    for item in order.items:
        row = stock[item.part_id]
        changes.append((row, is_low(row)))
        row.quantity -= item.quantity
    session.flush()
    return changes


def _release_stock(session: Session, order: Order) -> None:
    stock = _stock_rows(session, order)
    for item in order.items:
        if item.part_id in stock:
            stock[item.part_id].quantity += item.quantity
    session.flush()


def _complete_delivery(session: Session, order: Order, *, actor_id: int) -> None:
    delivery = session.scalar(select(Delivery).where(Delivery.order_id == order.id))
    if delivery is None:
        return
    delivery.completed_at = order.delivered_at
    emit_event(
        session,
        EventType.DELIVERY_COMPLETED,
        EntityType.ORDER,
        order.id,
        actor_id=actor_id,
        metadata={
            **order_ids(order),
            "delivery_id": delivery.id,
            "eta": delivery.eta.isoformat(),
            "delivered_at": order.delivered_at.isoformat() if order.delivered_at else None,
        },
    )


def get_delivery(session: Session, user: User, order_id: int) -> Delivery:
    get_order(session, user, order_id)
    delivery = session.scalar(select(Delivery).where(Delivery.order_id == order_id))
    if delivery is None:
        raise NotFound(f"Order {order_id} has no planned delivery")
    return delivery


def plan_delivery(session: Session, supplier: User, order_id: int, data: DeliveryCreate) -> Delivery:
    order = get_order(session, supplier, order_id, for_update=True)
    if order.status not in PLANNABLE:
        raise Conflict(f"A delivery can be planned once order {order.id} is CONFIRMED; it is {order.status}")
    if session.scalar(select(Delivery.id).where(Delivery.order_id == order.id)) is not None:
        raise Conflict(f"Order {order.id} already has a planned delivery; PATCH it to change the ETA")
    delivery = Delivery(order_id=order.id, eta=data.eta, carrier=data.carrier, tracking_ref=data.tracking_ref)
    session.add(delivery)
    order.eta = data.eta
    session.flush()
    _emit_delivery_event(
        session,
        EventType.DELIVERY_PLANNED,
        supplier,
        order,
        delivery,
        {"carrier": delivery.carrier, "tracking_ref": delivery.tracking_ref},
    )
    return delivery


def update_eta(session: Session, supplier: User, order_id: int, data: DeliveryUpdate) -> Delivery:
    order = get_order(session, supplier, order_id, for_update=True)
    delivery = session.scalar(select(Delivery).where(Delivery.order_id == order.id))
    if delivery is None:
        raise Conflict(f"Order {order.id} has no planned delivery; POST one first")
    if order.status in (S.DELIVERED, S.CANCELLED):
        raise Conflict(f"Order {order.id} is {order.status}; its ETA can no longer change")
    previous = delivery.eta
    delivery.eta = data.eta
    order.eta = data.eta
    session.flush()
    _emit_delivery_event(
        session, EventType.ETA_UPDATED, supplier, order, delivery, {"previous_eta": previous.isoformat()}
    )
    return delivery


def _emit_delivery_event(
    session: Session,
    event_type: EventType,
    supplier: User,
    order: Order,
    delivery: Delivery,
    details: dict[str, Any],
) -> None:
    """DELIVERY_PLANNED or ETA_UPDATED: the order's ids, the delivery and its ETA, then `details`."""
    metadata = {**order_ids(order), "delivery_id": delivery.id, "eta": delivery.eta.isoformat(), **details}
    emit_event(session, event_type, EntityType.ORDER, order.id, actor_id=supplier.id, metadata=metadata)


def release_supplier(
    session: Session, actor: User, order_id: int, *, via: str, reason: str | None = None
) -> Order:
    """decline (the matched supplier) or rematch (an admin): MATCHED -> PLACED, or a PLACED order
    matched again; the supplier released is excluded from this order and loses access to it.

    Only these actions move an order back to PLACED (issue 23). The history records who;
    ORDER_PLACED is recorded again (metadata `rematch`), so matching runs again in the
    worker and `order_status` PLACED reaches the released supplier's users too.
    """
    order = get_order(session, actor, order_id, for_update=True)
    if via == "decline" and Role(actor.role) != Role.SUPPLIER:
        raise Forbidden("Only the matched supplier can decline an order")
    if via == "rematch" and Role(actor.role) != Role.ADMIN:
        raise Forbidden("Only an admin can match an order again")
    current = OrderStatus(order.status)
    allowed = {S.MATCHED} if via == "decline" else {S.PLACED, S.MATCHED}
    if current not in allowed:
        raise Conflict(f"Cannot move order {order.id} from {current} to {S.PLACED}")
    released = order.supplier_id if current == S.MATCHED else None
    if released is not None:
        session.add(
            OrderExclusion(order_id=order.id, supplier_id=released, via=via, actor_id=actor.id, reason=reason)
        )
        order.supplier_id = None
        for item in order.items:
            item.unit_price = None
        order.status = S.PLACED
        _record_status(session, order, S.PLACED, actor_id=actor.id)
    metadata: dict[str, Any] = {**order_ids(order), "rematch": via, "previous_status": current.value}
    if released is not None:
        metadata["released_supplier_id"] = released
    if reason:
        metadata["reason"] = reason
    units = sum(i.quantity for i in order.items)
    emit_event(
        session,
        EventType.ORDER_PLACED,
        EntityType.ORDER,
        order.id,
        actor_id=actor.id,
        metadata={**metadata, "total_units": units},
    )
    return order
