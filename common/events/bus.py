"""emit_event: record an event in the caller's transaction; enqueue it once that commits.

The event_logs row is the outbox. Nothing is sent to the broker here: after the
session commits, the relay is woken and hands every PENDING row to Celery. A
rolled-back transaction leaves no row, so nobody hears of a change that never
happened; a committed row stays PENDING until the broker takes it, so a broker
outage delays events but never loses them.
"""

from dataclasses import dataclass
from typing import Any

from sqlalchemy import event as sa_event
from sqlalchemy import insert
from sqlalchemy.orm import Session

from common.db import attach_as_loaded
from common.events import relay
from common.events.types import EventType, spec_for
from common.models import DeliveryState, EventLog, utcnow

_HOOK_FLAG = "partpulse_relay_hook"


def emit_event(
    session: Session,
    event_type: EventType | str,
    entity_type: str,
    entity_id: int,
    *,
    actor_id: int | None = None,
    metadata: dict[str, Any] | None = None,
) -> EventLog:
    values = _new_row(event_type, entity_type, entity_id, actor_id, metadata)
    # Every order and event request writes one row: a prepared INSERT on the
    # session's connection costs a third of the CPU of the ORM's unit of work
    # (bench/throughput.py). The changes made before it go first, as an ORM
    # flush would order them.
    session.flush()
    params = {_COLUMN_NAMES[key]: value for key, value in values.items()}
    event_id = session.connection().execute(_INSERT_EVENT, params).scalar_one()
    _wake_relay_after_commit(session)
    return attach_as_loaded(
        session,
        EventLog(id=event_id, error=None, queued_at=None, redeliver_at=None, processed_at=None, **values),
    )


def _new_row(
    event_type: EventType | str,
    entity_type: str,
    entity_id: int,
    actor_id: int | None,
    metadata: dict[str, Any] | None,
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
        "created_at": utcnow(),
        "state": DeliveryState.PENDING,
        "attempts": 0,
        "sends": 0,
    }


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
    rows = [_new_row(e.event_type, e.entity_type, e.entity_id, e.actor_id, e.metadata) for e in events]
    rows = [{_COLUMN_NAMES[key]: value for key, value in row.items()} for row in rows]
    session.flush()
    ids = list(session.connection().execute(_INSERT_EVENTS, rows).scalars())
    _wake_relay_after_commit(session)
    return ids


_INSERT_EVENT = insert(EventLog).returning(EventLog.id)
_INSERT_EVENTS = insert(EventLog).returning(EventLog.id, sort_by_parameter_order=True)
# A statement run on the connection takes column names (metadata), not attribute names (event_metadata).
_COLUMN_NAMES = {attr.key: attr.columns[0].name for attr in EventLog.__mapper__.column_attrs}


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
    spec = spec_for(str(event_type))
    if spec.entity_type != entity_type:
        raise ValueError(f"{event_type} is about a {spec.entity_type}, not a {entity_type}")
    now = utcnow()
    session.execute(
        insert(EventLog),
        [
            {
                "event_type": str(event_type),
                "entity_type": entity_type,
                "entity_id": entity_id,
                "actor_id": actor_id,
                "event_metadata": metadata,
                "created_at": now,
                "state": DeliveryState.PENDING,
                "attempts": 0,
            }
            for entity_id, metadata in entities
        ],
    )
    _wake_relay_after_commit(session)


def _wake_relay_after_commit(session: Session) -> None:
    # A rolled-back session keeps the listener until its next commit; waking
    # the relay then is harmless, because the relay reads only committed rows.
    if session.info.get(_HOOK_FLAG):
        return
    session.info[_HOOK_FLAG] = True

    def _after_commit(committed: Session) -> None:
        committed.info.pop(_HOOK_FLAG, None)
        relay.wake()

    sa_event.listen(session, "after_commit", _after_commit, once=True)
