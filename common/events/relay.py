"""The outbox relay: hands event rows to the broker, off the request path.

One daemon thread per process; every process that runs one (each gateway and
each worker host) starts it at process start. emit_event wakes it after a
commit; it also wakes on its own every RELAY_INTERVAL_SECONDS to send what an
earlier attempt could not (the broker was down) and to sweep for redelivery.

Batching: one pass claims up to RELAY_BATCH rows and sends ONE task per event type
carrying all their ids (a task per event type, so Flower still shows each).
Under light load a batch is one event, so latency does not suffer; under load
the worker handles many events in one transaction.

Redelivery: QUEUED means "the broker took it", not "handled". An event still
QUEUED at its redeliver_at (the broker lost it: Redis restarted without
persistence) is handed over again, the wait doubling per send (capped at
EVENT_REDELIVER_MAX_SECONDS) so a healthy backlog is not flooded with copies.
The sweep runs on its own clock, once per RELAY_INTERVAL_SECONDS, whatever the
backlog of PENDING rows.

Known types only: a relay claims the event types its release knows. A row of a
type a newer release added (another module's emit_event during a rolling
upgrade) is never claimed: it waits, counted as `unroutable_pending` in
/api/health and /metrics, for a relay that knows it. It never blocks a pass.

Bookkeeping: what the broker took is QUEUED even when a later send of the same
pass fails (those stay PENDING for the next pass); a first send (sends = 0: a
new event, or one replayed) starts the event's delivery count again. The handler is idempotent (an event is
handled once; rows are unique per event and user), so a second copy is harmless.

Rows are claimed with FOR UPDATE SKIP LOCKED, so on PostgreSQL two relays never
send the same row at once. SQLite (standalone) has no row locks and a relay in
every process (the gateway, the worker, each pool process): there a row is
claimed by compare-and-set on `sends` (UPDATE ... WHERE id = ? AND sends = ?,
its row count checked) that marks it QUEUED and commits before the send, so
only the relay whose UPDATE changed the row sends it; a row the send did not
get out is set back (again only while its `sends` is the claim's own).
"""

import logging
import os
import threading
import time
from collections import defaultdict
from datetime import timedelta

from sqlalchemy import Connection, bindparam, case, select, update

from common.config import get_settings
from common.db import get_engine
from common.events.types import KNOWN_TYPES, spec_for
from common.models import DeliveryState, EventLog, utcnow

log = logging.getLogger(__name__)
OPEN_STATES = (DeliveryState.PENDING, DeliveryState.QUEUED)
# KNOWN_TYPES: the event types this release can route; rows of any other type are left alone.
# A task carries at most this many ids: a large burst is spread over the pool
# instead of one process holding one long transaction.
TASK_IDS = 100
# A pass that found events less than this long ago means a stream is arriving.
BUSY_WINDOW = 0.05

_wakeup = threading.Event()
_start_lock = threading.Lock()
_thread: threading.Thread | None = None
_pid: int | None = None


def wake() -> None:
    if not get_settings().event_relay:
        return
    _ensure_started()
    _wakeup.set()


def _running_here() -> bool:
    # A forked child (a Celery pool process) inherits the variables, not the thread.
    return _thread is not None and _thread.is_alive() and _pid == os.getpid()


def _ensure_started() -> None:
    global _thread, _pid
    if _running_here():
        return
    with _start_lock:
        if _running_here():
            return
        _pid = os.getpid()
        _thread = threading.Thread(target=_run, name="event-relay", daemon=True)
        _thread.start()


def start() -> None:
    """Start the relay at process start so leftovers and lost events go out."""
    wake()


def _run() -> None:
    settings = get_settings()
    last_busy = 0.0
    last_sweep = 0.0
    while True:
        woken = _wakeup.wait(timeout=settings.relay_interval_seconds)
        if woken and time.monotonic() - last_busy < BUSY_WINDOW:
            # Under load, linger a moment so one pass carries several events:
            # one task and one transaction for many. Alone, an event goes at once.
            time.sleep(settings.relay_linger_seconds)
        _wakeup.clear()
        # A wake-up after a commit looks for new rows only; the redelivery sweep
        # (a second query) runs once per interval, not once per pass.
        sweep = time.monotonic() - last_sweep >= settings.relay_interval_seconds
        try:
            claimed = send_due_events(sweep=sweep)
            while claimed >= settings.relay_batch:
                claimed = send_due_events(sweep=False)  # the sweep ran in the first pass
            if sweep:
                last_sweep = time.monotonic()
            if claimed:
                last_busy = time.monotonic()
        except Exception as exc:  # broker or database down: keep the rows, try again later
            log.warning("event relay could not send events: %s", exc)


def redeliver_delay(sends: int) -> timedelta:
    """How long a QUEUED event waits after its n-th send before it is handed over again."""
    settings = get_settings()
    doubled = settings.event_redeliver_seconds * 2 ** min(max(0, sends - 1), 32)
    return timedelta(seconds=min(doubled, settings.event_redeliver_max_seconds))


def _claim(connection: Connection, sweep: bool) -> list[tuple[int, str, int]]:
    """PENDING rows (oldest first) and, when sweeping, QUEUED rows due for redelivery.

    The sweep has a batch of its own: a backlog of PENDING rows never starves it.
    """
    batch = get_settings().relay_batch
    pending = connection.execute(_CLAIM_PENDING, {"limit": batch, "types": KNOWN_TYPES}).all()
    rows = [tuple(r) for r in pending]
    if sweep:
        due = connection.execute(_CLAIM_DUE, {"now": utcnow(), "limit": batch, "types": KNOWN_TYPES}).all()
        if due:
            log.warning("redelivering %d event(s) the broker took but nobody handled", len(due))
        rows += [tuple(r) for r in due]
    return rows  # type: ignore[return-value]


# Built once, not per pass: building a statement cost more CPU than running it.
_COLUMNS = (EventLog.id, EventLog.event_type, EventLog.sends)
_CLAIM_PENDING = (
    select(*_COLUMNS)
    .where(
        EventLog.state == DeliveryState.PENDING, EventLog.event_type.in_(bindparam("types", expanding=True))
    )
    .order_by(EventLog.id)
    .limit(bindparam("limit"))
    .with_for_update(skip_locked=True)
)
_CLAIM_DUE = (
    select(*_COLUMNS)
    .where(
        EventLog.state == DeliveryState.QUEUED,
        EventLog.redeliver_at <= bindparam("now"),
        EventLog.event_type.in_(bindparam("types", expanding=True)),
    )
    .order_by(EventLog.redeliver_at)
    .limit(bindparam("limit"))
    .with_for_update(skip_locked=True)
)
_MARK_QUEUED = (
    update(EventLog)
    .where(EventLog.id.in_(bindparam("ids", expanding=True)), EventLog.state.in_(OPEN_STATES))
    .values(
        state=DeliveryState.QUEUED,
        queued_at=bindparam("now"),
        sends=bindparam("sends"),
        redeliver_at=bindparam("redeliver_at"),
        # A first send (a new event, or one replayed) starts the delivery count again.
        attempts=case((EventLog.sends == 0, 0), else_=EventLog.attempts),
    )
)


def _send(rows: list[tuple[int, str, int]], sent: list[tuple[int, int]]) -> None:
    """One task per event type (and per TASK_IDS ids); appends (id, sends) of what the broker took.

    `sent` is the caller's list, so what went out before a failing send is
    still known (and marked QUEUED) when a later send raises.
    """
    from common.events.broker import app

    by_type: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for event_id, event_type, sends in rows:
        by_type[event_type].append((event_id, sends))
    with app.producer_or_acquire() as producer:
        for event_type, entries in by_type.items():
            queue = spec_for(event_type).queue.value
            for start in range(0, len(entries), TASK_IDS):
                chunk = entries[start : start + TASK_IDS]
                app.send_task(
                    event_type, args=[[i for i, _ in chunk]], queue=queue, retry=False, producer=producer
                )
                sent += chunk


def send_due_events(sweep: bool = True) -> int:
    """One pass: claim PENDING rows (and, when sweeping, QUEUED rows due again), send them,
    mark what the broker took QUEUED; returns how many rows were claimed.

    Core statements on a connection: the relay needs no ORM objects, and the
    ORM's bookkeeping around each statement cost more CPU than the statement.
    """
    with get_engine().connect() as connection:
        if connection.dialect.name == "sqlite":
            return _send_claimed_by_cas(connection, sweep)
        rows = _claim(connection, sweep)
        sent: list[tuple[int, int]] = []
        try:
            if rows:
                _send(rows, sent)
        finally:
            _mark_queued(connection, sent)  # what the broker took is QUEUED even when a later send failed
            connection.commit()
        return len(rows)


def _mark_queued(connection: Connection, sent: list[tuple[int, int]]) -> None:
    now = utcnow()
    by_sends: dict[int, list[int]] = defaultdict(list)
    for event_id, sends in sent:
        by_sends[sends].append(event_id)
    for sends, ids in by_sends.items():
        redeliver_at = now + redeliver_delay(sends + 1)
        connection.execute(
            _MARK_QUEUED, {"ids": ids, "now": now, "sends": sends + 1, "redeliver_at": redeliver_at}
        )


# SQLite (standalone): a claim is a compare-and-set on `sends`, committed before the send.
_CAS_CLAIM = (
    update(EventLog)
    .where(
        EventLog.id == bindparam("event_id"),
        EventLog.sends == bindparam("old_sends"),
        EventLog.state == bindparam("old_state"),
    )
    .values(
        state=DeliveryState.QUEUED,
        queued_at=bindparam("now"),
        sends=bindparam("new_sends"),
        redeliver_at=bindparam("redeliver_at"),
        attempts=case((EventLog.sends == 0, 0), else_=EventLog.attempts),
    )
)
_CAS_RELEASE = (
    update(EventLog)
    .where(
        EventLog.id == bindparam("event_id"),
        EventLog.sends == bindparam("new_sends"),
        EventLog.state == DeliveryState.QUEUED,
    )
    .values(state=bindparam("old_state"), sends=bindparam("old_sends"), redeliver_at=bindparam("due_at"))
)


def _candidates(connection: Connection, sweep: bool) -> list[tuple[int, str, int, DeliveryState]]:
    """What _claim would lock, read without locks: (id, type, sends, state)."""
    batch = get_settings().relay_batch
    rows = [
        (*r, DeliveryState.PENDING)
        for r in connection.execute(_CLAIM_PENDING, {"limit": batch, "types": KNOWN_TYPES})
    ]
    if sweep:
        due = connection.execute(_CLAIM_DUE, {"now": utcnow(), "limit": batch, "types": KNOWN_TYPES}).all()
        rows += [(*r, DeliveryState.QUEUED) for r in due]
    connection.commit()
    return rows  # type: ignore[return-value]


def _send_claimed_by_cas(connection: Connection, sweep: bool) -> int:
    """One pass on SQLite: claim each row by compare-and-set on `sends`, commit, send, set back what
    the broker did not take. Returns how many rows were candidates (a full batch means: look again)."""
    candidates = _candidates(connection, sweep)
    now = utcnow()
    won: list[tuple[int, str, int, DeliveryState]] = []
    for event_id, event_type, sends, state in candidates:
        claimed = connection.execute(
            _CAS_CLAIM,
            {
                "event_id": event_id,
                "old_sends": sends,
                "old_state": state,
                "new_sends": sends + 1,
                "now": now,
                "redeliver_at": now + redeliver_delay(sends + 1),
            },
        )
        if claimed.rowcount == 1:  # 0: another relay claimed (or a worker finished) it first
            won.append((event_id, event_type, sends, state))
    connection.commit()
    if len(won) < len(candidates):
        log.debug("%d event(s) claimed by another relay first", len(candidates) - len(won))
    sent: list[tuple[int, int]] = []
    try:
        if won:
            _send([(i, t, s) for i, t, s, _ in won], sent)
    finally:
        taken = {i for i, _ in sent}
        for event_id, _, sends, state in won:
            if event_id not in taken:  # due again at once, as it was before the claim
                connection.execute(
                    _CAS_RELEASE,
                    {
                        "event_id": event_id,
                        "new_sends": sends + 1,
                        "old_sends": sends,
                        "old_state": state,
                        "due_at": now if state == DeliveryState.QUEUED else None,
                    },
                )
        connection.commit()
    return len(candidates)
