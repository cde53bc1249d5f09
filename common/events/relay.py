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
persistence) is handed over again, the wait doubling per send so a healthy
backlog is not flooded with copies. The handler is idempotent (an event is
handled once; rows are unique per event and user), so a second copy is harmless.

Rows are claimed with FOR UPDATE SKIP LOCKED, so on PostgreSQL two relays never
send the same row at once. SQLite ignores it: two relays there may send one row
twice, which is harmless for the same reason, and must stay so.
"""

import logging
import os
import threading
import time
from collections import defaultdict
from datetime import timedelta

from sqlalchemy import Connection, bindparam, select, update

from common.config import get_settings
from common.db import get_engine
from common.events.types import spec_for
from common.models import DeliveryState, EventLog, utcnow

log = logging.getLogger(__name__)
OPEN_STATES = (DeliveryState.PENDING, DeliveryState.QUEUED)
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
            claimed = relay_pending(sweep=sweep)
            while claimed == settings.relay_batch:
                claimed = relay_pending(sweep=sweep)
            if sweep:
                last_sweep = time.monotonic()
            if claimed:
                last_busy = time.monotonic()
        except Exception as exc:  # broker or database down: keep the rows, try again later
            log.warning("event relay could not send events: %s", exc)


def redeliver_delay(sends: int) -> timedelta:
    """How long a QUEUED event waits after its n-th send before it is handed over again."""
    base = get_settings().event_redeliver_seconds
    return timedelta(seconds=base * 2 ** max(0, sends - 1))


def _claim(connection: Connection, sweep: bool) -> list[tuple[int, str, int]]:
    """PENDING rows first (oldest first), then (when sweeping) QUEUED rows due for redelivery."""
    batch = get_settings().relay_batch
    pending = connection.execute(_CLAIM_PENDING, {"limit": batch}).all()
    rows = [tuple(r) for r in pending]
    if sweep and len(rows) < batch:
        due = connection.execute(_CLAIM_DUE, {"now": utcnow(), "limit": batch - len(rows)}).all()
        if due:
            log.warning("redelivering %d event(s) the broker took but nobody handled", len(due))
        rows += [tuple(r) for r in due]
    return rows  # type: ignore[return-value]


# Built once, not per pass: building a statement cost more CPU than running it.
_COLUMNS = (EventLog.id, EventLog.event_type, EventLog.sends)
_CLAIM_PENDING = (
    select(*_COLUMNS)
    .where(EventLog.state == DeliveryState.PENDING)
    .order_by(EventLog.id)
    .limit(bindparam("limit"))
    .with_for_update(skip_locked=True)
)
_CLAIM_DUE = (
    select(*_COLUMNS)
    .where(EventLog.state == DeliveryState.QUEUED, EventLog.redeliver_at <= bindparam("now"))
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
    )
)


def _send(rows: list[tuple[int, str, int]]) -> list[tuple[int, int]]:
    """One task per event type (and per TASK_IDS ids); returns (id, sends) of what the broker took."""
    from common.events.broker import app

    by_type: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for event_id, event_type, sends in rows:
        by_type[event_type].append((event_id, sends))
    sent: list[tuple[int, int]] = []
    with app.producer_or_acquire() as producer:
        for event_type, entries in by_type.items():
            queue = spec_for(event_type).queue.value
            for start in range(0, len(entries), TASK_IDS):
                chunk = entries[start : start + TASK_IDS]
                app.send_task(
                    event_type, args=[[i for i, _ in chunk]], queue=queue, retry=False, producer=producer
                )
                sent += chunk
    return sent


def relay_pending(sweep: bool = True) -> int:
    """Send one batch of due events; returns how many rows were claimed.

    Core statements on a connection: the relay needs no ORM objects, and the
    ORM's bookkeeping around each statement cost more CPU than the statement.
    """
    with get_engine().connect() as connection:
        rows = _claim(connection, sweep)
        sent: list[tuple[int, int]] = []
        try:
            if rows:
                sent = _send(rows)
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
