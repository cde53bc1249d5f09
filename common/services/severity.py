"""Severity from business impact (issue 23), computed once by the worker and stored on each row.

`impact_severity` is the rule, a pure function; `consumption_by_row` reads the
30-day consumption of a batch's stock rows in one query.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, tuple_
from sqlalchemy.orm import Session

from common.events.kinds import default_severity
from common.models import Order, OrderItem, OrderStatusChange, utcnow

CONSUMPTION_DAYS = 30


@dataclass(frozen=True)
class StockFacts:
    quantity: int
    threshold: int
    lead_time_days: int
    consumed_30d: int  # units of CONFIRMED orders filled from the row over the last 30 days


def impact_severity(
    event_type: str,
    *,
    stock: StockFacts | None = None,
    eta: datetime | None = None,
    needed_by: datetime | None = None,
) -> str:
    """critical | high | normal | low for one event.

    LOW_STOCK_ALERT: critical when the stock is zero, or covers fewer days than the
    row's lead time at the recent consumption (consumed_30d / 30 a day); high below
    half the threshold; else normal. ETA_UPDATED: high when the new ETA is past the
    order's needed_by. Every other type: its default (common/events/kinds.py).
    """
    if event_type == "LOW_STOCK_ALERT" and stock is not None:
        if stock.quantity <= 0:
            return "critical"
        # cover (days) = quantity / (consumed / 30) < lead time, in integers: no rounding at the edge.
        if (
            stock.consumed_30d > 0
            and stock.quantity * CONSUMPTION_DAYS < stock.lead_time_days * stock.consumed_30d
        ):
            return "critical"
        if stock.quantity * 2 < stock.threshold:
            return "high"
        return "normal"
    if event_type == "ETA_UPDATED" and eta is not None and needed_by is not None:
        return "high" if eta > needed_by else "normal"
    return default_severity(event_type)


def consumption_by_row(
    session: Session, rows: Iterable[tuple[int, int]], *, now: datetime | None = None
) -> dict[tuple[int, int], int]:
    """{(supplier_id, part_id): units} of orders CONFIRMED in the last 30 days by that supplier.

    One query for every row of a batch. An order confirmed and then cancelled gave
    its stock back, so it does not count.
    """
    keys = list(set(rows))
    if not keys:
        return {}
    since = (now or utcnow()) - timedelta(days=CONSUMPTION_DAYS)
    confirmed = (
        select(OrderStatusChange.order_id)
        .where(OrderStatusChange.status == "CONFIRMED", OrderStatusChange.at >= since)
        .scalar_subquery()
    )
    query = (
        select(Order.supplier_id, OrderItem.part_id, func.sum(OrderItem.quantity))
        .join(OrderItem, OrderItem.order_id == Order.id)
        .where(
            Order.id.in_(confirmed),
            Order.status != "CANCELLED",
            tuple_(Order.supplier_id, OrderItem.part_id).in_(keys),
        )
        .group_by(Order.supplier_id, OrderItem.part_id)
    )
    return {(int(s or 0), int(p)): int(n or 0) for s, p, n in session.execute(query)}
