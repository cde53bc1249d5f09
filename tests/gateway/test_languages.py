"""A user's locale and time zone: the preference shape, its defaults, validation, and the zone lookups."""

from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlalchemy.orm import Session

from common.i18n.zones import user_zone, user_zones
from common.models import Factory, Notification, User
from tests.conftest import auth, user_by_email

ADMIN, BUYER, SUPPLIER = "admin@demo.test", "buyer@demo.test", "supplier@demo.test"


def test_defaults_follow_the_organisation_else_utc(client: TestClient) -> None:
    for email, zone_name in ((BUYER, "Europe/Berlin"), (SUPPLIER, "Europe/Berlin"), (ADMIN, "UTC")):
        body = client.get("/api/preferences/", headers=auth(email)).json()
        assert body["locale"] is None, email
        assert body["timezone"] == zone_name, email
        assert "event_types" in body


def test_put_sets_and_resets_locale_and_timezone(client: TestClient, db: Session) -> None:
    headers = auth(BUYER)
    response = client.put(
        "/api/preferences/", json={"locale": "de", "timezone": "America/Chicago"}, headers=headers
    )
    assert response.status_code == 200, response.text
    assert (response.json()["locale"], response.json()["timezone"]) == ("de", "America/Chicago")
    # An absent key leaves it; the event types are still answered whole.
    response = client.put(
        "/api/preferences/", json={"event_types": {"ORDER_DISPATCHED": {"email": True}}}, headers=headers
    )
    assert response.json()["locale"] == "de" and response.json()["timezone"] == "America/Chicago"
    assert response.json()["event_types"]["ORDER_DISPATCHED"] == {"in_app": True, "email": True}
    buyer = user_by_email(db, BUYER)
    assert (buyer.locale, buyer.timezone) == ("de", "America/Chicago")
    assert str(user_zone(db, buyer)) == "America/Chicago"
    # null resets: the zone falls back to the factory's.
    response = client.put("/api/preferences/", json={"timezone": None, "locale": None}, headers=headers)
    assert (response.json()["locale"], response.json()["timezone"]) == (None, "Europe/Berlin")


def test_unknown_locale_or_zone_is_422_and_writes_nothing(client: TestClient, db: Session) -> None:
    headers = auth(BUYER)
    for body in (
        {"locale": "fr"},
        {"locale": "DE"},
        {"locale": 3},
        {"timezone": "Mars/Olympus"},
        {"timezone": "../../etc/passwd"},
        {"timezone": ""},
        {"timezone": "Europe/" + "x" * 5000},
        {"locale": "de", "timezone": "Nowhere", "event_types": {"ORDER_DISPATCHED": {"email": True}}},
    ):
        response = client.put("/api/preferences/", json=body, headers=headers)
        assert response.status_code == 422, (body, response.text)
    after = client.get("/api/preferences/", headers=headers).json()
    assert after["locale"] is None and after["timezone"] == "Europe/Berlin"
    assert after["event_types"]["ORDER_DISPATCHED"]["email"] is False


def test_user_zones_in_one_lookup(client: TestClient, db: Session) -> None:
    buyer, supplier, admin = (user_by_email(db, e) for e in (BUYER, SUPPLIER, ADMIN))
    db.execute(update(User).where(User.id == supplier.id).values(timezone="America/Chicago"))
    db.execute(update(Factory).where(Factory.id == buyer.factory_id).values(timezone="Asia/Tokyo"))
    db.commit()
    zones = user_zones(db, [buyer.id, supplier.id, admin.id, 999_999])
    assert {k: str(v) for k, v in zones.items()} == {
        buyer.id: "Asia/Tokyo",
        supplier.id: "America/Chicago",
        admin.id: "UTC",
    }
    assert str(user_zone(db, admin.id)) == "UTC"


def _login(client: TestClient, email: str, accept_language: str | None) -> None:
    headers = {"Accept-Language": accept_language} if accept_language else {}
    response = client.post("/api/auth/login", json={"email": email, "password": "demo1234"}, headers=headers)
    assert response.status_code == 200, response.text


def test_sign_in_sets_a_null_locale_from_accept_language_once(client: TestClient, db: Session) -> None:
    _login(client, BUYER, "fr-FR,fr;q=0.9")  # none we have: stays null
    assert client.get("/api/preferences/", headers=auth(BUYER)).json()["locale"] is None
    _login(client, BUYER, "fr-FR, de;q=0.7, en;q=0.5")
    assert client.get("/api/preferences/", headers=auth(BUYER)).json()["locale"] == "de"
    _login(client, BUYER, "en-US")  # chosen now: a later sign-in leaves it
    assert client.get("/api/preferences/", headers=auth(BUYER)).json()["locale"] == "de"
    response = client.post(
        "/api/auth/token",
        data={"username": SUPPLIER, "password": "demo1234"},
        headers={"Accept-Language": "en-GB"},
    )
    assert response.status_code == 200
    assert client.get("/api/preferences/", headers=auth(SUPPLIER)).json()["locale"] == "en"


def test_rows_from_before_keep_their_text_and_new_rows_follow_the_reader(
    client: TestClient, db: Session
) -> None:
    buyer = user_by_email(db, BUYER)
    params = {"order_id": 9, "eta": {"time": "2026-11-26T13:30:00+00:00"}}
    db.add_all(
        [
            Notification(
                user_id=buyer.id, event_type="ETA_UPDATED", title="ETA Updated", message="as stored long ago"
            ),
            Notification(
                user_id=buyer.id,
                event_type="ETA_UPDATED",
                title="ETA Updated",
                message="Order #9 is now expected 2026-11-26 13:30 UTC",
                message_key="ETA_UPDATED",
                message_params=params,
            ),
        ]
    )
    db.commit()
    client.put("/api/preferences/", json={"locale": "de"}, headers=auth(BUYER))
    new, old = client.get("/api/notifications/", headers=auth(BUYER)).json()["items"]
    assert (old["title"], old["message"]) == ("ETA Updated", "as stored long ago")
    assert (new["title"], new["message"]) == (
        "Liefertermin geändert",
        "Bestellung #9 wird jetzt am 26.11.2026 14:30 MEZ erwartet",
    )
    # A PATCH answers the row in the reader's language too; the stored text is unchanged.
    read = client.patch(f"/api/notifications/{new['id']}/read", headers=auth(BUYER)).json()
    assert read["title"] == "Liefertermin geändert" and read["is_read"] is True
    db.expire_all()
    assert db.get(Notification, new["id"]).title == "ETA Updated"  # type: ignore[union-attr]


def test_the_catch_up_re_pushes_in_the_readers_language(client: TestClient, db: Session) -> None:
    import time

    from gateway.realtime.catch_up import missed_messages

    buyer, supplier = user_by_email(db, BUYER), user_by_email(db, SUPPLIER)
    db.execute(update(User).where(User.id == buyer.id).values(locale="de"))
    params = {"order_id": 9, "eta": {"time": "2026-11-26T13:30:00+00:00"}}
    db.add_all(
        Notification(
            user_id=user_id,
            event_type="ETA_UPDATED",
            title="ETA Updated",
            message="Order #9 is now expected 2026-11-26 13:30 UTC",
            message_key="ETA_UPDATED",
            message_params=params,
        )
        for user_id in (buyer.id, supplier.id)
    )
    db.commit()
    pushed = {
        room: data
        for event, data, room in missed_messages({buyer.id, supplier.id}, time.time())[0]
        if event == "notification"
    }
    assert (
        pushed[f"user_{buyer.id}"]["message"] == "Bestellung #9 wird jetzt am 26.11.2026 14:30 MEZ erwartet"
    )
    assert pushed[f"user_{supplier.id}"]["message"] == "Order #9 is now expected 2026-11-26 14:30 CET"
