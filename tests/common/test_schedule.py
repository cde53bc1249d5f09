"""Quiet hours' window logic (common/services/schedule.py): pure, no database."""

from datetime import UTC, date, datetime, timedelta

import pytest

from common import clock
from common.services.errors import Invalid
from common.services.schedule import (
    Calendar,
    check_closed_dates,
    check_holidays,
    effective_window,
    local_instant,
    next_opening,
    normalise_weekly,
    zone,
)

BERLIN = "Europe/Berlin"
WEEKDAYS_6_TO_22 = {d: [["06:00", "22:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({}, "no opening at all; use null"),
        ({"monday": [["08:00", "18:00"]]}, "'monday' is not a weekday"),
        ({"mon": [["08:15", "18:00"]]}, "not on :00 or :30"),
        ({"mon": [["22:00", "02:00"]]}, "no range crosses midnight"),
        ({"mon": [["08:00", "12:00"], ["11:30", "14:00"]]}, "ranges overlap"),
        ({"mon": [["24:00", "24:00"]]}, "cannot start at 24:00"),
        ({"mon": [["08:00"]]}, "must be a range"),
        ({"mon": [["8am", "18:00"]]}, "is not a time HH:MM"),
        ({"mon": [["08:00", "24:30"]]}, "past 24:00"),
        ({"mon": []}, "no opening at all"),
        ([["08:00", "18:00"]], "must be an object"),
    ],
)
def test_a_bad_schedule_is_refused_with_a_clear_message(value: object, message: str) -> None:
    with pytest.raises(Invalid, match=message) as caught:
        normalise_weekly(value, "email_schedule")
    assert caught.value.status_code == 422
    assert caught.value.detail.startswith("email_schedule")


def test_a_schedule_is_stored_sorted_in_week_order_with_24_00_allowed() -> None:
    value = {"fri": [["12:00", "24:00"], ["00:00", "06:30"]], "mon": [["08:00", "18:00"]], "tue": []}
    assert normalise_weekly(value, "s") == {
        "mon": [["08:00", "18:00"]],
        "fri": [["00:00", "06:30"], ["12:00", "24:00"]],
    }
    assert normalise_weekly(None, "s") is None


def test_null_schedule_is_always_open() -> None:
    now = utc(2026, 12, 3, 2, 0)
    assert next_opening(now, None, BERLIN) == now


def test_outside_the_schedule_the_next_opening_is_the_start_in_the_users_zone() -> None:
    # Thursday 03:00 in Berlin (02:00 UTC): the window opens at 06:00 Berlin = 05:00 UTC.
    now = utc(2026, 12, 3, 2, 0)
    assert next_opening(now, WEEKDAYS_6_TO_22, BERLIN) == utc(2026, 12, 3, 5, 0)
    # Inside the range: now.
    assert next_opening(utc(2026, 12, 3, 9, 0), WEEKDAYS_6_TO_22, BERLIN) == utc(2026, 12, 3, 9, 0)
    # Friday 22:00 Berlin: closed over the weekend, opens Monday 06:00.
    assert next_opening(utc(2026, 12, 4, 21, 0), WEEKDAYS_6_TO_22, BERLIN) == utc(2026, 12, 7, 5, 0)


def test_an_absent_day_has_no_opening_and_ranges_join_across_midnight() -> None:
    schedule = {"mon": [["18:00", "24:00"]], "tue": [["00:00", "06:00"]]}
    window = effective_window(utc(2026, 11, 30, 12, 0), schedule, "UTC")
    assert window.intervals is not None
    assert window.intervals[0] == (utc(2026, 11, 30, 18, 0), utc(2026, 12, 1, 6, 0))
    assert not window.is_open(utc(2026, 12, 2, 12, 0))  # Wednesday is absent


def test_a_start_that_does_not_exist_moves_to_the_next_valid_instant() -> None:
    # 29 March 2026, Berlin: 02:00 -> 03:00. A 02:30 start begins at 03:00 CEST = 01:00 UTC.
    assert local_instant(date(2026, 3, 29), 150, zone(BERLIN)) == utc(2026, 3, 29, 1, 0)
    schedule = {"sun": [["02:30", "05:00"]]}
    assert next_opening(utc(2026, 3, 28, 23, 0), schedule, BERLIN) == utc(2026, 3, 29, 1, 0)
    # A time that exists twice (25 October 2026, 02:30) is its first occurrence (CEST, +02:00).
    assert local_instant(date(2026, 10, 25), 150, zone(BERLIN)) == utc(2026, 10, 25, 0, 30)


def test_the_window_is_the_intersection_with_the_plants_calendar_in_its_zone() -> None:
    # The user mails 06:00-22:00 Berlin; the plant (Chicago) works 07:00-15:00 its time = 14:00-22:00 Berlin.
    plant = Calendar(timezone="America/Chicago", weekly={"thu": [(7 * 60, 15 * 60)]})
    window = effective_window(utc(2026, 12, 3, 2, 0), WEEKDAYS_6_TO_22, BERLIN, plant)
    assert window.next_opening() == utc(2026, 12, 3, 13, 0)
    assert not window.fallback
    # Opting out: the user's own schedule alone.
    own = effective_window(utc(2026, 12, 3, 2, 0), WEEKDAYS_6_TO_22, BERLIN, plant, follow_calendar=False)
    assert own.next_opening() == utc(2026, 12, 3, 5, 0)


def test_a_public_holiday_of_the_plants_country_and_state_has_no_opening() -> None:
    # 6 January (Epiphany) is a holiday in Baden-Wuerttemberg, not in Berlin.
    bw = Calendar(timezone=BERLIN, country="DE", subdivision="BW")
    be = Calendar(timezone=BERLIN, country="DE", subdivision="BE")
    at_3 = utc(2027, 1, 6, 2, 0)  # Wednesday 03:00 Berlin
    assert effective_window(at_3, WEEKDAYS_6_TO_22, BERLIN, bw).next_opening() == utc(2027, 1, 7, 5, 0)
    assert effective_window(at_3, WEEKDAYS_6_TO_22, BERLIN, be).next_opening() == utc(2027, 1, 6, 5, 0)


def test_closed_dates_have_no_opening() -> None:
    plant = Calendar(timezone=BERLIN, closed_dates=frozenset({date(2026, 12, 3)}))
    window = effective_window(utc(2026, 12, 3, 8, 0), None, BERLIN, plant)
    assert window.next_opening() == utc(2026, 12, 3, 23, 0)  # Friday 00:00 Berlin


def test_no_common_opening_in_14_days_falls_back_to_the_users_own_schedule() -> None:
    nights = Calendar(timezone=BERLIN, weekly={d: [(0, 4 * 60)] for d in ("mon", "tue", "wed", "thu", "fri")})
    window = effective_window(utc(2026, 12, 3, 2, 0), WEEKDAYS_6_TO_22, BERLIN, nights)
    assert window.fallback
    assert window.next_opening() == utc(2026, 12, 3, 5, 0)
    # A plant closed for three weeks: the same.
    shut = Calendar(
        timezone=BERLIN, closed_dates=frozenset(date(2026, 12, 1) + timedelta(days=i) for i in range(21))
    )
    assert effective_window(utc(2026, 12, 3, 2, 0), WEEKDAYS_6_TO_22, BERLIN, shut).fallback


def test_holidays_and_closed_dates_are_checked() -> None:
    assert check_holidays({"country": "DE", "subdivision": "BW"}) == ("DE", "BW")
    assert check_holidays(None) is None
    with pytest.raises(Invalid, match="not a supported country"):
        check_holidays({"country": "XX", "subdivision": None})
    with pytest.raises(Invalid, match="not a subdivision of DE"):
        check_holidays({"country": "DE", "subdivision": "ZZ"})
    assert check_closed_dates(["2026-12-24", "2026-12-01", "2026-12-24"]) == ["2026-12-01", "2026-12-24"]
    with pytest.raises(Invalid, match=r"closed_dates\[0\]"):
        check_closed_dates(["24.12.2026"])


def test_the_clock_follows_the_offset_variable_and_file(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("PARTPULSE_CLOCK_OFFSET_FILE", raising=False)
    monkeypatch.setenv("PARTPULSE_CLOCK_OFFSET_SECONDS", "3600")
    assert abs((clock.now() - datetime.now(UTC)).total_seconds() - 3600) < 5
    offset = tmp_path / "offset"
    offset.write_text("-7200")
    monkeypatch.setenv("PARTPULSE_CLOCK_OFFSET_FILE", str(offset))
    assert abs((clock.now() - datetime.now(UTC)).total_seconds() + 7200) < 5
