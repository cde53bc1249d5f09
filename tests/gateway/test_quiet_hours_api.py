"""Quiet hours' API (issue 25): the e-mail schedule preference, is_manager, organisations' calendars."""

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from common.models import OrganisationCalendar
from tests.conftest import auth, user_by_email

ADMIN, BUYER, BUYER2, SUPPLIER, SUPPLIER2 = (
    "admin@demo.test",
    "buyer@demo.test",
    "buyer2@demo.test",
    "supplier@demo.test",
    "supplier2@demo.test",
)
SCHEDULE = {"tue": [["13:00", "17:30"], ["08:00", "12:00"]], "mon": [["08:00", "24:00"]]}
CALENDAR = {
    "timezone": "Europe/Berlin",
    "weekly": {"mon": [["06:00", "22:00"]], "tue": [["06:00", "22:00"]]},
    "holidays": {"country": "DE", "subdivision": "BW"},
    "closed_dates": ["2026-12-24", "2026-12-23"],
}


def test_email_schedule_absent_leaves_null_resets_empty_is_422(client: TestClient) -> None:
    headers = auth(BUYER)
    body = client.get("/api/preferences/", headers=headers).json()
    assert body["email_schedule"] is None and body["follow_organisation_calendar"] is True
    put = client.put("/api/preferences/", json={"email_schedule": SCHEDULE}, headers=headers)
    assert put.status_code == 200, put.text
    assert put.json()["email_schedule"] == {
        "mon": [["08:00", "24:00"]],
        "tue": [["08:00", "12:00"], ["13:00", "17:30"]],
    }
    # An absent key leaves it.
    kept = client.put("/api/preferences/", json={"follow_organisation_calendar": False}, headers=headers)
    assert kept.json()["email_schedule"]["tue"][1] == ["13:00", "17:30"]
    assert kept.json()["follow_organisation_calendar"] is False
    for bad, fragment in [
        ({}, "no opening at all"),
        ({"mon": [["08:10", "09:00"]]}, ":00 or :30"),
        ({"sun": [["23:00", "01:00"]]}, "crosses midnight"),
    ]:
        refused = client.put(
            "/api/preferences/",
            json={"email_schedule": bad, "event_types": {"ORDER_CONFIRMED": {"email": True}}},
            headers=headers,
        )
        assert refused.status_code == 422 and fragment in refused.text, refused.text
    after = client.get("/api/preferences/", headers=headers).json()
    assert after["event_types"]["ORDER_CONFIRMED"]["email"] is False  # nothing of a refused PUT was written
    assert after["email_schedule"]["mon"] == [["08:00", "24:00"]]
    assert (
        client.put(
            "/api/preferences/", json={"follow_organisation_calendar": None}, headers=headers
        ).status_code
        == 422
    )
    reset = client.put("/api/preferences/", json={"email_schedule": None}, headers=headers)
    assert reset.json()["email_schedule"] is None


def test_is_manager_is_seeded_and_set_by_admins(client: TestClient, db: Session) -> None:
    assert user_by_email(db, BUYER).is_manager and user_by_email(db, SUPPLIER).is_manager
    assert not user_by_email(db, BUYER2).is_manager
    buyer2 = user_by_email(db, BUYER2).id
    patched = client.patch(f"/api/users/{buyer2}", json={"is_manager": True}, headers=auth(ADMIN))
    assert patched.status_code == 200 and patched.json()["is_manager"] is True
    assert (
        client.patch(f"/api/users/{buyer2}", json={"is_manager": None}, headers=auth(ADMIN)).status_code
        == 422
    )
    assert (
        client.patch(f"/api/users/{buyer2}", json={"is_manager": False}, headers=auth(BUYER)).status_code
        == 403
    )
    created = client.post(
        "/api/users/",
        json={
            "email": "lead@demo.test",
            "password": "demo12345",
            "full_name": "Lea Lead",
            "role": "supplier",
            "supplier_id": 2,
            "is_manager": True,
        },
        headers=auth(ADMIN),
    )
    assert created.status_code == 201 and created.json()["is_manager"] is True


def test_calendar_access_rules(client: TestClient, db: Session) -> None:
    factory = user_by_email(db, BUYER).factory_id
    other_factory = user_by_email(db, BUYER2).factory_id
    supplier = user_by_email(db, SUPPLIER).supplier_id
    # Never set: the organisation's zone, open all week.
    assert client.get(f"/api/factories/{factory}/calendar", headers=auth(BUYER)).json() == {
        "timezone": "Europe/Berlin",
        "weekly": None,
        "holidays": None,
        "closed_dates": [],
    }
    put = client.put(f"/api/factories/{factory}/calendar", json=CALENDAR, headers=auth(BUYER))
    assert put.status_code == 200, put.text
    assert put.json()["closed_dates"] == ["2026-12-23", "2026-12-24"]
    # Its other users read it; a non-manager may not change it.
    assert client.get(f"/api/factories/{other_factory}/calendar", headers=auth(BUYER2)).status_code == 200
    assert (
        client.put(
            f"/api/factories/{other_factory}/calendar", json=CALENDAR, headers=auth(BUYER2)
        ).status_code
        == 403
    )
    # Another organisation's user: 404, reading or writing; a supplier for a factory too.
    assert client.get(f"/api/factories/{factory}/calendar", headers=auth(BUYER2)).status_code == 404
    assert (
        client.put(f"/api/factories/{factory}/calendar", json=CALENDAR, headers=auth(BUYER2)).status_code
        == 404
    )
    assert client.get(f"/api/factories/{factory}/calendar", headers=auth(SUPPLIER)).status_code == 404
    assert client.get(f"/api/suppliers/{supplier}/calendar", headers=auth(SUPPLIER2)).status_code == 404
    # Admins read and write any; an unknown organisation is 404.
    assert (
        client.get(f"/api/factories/{factory}/calendar", headers=auth(ADMIN)).json()["timezone"]
        == "Europe/Berlin"
    )
    assert (
        client.put(f"/api/suppliers/{supplier}/calendar", json=CALENDAR, headers=auth(ADMIN)).status_code
        == 200
    )
    assert client.get("/api/suppliers/999/calendar", headers=auth(ADMIN)).status_code == 404


def test_bad_calendars_are_422_and_write_nothing(client: TestClient, db: Session) -> None:
    supplier = user_by_email(db, SUPPLIER).supplier_id
    url = f"/api/suppliers/{supplier}/calendar"
    for change, fragment in [
        ({"timezone": "Mars/Olympus"}, "not an IANA time zone"),
        ({"holidays": {"country": "XX"}}, "not a supported country"),
        ({"holidays": {"country": "DE", "subdivision": "TX"}}, "not a subdivision of DE"),
        ({"closed_dates": ["2026-02-30"]}, "closed_dates[0]"),
        ({"weekly": {}}, "no opening at all"),
        ({"weekly": {"fri": [["22:00", "06:00"]]}}, "crosses midnight"),
    ]:
        refused = client.put(url, json={**CALENDAR, **change}, headers=auth(SUPPLIER))
        assert refused.status_code == 422 and fragment in refused.text, (change, refused.text)
    missing = {k: v for k, v in CALENDAR.items() if k != "closed_dates"}
    assert client.put(url, json=missing, headers=auth(SUPPLIER)).status_code == 422
    db.expire_all()
    assert db.scalar(select(OrganisationCalendar)) is None


def test_the_email_window_says_when_the_fallback_applies(client: TestClient, db: Session) -> None:
    factory = user_by_email(db, BUYER).factory_id
    headers = auth(BUYER)
    client.put("/api/preferences/", json={"email_schedule": {"sat": [["10:00", "12:00"]]}}, headers=headers)
    assert client.get("/api/preferences/email-window", headers=headers).json()["fallback"] is False
    # The plant works weekdays only: no common opening in 14 days, the user's own schedule applies.
    weekdays = {**CALENDAR, "weekly": {"mon": [["06:00", "22:00"]]}, "holidays": None, "closed_dates": []}
    assert client.put(f"/api/factories/{factory}/calendar", json=weekdays, headers=headers).status_code == 200
    window = client.get("/api/preferences/email-window", headers=headers).json()
    assert window["fallback"] is True and window["organisation"] == {"kind": "factory", "id": factory}
    client.put("/api/preferences/", json={"follow_organisation_calendar": False}, headers=headers)
    assert client.get("/api/preferences/email-window", headers=headers).json()["fallback"] is False
