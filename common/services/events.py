"""The event log, and the manual trigger that runs exactly the path a domain event runs."""

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from common.events.bus import emit_event
from common.events.types import EntityType, EventType, spec_for
from common.models import EventLog, User
from common.services.errors import Invalid
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
