"""The outbox relay: hands PENDING event rows to the broker, off the request path.

One daemon thread per process. emit_event wakes it after a commit; it also
wakes on its own every few seconds to pick up what an earlier attempt could
not send (the broker was down) or what another process left behind.
Rows are claimed with FOR UPDATE SKIP LOCKED, so several gateways and
workers never send the same event twice.
"""

import logging
import os
import threading

from sqlalchemy import select, update

from common.config import get_settings
from common.db import get_sessionmaker
from common.events.types import spec_for
from common.models import DeliveryState, EventLog, utcnow

log = logging.getLogger(__name__)
BATCH = 200

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
    """Start the relay at process start so leftovers from a broker outage go out."""
    wake()


def _run() -> None:
    interval = get_settings().relay_interval_seconds
    while True:
        _wakeup.wait(timeout=interval)
        _wakeup.clear()
        try:
            while relay_pending() == BATCH:
                pass
        except Exception as exc:  # broker or database down: keep the rows, try again later
            log.warning("event relay could not send pending events: %s", exc)


def relay_pending() -> int:
    """Send up to BATCH pending events; returns how many were sent."""
    from common.events.broker import app

    session = get_sessionmaker()()
    try:
        rows = session.execute(
            select(EventLog.id, EventLog.event_type)
            .where(EventLog.state == DeliveryState.PENDING)
            .order_by(EventLog.id)
            .limit(BATCH)
            .with_for_update(skip_locked=True)
        ).all()
        sent: list[int] = []
        try:
            for event_id, event_type in rows:
                app.send_task(
                    event_type,
                    args=[event_id],
                    queue=spec_for(event_type).queue.value,
                    retry=False,
                )
                sent.append(event_id)
        finally:
            if sent:
                session.execute(
                    update(EventLog)
                    .where(EventLog.id.in_(sent), EventLog.state == DeliveryState.PENDING)
                    .values(state=DeliveryState.QUEUED, queued_at=utcnow())
                )
            session.commit()
        return len(sent)
    finally:
        session.close()
