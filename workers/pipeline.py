"""Handling a batch of events: side work, notification rows, then the socket messages.

A task carries the ids of one or more events of one type (the relay batches
what accumulated). The whole batch is one transaction: the events are locked
in id order, their contexts and recipients loaded in bulk, every notification
row written by one INSERT, the unread versions bumped by one UPDATE, and the
events marked PROCESSED. So a redelivered task (a worker died before
acknowledging, the relay redelivered) finds the events done and changes
nothing, and rows are also unique per (event, user).

After the commit -- never before, or a count could include what is then
rolled back -- the unread counts are read with their versions and every socket
message goes out in one Redis pipeline.

PROCESSED means "written and published". The batch's transaction records the
handling (processed_at, attempts) but leaves the state open; only after the
publish does one more UPDATE mark the events PROCESSED. A worker killed
between its commit and its publish (or a publish Redis refused) leaves them
open, so the task's redelivery (the broker's, or the relay's sweep) handles
them again: no side work, no mail and no new row (processed_at is set, rows
are unique per event and user), and the socket messages go out again.
Clients dedupe notifications by id and keep the count with the highest version.

When a batch fails, its events are handled again one by one, each in its own
transaction, so only the event at fault is retried and, in the end, FAILED.
"""

import contextlib
import logging
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy import BindParameter, Row, bindparam, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from common.db import execute_core, get_sessionmaker, insert_on_conflict
from common.events.payloads import event_state_payload, notification_payload
from common.events.publisher import Emit, publish, role_room, user_room
from common.events.types import EventType, spec_for
from common.models import DeliveryState, EventLog, Notification, Order, utcnow
from common.services import matching, scoring
from common.services.errors import Conflict
from common.services.mail import MailEntry, record_mails_batch
from common.services.notifications import bump_unread_versions, unread_states
from common.services.preferences import in_app_recipients  # inbox (issue 12)
from workers.notices import Contexts, Notice, build_notice

log = logging.getLogger(__name__)
# A notification row read or written by Core: what its socket message needs, no ORM object.
NotificationRow = Row[Any]


@dataclass
class Handled:
    """What handling one event did, for the socket messages and the task's log line."""

    event: EventLog
    notice: Notice | None
    first_time: bool
    rows: list[NotificationRow] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        return {
            "event_id": self.event.id,
            "event_type": self.event.event_type,
            "attempt": self.event.attempts,
            "recipients": len(self.rows),
            "created_at": self.event.created_at.isoformat(),
            "replay": not self.first_time,
        }


def run_side_work(session: Session, event: EventLog) -> None:
    """Matching on ORDER_PLACED, the reliability score on ORDER_DELIVERED."""
    if event.event_type == EventType.ORDER_PLACED:
        # Conflict: matched or cancelled meanwhile; nothing to do.
        with contextlib.suppress(Conflict):
            status = session.scalar(select(Order.status).where(Order.id == event.entity_id))
            if status == "PLACED":
                matching.match_order(session, event.entity_id)
    elif event.event_type == EventType.ORDER_DELIVERED:
        supplier = scoring.score_delivery(session, event.entity_id)
        if supplier is not None:
            event.event_metadata = {
                **event.event_metadata,
                "reliability_score": supplier.reliability_score,
            }


def notification_metadata(event: EventLog) -> dict[str, Any]:
    return {**event.event_metadata, "occurred_at": event.created_at.isoformat()}


def insert_notifications(session: Session, handled: list[Handled]) -> list[NotificationRow]:
    """Every recipient's row of the batch in one INSERT; rows that exist are kept as they are.

    created_at is the write time (the event's own time is metadata.occurred_at),
    so a notification of an event that waited is new, at the top of the list,
    and a gateway's catch-up by write time finds it. Returns the new rows, as
    plain rows: nothing changes them, so no ORM object is built.
    """
    now = utcnow()
    rows = [
        {
            "user_id": user_id,
            "event_id": h.event.id,
            "event_type": h.event.event_type,
            "title": h.notice.title,
            "message": h.notice.message,
            "metadata": notification_metadata(h.event),
            "link": h.notice.link,
            "is_read": False,
            "created_at": now,
        }
        for h in handled
        if h.notice is not None
        for user_id in sorted(h.notice.recipients)
    ]
    if not rows:
        return []
    statement = (
        insert_on_conflict(session, Notification.__table__)
        .on_conflict_do_nothing(index_elements=["event_id", "user_id"])
        .returning(*_ROW_COLUMNS)
    )
    return list(execute_core(session, statement, rows).all())


def keep_in_app_recipients(session: Session, handled: list[Handled]) -> None:
    """inbox (issue 12): who muted a type in the app gets no row, so no push and no count.

    One preferences query per event type in the batch, for all its recipients.
    Mail is decided apart (email_recipients), on the recipients before this.
    """
    by_type: dict[str, set[int]] = {}
    for h in handled:
        if h.notice is not None:
            by_type.setdefault(h.event.event_type, set()).update(h.notice.recipients)
    allowed = {t: in_app_recipients(session, t, ids) for t, ids in by_type.items()}
    for h in handled:
        if h.notice is not None:
            h.notice = replace(h.notice, recipients=h.notice.recipients & allowed[h.event.event_type])


def attach_rows(session: Session, handled: list[Handled], new_rows: list[NotificationRow]) -> None:
    """Every notification row of the batch's events, new or written by an earlier attempt.

    An event handled for the first time has no rows but the ones just inserted
    (its earlier attempts, if any, rolled back), so only the others are read.
    """
    by_event = {h.event.id: h for h in handled}
    handled_before = [h.event.id for h in handled if not h.first_time]
    rows = new_rows
    if handled_before:
        rows = [r for r in new_rows if by_event[r.event_id].first_time]
        rows += execute_core(session, _ROWS_OF_EVENTS, {"ids": handled_before}).all()
    for row in sorted(rows, key=lambda r: r.id):
        by_event[row.event_id].rows.append(row)


def _handle_batch(event_ids: list[int]) -> list[Handled]:
    session = get_sessionmaker()()
    try:
        events = list(session.scalars(_LOCK_EVENTS, {"ids": event_ids}))
        todo = [e for e in events if e.state != DeliveryState.PROCESSED]
        if not todo:
            return []
        first_time = {e.id: e.processed_at is None for e in todo}
        for event in todo:
            if first_time[event.id]:  # a replay never repeats side work
                run_side_work(session, event)
        contexts = Contexts.load(session, todo)
        handled = [Handled(e, build_notice(contexts, e), first_time[e.id]) for e in todo]
        # Mail is decided on every recipient, before in-app muting: muting a
        # type in the app does not stop its mail (CONTRACT section 4).
        mails = mail_entries(handled)
        keep_in_app_recipients(session, handled)  # inbox (issue 12)
        new_rows = insert_notifications(session, handled)
        record_mails_batch(session, mails)  # e-mail (issue 13): sent after commit
        bump_unread_versions(session, {row.user_id for row in new_rows})
        attach_rows(session, handled, new_rows)
        now = mark_handled(session, todo)
        session.commit()
        emits = socket_messages(session, handled, contexts)
        # The same session (its connection) marks them PROCESSED once the messages are out.
        if publish_messages(emits, len(todo)):
            mark_published(session, todo, now)
            publish_states(emits, len(todo))
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
    return handled


def publish_messages(emits: list[Emit], events: int) -> bool:
    """Every message but event_state; False when Redis refused them.

    Then the events stay open: the relay's redelivery sweep hands them over
    again, and that handling publishes. (Redis down also cut the gateways off:
    their catch-up replays the rows meanwhile.)
    """
    try:
        publish([e for e in emits if e.event != "event_state"])
    except Exception:
        log.warning(
            "socket messages of %d event(s) not published; left for redelivery", events, exc_info=True
        )
        return False
    return True


def publish_states(emits: list[Emit], events: int) -> None:
    """event_state PROCESSED goes out once the events are (the admins' log may refetch on it)."""
    try:
        publish([e for e in emits if e.event == "event_state"])
    except Exception:
        log.warning("event_state of %d event(s) not published", events, exc_info=True)


def mail_entries(handled: list[Handled]) -> list[MailEntry]:
    """The mails of the batch's first-time events (a replay or redelivery never mails twice)."""
    return [
        MailEntry(h.event, h.notice.title, h.notice.message, h.notice.link, frozenset(h.notice.recipients))
        for h in handled
        if h.notice is not None and h.first_time
    ]


def mark_handled(session: Session, events: list[EventLog]) -> datetime:
    """One UPDATE for the whole batch (not one per row at flush); the state stays open.

    The objects already say PROCESSED, for the `event_state` message, which goes
    out after mark_published.
    """
    now = utcnow()
    execute_core(session, _MARK_HANDLED, {"ids": [e.id for e in events], "now": now})
    for event in events:
        set_committed_value(event, "state", DeliveryState.PROCESSED)
        set_committed_value(event, "processed_at", now)
        set_committed_value(event, "attempts", event.attempts + 1)
        set_committed_value(event, "error", None)
    return now


def mark_published(session: Session, events: list[EventLog], handled_at: datetime) -> None:
    """Their messages are out: PROCESSED, in one UPDATE.

    Only the handling this worker did (processed_at is its own) and never over a
    replay asked for meanwhile (PENDING): that one is handled, and published, again.
    """
    execute_core(session, _MARK_PUBLISHED, {"ids": [e.id for e in events], "handled_at": handled_at})
    session.commit()


# The statements every batch runs are built once (building one, and its cache
# key, cost the worker more CPU than running it).
_EVENT_IDS: BindParameter[list[int]] = bindparam("ids", expanding=True)
_LOCK_EVENTS = select(EventLog).where(EventLog.id.in_(_EVENT_IDS)).order_by(EventLog.id).with_for_update()
_NOTIFICATIONS = Notification.__table__
# A notification row as the socket message needs it (common.events.payloads.notification_payload).
_ROW_COLUMNS = (
    _NOTIFICATIONS.c.id,
    _NOTIFICATIONS.c.user_id,
    _NOTIFICATIONS.c.event_id,
    _NOTIFICATIONS.c.event_type,
    _NOTIFICATIONS.c.title,
    _NOTIFICATIONS.c.message,
    _NOTIFICATIONS.c.metadata.label("notification_metadata"),
    _NOTIFICATIONS.c.link,
    _NOTIFICATIONS.c.is_read,
    _NOTIFICATIONS.c.created_at,
)
_ROWS_OF_EVENTS = select(*_ROW_COLUMNS).where(_NOTIFICATIONS.c.event_id.in_(_EVENT_IDS))
_MARK_HANDLED = (
    update(EventLog)
    .where(EventLog.id.in_(_EVENT_IDS))
    .values(processed_at=bindparam("now"), attempts=EventLog.attempts + 1, error=None)
    .execution_options(synchronize_session=False)
)
_MARK_PUBLISHED = (
    update(EventLog)
    .where(
        EventLog.id.in_(_EVENT_IDS),
        EventLog.processed_at == bindparam("handled_at"),
        EventLog.state != DeliveryState.PENDING,
    )
    .values(state=DeliveryState.PROCESSED)
    .execution_options(synchronize_session=False)
)


def socket_messages(session: Session, handled: list[Handled], contexts: Contexts) -> list[Emit]:
    """Built after the commit: the counts are read with their versions, never before."""
    emits: list[Emit] = []
    users = {row.user_id for h in handled for row in h.rows}
    states = unread_states(session, users)
    for h in handled:
        emits += [Emit("notification", notification_payload(row), user_room(row.user_id)) for row in h.rows]
    emits += [Emit("unread_count", state.payload(), user_room(uid)) for uid, state in states.items()]
    for h in handled:
        emits += event_messages(h, contexts)
    return emits


def event_messages(h: Handled, contexts: Contexts) -> list[Emit]:
    event, notice = h.event, h.notice
    timestamp = event.created_at.isoformat()
    metadata = event.event_metadata
    emits = [
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
        ),
        Emit("event_state", event_state_payload(event), role_room("admin")),
    ]
    status = metadata.get("status")
    ctx = contexts.orders.get(event.entity_id) if event.entity_type == "order" else None
    if ctx is not None and status and spec_for(event.event_type).order_status is not None:
        order = ctx.order
        if order is not None:
            rooms = [user_room(uid) for uid in sorted(contexts.directory.order_viewers(order))]
            emits.append(
                Emit(
                    "order_status",
                    {"order_id": order.id, "status": status, "timestamp": timestamp},
                    [*rooms, role_room("admin")],
                )
            )
    return emits


def handle_events(event_ids: list[int]) -> list[dict[str, Any]]:
    """Handle a batch; on failure, each event alone, so only the one at fault is retried."""
    ids = sorted(set(event_ids))
    if len(ids) > 1:
        try:
            return [h.summary() for h in _handle_batch(ids)]
        except Exception:
            log.warning("a batch of %d events failed; handling them one by one", len(ids), exc_info=True)
    summaries: list[dict[str, Any]] = []
    first_error: Exception | None = None
    for event_id in ids:
        try:
            summaries += [h.summary() for h in _handle_batch([event_id])]
        except Exception as exc:
            record_error(event_id, exc)
            first_error = first_error or exc
    if first_error is not None:
        raise first_error
    return summaries


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:4000]


def record_error(event_id: int, exc: BaseException) -> None:
    """Every failed attempt counts and keeps its error; the event stays open for a retry."""
    with contextlib.suppress(Exception), get_sessionmaker()() as session:
        session.execute(
            update(EventLog)
            .where(EventLog.id == event_id, EventLog.state != DeliveryState.PROCESSED)
            .values(error=_describe(exc), attempts=EventLog.attempts + 1)
        )
        session.commit()


def record_failure(event_ids: list[int], error: str) -> None:
    """A handler that gave up is recorded as FAILED with its error, never dropped silently."""
    session = get_sessionmaker()()
    try:
        events = list(
            session.scalars(
                select(EventLog)
                .where(EventLog.id.in_(event_ids), EventLog.state != DeliveryState.PROCESSED)
                .with_for_update()
            )
        )
        for event in events:
            event.state = DeliveryState.FAILED
            event.error = error[:4000]
        session.commit()
        emits = [Emit("event_state", event_state_payload(e), role_room("admin")) for e in events]
    finally:
        session.close()
    with contextlib.suppress(Exception):
        publish(emits)
