"""Quiet hours (issue 25) against the database: users' schedules, organisations' calendars, windows.

- A user's `email_schedule` and `follow_organisation_calendar` (the preferences API).
- An organisation's calendar: `GET/PUT /api/factories/{id}/calendar` and
  `/api/suppliers/{id}/calendar`. Read by admins and the organisation's users,
  written by admins and its users with `is_manager`; another organisation's
  user gets 404, a user of the organisation without `is_manager` 403.
- windows(): the effective e-mail window of many users with two queries.
"""

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from common.i18n.zones import user_zone_name
from common.models import Factory, OrganisationCalendar, Role, Supplier, User, utcnow
from common.services.errors import Forbidden, Invalid, NotFound
from common.services.schedule import (
    Calendar,
    Window,
    check_closed_dates,
    check_holidays,
    check_zone,
    effective_window,
    normalise_weekly,
)

Kind = Literal["factory", "supplier"]


# ------------------------------------------------------------------ the user's preferences


def schedule_preferences(user: User) -> dict[str, Any]:
    return {
        "email_schedule": user.email_schedule,
        "follow_organisation_calendar": user.follow_organisation_calendar,
    }


def update_schedule_preferences(user: User, changes: Mapping[str, Any]) -> None:
    """`email_schedule`: absent leaves it, null resets it (always), `{}` 422; the flag: a bool."""
    if "email_schedule" in changes:
        user.email_schedule = normalise_weekly(changes["email_schedule"], "email_schedule")
    if "follow_organisation_calendar" in changes:
        value = changes["follow_organisation_calendar"]
        if not isinstance(value, bool):
            raise Invalid("follow_organisation_calendar must be true or false")
        user.follow_organisation_calendar = value


def organisation_of(user: Any) -> tuple[Kind, int] | None:
    if user.factory_id is not None:
        return "factory", int(user.factory_id)
    if user.supplier_id is not None:
        return "supplier", int(user.supplier_id)
    return None


# ------------------------------------------------------------------ calendars


def _calendar_row(session: Session, kind: Kind, org_id: int) -> OrganisationCalendar | None:
    column = OrganisationCalendar.factory_id if kind == "factory" else OrganisationCalendar.supplier_id
    return session.scalar(select(OrganisationCalendar).where(column == org_id))


def _check_access(
    session: Session, user: User, kind: Kind, org_id: int, *, write: bool
) -> Factory | Supplier:
    if user.role != Role.ADMIN and organisation_of(user) != (kind, org_id):
        raise NotFound(f"No {kind} with id {org_id}")
    organisation: Factory | Supplier | None = (
        session.get(Factory, org_id) if kind == "factory" else session.get(Supplier, org_id)
    )
    if organisation is None:
        raise NotFound(f"No {kind} with id {org_id}")
    if write and user.role != Role.ADMIN and not user.is_manager:
        raise Forbidden("Only your organisation's managers may change its calendar")
    return organisation


def calendar_out(row: OrganisationCalendar | None, organisation: Factory | Supplier) -> dict[str, Any]:
    """The API shape; an organisation that never set one: its zone, open all week, no holidays."""
    if row is None:
        zone_name = organisation.timezone or "UTC"
        return {"timezone": zone_name, "weekly": None, "holidays": None, "closed_dates": []}
    holidays = (
        None
        if row.holiday_country is None
        else {"country": row.holiday_country, "subdivision": row.holiday_subdivision}
    )
    return {
        "timezone": row.timezone,
        "weekly": row.weekly,
        "holidays": holidays,
        "closed_dates": list(row.closed_dates or []),
    }


def get_calendar(session: Session, user: User, kind: Kind, org_id: int) -> dict[str, Any]:
    organisation = _check_access(session, user, kind, org_id, write=False)
    return calendar_out(_calendar_row(session, kind, org_id), organisation)


def put_calendar(
    session: Session, user: User, kind: Kind, org_id: int, body: Mapping[str, Any]
) -> dict[str, Any]:
    """Replace the calendar (every field of the shape is required); all checked before any write."""
    organisation = _check_access(session, user, kind, org_id, write=True)
    missing = {"timezone", "weekly", "holidays", "closed_dates"} - body.keys()
    if missing:
        raise Invalid(f"The calendar needs {', '.join(sorted(missing))}")
    unknown = body.keys() - {"timezone", "weekly", "holidays", "closed_dates"}
    if unknown:
        raise Invalid(f"Unknown calendar fields: {', '.join(sorted(unknown))}")
    timezone = check_zone(body["timezone"])
    weekly = normalise_weekly(body["weekly"], "weekly")
    holidays = check_holidays(body["holidays"])
    closed = check_closed_dates(body["closed_dates"])
    row = _calendar_row(session, kind, org_id)
    if row is None:
        row = OrganisationCalendar(
            factory_id=org_id if kind == "factory" else None,
            supplier_id=org_id if kind == "supplier" else None,
        )
        session.add(row)
    row.timezone = timezone
    row.weekly = weekly
    row.holiday_country, row.holiday_subdivision = holidays or (None, None)
    row.closed_dates = closed
    row.updated_at = utcnow()
    # One zone per plant: the calendar's is the organisation's (its users' default zone, issue 22).
    organisation.timezone = timezone
    session.flush()
    return calendar_out(row, organisation)


# ------------------------------------------------------------------ windows


@dataclass(frozen=True)
class Recipient:
    """What deciding a user's window reads of the user."""

    id: int
    email_schedule: dict[str, Any] | None
    timezone: str | None
    follow_organisation_calendar: bool
    organisation: tuple[Kind, int] | None


def recipient(user: Any, timezone: str | None) -> Recipient:
    """`timezone`: the user's effective zone (own, else the organisation's: common.i18n.zones)."""
    return Recipient(
        id=user.id,
        email_schedule=user.email_schedule,
        timezone=timezone,
        follow_organisation_calendar=bool(user.follow_organisation_calendar),
        organisation=organisation_of(user),
    )


def _calendar(row: OrganisationCalendar) -> Calendar:
    return Calendar.from_stored(
        row.timezone, row.weekly, row.holiday_country, row.holiday_subdivision, row.closed_dates
    )


def calendars_of(session: Session, users: Iterable[Recipient]) -> dict[tuple[Kind, int], Calendar]:
    """The calendars of the users' organisations that have one (one query)."""
    factories = {u.organisation[1] for u in users if u.organisation and u.organisation[0] == "factory"}
    suppliers = {u.organisation[1] for u in users if u.organisation and u.organisation[0] == "supplier"}
    if not factories and not suppliers:
        return {}
    rows = session.scalars(
        select(OrganisationCalendar).where(
            or_(
                OrganisationCalendar.factory_id.in_(factories),
                OrganisationCalendar.supplier_id.in_(suppliers),
            )
        )
    )
    result: dict[tuple[Kind, int], Calendar] = {}
    for row in rows:
        if row.factory_id is not None:
            result["factory", row.factory_id] = _calendar(row)
        elif row.supplier_id is not None:
            result["supplier", row.supplier_id] = _calendar(row)
    return result


def window_of(user: Recipient, calendars: Mapping[tuple[Kind, int], Calendar], now: datetime) -> Window:
    calendar = calendars.get(user.organisation) if user.organisation else None
    return effective_window(
        now, user.email_schedule, user.timezone, calendar, user.follow_organisation_calendar
    )


def windows(session: Session, users: Iterable[Recipient], now: datetime) -> dict[int, Window]:
    """Each user's effective window; users with neither a schedule nor a calendar cost nothing."""
    users = list(users)
    calendars = calendars_of(session, [u for u in users if u.follow_organisation_calendar])
    # Users of one organisation mostly share a schedule: one computation per distinct
    # (schedule, zone, calendar), not per user (a fan-out to a plant's staff is one).
    memo: dict[tuple[str, str | None, tuple[Kind, int] | None], Window] = {}
    result = {}
    for user in users:
        calendar_key = (
            user.organisation
            if user.follow_organisation_calendar and user.organisation in calendars
            else None
        )
        key = (json.dumps(user.email_schedule, sort_keys=True), user.timezone, calendar_key)
        if key not in memo:
            memo[key] = window_of(user, calendars, now)
        result[user.id] = memo[key]
    return result


def window_summary(session: Session, user: User, now: datetime) -> dict[str, Any]:
    """`GET /api/preferences/email-window`: what /settings shows about the effective window."""
    person = recipient(user, user_zone_name(session, user))
    window = windows(session, [person], now)[user.id]
    opening = window.next_opening(now)
    return {
        "open_now": window.is_open(now),
        "next_opening": opening,
        "fallback": window.fallback,
        "organisation": (
            {"kind": person.organisation[0], "id": person.organisation[1]} if person.organisation else None
        ),
    }
