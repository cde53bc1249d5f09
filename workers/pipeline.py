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

Failure paths (issue 19). A batch is an optimisation, never a unit of failure:
- every delivery is counted before any handler runs (begin_delivery, its own
  commit), so a delivery that kills its process still counts; an event
  delivered more than EVENT_MAX_ATTEMPTS times without an outcome is FAILED
  "worker lost" without running again; a batch delivered again is split into
  one task per event first, so a killer event dies alone;
- when a batch's transaction fails, its events are handled again one by one,
  each in its own transaction: a deterministic error (classify) fails that
  event at once with its own error, a connection-level one is retried (only
  that event), and no other event of the batch is touched;
- each handler transaction sets lock_timeout and statement_timeout to a quarter
  of the soft time limit (PostgreSQL): a worker blocked inside libpq runs no
  Python signal handler, so the database gives up first and the event is
  FAILED "timeout: ..."; a soft time limit hit in Python does the same for a
  single event, and re-sends a batch's untried events as tasks of their own.
"""

import contextlib
import enum
import json
import logging
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import redis.exceptions
from billiard.exceptions import SoftTimeLimitExceeded
from sqlalchemy import BindParameter, Row, bindparam, column, func, select, text, update
from sqlalchemy.exc import (
    DataError,
    DBAPIError,
    IntegrityError,
    InterfaceError,
    OperationalError,
    ProgrammingError,
)
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from common.config import get_settings
from common.db import execute_core, get_sessionmaker, insert_on_conflict
from common.events.kinds import category_of
from common.events.payloads import event_state_payload
from common.events.publisher import BULK_MIN_RECIPIENTS, Emit, FanOut, publish, role_room, user_room
from common.events.types import EventType, spec_for
from common.i18n.rows import notification_messages
from common.i18n.zones import readers
from common.models import DeliveryState, EventLog, Notification, Order, User, utcnow
from common.services import actions, matching, scoring
from common.services.errors import Conflict
from common.services.mail import MailEntry, record_mails_batch
from common.services.notifications import unread_states
from common.services.preferences import in_app_recipients  # inbox (issue 12)
from common.services.severity import StockFacts, consumption_by_row, impact_severity
from common.services.unread import new_rows_changes, record_changes
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
    severity: str = "normal"  # from business impact (issue 23), stored on every row

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
    if session.get_bind().dialect.name == "postgresql":
        return _insert_notifications_by_event(session, handled, now)
    rows = [
        {
            "user_id": user_id,
            "event_id": h.event.id,
            "event_type": h.event.event_type,
            "entity_type": h.event.entity_type,
            "entity_id": h.event.entity_id,
            "title": h.notice.title,
            "message": h.notice.message,
            "message_key": h.notice.key,  # issue 22: each reader's text is rendered from these
            "params": h.notice.params if h.notice.key else None,
            "metadata": notification_metadata(h.event),
            "link": h.notice.link,
            "is_read": False,
            "created_at": now,
            "severity": h.severity,
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


def _insert_notifications_by_event(
    session: Session, handled: list[Handled], now: datetime
) -> list[NotificationRow]:
    """insert_notifications on PostgreSQL: each event's fields once, its recipients as an array.

    A row differs from its event's other rows only by user_id, so the statement
    takes one array per field with an element per event and two arrays (event,
    user) with an element per row, and joins them in SQL: for a fan-out to 1,000
    readers that is one event's fields and 2,000 integers to send, not 1,000 rows
    of 15 parameters each to quote (issue 26). Rows are written in the same order
    as the generic path's (by event, then user id), so ids ascend the same way.
    """
    events = [(h, h.notice) for h in handled if h.notice is not None and h.notice.recipients]
    if not events:
        return []
    row_events: list[int] = []
    row_users: list[int] = []
    for h, notice in events:
        recipients = sorted(notice.recipients)
        row_events += [h.event.id] * len(recipients)
        row_users += recipients
    params = {
        "row_event": row_events,
        "row_user": row_users,
        "event_id": [h.event.id for h, _ in events],
        "event_type": [h.event.event_type for h, _ in events],
        "entity_type": [h.event.entity_type for h, _ in events],
        "entity_id": [h.event.entity_id for h, _ in events],
        "title": [notice.title for _, notice in events],
        "message": [notice.message for _, notice in events],
        "message_key": [notice.key for _, notice in events],
        "params": [json.dumps(notice.params) if notice.key else None for _, notice in events],
        "metadata": [json.dumps(notification_metadata(h.event)) for h, _ in events],
        "link": [notice.link for _, notice in events],
        "severity": [h.severity for h, _ in events],
        "category": [category_of(h.event.event_type) for h, _ in events],
        "now": now,
    }
    return list(execute_core(session, _INSERT_BY_EVENT, params).all())


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


def _handle_commit_publish(event_ids: list[int]) -> list[Handled]:
    """Handle the events in one transaction, commit it, publish their messages, mark them PROCESSED."""
    session = get_sessionmaker()()
    try:
        _bound_waits(session)
        claimed = _claim_first_handling(session, event_ids)
        events = list(session.scalars(_LOCK_EVENTS, {"ids": event_ids}))
        todo = [e for e in events if e.state != DeliveryState.PROCESSED]
        if not todo:
            return []
        if claimed is None:  # PostgreSQL: the rows are locked, processed_at is current
            first_time = {e.id: e.processed_at is None for e in todo}
        else:
            first_time = {e.id: e.id in claimed for e in todo}
        for event in todo:
            if first_time[event.id]:  # a replay never repeats side work
                run_side_work(session, event)
        contexts = Contexts.load(session, todo)
        handled = [Handled(e, build_notice(contexts, e), first_time[e.id]) for e in todo]
        assign_severities(session, handled, contexts)  # issue 23; a critical mail is never held (issue 25)
        # Mail is decided on every recipient, before in-app muting: muting a
        # type in the app does not stop its mail (CONTRACT section 4).
        mails = mail_entries(handled)
        keep_in_app_recipients(session, handled)  # inbox (issue 12)
        new_rows = insert_notifications(session, handled)
        record_mails_batch(session, mails)  # e-mail (issue 13): sent after commit
        record_changes(session, new_rows_changes(new_rows))
        attach_rows(session, handled, new_rows)
        now = record_handling(session, todo)
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


def publish_messages(emits: list[Emit | FanOut], events: int) -> bool:
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


def publish_states(emits: list[Emit | FanOut], events: int) -> None:
    """event_state PROCESSED goes out once the events are (the admins' log may refetch on it)."""
    try:
        publish([e for e in emits if e.event == "event_state"])
    except Exception:
        log.warning("event_state of %d event(s) not published", events, exc_info=True)


def mail_entries(handled: list[Handled]) -> list[MailEntry]:
    """The mails of the batch's first-time events (a replay or redelivery never mails twice)."""
    return [
        MailEntry(
            h.event,
            h.notice.title,
            h.notice.message,
            h.notice.link,
            frozenset(h.notice.recipients),
            h.notice.key,
            h.notice.params,
            h.severity,
        )
        for h in handled
        if h.notice is not None and h.first_time
    ]


def record_handling(session: Session, events: list[EventLog]) -> datetime:
    """In the database: processed_at, no error, the state still open (one UPDATE for the batch).

    In memory only: the objects say PROCESSED already, for the `event_state`
    message, which goes out after mark_published has made it true.
    """
    now = utcnow()
    execute_core(session, _RECORD_HANDLING, {"ids": [e.id for e in events], "now": now})
    for event in events:
        set_committed_value(event, "state", DeliveryState.PROCESSED)
        set_committed_value(event, "processed_at", now)
        set_committed_value(event, "error", None)
    return now


def _claim_first_handling(session: Session, event_ids: list[int]) -> set[int] | None:
    """SQLite (standalone): which events this transaction handles for the first time, or None
    on PostgreSQL (FOR UPDATE locks the rows there).

    SQLite has no row locks, and its SELECTs run outside any transaction: two pool
    processes given one event (a relay's sweep, a split batch) would both read
    processed_at IS NULL and both run the side work. So the transaction's first
    statement is a compare-and-set, UPDATE ... SET processed_at WHERE processed_at
    IS NULL: it takes SQLite's one write lock, so everything after it reads what
    the other process committed, and only the transaction whose UPDATE changed the
    row does the event's side work and mails (a rollback gives the claim back).
    """
    if session.get_bind().dialect.name != "sqlite":
        return None
    rows = execute_core(session, _CLAIM_FIRST_HANDLING, {"ids": event_ids, "now": utcnow()}).all()
    return {int(r.id) for r in rows}


def _bound_waits(session: Session) -> None:
    """lock_timeout and statement_timeout for this transaction, below the soft time limit, and a
    check for a dead client (PostgreSQL)."""
    if session.get_bind().dialect.name != "postgresql":
        return
    ms = str(max(1, int(get_settings().task_soft_time_limit_seconds * 250)))
    session.execute(_SET_WAITS, {"ms": ms})


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
_OPEN_STATES = (DeliveryState.PENDING, DeliveryState.QUEUED)
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
    _NOTIFICATIONS.c.archived,
    _NOTIFICATIONS.c.created_at,
    _NOTIFICATIONS.c.category,
    _NOTIFICATIONS.c.severity,
    _NOTIFICATIONS.c.message_key,
    _NOTIFICATIONS.c.params.label("message_params"),
    _NOTIFICATIONS.c.seen,
    _NOTIFICATIONS.c.snoozed_until,
    _NOTIFICATIONS.c.resurfaced_at,
    _NOTIFICATIONS.c.position,
    _NOTIFICATIONS.c.entity_type,
    _NOTIFICATIONS.c.entity_id,
)
# insert_notifications on PostgreSQL (_insert_notifications_by_event): the same
# rows and the same ON CONFLICT as the generic INSERT, the same columns returned.
_INSERT_BY_EVENT = text(
    """
    INSERT INTO notifications (user_id, event_id, event_type, entity_type, entity_id, title, message,
        message_key, params, metadata, link, is_read, created_at, severity, category)
    SELECT r.user_id, e.event_id, e.event_type, e.entity_type, e.entity_id, e.title, e.message,
        e.message_key, e.params, e.metadata, e.link, false, :now, e.severity, e.category
    FROM unnest(CAST(:row_event AS integer[]), CAST(:row_user AS integer[]))
        WITH ORDINALITY AS r(event_id, user_id, n)
    JOIN unnest(
        CAST(:event_id AS integer[]), CAST(:event_type AS text[]), CAST(:entity_type AS text[]),
        CAST(:entity_id AS integer[]), CAST(:title AS text[]), CAST(:message AS text[]),
        CAST(:message_key AS text[]), CAST(:params AS jsonb[]), CAST(:metadata AS jsonb[]),
        CAST(:link AS text[]), CAST(:severity AS text[]), CAST(:category AS text[])
    ) AS e(event_id, event_type, entity_type, entity_id, title, message, message_key, params,
        metadata, link, severity, category) ON e.event_id = r.event_id
    ORDER BY r.n
    ON CONFLICT (event_id, user_id) DO NOTHING
    RETURNING """
    + ", ".join(f"{c.element.name} AS {c.name}" if hasattr(c, "element") else c.name for c in _ROW_COLUMNS)
).columns(*[column(c.name, c.type) for c in _ROW_COLUMNS])
_ROWS_OF_EVENTS = select(*_ROW_COLUMNS).where(_NOTIFICATIONS.c.event_id.in_(_EVENT_IDS))
_SET_WAITS = select(
    func.set_config("lock_timeout", bindparam("ms"), True),
    func.set_config("statement_timeout", bindparam("ms"), True),
    # A worker killed while its backend waits on a lock leaves that backend
    # holding the batch's event locks until its wait ends; checking the client
    # every second (PostgreSQL 14+) releases them, so the redelivery is not held.
    func.set_config("client_connection_check_interval", "1s", True),
)
_RECORD_HANDLING = (
    update(EventLog)
    .where(EventLog.id.in_(_EVENT_IDS))
    .values(processed_at=bindparam("now"), error=None)
    .execution_options(synchronize_session=False)
)
_CLAIM_FIRST_HANDLING = (
    update(EventLog)
    .where(EventLog.id.in_(_EVENT_IDS), EventLog.processed_at.is_(None), EventLog.state.in_(_OPEN_STATES))
    .values(processed_at=bindparam("now"))
    .returning(EventLog.id)
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


def socket_messages(session: Session, handled: list[Handled], contexts: Contexts) -> list[Emit | FanOut]:
    """Built after the commit: the counts are read with their versions, never before."""
    emits: list[Emit | FanOut] = []
    users = {row.user_id for h in handled for row in h.rows}
    states = unread_states(session, users)
    reader_of = readers(session, users)  # issue 22: each recipient's locale and zone, one query
    rows = [row for h in handled for row in h.rows]
    acts = actions.actions_for_rows(session, rows)  # issue 23: a fixed number of queries per batch
    for h in handled:
        emits += notification_messages(h.rows, reader_of, acts)
    emits.append(
        FanOut("unread_count", {}, {"": {}}, [(user_room(uid), "", s.payload()) for uid, s in states.items()])
    )
    emits += action_updates(session, handled, {r.id for r in rows})
    for h in handled:
        emits += event_messages(h, contexts)
    return with_role_rooms(session, emits, users)


def with_role_rooms(session: Session, emits: list[Emit | FanOut], users: set[int]) -> list[Emit | FanOut]:
    """Fan-outs told their recipients' role rooms (one query, only for a batch with enough
    recipients), so that one role's many recipients travel as one bulk message (issue 26)."""
    if len(users) < BULK_MIN_RECIPIENTS:
        return emits
    query = select(User.id, User.role).where(User.id.in_(sorted(users)))
    role_rooms = {user_room(uid): role_room(str(role)) for uid, role in session.execute(query)}
    return [replace(e, role_rooms=role_rooms) if isinstance(e, FanOut) else e for e in emits]


def action_updates(session: Session, handled: list[Handled], new_rows: set[int]) -> list[Emit]:
    """issue 23: an order or a stock row moved, so every holder of an actionable notification about
    it hears the new action states (`notification_updated {id, actions}`), whoever moved it.

    An order event also refreshes the stock rows of the order's supplier (a confirmation
    takes units, a cancellation gives them back). Action states change no count, so no
    `unread_count` follows.
    """
    entities = {(h.event.entity_type, h.event.entity_id) for h in handled if h.event.entity_type in _MOVABLE}
    orders = [entity_id for kind, entity_id in entities if kind == "order"]
    entities.update(actions.stock_entities_of_orders(session, orders))
    return actions.holder_updates(session, entities, skip=new_rows)


_MOVABLE = ("order", "inventory")


def assign_severities(session: Session, handled: list[Handled], contexts: Contexts) -> None:
    """Each event's severity from its business impact (common/services/severity.py): one query for
    the 30-day consumption of the batch's stock rows, the rest from the loaded contexts."""
    stock = {
        h.event.id: contexts.stock[h.event.entity_id]
        for h in handled
        if h.event.event_type == EventType.LOW_STOCK_ALERT and h.event.entity_id in contexts.stock
    }
    consumed = consumption_by_row(session, [(c.item.supplier_id, c.item.part_id) for c in stock.values()])
    for h in handled:
        event, meta = h.event, h.event.event_metadata
        facts = None
        if event.id in stock:
            item = stock[event.id].item
            quantity = meta.get("quantity")
            facts = StockFacts(
                quantity if isinstance(quantity, int) else item.quantity,
                item.low_stock_threshold,
                item.lead_time_days,
                consumed.get((item.supplier_id, item.part_id), 0),
            )
        ctx = contexts.orders.get(event.entity_id) if event.entity_type == "order" else None
        h.severity = impact_severity(
            event.event_type,
            stock=facts,
            eta=_as_time(meta.get("eta")),
            needed_by=ctx.order.needed_by if ctx else None,
        )


def _as_time(value: Any) -> datetime | None:
    """An ISO time of the metadata, made aware (UTC); None when absent or not a time."""
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


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
            viewers = contexts.directory.order_viewers(order)
            released = metadata.get("released_supplier_id")  # a decline: the old viewers hear it too
            if isinstance(released, int):
                viewers |= contexts.directory.supplier_users(released)
            rooms = [user_room(uid) for uid in sorted(viewers)]
            emits.append(
                Emit(
                    "order_status",
                    {"order_id": order.id, "status": status, "timestamp": timestamp},
                    [*rooms, role_room("admin")],
                )
            )
    return emits


class Verdict(enum.Enum):
    FAIL = "fail"  # deterministic: the same input fails the same way; FAILED at once
    TIMEOUT = "timeout"  # the handler waited past its bound; FAILED at once, "timeout: ..."
    RETRY = "retry"  # the database or Redis blinked: another delivery, within EVENT_MAX_ATTEMPTS


# Deterministic errors (CONTRACT section 8): pydantic's ValidationError is a ValueError;
# KeyError and IndexError are LookupErrors, OverflowError an ArithmeticError.
DETERMINISTIC = (ValueError, TypeError, LookupError, ArithmeticError, AttributeError)
# PostgreSQL's codes for "gave up waiting": query_canceled (statement_timeout), lock_not_available.
TIMEOUT_CODES = {"57014", "55P03"}


def classify(exc: BaseException) -> Verdict:
    if isinstance(exc, SoftTimeLimitExceeded):
        return Verdict.TIMEOUT
    if isinstance(exc, DBAPIError):
        if getattr(exc.orig, "pgcode", None) in TIMEOUT_CODES:
            return Verdict.TIMEOUT
        if exc.connection_invalidated or isinstance(exc, OperationalError | InterfaceError):
            return Verdict.RETRY  # connection-level (or deadlock / serialization): worth another try
        if isinstance(exc, IntegrityError | DataError | ProgrammingError):
            return Verdict.FAIL
        return Verdict.FAIL
    if isinstance(exc, redis.exceptions.ConnectionError | redis.exceptions.TimeoutError | OSError):
        return Verdict.RETRY
    if isinstance(exc, DETERMINISTIC):
        return Verdict.FAIL
    return Verdict.RETRY  # unknown: retried, and bounded by EVENT_MAX_ATTEMPTS


@dataclass
class Outcome:
    """What one delivery of a task did: summaries of the events handled, the ids to retry
    (connection-level errors), and the ids to hand over again as tasks of their own."""

    summaries: list[dict[str, Any]] = field(default_factory=list)
    retry: list[int] = field(default_factory=list)
    split: list[int] = field(default_factory=list)


def handle_events(event_ids: list[int]) -> Outcome:
    """One delivery of a task: counted first, then the batch, or each event alone."""
    outcome = Outcome()
    ids = sorted(set(event_ids))
    try:
        deliveries = begin_delivery(ids)
    except Exception as exc:  # nothing was counted: the whole delivery is tried again later
        log.warning("could not count a delivery of %d event(s): %s", len(ids), exc)
        outcome.retry = ids
        return outcome
    max_attempts = get_settings().event_max_attempts
    lost = [i for i in ids if deliveries.get(i, 0) > max_attempts]
    for event_id in lost:
        fail_event(
            event_id,
            f"worker lost: {max_attempts} deliveries of this event ended without a result "
            "(its process was killed, or passed the hard time limit)",
        )
    live = [i for i in ids if i in deliveries and i not in lost]
    if len(live) > 1 and any(deliveries[i] > 1 for i in live):
        # Delivered again: an earlier delivery ended without a result (a killed
        # process?). Each event goes alone, so a killer event kills only itself.
        outcome.split = live
        return outcome
    if len(live) > 1:
        try:
            outcome.summaries = [h.summary() for h in _handle_commit_publish(live)]
            return outcome
        except SoftTimeLimitExceeded:
            log.warning("a batch of %d events passed the soft time limit; each goes alone", len(live))
            outcome.split = live
            return outcome
        except Exception:
            log.warning("a batch of %d events failed; handling them one by one", len(live), exc_info=True)
    for n, event_id in enumerate(live):
        try:
            outcome.summaries += [h.summary() for h in _handle_commit_publish([event_id])]
        except Exception as exc:  # SoftTimeLimitExceeded is an Exception too
            verdict = classify(exc)
            if verdict is Verdict.RETRY and deliveries[event_id] < max_attempts:
                record_error(event_id, exc)
                outcome.retry.append(event_id)
            elif verdict is Verdict.TIMEOUT:
                fail_event(event_id, f"timeout: {_describe(exc)}")
            else:
                fail_event(event_id, _describe(exc))
            if isinstance(exc, SoftTimeLimitExceeded):
                outcome.split += live[n + 1 :]  # the task's time is spent: the rest go as tasks
                break
    return outcome


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}".strip()[:4000]


def begin_delivery(event_ids: list[int]) -> dict[int, int]:
    """Count this delivery of each open event, committed before any handler runs; returns
    {id: deliveries so far} of the events still to handle (PROCESSED and FAILED ones are left)."""
    if not event_ids:
        return {}
    with get_sessionmaker()() as session:
        _bound_waits(session)  # a row held by a stuck transaction must not hang the delivery in libpq
        rows = execute_core(session, _BEGIN_DELIVERY, {"ids": event_ids}).all()
        session.commit()
    return {int(r.id): int(r.attempts) for r in rows}


def record_error(event_id: int, exc: BaseException) -> None:
    """A failed attempt that will be retried keeps its error; the event stays open."""
    with contextlib.suppress(Exception), get_sessionmaker()() as session:
        session.execute(
            update(EventLog)
            .where(EventLog.id == event_id, EventLog.state.in_(_OPEN))
            .values(error=_describe(exc))
        )
        session.commit()


def fail_event(event_id: int, error: str) -> None:
    """This event, and only it, is FAILED with its own error."""
    emits: list[Emit] = []
    with get_sessionmaker()() as session:
        event = session.scalar(
            select(EventLog).where(EventLog.id == event_id, EventLog.state.in_(_OPEN)).with_for_update()
        )
        if event is None:
            return
        event.state = DeliveryState.FAILED
        event.error = error[:4000]
        session.commit()
        log.warning("event %d FAILED: %s", event_id, error[:200])
        emits = [Emit("event_state", event_state_payload(event), role_room("admin"))]
    with contextlib.suppress(Exception):
        publish(emits)


_OPEN = (DeliveryState.PENDING, DeliveryState.QUEUED)
_BEGIN_DELIVERY = (
    update(EventLog)
    .where(EventLog.id.in_(_EVENT_IDS), EventLog.state.in_(_OPEN))
    .values(attempts=EventLog.attempts + 1)
    .returning(EventLog.id, EventLog.attempts)
    .execution_options(synchronize_session=False)
)
