"""The supplier reliability score: on-time deliveries raise it, late ones lower it."""

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from common.db import execute_core
from common.models import Delivery, Order, OrderStatus, Supplier, utcnow

INITIAL_SCORE = 80.0
ON_TIME_BONUS = 2.0
LATE_PENALTY = 5.0


def next_score(score: float, on_time: bool) -> float:
    change = ON_TIME_BONUS if on_time else -LATE_PENALTY
    return max(0.0, min(100.0, score + change))


def was_on_time(delivered_at: datetime, planned_eta: datetime | None, needed_by: datetime | None) -> bool:
    deadline = planned_eta or needed_by
    return deadline is None or delivered_at <= deadline


def score_delivery(session: Session, order_id: int) -> Supplier | None:
    """Score a delivered order once; a second call (a redelivered task) changes nothing."""
    order = session.scalar(select(Order).where(Order.id == order_id).with_for_update())
    if (
        order is None
        or order.status != OrderStatus.DELIVERED
        or order.scored_at is not None
        or order.supplier_id is None
        or order.delivered_at is None
    ):
        return None
    # Scored once, by a conditional UPDATE whose row count is checked: SQLite
    # (standalone) has no row locks, so two processes may both have read
    # scored_at IS NULL; only the one whose UPDATE set it changes the score.
    scored_at = utcnow()
    claimed = execute_core(
        session,
        update(Order)
        .where(Order.id == order.id, Order.scored_at.is_(None), Order.status == OrderStatus.DELIVERED)
        .values(scored_at=scored_at)
        .execution_options(synchronize_session=False),
    )
    if claimed.rowcount != 1:
        session.expire(order)
        return None
    planned_eta = session.scalar(select(Delivery.eta).where(Delivery.order_id == order.id))
    on_time = was_on_time(order.delivered_at, planned_eta, order.needed_by)
    supplier = session.scalar(select(Supplier).where(Supplier.id == order.supplier_id).with_for_update())
    assert supplier is not None
    supplier.reliability_score = next_score(supplier.reliability_score, on_time)
    set_committed_value(order, "scored_at", scored_at)
    session.flush()
    return supplier
