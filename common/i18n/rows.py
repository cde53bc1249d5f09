"""Notification rows rendered for their reader: the REST lists, the push, the catch-up re-push.

Every path that shows a row's title and message goes through here, so a row
that a German and an English user both got reads right for each. A fan-out
(one event, many recipients) is published as what the recipients share once,
then per recipient its row id and which text it reads (common.events.publisher.FanOut):
one text per (locale, zone) the recipients have, not one payload per recipient.
"""

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy.orm import Session

from common.events.payloads import notification_payload
from common.events.publisher import Emit, FanOut, user_room
from common.i18n.messages import localised
from common.i18n.zones import ENGLISH_UTC, Reader, readers


def text_for(row: Any, reader: Reader) -> tuple[str, str]:
    """(title, message) of a row (ORM object or Core row) for this reader."""
    return localised(row.title, row.message, row.message_key, row.message_params, reader.locale, reader.zone)


def payload_for(row: Any, reader: Reader, actions: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The `notification` message of a row, in its reader's language and zone (with its
    actions for that reader, issue 23)."""
    title, message = text_for(row, reader)
    return {**notification_payload(row, actions), "title": title, "message": message}


class ForReader:
    """A notification as its reader sees it: the row, with the title and message rendered for them.
    Read by attribute (the response models read from attributes); the row itself is not changed."""

    __slots__ = ("_row", "message", "title")

    def __init__(self, row: Any, reader: Reader) -> None:
        self._row = row
        self.title, self.message = text_for(row, reader)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._row, name)


def for_reader(session: Session, user_id: int, rows: Sequence[Any]) -> list[ForReader]:
    """The user's rows for a response (one query for the reader, none per row)."""
    if not rows:
        return []
    reader = readers(session, [user_id]).get(user_id, ENGLISH_UTC)
    return [ForReader(row, reader) for row in rows]


def notification_messages(
    rows: Iterable[Any],
    reader_of: dict[int, Reader],
    actions_of: Mapping[int, list[dict[str, Any]]] | None = None,
) -> list[Emit | FanOut]:
    """The `notification` messages of one event's rows: a plain message for one recipient, a
    fan-out for more. `reader_of`: each recipient's Reader (common.i18n.zones.readers);
    `actions_of`: each row's actions (common.services.actions.actions_for_rows)."""
    rows = list(rows)
    actions_of = actions_of or {}
    if len(rows) == 1:
        row = rows[0]
        return [
            Emit(
                "notification",
                payload_for(row, reader_of.get(row.user_id, ENGLISH_UTC), actions_of.get(row.id)),
                user_room(row.user_id),
            )
        ]
    if not rows:
        return []
    texts: dict[str, dict[str, str]] = {}
    payloads = []
    for row in rows:
        reader = reader_of.get(row.user_id, ENGLISH_UTC)
        if reader.variant not in texts:
            title, message = text_for(row, reader)
            texts[reader.variant] = {"title": title, "message": message}
        payload = notification_payload(row, actions_of.get(row.id))
        del payload["title"], payload["message"]
        payloads.append((row, reader.variant, payload))
    first = payloads[0][2]
    shared = {k: v for k, v in first.items() if k != "id" and all(p.get(k) == v for _, _, p in payloads)}
    recipients = [
        (user_room(row.user_id), variant, {k: v for k, v in payload.items() if k not in shared})
        for row, variant, payload in payloads
    ]
    return [FanOut("notification", shared, texts, recipients)]
