"""The event log, and the manual trigger that runs exactly the path a domain event runs."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from common.db import run_after_commit
from common.events.bus import NewEvent, emit_many, wake_relay
from common.events.types import KNOWN_TYPES, EntityType, EventType, spec_for
from common.models import DeliveryState, EventLog, User
from common.services.errors import Conflict, DomainError, Invalid, NotFound
from common.services.mail.holding import held_until_of_events
from common.services.metadata import entities_ids
from common.services.pagination import CursorPageData, paginate_by_id


def list_events(
    session: Session,
    *,
    event_type: str | None,
    entity_type: EntityType | None,
    entity_id: int | None,
    date_from: datetime | None,
    date_to: datetime | None,
    limit: int,
    offset: int | None,
    cursor: str | None = None,
    state: DeliveryState | None = None,
) -> CursorPageData[EventLog]:
    """The event log, newest first by id, paged by offset or by cursor."""
    if date_from and date_to and date_from > date_to:
        raise Invalid("date_from must not be after date_to")
    query = select(EventLog)
    if event_type is not None:
        query = query.where(EventLog.event_type == event_type)
    if entity_type is not None:
        query = query.where(EventLog.entity_type == entity_type)
    if entity_id is not None:
        query = query.where(EventLog.entity_id == entity_id)
    if state is not None:
        query = query.where(EventLog.state == state)
    if date_from is not None:
        query = query.where(EventLog.created_at >= date_from)
    if date_to is not None:
        query = query.where(EventLog.created_at <= date_to)
    page = paginate_by_id(session, query, EventLog.id, limit=limit, offset=offset, cursor=cursor)
    # Quiet hours (issue 25): when the event's mails were held until (one query for the page).
    held = held_until_of_events(session, [e.id for e in page["items"]])
    for item in page["items"]:
        item.mail_held_until = held.get(item.id)  # type: ignore[attr-defined]
    return page


@dataclass(frozen=True)
class ManualEvent:
    """An event fired by hand (POST /api/events/)."""

    event_type: EventType
    entity_type: EntityType
    entity_id: int
    metadata: dict[str, Any]


def fire_events(session: Session, requests: list[tuple[int, ManualEvent]]) -> list[int | DomainError]:
    """Manual events of several admins' requests (the admin's id, the event), their
    rows written by one INSERT.

    One outcome per request, in order: its event's id, or the refusal it answers
    with (the entity type does not fit the event, the entity does not exist); a
    refused request writes nothing. The server adds the entity's ids
    (`order_id`, `supplier_id`, ...) to `metadata`, and they win over the caller's.
    """
    outcomes, accepted = _checked(session, requests)
    event_ids = emit_many(session, [new for _, new in accepted])
    for (index, _), event_id in zip(accepted, event_ids, strict=True):
        outcomes[index] = event_id
    return [outcomes[index] for index in range(len(requests))]


def fire_batch(session: Session, admin_id: int, batch: list[ManualEvent]) -> list[int]:
    """One admin's batch (POST /api/events/batch): every event, in order, or none.

    Each refused item is named by its position (`InvalidBatch`), and nothing is
    written: the items are checked before the one INSERT.
    """
    refusals, accepted = _checked(session, [(admin_id, event) for event in batch])
    if refusals:
        raise InvalidBatch(refusals)
    return emit_many(session, [new for _, new in accepted])


def _checked(
    session: Session, requests: list[tuple[int, ManualEvent]]
) -> tuple[dict[int, int | DomainError], list[tuple[int, NewEvent]]]:
    """The refusals by request index, and the accepted requests' events ready to write."""
    outcomes: dict[int, int | DomainError] = {}
    for index, (_, event) in enumerate(requests):
        refusal = _entity_type_refusal(event)
        if refusal is not None:
            outcomes[index] = refusal
    fitting = [index for index in range(len(requests)) if index not in outcomes]
    found = entities_ids(session, [(requests[i][1].entity_type, requests[i][1].entity_id) for i in fitting])
    accepted: list[tuple[int, NewEvent]] = []
    for index, ids in zip(fitting, found, strict=True):
        if isinstance(ids, NotFound):
            outcomes[index] = ids
        else:
            accepted.append((index, _new_event(*requests[index], ids)))
    return outcomes, accepted


class InvalidBatch(DomainError):
    """A batch with refused items: 422, located as request validation errors are
    (`["body", "events", i, field]`), so a client handles both the same way."""

    status_code = 422

    def __init__(self, refusals: dict[int, int | DomainError]) -> None:
        super().__init__("invalid events in the batch")
        located = [_located(index, refusal) for index, refusal in sorted(refusals.items())]
        self.detail = located  # type: ignore[assignment]


def _located(index: int, refusal: int | DomainError) -> dict[str, Any]:
    missing = isinstance(refusal, NotFound)  # else the entity type does not fit the event
    return {
        "type": "not_found" if missing else "value_error",
        "loc": ["body", "events", index, "entity_id" if missing else "entity_type"],
        "msg": str(refusal),
    }


def _entity_type_refusal(event: ManualEvent) -> Invalid | None:
    expected = spec_for(event.event_type).entity_type
    if expected == event.entity_type:
        return None
    return Invalid(
        f"{event.event_type.value} is about an entity of type {expected.value!r}, "
        f"not {event.entity_type.value!r}"
    )


def _new_event(admin_id: int, event: ManualEvent, ids: dict[str, Any]) -> NewEvent:
    metadata = {**event.metadata, **ids, "manual": True}  # the server's ids win
    return NewEvent(event.event_type, event.entity_type, event.entity_id, admin_id, metadata)


def fire_event(session: Session, admin: User, event: ManualEvent) -> int:
    """One manual event; its id, or the refusal raised."""
    (outcome,) = fire_events(session, [(admin.id, event)])
    if isinstance(outcome, DomainError):
        raise outcome
    return outcome


def replay_event(session: Session, event_id: int) -> EventLog:
    """Hand an event over again, whatever its state; the relay is woken once this commits.

    The row goes back to PENDING with a fresh send count (the redelivery sweep
    starts over). processed_at is kept: the worker sees that the event was
    handled before, repeats no side work (matching, scoring, mails) and writes
    only the notification rows that are missing; attempts grows when it is handled.
    """
    event = session.scalar(select(EventLog).where(EventLog.id == event_id).with_for_update())
    if event is None:
        raise NotFound(f"Event {event_id} not found")
    if event.event_type not in KNOWN_TYPES:
        raise Conflict(
            f"Event {event_id} is of type {event.event_type}, which this release does not know;"
            " it waits for a release that does"
        )
    event.state = DeliveryState.PENDING
    event.queued_at = None
    event.redeliver_at = None
    event.sends = 0
    session.flush()
    run_after_commit(session, wake_relay)
    return event
