"""SLA escalation (CONTRACT section 6), run by Celery beat every ESCALATION_CHECK_SECONDS.

Two reasons, each raised at most once per order:
- `unconfirmed`: MATCHED for longer than ESCALATE_UNCONFIRMED_SECONDS;
- `past_eta`: the order's latest ETA (a planned delivery's, an ETA update's or
  one given with a move), else its `needed_by`, has passed while the order is
  neither DELIVERED nor CANCELLED.

"Once" is a row in order_escalations, unique per (order, reason), inserted in
the transaction that records the ORDER_ESCALATED event: with two beat
processes (or two workers running the check at once) one insert wins and the
other does nothing.
"""

import math
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from common import clock
from common.config import get_settings
from common.db import insert_on_conflict
from common.events.bus import emit_event
from common.events.types import EntityType, EventType
from common.models import (
    Delivery,
    EscalationReason,
    Order,
    OrderEscalation,
    OrderStatus,
    OrderStatusChange,
)
from common.services.metadata import order_ids

BATCH = 500


def hours_since(moment: datetime, now: datetime) -> int:
    """Whole hours (rounded down)."""
    return max(0, math.floor((now - moment).total_seconds() / 3600))


def _not_escalated(reason: EscalationReason) -> Any:
    return (
        ~select(OrderEscalation.id)
        .where(OrderEscalation.order_id == Order.id, OrderEscalation.reason == reason.value)
        .exists()
    )


def due_escalations(session: Session, now: datetime) -> list[tuple[int, EscalationReason, dict[str, Any]]]:
    """(order id, reason, extra metadata) for every order that should be escalated and was not yet."""
    cutoff = now - timedelta(seconds=get_settings().escalate_unconfirmed_seconds)
    matched = (
        select(OrderStatusChange.order_id, func.max(OrderStatusChange.at).label("at"))
        .where(OrderStatusChange.status == OrderStatus.MATCHED)
        .group_by(OrderStatusChange.order_id)
        .subquery()
    )
    found: list[tuple[int, EscalationReason, dict[str, Any]]] = []
    for order_id, at in session.execute(
        select(Order.id, matched.c.at)
        .join(matched, matched.c.order_id == Order.id)
        .where(
            Order.status == OrderStatus.MATCHED,
            matched.c.at <= cutoff,
            _not_escalated(EscalationReason.UNCONFIRMED),
        )
        .order_by(Order.id)
        .limit(BATCH)
    ):
        found.append(
            (
                order_id,
                EscalationReason.UNCONFIRMED,
                {"hours": hours_since(at, now), "matched_at": at.isoformat()},
            )
        )
    eta = func.coalesce(Order.eta, Delivery.eta, Order.needed_by).label("eta")
    for order_id, due, source_eta in session.execute(
        select(Order.id, eta, Order.eta.is_(None) & Delivery.eta.is_(None))
        .outerjoin(Delivery, Delivery.order_id == Order.id)
        .where(
            Order.status.not_in([OrderStatus.DELIVERED, OrderStatus.CANCELLED]),
            eta < now,
            _not_escalated(EscalationReason.PAST_ETA),
        )
        .order_by(Order.id)
        .limit(BATCH)
    ):
        moment = due if isinstance(due, datetime) else datetime.fromisoformat(str(due))
        found.append(
            (
                order_id,
                EscalationReason.PAST_ETA,
                {"eta": _iso(moment), "eta_source": "needed_by" if source_eta else "eta"},
            )
        )
    return sorted(found, key=lambda row: (row[0], row[1].value))


def _iso(moment: datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat()


def escalate_due_orders(session: Session, now: datetime | None = None) -> list[int]:
    """Record ORDER_ESCALATED for every order due, once per order and reason; returns the event ids.

    The caller commits (the relay then hands the events to the workers).
    """
    now = now or clock.now()  # issue 24: one clock a test can shift
    due = due_escalations(session, now)
    if not due:
        return []
    statement = (
        insert_on_conflict(session, OrderEscalation)
        .values([{"order_id": oid, "reason": reason.value, "created_at": now} for oid, reason, _ in due])
        .on_conflict_do_nothing(index_elements=["order_id", "reason"])
        .returning(OrderEscalation.id, OrderEscalation.order_id, OrderEscalation.reason)
    )
    won = {(order_id, reason): esc_id for esc_id, order_id, reason in session.execute(statement)}
    events = []
    for order_id, reason, extra in due:
        esc_id = won.get((order_id, reason.value))
        order = session.get(Order, order_id)
        if esc_id is None or order is None:
            continue  # another beat process (or an earlier run) raised it already
        event = emit_event(
            session,
            EventType.ORDER_ESCALATED,
            EntityType.ORDER,
            order_id,
            metadata={**order_ids(order), "reason": reason.value, **extra},
        )
        session.execute(
            update(OrderEscalation)
            .where(OrderEscalation.id == esc_id)
            .values(event_id=event.id)
            .execution_options(synchronize_session=False)
        )
        events.append(event.id)
    return events
