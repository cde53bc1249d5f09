"""The one rule of who may see an order, in its three forms: per user, per order, as a filter."""

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.dialects import postgresql

from common.models import Order, Role, User
from common.services.visibility import order_viewers, orders_visible_to, sees_order


@dataclass(frozen=True)
class Ord:
    factory_id: int
    supplier_id: int | None


ADMIN = User(id=1, role=Role.ADMIN, factory_id=None, supplier_id=None)
BUYER = User(id=2, role=Role.BUYER, factory_id=10, supplier_id=None)
OTHER_BUYER = User(id=3, role=Role.BUYER, factory_id=11, supplier_id=None)
SUPPLIER = User(id=4, role=Role.SUPPLIER, factory_id=None, supplier_id=20)
OTHER_SUPPLIER = User(id=5, role=Role.SUPPLIER, factory_id=None, supplier_id=21)
EVERYONE = [ADMIN, BUYER, OTHER_BUYER, SUPPLIER, OTHER_SUPPLIER]


def test_buyers_see_their_factory_suppliers_their_matches_admins_all() -> None:
    matched, unmatched = Ord(10, 20), Ord(10, None)
    assert [u.id for u in EVERYONE if sees_order(u, matched)] == [1, 2, 4]
    assert [u.id for u in EVERYONE if sees_order(u, unmatched)] == [1, 2]


def test_viewers_leave_the_admins_to_their_room() -> None:
    assert order_viewers(EVERYONE, Ord(10, 20)) == {2, 4}
    assert order_viewers(EVERYONE, Ord(11, None)) == {3}


def test_the_filter_says_the_same() -> None:
    def where(user: User) -> str:
        query = select(Order.id).where(orders_visible_to(user))
        return str(query.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}))

    assert "WHERE true" in where(ADMIN)
    assert "orders.factory_id = 10" in where(BUYER)
    assert "orders.supplier_id = 20" in where(SUPPLIER)
