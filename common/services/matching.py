"""Matching: one supplier fills the whole order.

Among the suppliers whose stock covers every item, the highest reliability
score wins, then the lowest total price, then the lowest id.
"""

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select, update
from sqlalchemy.orm import Session, selectinload

from common.db import execute_core
from common.events.bus import emit_event
from common.events.types import EntityType, EventType
from common.models import (
    InventoryItem,
    Order,
    OrderExclusion,
    OrderStatus,
    OrderStatusChange,
    Supplier,
    utcnow,
)
from common.services.errors import Conflict, NotFound
from common.services.metadata import order_ids


@dataclass(frozen=True)
class Candidate:
    supplier_id: int
    reliability_score: float
    total_price: Decimal

    def rank(self) -> tuple[float, Decimal, int]:
        return (-self.reliability_score, self.total_price, self.supplier_id)


def best_candidate(
    needed: dict[int, int], stock: list[InventoryItem], scores: dict[int, float]
) -> tuple[Candidate | None, dict[int, Decimal]]:
    """Pure ranking: needed is part_id -> quantity; returns the winner and its prices."""
    by_supplier: dict[int, dict[int, InventoryItem]] = {}
    for row in stock:
        by_supplier.setdefault(row.supplier_id, {})[row.part_id] = row
    candidates = []
    for supplier_id, rows in by_supplier.items():
        if all(pid in rows and rows[pid].quantity >= qty for pid, qty in needed.items()):
            total = sum((rows[pid].unit_price * qty for pid, qty in needed.items()), Decimal(0))
            candidates.append(Candidate(supplier_id, scores.get(supplier_id, 0.0), total))
    if not candidates:
        return None, {}
    winner = min(candidates, key=Candidate.rank)
    prices = {pid: by_supplier[winner.supplier_id][pid].unit_price for pid in needed}
    return winner, prices


def match_order(session: Session, order_id: int) -> Order:
    """Match a PLACED order; emits SUPPLIER_MATCHED, or MATCHING_FAILED when nobody can."""
    order = session.scalar(
        select(Order)
        .where(Order.id == order_id)
        .options(selectinload(Order.items), selectinload(Order.status_history))
        .with_for_update(of=Order)
    )
    if order is None:
        raise NotFound(f"Order {order_id} not found")
    if order.status != OrderStatus.PLACED:
        raise Conflict(f"Order {order.id} is {order.status}; only a PLACED order can be matched")
    needed = {item.part_id: item.quantity for item in order.items}
    # A supplier released from this order (decline, rematch) is never matched to it again.
    excluded = select(OrderExclusion.supplier_id).where(OrderExclusion.order_id == order.id)
    stock = list(
        session.scalars(
            select(InventoryItem).where(
                InventoryItem.part_id.in_(needed), InventoryItem.supplier_id.not_in(excluded)
            )
        )
    )
    supplier_ids = {row.supplier_id for row in stock}
    scores = dict(
        session.execute(
            select(Supplier.id, Supplier.reliability_score).where(Supplier.id.in_(supplier_ids))
        ).all()
    )
    winner, prices = best_candidate(needed, stock, scores)
    if winner is None:
        emit_event(session, EventType.MATCHING_FAILED, EntityType.ORDER, order.id, metadata=order_ids(order))
        return order
    # A conditional UPDATE whose row count is checked, not the status read above:
    # SQLite (standalone) has no row locks, so two processes may both have read
    # PLACED. Only the one whose UPDATE moved the order matched it; the other
    # does nothing and emits nothing.
    moved = execute_core(
        session,
        update(Order)
        .where(Order.id == order.id, Order.status == OrderStatus.PLACED)
        .values(status=OrderStatus.MATCHED, supplier_id=winner.supplier_id, updated_at=utcnow())
        .execution_options(synchronize_session=False),
    )
    if moved.rowcount != 1:
        session.expire(order)
        raise Conflict(f"Order {order_id} was matched or moved meanwhile; only a PLACED order can be matched")
    session.expire(order, ["status", "supplier_id", "updated_at"])
    for item in order.items:
        item.unit_price = prices[item.part_id]
    order.status_history.append(OrderStatusChange(status=OrderStatus.MATCHED, at=utcnow()))
    session.flush()
    emit_event(
        session,
        EventType.SUPPLIER_MATCHED,
        EntityType.ORDER,
        order.id,
        metadata={**order_ids(order), "total_price": str(winner.total_price)},
    )
    return order
