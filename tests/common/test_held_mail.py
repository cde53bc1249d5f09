"""Quiet hours in the mail outbox (issue 25), against PostgreSQL, time moved by the clock offset.

The worker and beat processes are in tests/integration/test_quiet_hours.py.
"""

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from common import clock
from common.events.types import EventType
from common.models import MailDigestItem, MailOutbox, MailState, Notification, OrganisationCalendar
from common.services import mail
from common.services.preferences import update_preferences
from tests.common.test_mail import ADMIN, BUYER, SUPPLIER, ids, low_stock_event, order_event
from tests.conftest import auth, user_by_email

WEEKDAYS_6_TO_22 = {d: [["06:00", "22:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}


def at(monkeypatch: pytest.MonkeyPatch, moment: datetime) -> None:
    """Move common.clock.now() to `moment`."""
    monkeypatch.delenv("PARTPULSE_CLOCK_OFFSET_FILE", raising=False)
    offset = (moment - datetime.now(UTC)).total_seconds()
    monkeypatch.setenv("PARTPULSE_CLOCK_OFFSET_SECONDS", str(offset))


def _schedule(db: Session, email: str, schedule: dict | None) -> int:
    """Set the user's schedule; a buyer also takes routine order mails (off by default)."""
    user = user_by_email(db, email)
    user.email_schedule = schedule
    if user.role == "buyer":
        on = {"email": True}
        update_preferences(db, user, {"ORDER_DELIVERED": on, "ORDER_DISPATCHED": on})
    db.commit()
    return user.id


def _mail(db: Session, mail_id: int) -> MailOutbox:
    row = db.get(MailOutbox, mail_id, populate_existing=True)
    assert row is not None
    return row


def test_a_mail_due_at_3_is_held_until_6_and_a_critical_one_goes_at_once(
    db: Session, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    buyer = _schedule(db, BUYER, WEEKDAYS_6_TO_22)
    at(monkeypatch, datetime(2026, 12, 3, 2, 0, tzinfo=UTC))  # Thursday 03:00 in Berlin (the seeded zone)
    caplog.set_level("INFO", logger="common.services.mail.holding")
    [routine] = mail.record_mails(
        db, order_event(db, EventType.ORDER_DELIVERED), "Order Delivered", "x", None, [buyer]
    )
    [critical] = mail.record_mails(
        db, order_event(db, EventType.MATCHING_FAILED), "No Supplier", "y", None, [buyer]
    )
    db.commit()
    held = _mail(db, routine)
    assert held.state == MailState.HELD and held.not_before == datetime(2026, 12, 3, 5, 0, tzinfo=UTC)  # 06:00 Berlin
    assert _mail(db, critical).state == MailState.PENDING and _mail(db, critical).not_before is None
    assert f"mail {routine} to {BUYER} held until 2026-12-03T05:00:00+00:00" in caplog.text
    # Not before 06:00; then released as it is.
    at(monkeypatch, datetime(2026, 12, 3, 4, 59, tzinfo=UTC))
    assert mail.release_due(db) == []
    db.commit()
    at(monkeypatch, datetime(2026, 12, 3, 5, 0, 30, tzinfo=UTC))
    assert mail.release_due(db) == [routine]
    db.commit()
    assert _mail(db, routine).state == MailState.PENDING
    assert mail.release_due(db) == []  # once
    # The event log shows until when its mail was held.
    events = _held_until_in_event_log(db)
    assert events[held.event_id] == "2026-12-03T05:00:00Z"


def _held_until_in_event_log(db: Session) -> dict[int | None, str | None]:
    from gateway.main import app

    with TestClient(app) as client:
        items = client.get("/api/events/?limit=50", headers=auth(ADMIN)).json()["items"]
    return {i["id"]: i["mail_held_until"] for i in items}


def test_two_held_mails_become_one(db: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    buyer = _schedule(db, BUYER, WEEKDAYS_6_TO_22)
    at(monkeypatch, datetime(2026, 12, 5, 12, 0, tzinfo=UTC))  # Saturday: held until Monday 06:00
    first = mail.record_mails(
        db, order_event(db, EventType.ORDER_DELIVERED), "Order Delivered", "one", None, [buyer]
    )
    second = mail.record_mails(
        db, order_event(db, EventType.ORDER_DISPATCHED), "Order Dispatched", "two", None, [buyer]
    )
    db.commit()
    at(monkeypatch, datetime(2026, 12, 7, 5, 0, tzinfo=UTC))
    [bundle_id] = mail.release_due(db)
    db.commit()
    bundle = _mail(db, bundle_id)
    assert bundle.subject == "2 updates while you were away" and bundle.state == MailState.PENDING
    assert (
        "Order Delivered" in bundle.body_text
        and "two" in bundle.body_text
        and "Order Dispatched" in bundle.body_html
    )
    assert bundle.body_text.count("Hello ") == 1
    for mail_id in first + second:
        row = _mail(db, mail_id)
        assert row.state == MailState.MERGED and row.merged_into_id == bundle_id


def test_a_public_holiday_of_the_plants_calendar_holds_a_mail_all_day(
    db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    buyer = user_by_email(db, BUYER)
    _schedule(db, BUYER, None)
    db.add(
        OrganisationCalendar(
            factory_id=buyer.factory_id,
            timezone="UTC",
            weekly=None,
            holiday_country="DE",
            holiday_subdivision="BW",
            closed_dates=[],
        )
    )
    db.commit()
    for hour in (0, 9, 23):  # Epiphany, a holiday in Baden-Wuerttemberg: the whole day
        at(monkeypatch, datetime(2027, 1, 6, hour, 0, tzinfo=UTC))
        [mail_id] = mail.record_mails(
            db, order_event(db, EventType.ORDER_DELIVERED), "Delivered", "x", None, [buyer.id]
        )
        db.commit()
        assert _mail(db, mail_id).not_before == datetime(2027, 1, 7, 0, 0, tzinfo=UTC), hour
    # Opting out of the organisation's calendar: mailed at once.
    buyer.follow_organisation_calendar = False
    db.commit()
    [mail_id] = mail.record_mails(
        db, order_event(db, EventType.ORDER_DELIVERED), "Delivered", "x", None, [buyer.id]
    )
    assert _mail(db, mail_id).state == MailState.PENDING


def test_an_empty_intersection_falls_back_to_the_users_schedule(
    db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    _schedule(db, BUYER, WEEKDAYS_6_TO_22)
    buyer = user_by_email(db, BUYER)
    # The plant works nights only: never in the user's window.
    nights = {d: [["00:00", "04:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}
    db.add(OrganisationCalendar(factory_id=buyer.factory_id, timezone="UTC", weekly=nights, closed_dates=[]))
    db.commit()
    at(monkeypatch, datetime(2026, 12, 3, 10, 0, tzinfo=UTC))  # inside the user's own window
    [now_id] = mail.record_mails(
        db, order_event(db, EventType.ORDER_DELIVERED), "Delivered", "x", None, [buyer.id]
    )
    at(monkeypatch, datetime(2026, 12, 3, 2, 0, tzinfo=UTC))  # inside the plant's (UTC), not the user's
    [later_id] = mail.record_mails(
        db, order_event(db, EventType.ORDER_DELIVERED), "Delivered", "x", None, [buyer.id]
    )
    db.commit()
    assert _mail(db, now_id).state == MailState.PENDING
    assert _mail(db, later_id).not_before == datetime(2026, 12, 3, 5, 0, tzinfo=UTC)


def test_a_digest_is_held_unless_it_holds_a_critical_alert(
    db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    supplier = _schedule(db, SUPPLIER, WEEKDAYS_6_TO_22)
    at(monkeypatch, datetime(2026, 12, 3, 3, 0, tzinfo=UTC))
    routine = low_stock_event(db, 1, 1, 9)
    mail.record_mails(db, routine, "Low Stock Alert", "...", None, [supplier])
    db.commit()
    due = db.scalar(select(MailDigestItem.due_at))
    assert due is not None
    [held] = mail.write_due_digests(db, now=due + timedelta(seconds=1))
    db.commit()
    assert _mail(db, held).state == MailState.HELD and _mail(db, held).kind == "digest"
    # The next period's alert was notified as critical (stock runs out before a restock can come).
    urgent = low_stock_event(db, 1, 2, 0)
    mail.record_mails(db, urgent, "Low Stock Alert", "...", None, [supplier])
    db.add(
        Notification(
            user_id=supplier,
            event_id=urgent.id,
            event_type=urgent.event_type,
            title="t",
            message="m",
            severity="critical",
            category="stock",
        )
    )
    db.commit()
    due = db.scalar(select(MailDigestItem.due_at).where(MailDigestItem.mail_id.is_(None)))
    assert due is not None
    [sent] = mail.write_due_digests(db, now=due + timedelta(seconds=1))
    db.commit()
    assert _mail(db, sent).state == MailState.PENDING
    assert clock.now() < datetime(2026, 12, 3, 3, 5, tzinfo=UTC)
    assert ids(ADMIN, db=db)  # the admin has no schedule: untouched
