"""Who may see an order: the one rule REST, the workers and the socket catch-up apply.

An admin sees every order; a buyer sees its factory's orders; a supplier sees
the orders matched to its supplier company. Put as audiences: besides the
admins (reached by their role room), an order is seen by the buyers of its
factory and the users of the supplier matched to it; a user belongs to at most
one audience (accounts.py gives a factory only to buyers, a supplier company
only to suppliers).
"""

from collections.abc import Iterable
from typing import Protocol

from sqlalchemy import ColumnElement, false, or_, select, true
from sqlalchemy.orm import Session

from common.models import Order, Role, User

# A company's users of one role: ("factory", factory_id) or ("supplier", supplier_id).
Audience = tuple[str, int]


class Viewer(Protocol):
    @property
    def id(self) -> int: ...
    @property
    def role(self) -> str: ...
    @property
    def factory_id(self) -> int | None: ...
    @property
    def supplier_id(self) -> int | None: ...


class Visible(Protocol):
    @property
    def factory_id(self) -> int: ...
    @property
    def supplier_id(self) -> int | None: ...


def order_audiences(order: Visible) -> tuple[Audience, ...]:
    """Who, besides the admins, may see the order."""
    if order.supplier_id is None:
        return (("factory", order.factory_id),)
    return (("factory", order.factory_id), ("supplier", order.supplier_id))


def user_audience(user: Viewer) -> Audience | None:
    """The audience a user belongs to; None for an admin (who sees every order) or an unaffiliated user."""
    if user.role == Role.BUYER and user.factory_id is not None:
        return ("factory", user.factory_id)
    if user.role == Role.SUPPLIER and user.supplier_id is not None:
        return ("supplier", user.supplier_id)
    return None


def sees_order(user: Viewer, order: Visible) -> bool:
    return user.role == Role.ADMIN or user_audience(user) in order_audiences(order)


def orders_visible_to(user: User) -> ColumnElement[bool]:
    """The rule as a filter on orders, for a query of what `user` may see (REST)."""
    if user.role == Role.ADMIN:
        return true()
    audience = user_audience(user)
    if audience is None:
        return false()
    kind, company_id = audience
    return (Order.factory_id if kind == "factory" else Order.supplier_id) == company_id


def order_viewers(users: Iterable[Viewer], order: Visible) -> set[int]:
    """The ids of those of `users` who are in the order's audiences (admins apart)."""
    audiences = order_audiences(order)
    return {user.id for user in users if user_audience(user) in audiences}


def viewers_by_order(
    session: Session, user_ids: set[int], orders: Iterable[Visible]
) -> dict[Visible, set[int]]:
    """For each order, those of `user_ids` who may see it (admins apart: they get every
    order through their role room). One query for all the orders."""
    orders = list(orders)
    factories = {o.factory_id for o in orders}
    suppliers = {o.supplier_id for o in orders if o.supplier_id is not None}
    users = session.execute(
        select(User.id, User.role, User.factory_id, User.supplier_id).where(
            User.id.in_(user_ids), or_(User.factory_id.in_(factories), User.supplier_id.in_(suppliers))
        )
    ).all()
    return {order: order_viewers(users, order) for order in orders}
