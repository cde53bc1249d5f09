"""Time zones: which zones and locales are accepted, and the zone a user reads times in.

A user's zone is their own `timezone` preference, else their factory's or
supplier's, else UTC. `user_zone` answers it for one user, `user_zones` for a
whole recipient set in one query (the workers ask it per batch, never per row).
"""

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo, available_timezones

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from common.i18n.messages import DEFAULT_LOCALE, locale_or_default, locales
from common.models import Factory, Supplier, User

UTC = ZoneInfo("UTC")
LOCALES = locales()  # one catalogue file per locale (common/i18n/catalogues)


@cache
def known_zones() -> frozenset[str]:
    """The IANA names tzdata knows (the `tzdata` package, not the base image)."""
    return frozenset(available_timezones())


def is_zone(name: object) -> bool:
    return isinstance(name, str) and name in known_zones()


def zone(name: str | None) -> ZoneInfo:
    """The zone of a stored name; an unknown or empty one (never stored by the API) reads as UTC."""
    return _zone(name) if is_zone(name) else UTC


@cache
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


# The effective zone name of a users row (NULL when none of the three is set).
_EFFECTIVE = func.coalesce(User.timezone, Factory.timezone, Supplier.timezone)


def _effective_zones(session: Session, user_ids: list[int]) -> dict[int, str | None]:
    rows = session.execute(
        select(User.id, _EFFECTIVE)
        .outerjoin(Factory, Factory.id == User.factory_id)
        .outerjoin(Supplier, Supplier.id == User.supplier_id)
        .where(User.id.in_(user_ids))
    )
    return {user_id: name for user_id, name in rows}


def organisation_zone_name(session: Session, user: User) -> str | None:
    """The zone of the user's factory or supplier (the default of their own preference)."""
    if user.factory_id is not None:
        return session.scalar(select(Factory.timezone).where(Factory.id == user.factory_id))
    if user.supplier_id is not None:
        return session.scalar(select(Supplier.timezone).where(Supplier.id == user.supplier_id))
    return None


def user_zone_name(session: Session, user: User) -> str:
    """The IANA name of the zone the user reads times in."""
    name = user.timezone or organisation_zone_name(session, user)
    return name if name is not None and is_zone(name) else "UTC"


def user_zone(session: Session, user: User | int) -> ZoneInfo:
    """The zone one user reads times in: own preference, else factory/supplier, else UTC."""
    if isinstance(user, User):
        return zone(user_zone_name(session, user))
    return user_zones(session, [user]).get(user, UTC)


def user_zones(session: Session, user_ids: Iterable[int]) -> dict[int, ZoneInfo]:
    """The zone of each of the users (one query for the whole set); unknown ids are left out."""
    ids = sorted(set(user_ids))
    if not ids:
        return {}
    return {user_id: zone(name) for user_id, name in _effective_zones(session, ids).items()}


@dataclass(frozen=True)
class Reader:
    """How one user reads: the locale (null = en) and the zone of their texts."""

    locale: str = DEFAULT_LOCALE
    zone: ZoneInfo = UTC

    @property
    def variant(self) -> str:
        """What readers who see the same text share: `de|Europe/Berlin`."""
        return f"{self.locale}|{self.zone.key}"


ENGLISH_UTC = Reader()


def select_with_reader(*columns: Any) -> Select[Any]:
    """SELECT columns of users, plus what `reader_of_row` reads (`reader_locale`, `reader_zone`)."""
    return (
        select(*columns, User.locale.label("reader_locale"), _EFFECTIVE.label("reader_zone"))
        .select_from(User)
        .outerjoin(Factory, Factory.id == User.factory_id)
        .outerjoin(Supplier, Supplier.id == User.supplier_id)
    )


def reader_of_row(row: Any) -> Reader:
    return Reader(locale_or_default(row.reader_locale), zone(row.reader_zone))


def readers(session: Session, user_ids: Iterable[int]) -> dict[int, Reader]:
    """Each user's locale and zone, one query for the whole set; unknown ids are left out."""
    ids = sorted(set(user_ids))
    if not ids:
        return {}
    rows = session.execute(select_with_reader(User.id).where(User.id.in_(ids)))
    return {row.id: reader_of_row(row) for row in rows}
