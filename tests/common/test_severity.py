"""Severity from business impact (issue 23): each rule with a case on each side of its boundary."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm import Session

from common.models import Order, OrderItem, OrderStatusChange
from common.services.severity import StockFacts, consumption_by_row, impact_severity

T = datetime(2030, 1, 10, 12, 0, tzinfo=UTC)


def stock(quantity: int, threshold: int = 100, lead: int = 5, consumed: int = 0) -> StockFacts:
    return StockFacts(quantity=quantity, threshold=threshold, lead_time_days=lead, consumed_30d=consumed)


@pytest.mark.parametrize(
    ("facts", "expected"),
    [
        # zero stock is critical whatever the consumption
        (stock(0, consumed=0), "critical"),
        (stock(1, threshold=2, consumed=0), "normal"),  # 1 * 2 == 2: not below half
        # cover vs lead time: 30 consumed in 30 days = 1 a day; lead time 5 days
        (stock(4, threshold=8, consumed=30), "critical"),  # 4 days of cover < 5
        (stock(5, threshold=8, consumed=30), "normal"),  # 5 days == lead time: not critical
        # 60 units a month (2 a day), lead 10 days: 19 units = 9.5 days < 10; 20 = exactly 10
        (stock(19, threshold=30, lead=10, consumed=60), "critical"),
        (stock(20, threshold=30, lead=10, consumed=60), "normal"),
        # below half the threshold (no consumption): 49 < 50 high, 50 not
        (stock(49, threshold=100), "high"),
        (stock(50, threshold=100), "normal"),
        # enough cover but below half: high
        (stock(40, threshold=100, lead=5, consumed=30), "high"),
        # lead time 0: never short of cover
        (stock(1, threshold=2, lead=0, consumed=300), "normal"),
    ],
)
def test_low_stock_severity(facts: StockFacts, expected: str) -> None:
    assert impact_severity("LOW_STOCK_ALERT", stock=facts) == expected


@pytest.mark.parametrize(
    ("eta", "expected"),
    [
        (T + timedelta(seconds=1), "high"),  # past needed_by
        (T, "normal"),  # exactly on it: not past
        (T - timedelta(days=1), "normal"),
    ],
)
def test_eta_updated_past_needed_by_is_high(eta: datetime, expected: str) -> None:
    assert impact_severity("ETA_UPDATED", eta=eta, needed_by=T) == expected


def test_eta_updated_without_needed_by_is_normal() -> None:
    assert impact_severity("ETA_UPDATED", eta=T, needed_by=None) == "normal"


@pytest.mark.parametrize(
    ("event_type", "expected"),
    [
        ("MATCHING_FAILED", "critical"),
        ("ORDER_CANCELLED", "critical"),
        ("ORDER_ESCALATED", "critical"),
        ("DELIVERY_COMPLETED", "low"),
        ("ETA_DISPUTED", "high"),
        ("ORDER_PLACED", "normal"),
        ("SUPPLIER_MATCHED", "normal"),
        ("DELIVERY_PLANNED", "normal"),
        ("SOMETHING_NEW", "normal"),
    ],
)
def test_fixed_severities(event_type: str, expected: str) -> None:
    assert impact_severity(event_type) == expected


def _confirmed_order(db: Session, supplier_id: int, part_id: int, quantity: int, at: datetime, status: str) -> None:
    order = Order(status=status, factory_id=1, buyer_id=2, supplier_id=supplier_id)
    order.items = [OrderItem(part_id=part_id, quantity=quantity)]
    db.add(order)
    db.flush()
    db.add(OrderStatusChange(order_id=order.id, status="CONFIRMED", at=at))


def test_consumption_counts_confirmed_orders_of_the_last_30_days(db: Session) -> None:
    now = datetime.now(UTC)
    _confirmed_order(db, 1, 1, 7, now - timedelta(days=29, hours=23), "CONFIRMED")  # inside
    _confirmed_order(db, 1, 1, 5, now - timedelta(days=2), "DELIVERED")  # inside, moved on
    _confirmed_order(db, 1, 1, 100, now - timedelta(days=30, hours=1), "DELIVERED")  # outside
    _confirmed_order(db, 1, 1, 50, now - timedelta(days=1), "CANCELLED")  # gave its stock back
    _confirmed_order(db, 2, 1, 9, now - timedelta(days=1), "CONFIRMED")  # the other supplier
    db.flush()
    assert consumption_by_row(db, [(1, 1), (2, 1), (1, 2)], now=now) == {(1, 1): 12, (2, 1): 9}
