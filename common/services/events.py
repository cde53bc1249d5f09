"""The event log, and the manual trigger that runs exactly the path a domain event runs."""

from datetime import datetime
from typing import Any

from sqlalchemy import event as sa_event
from sqlalchemy import select
from sqlalchemy.orm import Session

from common.events import relay
from common.events.bus import emit_event
from common.events.types import EntityType, EventType, spec_for
from common.models import DeliveryState, EventLog, User
from common.services.errors import Invalid, NotFound
from common.services.metadata import entity_ids
from common.services.pagination import CursorPageData, paginate_by_id


def list_events(
    session: Session,
    *,
    event_type: EventType | None,
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
    return paginate_by_id(session, query, EventLog.id, limit=limit, offset=offset, cursor=cursor)


def fire_event(
    session: Session,
    admin: User,
    *,
    event_type: EventType,
    entity_type: EntityType,
    entity_id: int,
    metadata: dict[str, Any],
) -> EventLog:
    expected = spec_for(event_type).entity_type
    if expected != entity_type:
        raise Invalid(
            f"{event_type.value} is about an entity of type {expected.value!r}, not {entity_type.value!r}"
        )
    ids = entity_ids(session, entity_type, entity_id)
    # The server's ids win over anything the caller wrote under the same keys.
    merged = {**metadata, **ids, "manual": True}
    return emit_event(session, event_type, entity_type, entity_id, actor_id=admin.id, metadata=merged)


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
    event.state = DeliveryState.PENDING
    event.queued_at = None
    event.redeliver_at = None
    event.sends = 0
    session.flush()
    sa_event.listen(session, "after_commit", lambda _s: relay.wake(), once=True)
    return event
