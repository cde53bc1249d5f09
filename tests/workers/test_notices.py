from datetime import UTC, datetime, timedelta, timezone

from workers.notices import format_time


def test_times_in_messages_are_shown_in_utc() -> None:
    assert format_time(None) == "not set"
    assert format_time("2030-05-01T12:30:00+02:00") == "2030-05-01 10:30 UTC"
    assert format_time("2030-05-01T12:30:00") == "2030-05-01 12:30 UTC"
    berlin = datetime(2030, 5, 1, 12, 30, tzinfo=timezone(timedelta(hours=2)))
    assert format_time(berlin) == "2030-05-01 10:30 UTC"
    assert format_time(datetime(2030, 5, 1, 12, 30, tzinfo=UTC)) == "2030-05-01 12:30 UTC"
    assert format_time("next Tuesday") == "next Tuesday"
