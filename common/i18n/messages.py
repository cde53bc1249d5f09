"""The server's catalogues: notification titles and messages, and mail texts, per locale.

One JSON file per locale in `catalogues/` (en.json, de.json; a new locale is
one more file). A notification row stores a `message_key` and its `params`
beside its English text; the key names a title and a message in every
catalogue, and the params are self-contained (names and times copied in when
the row was written), so the text can be rendered for any reader at any time,
whatever retention did to the event meanwhile.

A param is a string or number shown as it is, `{"time": "<ISO 8601>"}` shown in
the reader's zone and locale (`format_time`), or `{"word": "<key>", ...}` a word
of the catalogue (`(not matched yet)`), itself with params.
"""

import json
import string
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_datetime

CATALOGUES = Path(__file__).with_name("catalogues")
DEFAULT_LOCALE = "en"
# en: 2026-11-26 14:30 CET; de: 26.11.2026 14:30 MEZ (CONTRACT section 8).
TIME_PATTERNS = {"en": "yyyy-MM-dd HH:mm", "de": "dd.MM.yyyy HH:mm"}


@cache
def catalogue(locale: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((CATALOGUES / f"{locale}.json").read_text(encoding="utf-8"))
    return data


@cache
def locales() -> tuple[str, ...]:
    """The locales with a catalogue, English first."""
    found = sorted(p.stem for p in CATALOGUES.glob("*.json"))
    return (DEFAULT_LOCALE, *(name for name in found if name != DEFAULT_LOCALE))


def locale_or_default(locale: str | None) -> str:
    return locale if locale in locales() else DEFAULT_LOCALE


def zone_abbreviation(moment: datetime, zone: ZoneInfo, locale: str) -> str:
    """The zone's short name as the locale writes it (babel: de `MEZ`); where the locale's data
    has only an offset (babel's en for Europe/Berlin says `+0100`), the tz database's
    abbreviation (`CET`) when it is one, else the offset."""
    local = moment.astimezone(zone)
    name = format_datetime(local, "z", tzinfo=zone, locale=locale)
    if name[:1] not in "+-" and not name.startswith("GMT"):
        return name
    abbreviation = local.tzname() or ""
    return abbreviation if abbreviation.isalpha() else name


def format_time(
    value: datetime | str | None, locale: str = DEFAULT_LOCALE, zone: ZoneInfo | None = None
) -> str:
    """A time in the reader's zone with its abbreviation; text that is not a time is shown as it is."""
    if value is None:
        return word("not_set", locale)
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return value
    else:
        moment = value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    zone = zone or ZoneInfo("UTC")
    locale = locale_or_default(locale)
    try:
        local = moment.astimezone(zone)
        shown = format_datetime(
            local, TIME_PATTERNS.get(locale, TIME_PATTERNS["en"]), tzinfo=zone, locale=locale
        )
        return f"{shown} {zone_abbreviation(moment, zone, locale)}"
    except (OverflowError, ValueError):  # no such time in that zone: shown as it came
        return value if isinstance(value, str) else value.isoformat()


def time_param(value: datetime | str | None) -> dict[str, str] | dict[str, Any]:
    """A time as a param: kept as ISO 8601 (UTC), rendered per reader."""
    if value is None:
        return {"word": "not_set"}
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
        try:
            return {"time": moment.astimezone(UTC).isoformat()}
        except (OverflowError, ValueError):
            return {"time": value.isoformat()}
    return {"time": value}


class _Formatter(string.Formatter):
    """`{name}` from the params, each rendered for the reader; a missing one stays `{name}`."""

    def __init__(self, locale: str, zone: ZoneInfo | None) -> None:
        self.locale, self.zone = locale, zone

    def get_value(self, key: int | str, args: Any, kwargs: Any) -> Any:
        if key not in kwargs:
            return f"{{{key}}}"
        return render_param(kwargs[key], self.locale, self.zone)


def render_param(value: Any, locale: str, zone: ZoneInfo | None) -> str:
    if isinstance(value, dict):
        if "time" in value:
            return format_time(value["time"], locale, zone)
        if "word" in value:
            params = {k: v for k, v in value.items() if k != "word"}
            return word(str(value["word"]), locale, zone, **params)
    return str(value)


def _format(template: str, params: dict[str, Any], locale: str, zone: ZoneInfo | None) -> str:
    return _Formatter(locale, zone).vformat(template, (), params)


def word(key: str, locale: str = DEFAULT_LOCALE, zone: ZoneInfo | None = None, **params: Any) -> str:
    words = catalogue(locale_or_default(locale))["words"]
    template = words.get(key) or catalogue(DEFAULT_LOCALE)["words"].get(key, key)
    return _format(template, params, locale, zone)


def mail_text(key: str, locale: str | None = DEFAULT_LOCALE, **params: Any) -> str:
    """A text of the mails (greeting, footer, digest lines) in the locale, else English."""
    locale = locale_or_default(locale)
    template = catalogue(locale)["mail"].get(key) or catalogue(DEFAULT_LOCALE)["mail"][key]
    return _format(template, params, locale, None)


def has_notice(key: str | None) -> bool:
    return key is not None and key in catalogue(DEFAULT_LOCALE)["notices"]


def render_notice(
    key: str, params: dict[str, Any], locale: str | None = DEFAULT_LOCALE, zone: ZoneInfo | None = None
) -> tuple[str, str]:
    """(title, message) of a notice key in the locale (else English) and zone (default UTC)."""
    locale = locale_or_default(locale)
    entry = catalogue(locale)["notices"].get(key) or catalogue(DEFAULT_LOCALE)["notices"][key]
    return _format(entry["title"], params, locale, zone), _format(entry["message"], params, locale, zone)


def localised(
    title: str,
    message: str,
    key: str | None,
    params: dict[str, Any] | None,
    locale: str | None,
    zone: ZoneInfo,
) -> tuple[str, str]:
    """A stored row's title and message for its reader: rendered from its key, or, for a row
    written before the catalogues (or of a type without keys), its stored text."""
    if not has_notice(key):
        return title, message
    assert key is not None
    return render_notice(key, params or {}, locale, zone)


def negotiate_locale(accept_language: str | None) -> str | None:
    """The first locale we have among an `Accept-Language` header's (by q, then order), or None.

    `de-DE,de;q=0.9,en;q=0.8` -> de; `fr-FR, de;q=0.5` -> de; `fr, *` -> None (a wildcard
    names no language). Malformed parts are skipped.
    """
    if not accept_language:
        return None
    wanted: list[tuple[float, int, str]] = []
    for n, part in enumerate(accept_language[:1000].split(",")):
        tag, _, rest = part.strip().partition(";")
        quality = 1.0
        if rest:
            name, _, value = rest.strip().partition("=")
            try:
                quality = float(value) if name.strip().lower() == "q" else 1.0
            except ValueError:
                continue
        if quality > 0 and tag and tag != "*":
            wanted.append((-quality, n, tag.split("-")[0].strip().lower()))
    for _, _, base in sorted(wanted):
        if base in locales():
            return base
    return None
