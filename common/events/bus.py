"""emit_event: record an event in the caller's transaction; enqueue it once that commits.

The event_logs row is the outbox. Nothing is sent to the broker here: after the
session commits, the relay is woken and hands every PENDING row to Celery. A
rolled-back transaction leaves no row, so nobody hears of a change that never
happened; a committed row stays PENDING until the broker takes it, so a broker
outage delays events but never loses them.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import CursorResult, Insert, insert
from sqlalchemy.orm import Session

from common.db import attach_as_loaded, execute_core, run_after_commit
from common.events import relay
from common.events.types import EventType, spec_for
from common.models import DeliveryState, EventLog, utcnow


def emit_event(
    session: Session,
    event_type: EventType | str,
    entity_type: str,
    entity_id: int,
    *,
    actor_id: int | None = None,
    metadata: dict[str, Any] | None = None,
) -> EventLog:
    values = _new_row(event_type, entity_type, entity_id, actor_id, metadata, utcnow())
    event_id = _insert(session, [values], _INSERT_EVENT).scalar_one()
    return attach_as_loaded(
        session,
        EventLog(id=event_id, error=None, queued_at=None, redeliver_at=None, processed_at=None, **values),
    )


@dataclass(frozen=True)
class NewEvent:
    event_type: EventType | str
    entity_type: str
    entity_id: int
    actor_id: int | None
    metadata: dict[str, Any]


def emit_many(session: Session, events: list[NewEvent]) -> list[int]:
    """Record events of any types with one INSERT; returns their ids, in the order given."""
    if not events:
        return []
    now = utcnow()
    rows = [_new_row(e.event_type, e.entity_type, e.entity_id, e.actor_id, e.metadata, now) for e in events]
    return list(_insert(session, rows, _INSERT_EVENTS).scalars())


def emit_events(
    session: Session,
    event_type: EventType,
    entity_type: str,
    entities: list[tuple[int, dict[str, Any]]],
    *,
    actor_id: int | None = None,
) -> None:
    """Record many events of one type in one INSERT (a bulk import's alerts)."""
    if not entities:
        return
    now = utcnow()
    rows = [
        _new_row(event_type, entity_type, entity_id, actor_id, metadata, now)
        for entity_id, metadata in entities
    ]
    _insert(session, rows, _INSERT_EVENTS_QUIETLY)


def _new_row(
    event_type: EventType | str,
    entity_type: str,
    entity_id: int,
    actor_id: int | None,
    metadata: dict[str, Any] | None,
    now: datetime,
) -> dict[str, Any]:
    spec = spec_for(str(event_type))
    if spec.entity_type != entity_type:
        raise ValueError(f"{event_type} is about a {spec.entity_type}, not a {entity_type}")
    return {
        "event_type": str(event_type),
        "entity_type": entity_type,
        "entity_id": entity_id,
        "actor_id": actor_id,
        "event_metadata": dict(metadata or {}),
        "created_at": now,
        "state": DeliveryState.PENDING,
        "attempts": 0,
        "sends": 0,
    }


def _insert(session: Session, rows: list[dict[str, Any]], statement: Insert) -> CursorResult[Any]:
    """The event rows, by a prepared Core INSERT on the session's connection.

    Every order and event request writes one: this costs half the CPU of the
    ORM's unit of work (bench/hot_path.py). The changes made before go first, as
    an ORM flush would order them; the relay is woken once the session commits.
    """
    params = [{_COLUMN_NAMES[key]: value for key, value in row.items()} for row in rows]
    # One row (every request's case) goes as a plain execute, not down the executemany path.
    result = execute_core(session, statement, params[0] if len(params) == 1 else params)
    run_after_commit(session, wake_relay)
    return result


_INSERT_EVENT = insert(EventLog).returning(EventLog.id)
_INSERT_EVENTS = insert(EventLog).returning(EventLog.id, sort_by_parameter_order=True)
_INSERT_EVENTS_QUIETLY = insert(EventLog)  # a bulk import's thousands of ids are not needed
# A statement run on the connection takes column names (metadata), not attribute names (event_metadata).
_COLUMN_NAMES = {attr.key: attr.columns[0].name for attr in EventLog.__mapper__.column_attrs}


def wake_relay(_committed: Session) -> None:
    """The after-commit step of every write that leaves PENDING rows: the relay hands them over.

    One left waiting by a rolled-back session runs at its next commit; waking
    the relay then is harmless, because the relay reads only committed rows.
    """
    relay.wake()
