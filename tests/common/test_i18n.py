"""The server's catalogues, times in a reader's zone, Accept-Language, and the fan-out's shape."""

import re
import string
from datetime import UTC, datetime
from types import SimpleNamespace
from zoneinfo import ZoneInfo

from common.events import publisher
from common.events.payloads import notification_payload
from common.events.types import EventType
from common.i18n import messages
from common.i18n.rows import notification_messages
from common.i18n.zones import Reader
from common.services.mail.rendering import DigestLine, render_digest, render_single
from tests.integration.test_languages import TEXTS

BERLIN, CHICAGO = ZoneInfo("Europe/Berlin"), ZoneInfo("America/Chicago")
SECTION_6 = set(TEXTS)  # the texts of CONTRACT section 6, written out in the end-to-end test


def _fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def test_every_locale_has_every_key_with_the_same_placeholders() -> None:
    en = messages.catalogue("en")
    assert messages.locales() == ("en", "de")
    for locale in messages.locales():
        other = messages.catalogue(locale)
        for section in ("notices", "words", "mail"):
            assert set(other[section]) == set(en[section]), (locale, section)
        for key, entry in en["notices"].items():
            for part in ("title", "message"):
                assert _fields(other["notices"][key][part]) == _fields(entry[part]), (locale, key, part)
        for section in ("words", "mail"):
            for key, text in en[section].items():
                assert _fields(other[section][key]) == _fields(text), (locale, key)
    # Every type of CONTRACT section 6 and ETA_DISPUTED (section 8) has its texts (a type
    # added later without keys shows its stored text).
    types = {key.split(".")[0] for key in en["notices"]}
    assert types == SECTION_6 | {"ETA_DISPUTED"} and {t.value for t in EventType} >= types
    assert all(en["notices"][k] != messages.catalogue("de")["notices"][k] for k in en["notices"])


def test_times_read_in_the_readers_zone_with_its_abbreviation() -> None:
    winter, summer = "2026-11-26T13:30:00+00:00", datetime(2026, 7, 1, 13, 30, tzinfo=UTC)
    assert messages.format_time(winter, "en", BERLIN) == "2026-11-26 14:30 CET"
    assert messages.format_time(winter, "de", BERLIN) == "26.11.2026 14:30 MEZ"
    assert messages.format_time(summer, "en", BERLIN) == "2026-07-01 15:30 CEST"
    assert messages.format_time(summer, "de", BERLIN) == "01.07.2026 15:30 MESZ"
    assert messages.format_time(winter, "en", CHICAGO) == "2026-11-26 07:30 CST"
    assert messages.format_time(winter, "de", CHICAGO) == "26.11.2026 07:30 CST"
    assert messages.format_time(winter, "en", ZoneInfo("Asia/Kolkata")) == "2026-11-26 19:00 IST"
    # A zone whose tz database name is an offset: babel's offset.
    assert messages.format_time(winter, "en", ZoneInfo("America/Sao_Paulo")) == "2026-11-26 10:30 -0300"
    assert messages.format_time(winter) == "2026-11-26 13:30 UTC"
    assert messages.format_time(None, "de") == "nicht festgelegt"
    assert messages.format_time("next Tuesday", "de", BERLIN) == "next Tuesday"
    assert messages.format_time("9999-12-31T23:59:00+00:00", "de", BERLIN) == "9999-12-31T23:59:00+00:00"


def test_a_notice_renders_for_each_reader_and_rows_from_before_keep_their_text() -> None:
    params = {"order_id": 7, "eta": messages.time_param(datetime(2026, 11, 26, 13, 30, tzinfo=UTC))}
    assert messages.render_notice("ETA_UPDATED", params) == (
        "ETA Updated",
        "Order #7 is now expected 2026-11-26 13:30 UTC",
    )
    assert messages.render_notice("ETA_UPDATED", params, "de", BERLIN) == (
        "Liefertermin geändert",
        "Bestellung #7 wird jetzt am 26.11.2026 14:30 MEZ erwartet",
    )
    matched = {"supplier": {"word": "not_matched"}}
    assert messages.render_notice("SUPPLIER_MATCHED", matched, "de")[1] == (
        "Der Lieferant (noch nicht zugeordnet) wurde Ihrer Bestellung zugeordnet"
    )
    # A reason that looks like a placeholder is shown as it is.
    cancelled = {"order_id": 7, "who": "Eve", "reason": "{order_id} {0} {reason}"}
    assert messages.render_notice("ORDER_CANCELLED.reason", cancelled, "de")[1] == (
        "Bestellung #7 wurde von Eve storniert: {order_id} {0} {reason}"
    )
    old = messages.localised("Old title", "Old text", None, None, "de", BERLIN)
    assert old == ("Old title", "Old text")
    unknown = messages.localised("New type", "English only", "ORDER_RETURNED", {}, "de", BERLIN)
    assert unknown == ("New type", "English only")
    assert messages.locale_or_default(None) == messages.locale_or_default("fr") == "en"


def test_accept_language_picks_the_first_locale_we_have() -> None:
    cases = {
        "de-DE,de;q=0.9,en;q=0.8": "de",
        "fr-FR, de;q=0.5, en;q=0.4": "de",
        "en-US,en;q=0.9": "en",
        "de;q=0, en;q=0.1": "en",
        "fr, *": None,
        "q=;;,": None,
        "": None,
        None: None,
    }
    for header, locale in cases.items():
        assert messages.negotiate_locale(header) == locale, header


def _row(row_id: int, user_id: int) -> SimpleNamespace:
    return SimpleNamespace(
        id=row_id,
        user_id=user_id,
        event_type="ETA_UPDATED",
        title="ETA Updated",
        message="Order #7 is now expected 2026-11-26 13:30 UTC",
        message_key="ETA_UPDATED",
        message_params={"order_id": 7, "eta": {"time": "2026-11-26T13:30:00+00:00"}},
        notification_metadata={"order_id": 7, "occurred_at": "2026-11-26T10:00:00+00:00", "note": "x" * 400},
        link="/orders/7",
        is_read=False,
        archived=False,
        created_at=datetime(2026, 11, 26, 10, 0, tzinfo=UTC),
        category="orders",
        severity="normal",
        seen=False,
        snoozed_until=None,
        resurfaced_at=None,
        position=None,
    )


def test_a_fan_out_renders_each_text_once_and_expands_to_each_readers_message() -> None:
    rows = [_row(100 + n, n) for n in range(300)]
    readers = {n: Reader("de", BERLIN) if n % 3 == 0 else Reader("en", CHICAGO) for n in range(300)}
    [fan_out] = notification_messages(rows, readers)
    assert isinstance(fan_out, publisher.FanOut)
    assert len(fan_out.texts) == 2 and "metadata" in fan_out.shared  # one text per (locale, zone)
    expanded = fan_out.emits()  # per-room delivery: each room's channel gets its own message
    assert len(expanded) == 300
    by_room = {e.room: e.data for e in expanded}
    assert all(e.event == "notification" for e in expanded)
    assert by_room["user_0"]["id"] == 100 and by_room["user_0"]["message"].endswith(
        "26.11.2026 14:30 MEZ erwartet"
    )
    assert by_room["user_1"]["title"] == "ETA Updated" and by_room["user_1"]["message"].endswith("07:30 CST")
    assert set(by_room["user_1"]) == set(notification_payload(rows[1]))  # the shape of a plain message
    # A single recipient gets a plain message.
    [single] = notification_messages(rows[:1], readers)
    assert isinstance(single, publisher.Emit) and single.data["title"] == "Liefertermin geändert"


def test_mails_in_the_readers_language() -> None:
    mail = render_single(
        "Bestellung eskaliert", "Bestellung #7 hat ihren Liefertermin überschritten", "/orders/7", "Uta", "de"
    )
    assert mail.text.startswith("Hallo Uta,\n\nBestellung #7")
    assert "Wählen Sie, welche E-Mails Sie erhalten" in mail.text and '<html lang="de">' in mail.html
    english = render_single("Order Escalated", "Order #7 is past its ETA", "/orders/7", "Uta", None)
    assert english.text.startswith("Hello Uta,") and '<html lang="en">' in english.html
    lines = [DigestLine(3, "Radial shaft seal", "SEAL-TC", [("Nordic Bearings AG", 2, 10)])]
    digest = render_digest(lines, name_suppliers=True, full_name="Uta", locale="de")
    assert digest.subject == "Niedriger Bestand: 1 Teile"
    assert "Nordic Bearings AG: noch 2 vorhanden (Mindestbestand 10)" in digest.text
    assert re.search(r"Diese Teile sind unter ihren Mindestbestand gefallen", digest.html)
