"""Every event type in its reader's language and zone, with real processes (issue 22).

A German and an English user who get the same notification each read it in
their own language, over REST, the push (a real Socket.IO client: a notice to
several recipients travels as one fan-out) and the mail recorded for them;
times in each reader's zone. `system_event` stays English. The expected texts
are written out here, not rendered by the code under test.
"""

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from common.db import get_sessionmaker
from common.models import MailOutbox, User
from tests.integration.conftest import Stack
from tests.integration.stack import Listener, wait_until

ADMIN, BUYER, SUPPLIER = "admin@demo.test", "buyer@demo.test", "supplier@demo.test"
# Made by the test: an English buyer of the same factory in Chicago, a German admin, a German
# user of the supplier the orders are matched to.
BUYER_EN, ADMIN_DE, SUPPLIER_DE = "buyer-en@demo.test", "admin-de@demo.test", "supplier-de@demo.test"
ETA = "2026-11-26T13:30:00+00:00"
PART = "Radial shaft seal TC 45x62x8"  # part 3, matched to Nordic Bearings AG
STOCK_PART = "Deep groove ball bearing 6205-2RS"  # stock row 1, 120 in stock

# Per event type: (English title, English message, German title, German message); {id} is the
# order, {en_eta}/{de_eta} the ETA as the reader's zone shows it.
TEXTS: dict[str, tuple[str, str, str, str]] = {
    "ORDER_PLACED": (
        "New Order #{id}",
        "Rheinstahl Works placed an order for 2 parts",
        "Neue Bestellung #{id}",
        "Rheinstahl Works hat eine Bestellung über 2 Teile aufgegeben",
    ),
    "SUPPLIER_MATCHED": (
        "Supplier Matched",
        "Supplier Nordic Bearings AG has been matched to your order",
        "Lieferant zugeordnet",
        "Der Lieferant Nordic Bearings AG wurde Ihrer Bestellung zugeordnet",
    ),
    "ORDER_CONFIRMED": (
        "Order Confirmed",
        f"Supplier Nordic Bearings AG confirmed order item {PART}",
        "Bestellung bestätigt",
        f"Der Lieferant Nordic Bearings AG hat die Position {PART} bestätigt",
    ),
    "ORDER_DISPATCHED": (
        "Order Dispatched",
        "Your order is on its way",
        "Bestellung versandt",
        "Ihre Bestellung ist unterwegs",
    ),
    "ORDER_IN_TRANSIT": (
        "Order In Transit",
        "Order #{id} is in transit with DHL Freight, expected {en_eta}",
        "Bestellung im Transport",
        "Bestellung #{id} ist mit DHL Freight im Transport, erwartet am {de_eta}",
    ),
    "ORDER_DELIVERED": (
        "Order Delivered",
        "Order #{id} delivered successfully",
        "Bestellung geliefert",
        "Bestellung #{id} wurde erfolgreich geliefert",
    ),
    "ORDER_CANCELLED": (
        "Order Cancelled",
        "Order #{id} was cancelled by Bruno Buyer: plant shutdown",
        "Bestellung storniert",
        "Bestellung #{id} wurde von Bruno Buyer storniert: plant shutdown",
    ),
    "LOW_STOCK_ALERT": (
        "Low Stock Alert",
        f"Part {STOCK_PART} is below threshold (120 remaining)",
        "Warnung: niedriger Bestand",
        f"Teil {STOCK_PART} liegt unter dem Mindestbestand (noch 120 vorhanden)",
    ),
    "DELIVERY_PLANNED": (
        "Delivery Planned",
        "Delivery of order #{id} planned for {en_eta} with DHL Freight",
        "Lieferung geplant",
        "Lieferung von Bestellung #{id} geplant für {de_eta} mit DHL Freight",
    ),
    "DELIVERY_COMPLETED": (
        "Delivery Completed",
        "Order #{id} was delivered at {en_eta}",
        "Lieferung abgeschlossen",
        "Bestellung #{id} wurde am {de_eta} geliefert",
    ),
    "ETA_UPDATED": (
        "ETA Updated",
        "Order #{id} is now expected {en_eta}",
        "Liefertermin geändert",
        "Bestellung #{id} wird jetzt am {de_eta} erwartet",
    ),
    "MATCHING_FAILED": (
        "No Supplier Available",
        "No supplier can fill order #{id} now",
        "Kein Lieferant verfügbar",
        "Derzeit kann kein Lieferant Bestellung #{id} erfüllen",
    ),
    "ORDER_ESCALATED": (
        "Order Escalated",
        "Order #{id} is past its ETA",
        "Bestellung eskaliert",
        "Bestellung #{id} hat ihren Liefertermin überschritten",
    ),
}
# What the manual events carry (the server adds the entity's ids).
METADATA: dict[str, dict[str, Any]] = {
    "ORDER_IN_TRANSIT": {"carrier": "DHL Freight", "eta": ETA},
    "DELIVERY_PLANNED": {"carrier": "DHL Freight", "eta": ETA},
    "ETA_UPDATED": {"eta": ETA},
    "DELIVERY_COMPLETED": {"delivered_at": ETA},
    "ORDER_CANCELLED": {"cancelled_by": "Bruno Buyer", "reason": "plant shutdown"},
    "ORDER_ESCALATED": {"reason": "past_eta"},
}
# The readers: (locale, how the ETA reads in their zone).
READERS = {
    BUYER: ("de", "26.11.2026 14:30 MEZ"),  # Europe/Berlin: the factory's zone
    BUYER_EN: ("en", "2026-11-26 07:30 CST"),  # America/Chicago: their own
    ADMIN: ("en", "2026-11-26 13:30 UTC"),  # no organisation: UTC
    ADMIN_DE: ("de", "26.11.2026 13:30 UTC"),
    SUPPLIER: ("en", "2026-11-26 14:30 CET"),  # Europe/Berlin: the supplier's zone
    SUPPLIER_DE: ("de", "26.11.2026 14:30 MEZ"),
}
BUYER_ONLY = [
    "ORDER_CONFIRMED",
    "ORDER_DISPATCHED",
    "ORDER_IN_TRANSIT",
    "DELIVERY_PLANNED",
    "ETA_UPDATED",
    "ORDER_DELIVERED",
]
SHARED = {
    "ORDER_CANCELLED": [SUPPLIER, SUPPLIER_DE, ADMIN, ADMIN_DE],
    "LOW_STOCK_ALERT": [SUPPLIER, SUPPLIER_DE, ADMIN, ADMIN_DE],
    "DELIVERY_COMPLETED": [SUPPLIER, SUPPLIER_DE],
    "MATCHING_FAILED": [BUYER, ADMIN, ADMIN_DE],
    "ORDER_ESCALATED": [BUYER, SUPPLIER, SUPPLIER_DE, ADMIN, ADMIN_DE],
}


def expected(event_type: str, email: str, order_id: int) -> tuple[str, str]:
    locale, eta = READERS[email]
    en_title, en_message, de_title, de_message = TEXTS[event_type]
    title, message = (de_title, de_message) if locale == "de" else (en_title, en_message)
    values = {"id": order_id, "en_eta": eta, "de_eta": eta}
    return title.format(**values), message.format(**values)


def _make_users(live: Stack) -> None:
    with live.api(ADMIN) as api:
        for email, role, org in (
            (BUYER_EN, "buyer", {"factory_id": 1}),
            (ADMIN_DE, "admin", {}),
            (SUPPLIER_DE, "supplier", {"supplier_id": 1}),
        ):
            body = {"email": email, "password": "demo1234", "full_name": f"Test {role}", "role": role, **org}
            response = api.post("/api/users/", json=body)
            assert response.status_code == 201, response.text
    every_mail_on = None
    for email, (locale, _) in READERS.items():
        with live.api(email) as api:
            types = api.get("/api/preferences/").json()["event_types"]
            every_mail_on = {t: {"email": True} for t in types}
            change: dict[str, Any] = {"locale": locale, "event_types": every_mail_on}
            if email == BUYER_EN:
                change["timezone"] = "America/Chicago"
            response = api.put("/api/preferences/", json=change)
            assert response.status_code == 200, response.text


@pytest.fixture
def readers(live: Stack) -> Iterator[dict[str, Listener]]:
    _make_users(live)
    opened = {email: live.listen(email) for email in READERS}
    for listener in opened.values():
        listener.wait_for("unread_count")
    yield opened
    for listener in opened.values():
        listener.close()


def _place(live: Stack, email: str, listener: Listener, quantity: int = 2) -> int:
    with live.api(email) as api:
        response = api.post("/api/orders/", json={"items": [{"part_id": 3, "quantity": quantity}]})
        assert response.status_code == 201, response.text
        order_id: int = response.json()["id"]
    if quantity < 1000:
        listener.wait_for("order_status", lambda d: d["order_id"] == order_id and d["status"] == "MATCHED")
    return order_id


def _fire(live: Stack, event_type: str, entity_type: str, entity_id: int) -> None:
    body = {"event_type": event_type, "entity_type": entity_type, "entity_id": entity_id}
    with live.api(ADMIN) as api:
        response = api.post("/api/events/", json={**body, "metadata": METADATA.get(event_type, {})})
        assert response.status_code == 202, response.text


def _rest(live: Stack, email: str) -> list[dict[str, Any]]:
    with live.api(email) as api:
        items: list[dict[str, Any]] = api.get("/api/notifications/", params={"limit": 100}).json()["items"]
        return items


def _mails(emails: list[str]) -> dict[tuple[str, int | None], MailOutbox]:
    with get_sessionmaker()() as session:
        ids = {u.id: u.email for u in session.scalars(select(User).where(User.email.in_(emails)))}
        return {
            (ids[m.user_id], m.event_id): m
            for m in session.scalars(select(MailOutbox).where(MailOutbox.user_id.in_(ids)))
        }


def test_each_event_type_reads_in_each_readers_language_and_zone(
    live: Stack, readers: dict[str, Listener]
) -> None:
    order_de = _place(live, BUYER, readers[BUYER])  # ORDER_PLACED, SUPPLIER_MATCHED
    order_en = _place(live, BUYER_EN, readers[BUYER_EN])
    failed = _place(live, BUYER, readers[BUYER], quantity=100_000)  # MATCHING_FAILED
    # who gets what, of which order: (event type, order id, recipients)
    plan: list[tuple[str, int, list[str]]] = [
        ("ORDER_PLACED", order_de, [ADMIN, ADMIN_DE]),
        ("SUPPLIER_MATCHED", order_de, [BUYER, SUPPLIER, SUPPLIER_DE]),
        ("MATCHING_FAILED", failed, SHARED["MATCHING_FAILED"]),
    ]
    for event_type in BUYER_ONLY:
        for order_id, buyer in ((order_de, BUYER), (order_en, BUYER_EN)):
            _fire(live, event_type, "order", order_id)
            plan.append((event_type, order_id, [buyer]))
    for event_type in ("ORDER_CANCELLED", "DELIVERY_COMPLETED", "ORDER_ESCALATED"):
        _fire(live, event_type, "order", order_de)
        plan.append((event_type, order_de, SHARED[event_type]))
    _fire(live, "LOW_STOCK_ALERT", "inventory", 1)
    plan.append(("LOW_STOCK_ALERT", 0, SHARED["LOW_STOCK_ALERT"]))
    assert {t for t, _, _ in plan} == set(TEXTS)

    def about(event_type: str, order_id: int) -> Any:
        return lambda n: (
            n["event_type"] == event_type and (not order_id or n["metadata"].get("order_id") == order_id)
        )

    checked = 0
    for event_type, order_id, recipients in plan:
        for email in recipients:
            title, message = expected(event_type, email, order_id)
            pushed = readers[email].wait_for("notification", about(event_type, order_id), timeout=30)
            assert (pushed["title"], pushed["message"]) == (title, message), (email, event_type, "push")
            listed = [n for n in _rest(live, email) if n["id"] == pushed["id"]]
            assert len(listed) == 1, (email, event_type)
            assert (listed[0]["title"], listed[0]["message"]) == (title, message), (email, event_type, "REST")
            checked += 1
    assert checked >= 2 * len(TEXTS)

    # The mails: one per (event, recipient) with the mail switched on; the low-stock alert goes in a digest.
    wait_until(lambda: len(_mails(list(READERS))) >= 20, 20, "the mails to be recorded")
    mails = _mails(list(READERS))
    rows_by_email = {email: _rest(live, email) for email in READERS}
    mailed = 0
    for event_type, order_id, recipients in plan:
        if event_type == "LOW_STOCK_ALERT":
            continue
        for email in recipients:
            title, message = expected(event_type, email, order_id)
            row = next(n for n in rows_by_email[email] if about(event_type, order_id)(n))
            event_id = _event_of(row["id"])
            mail = mails[email, event_id]
            assert mail.subject == title, (email, event_type)
            assert message in mail.body_text and message in mail.body_html.replace("&#x27;", "'")
            greeting = "Hallo " if READERS[email][0] == "de" else "Hello "
            assert mail.body_text.startswith(greeting) and f'lang="{READERS[email][0]}"' in mail.body_html
            mailed += 1
    assert mailed >= len(TEXTS) + 5

    # system_event stays English, for a German admin too.
    eta_event = readers[ADMIN_DE].wait_for("system_event", lambda d: d["event_type"] == "ETA_UPDATED")
    assert eta_event["title"] == "ETA Updated" and eta_event["message"].endswith("2026-11-26 13:30 UTC")


def _event_of(notification_id: int) -> int | None:
    from common.models import Notification

    with get_sessionmaker()() as session:
        row = session.get(Notification, notification_id)
        assert row is not None
        return row.event_id


def test_the_same_eta_reads_in_berlin_and_in_chicago_and_a_switch_changes_the_inbox(
    live: Stack, readers: dict[str, Listener]
) -> None:
    order_id = _place(live, BUYER, readers[BUYER])
    _fire(live, "ETA_UPDATED", "order", order_id)
    pushed = readers[BUYER].wait_for("notification", lambda n: n["event_type"] == "ETA_UPDATED")
    assert pushed["message"] == f"Bestellung #{order_id} wird jetzt am 26.11.2026 14:30 MEZ erwartet"
    with live.api(BUYER) as api:
        # The same row, read again after the buyer moved to Chicago and to English.
        response = api.put("/api/preferences/", json={"locale": "en", "timezone": "America/Chicago"})
        assert response.status_code == 200, response.text
        row = next(n for n in api.get("/api/notifications/").json()["items"] if n["id"] == pushed["id"])
        assert row["title"] == "ETA Updated"
        assert row["message"] == f"Order #{order_id} is now expected 2026-11-26 07:30 CST"
        matched = next(
            n for n in api.get("/api/notifications/").json()["items"] if n["event_type"] == "SUPPLIER_MATCHED"
        )
        assert matched["title"] == "Supplier Matched"
        # Back to German: the whole inbox follows.
        response = api.put("/api/preferences/", json={"locale": "de", "timezone": None})
        assert response.json()["timezone"] == "Europe/Berlin"
        items = api.get("/api/notifications/").json()["items"]
        assert {n["title"] for n in items} == {"Lieferant zugeordnet", "Liefertermin geändert"}
