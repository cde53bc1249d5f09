"""Pure rules: matching rank, reliability score, time windows."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from common.models import InventoryItem
from common.services.matching import best_candidate
from common.services.scoring import next_score, was_on_time


def stock(supplier_id: int, part_id: int, quantity: int, price: str) -> InventoryItem:
    return InventoryItem(
        supplier_id=supplier_id, part_id=part_id, quantity=quantity, unit_price=Decimal(price)
    )


def test_highest_score_wins_over_price() -> None:
    rows = [stock(1, 10, 5, "9.00"), stock(2, 10, 5, "1.00")]
    winner, prices = best_candidate({10: 3}, rows, {1: 90.0, 2: 80.0})
    assert winner is not None and winner.supplier_id == 1
    assert prices == {10: Decimal("9.00")}


def test_price_then_id_break_ties() -> None:
    rows = [stock(3, 10, 5, "2.00"), stock(2, 10, 5, "1.00"), stock(1, 10, 5, "1.00")]
    winner, _ = best_candidate({10: 1}, rows, {1: 80.0, 2: 80.0, 3: 80.0})
    assert winner is not None and winner.supplier_id == 1
    assert winner.total_price == Decimal("1.00")


def test_one_supplier_must_cover_every_item() -> None:
    rows = [stock(1, 10, 5, "1.00"), stock(2, 11, 5, "1.00"), stock(3, 10, 5, "5"), stock(3, 11, 1, "5")]
    winner, _ = best_candidate({10: 1, 11: 2}, rows, {1: 99.0, 2: 99.0, 3: 10.0})
    assert winner is None
    rows.append(stock(3, 11, 2, "5"))  # now supplier 3 has enough of part 11 too
    winner, _ = best_candidate({10: 1, 11: 2}, rows[:3] + rows[4:], {3: 10.0})
    assert winner is not None and winner.supplier_id == 3 and winner.total_price == Decimal("15")


def test_score_moves_within_bounds() -> None:
    assert next_score(80, True) == 82
    assert next_score(80, False) == 75
    assert next_score(99.5, True) == 100
    assert next_score(3, False) == 0


def test_on_time_rules() -> None:
    now = datetime.now(UTC)
    assert was_on_time(now, None, None)
    assert was_on_time(now, now + timedelta(hours=1), None)
    assert not was_on_time(now, now - timedelta(hours=1), now + timedelta(days=1))
    assert not was_on_time(now, None, now - timedelta(seconds=1))
