"""Notification preferences: per event type, an in-app and an e-mail switch.

Only a user's deviations from the defaults are stored (NULL = the default), so
a new event type or a changed default reaches everyone who never touched it.
The worker asks `in_app_recipients` / `email_recipients` once per event (or
batch) for the whole recipient set: one query each, never one per user.
"""

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import Select, bindparam, delete, select
from sqlalchemy.orm import Session

from common.db import execute_core, insert_on_conflict
from common.events.types import EventType
from common.i18n.zones import LOCALES, is_zone, user_zone_name
from common.models import NotificationPreference, Role, User, utcnow
from common.services.errors import Invalid

# Who can be told of what: the "notified" column of CONTRACT section 6, by role.
# A type not (yet) in the event catalogue is left out, so a type added to
# common/events/types.py appears here by itself.
_TOLD_BY_ROLE: dict[Role, tuple[str, ...]] = {
    Role.ADMIN: (
        "ORDER_PLACED",
        "ORDER_CANCELLED",
        "LOW_STOCK_ALERT",
        "MATCHING_FAILED",
        "ORDER_ESCALATED",
    ),
    Role.BUYER: (
        "SUPPLIER_MATCHED",
        "ORDER_CONFIRMED",
        "ORDER_DISPATCHED",
        "ORDER_IN_TRANSIT",
        "ORDER_DELIVERED",
        "DELIVERY_PLANNED",
        "ETA_UPDATED",
        "MATCHING_FAILED",
        "ORDER_ESCALATED",
    ),
    Role.SUPPLIER: (
        "SUPPLIER_MATCHED",
        "ORDER_CANCELLED",
        "LOW_STOCK_ALERT",
        "DELIVERY_COMPLETED",
        "ORDER_ESCALATED",
    ),
}

# ETA_DISPUTED (issue 23): the buyer disputes an ETA; the supplier and the admins are told.
for _role in (Role.ADMIN, Role.SUPPLIER):
    _TOLD_BY_ROLE[_role] += ("ETA_DISPUTED",)

# Critical types: never muted in-app.
ALWAYS_IN_APP = frozenset({"MATCHING_FAILED", "ORDER_CANCELLED", "ORDER_ESCALATED"})
# Mailed unless switched off (LOW_STOCK_ALERT as a digest); every other type only when switched on.
EMAIL_BY_DEFAULT = ALWAYS_IN_APP | {"LOW_STOCK_ALERT"}


def told_types(role: str) -> list[str]:
    """The event types a user of this role can be told of, in catalogue order."""
    names = set(_TOLD_BY_ROLE.get(Role(role), ()))
    return [t.value for t in EventType if t.value in names]


def default_email(event_type: str) -> bool:
    return event_type in EMAIL_BY_DEFAULT


def get_preferences(session: Session, user: User) -> dict[str, dict[str, bool]]:
    """Every type the user can be told of, with both switches (stored deviations over defaults)."""
    stored = {
        p.event_type: p
        for p in session.scalars(
            select(NotificationPreference).where(NotificationPreference.user_id == user.id)
        )
    }
    result = {}
    for event_type in told_types(user.role):
        row = stored.get(event_type)
        in_app = True if row is None or row.in_app is None else row.in_app
        email = default_email(event_type) if row is None or row.email is None else row.email
        result[event_type] = {"in_app": in_app or event_type in ALWAYS_IN_APP, "email": email}
    return result


def update_preferences(
    session: Session, user: User, changes: Mapping[str, Mapping[str, bool | None]]
) -> dict[str, dict[str, bool]]:
    """Apply any part of the preferences shape; returns the whole. All or nothing."""
    allowed = set(told_types(user.role))
    for event_type, switches in changes.items():
        if event_type not in allowed:
            raise Invalid(f"You are never told of {event_type!r}; it has no preferences")
        if switches.get("in_app") is False and event_type in ALWAYS_IN_APP:
            raise Invalid(f"{event_type} cannot be muted in the app")
    current = get_preferences(session, user)
    rows, cleared = [], []
    for event_type, switches in changes.items():
        in_app = switches.get("in_app")
        email = switches.get("email")
        merged = {
            "in_app": current[event_type]["in_app"] if in_app is None else in_app,
            "email": current[event_type]["email"] if email is None else email,
        }
        deviation = {
            "in_app": None if merged["in_app"] else False,
            "email": None if merged["email"] == default_email(event_type) else merged["email"],
        }
        if deviation["in_app"] is None and deviation["email"] is None:
            cleared.append(event_type)
        else:
            rows.append({"user_id": user.id, "event_type": event_type, "updated_at": utcnow(), **deviation})
    if cleared:
        session.execute(
            delete(NotificationPreference).where(
                NotificationPreference.user_id == user.id, NotificationPreference.event_type.in_(cleared)
            )
        )
    if rows:
        statement = insert_on_conflict(session, NotificationPreference)
        session.execute(
            statement.on_conflict_do_update(
                index_elements=["user_id", "event_type"],
                set_={
                    "in_app": statement.excluded.in_app,
                    "email": statement.excluded.email,
                    "updated_at": statement.excluded.updated_at,
                },
            ),
            rows,
        )
    session.flush()
    return get_preferences(session, user)


def get_language(session: Session, user: User) -> dict[str, str | None]:
    """The user's `locale` (null until chosen) and effective `timezone`."""
    return {"locale": user.locale, "timezone": user_zone_name(session, user)}


def check_language(changes: Mapping[str, str | None]) -> None:
    """Refuse an unknown locale or zone before anything is written."""
    locale = changes.get("locale")
    if locale is not None and locale not in LOCALES:
        raise Invalid(f"Unknown locale; one of {', '.join(LOCALES)}")
    zone_name = changes.get("timezone")
    if zone_name is not None and not is_zone(zone_name):
        raise Invalid("Unknown time zone; an IANA name such as Europe/Berlin")


def update_language(session: Session, user: User, changes: Mapping[str, str | None]) -> dict[str, str | None]:
    """Set `locale` / `timezone` (a key present with null resets it); returns both."""
    check_language(changes)
    for key in ("locale", "timezone"):
        if key in changes:
            setattr(user, key, changes[key])
    session.flush()
    return get_language(session, user)


def _switched_to_query(switch: Any, value: bool) -> Select[int]:
    return select(NotificationPreference.user_id).where(
        NotificationPreference.event_type == bindparam("event_type"),
        NotificationPreference.user_id.in_(bindparam("ids", expanding=True)),
        switch.is_(value),
    )


# Built once, not per call: the workers run them for every batch, and building a
# statement (and its cache key) cost them more CPU than running it.
_SWITCHED_TO = {
    (switch.key, value): _switched_to_query(switch, value)
    for switch in (NotificationPreference.in_app, NotificationPreference.email)
    for value in (True, False)
}


def _switched_to(session: Session, switch: Any, value: bool, event_type: str, ids: set[int]) -> set[int]:
    """The users among ids whose stored switch for this type is `value` (one query)."""
    statement = _SWITCHED_TO[switch.key, value]
    return set(execute_core(session, statement, {"event_type": event_type, "ids": list(ids)}).scalars())


def in_app_recipients(session: Session, event_type: str, user_ids: Iterable[int]) -> set[int]:
    """The users among user_ids who get this type in the app (one query for the whole set)."""
    ids = set(user_ids)
    if not ids or event_type in ALWAYS_IN_APP:
        return ids
    return ids - _switched_to(session, NotificationPreference.in_app, False, event_type, ids)


def email_recipients(session: Session, event_type: str, user_ids: Iterable[int]) -> set[int]:
    """The users among user_ids who get this type by e-mail (one query for the whole set)."""
    ids = set(user_ids)
    if not ids:
        return ids
    if default_email(event_type):
        return ids - _switched_to(session, NotificationPreference.email, False, event_type, ids)
    return _switched_to(session, NotificationPreference.email, True, event_type, ids)
