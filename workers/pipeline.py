"""Handling one event: side work, notification rows, then the socket messages.

Everything that writes happens in one transaction together with marking the
event PROCESSED, so a redelivered task (a worker died before acknowledging)
finds the event done and changes nothing; the notification rows are also
unique per (event, user). Socket messages go out only after the commit.
"""

import contextlib
import logging
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from common.db import get_sessionmaker
from common.events.payloads import notification_payload
from common.events.publisher import Emit, publish, role_room, user_room
from common.events.types import EventType, spec_for
from common.models import DeliveryState, EventLog, Notification, utcnow
from common.services import matching, scoring
from common.services.errors import Conflict
from common.services.notifications import unread_counts
from workers.notices import Notice, OrderContext, build_notice, load_order_context, order_viewer_ids

log = logging.getLogger(__name__)


def run_side_work(session: Session, event: EventLog, ctx: OrderContext | None) -> None:
    """Matching on ORDER_PLACED, the reliability score on ORDER_DELIVERED."""
    if ctx is None:
        return
    if event.event_type == EventType.ORDER_PLACED and ctx.order.status == "PLACED":
        # Conflict: matched meanwhile (an admin re-ran matching); nothing to do.
        with contextlib.suppress(Conflict):
            matching.match_order(session, ctx.order.id)
    elif event.event_type == EventType.ORDER_DELIVERED:
        supplier = scoring.score_delivery(session, ctx.order.id)
        if supplier is not None:
            event.event_metadata = {
                **event.event_metadata,
                "reliability_score": supplier.reliability_score,
            }


def insert_notifications(session: Session, event: EventLog, notice: Notice) -> list[Notification]:
    """One row per recipient in a single INSERT; a row that exists already is kept as it is."""
    if not notice.recipients:
        return []
    rows = [
        {
            "user_id": user_id,
            "event_id": event.id,
            "event_type": event.event_type,
            "title": notice.title,
            "message": notice.message,
            "notification_metadata": event.event_metadata,
            "link": notice.link,
            "is_read": False,
            "created_at": event.created_at,
        }
        for user_id in sorted(notice.recipients)
    ]
    dialect = session.get_bind().dialect.name
    insert_fn = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert_fn(Notification).on_conflict_do_nothing(index_elements=["event_id", "user_id"])
    session.execute(statement, rows)
    return list(
        session.scalars(
            select(Notification).where(Notification.event_id == event.id).order_by(Notification.user_id)
        )
    )


def socket_messages(
    session: Session,
    event: EventLog,
    notice: Notice | None,
    created: list[Notification],
    ctx: OrderContext | None,
) -> list[Emit]:
    timestamp = event.created_at.isoformat()
    metadata = event.event_metadata
    emits = [Emit("notification", notification_payload(row), user_room(row.user_id)) for row in created]
    counts = unread_counts(session, [row.user_id for row in created])
    emits += [Emit("unread_count", {"count": n}, user_room(uid)) for uid, n in counts.items()]
    emits.append(
        Emit(
            "system_event",
            {
                "event_id": event.id,
                "event_type": event.event_type,
                "title": notice.title if notice else event.event_type,
                "message": notice.message if notice else "",
                "metadata": metadata,
                "entity_type": event.entity_type,
                "entity_id": event.entity_id,
                "timestamp": timestamp,
            },
            role_room("admin"),
        )
    )
    status = metadata.get("status")
    if ctx is not None and status and spec_for(event.event_type).order_status is not None:
        rooms = [user_room(uid) for uid in sorted(order_viewer_ids(session, ctx.order))]
        emits.append(
            Emit(
                "order_status",
                {"order_id": ctx.order.id, "status": status, "timestamp": timestamp},
                [*rooms, role_room("admin")],
            )
        )
    return emits


def handle_event(event_id: int) -> dict[str, Any]:
    session = get_sessionmaker()()
    try:
        event = session.scalar(select(EventLog).where(EventLog.id == event_id).with_for_update())
        if event is None:
            log.warning("event %s does not exist; nothing to do", event_id)
            return {"event_id": event_id, "skipped": "missing"}
        if event.state == DeliveryState.PROCESSED:
            return {"event_id": event_id, "skipped": "already processed"}
        ctx = load_order_context(session, event.entity_id) if event.entity_type == "order" else None
        # --- ops (issue 11): a replayed event (processed before) repeats no side work ---
        if event.processed_at is None:
            run_side_work(session, event, ctx)
        if ctx is not None:
            session.refresh(ctx.order)
        notice = build_notice(session, event, ctx)
        created = insert_notifications(session, event, notice) if notice else []
        emits = socket_messages(session, event, notice, created, ctx)
        event.state = DeliveryState.PROCESSED
        event.processed_at = utcnow()
        event.attempts += 1
        event.error = None
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
    publish(emits)
    # --- ops (issue 11): what workers/tasks.py needs for metrics and the JSON log ---
    return {
        "event_id": event_id,
        "notified": len(created),
        "written_at": event.created_at.isoformat(),
        "attempts": event.attempts,
    }


def record_failure(event_id: int, error: str) -> None:
    """A handler that gave up is recorded as FAILED with its error, never dropped silently."""
    session = get_sessionmaker()()
    try:
        event = session.get(EventLog, event_id)
        if event is not None and event.state != DeliveryState.PROCESSED:
            event.state = DeliveryState.FAILED
            event.error = error[:4000]
            event.attempts += 1
            session.commit()
    finally:
        session.close()
