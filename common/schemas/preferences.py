from datetime import datetime
from typing import Any

from pydantic import Field, StrictBool

from common.schemas.base import InputModel, OutputModel


class ChannelPreference(OutputModel):
    in_app: bool
    email: bool


class Preferences(OutputModel):
    event_types: dict[str, ChannelPreference]
    # en | de; null until a sign-in sets it from Accept-Language (mails in en meanwhile).
    locale: str | None = None
    # The IANA zone times are shown in: the user's own, else the factory's or supplier's, else UTC.
    timezone: str = "UTC"
    group_by_order: bool = False
    email_schedule: dict[str, list[list[str]]] | None = None
    follow_organisation_calendar: bool = True


class ChannelUpdate(InputModel):
    in_app: StrictBool | None = None
    email: StrictBool | None = None


class PreferencesUpdate(InputModel):
    """Any part of the GET shape: some types, and for each some of its switches."""

    event_types: dict[str, ChannelUpdate] = {}
    # Quiet hours (issue 25): an absent key leaves it; `email_schedule: null` resets it to always.
    email_schedule: dict[str, Any] | None = None
    follow_organisation_calendar: StrictBool | None = None
    # Absent = unchanged; null = back to the default
    # (locale: set again at the next sign-in; timezone: the organisation's).
    locale: str | None = Field(default=None, max_length=16)
    timezone: str | None = Field(default=None, max_length=64)
    group_by_order: StrictBool | None = None


# Quiet hours (issue 25). The schedule's rules (ranges on :00/:30, none across
# midnight, `{}` refused) are checked by common/services/schedule.py, which names the fault.
EmailSchedule = dict[str, list[list[str]]]


class OrganisationRef(OutputModel):
    kind: str
    id: int


class EmailWindow(OutputModel):
    """What /settings shows: open now, the next opening, and whether the fallback applies."""

    open_now: bool
    next_opening: datetime | None
    fallback: bool
    organisation: OrganisationRef | None


class HolidaysRef(InputModel):
    country: str = Field(min_length=2, max_length=8)
    subdivision: str | None = Field(default=None, min_length=1, max_length=16)


class CalendarIn(InputModel):
    """`PUT /api/{factories|suppliers}/{id}/calendar`: the whole calendar."""

    timezone: str = Field(min_length=1, max_length=64)
    weekly: dict[str, Any] | None
    holidays: HolidaysRef | None
    closed_dates: list[str] = Field(max_length=400)


class CalendarOut(OutputModel):
    timezone: str
    weekly: EmailSchedule | None
    holidays: dict[str, str | None] | None
    closed_dates: list[str]
