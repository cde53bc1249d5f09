"""Housekeeping Celery beat drives: the unread counts' compaction, retention, snooze resurfacing."""

import logging
from typing import Any

from common import clock
from common.config import get_settings
from common.db import get_sessionmaker, session_scope
from common.events.broker import app
from common.events.publisher import Emit, publish, user_room
from common.i18n.rows import payload_for
from common.i18n.zones import ENGLISH_UTC, readers
from common.services.inbox import resurface_due
from common.services.retention import Purged, purge_batch
from common.services.unread import compact, unread_states

log = logging.getLogger(__name__)

COMPACT_TASK = "compact_unread_counts"
# Rows folded per transaction: short transactions, and a backlog shrinks within a few runs.
COMPACT_BATCH = 5000
# At most this many transactions per run, so one run never holds the lane for long.
COMPACT_ROUNDS = 20


@app.task(name=COMPACT_TASK, ignore_result=True)
def compact_unread_counts() -> int:
    folded = 0
    for _ in range(COMPACT_ROUNDS):
        with session_scope() as session:
            done = compact(session, COMPACT_BATCH)
        folded += done
        if done < COMPACT_BATCH:
            break
    return folded


RETENTION_TASK = "purge_expired_records"
# Batches per run, so one run is bounded; a backlog shrinks over a few runs.
RETENTION_ROUNDS = 20


@app.task(name=RETENTION_TASK, ignore_result=True)
def purge_expired_records() -> int:
    settings = get_settings()
    total = Purged()
    for _ in range(RETENTION_ROUNDS):
        with session_scope() as session:
            purged = purge_batch(
                session, now=clock.now(), days=settings.retention_days, batch=settings.retention_batch
            )
        total.events += purged.events
        total.notifications += purged.notifications
        total.mails += purged.mails
        if purged.events < settings.retention_batch:
            break
    if total:
        log.info(
            "retention: purged %d events, %d read or archived notifications, %d mails older than %d days",
            total.events, total.notifications, total.mails, settings.retention_days,
        )
    return total.events


RESURFACE_TASK = "resurface_snoozed"
# Rows resurfaced per transaction, and transactions per run (beat runs it every second).
RESURFACE_BATCH = 500
RESURFACE_ROUNDS = 10


@app.task(name=RESURFACE_TASK, ignore_result=True)
def resurface_snoozed() -> int:
    """Snoozes whose time came are unread again at the top, pushed with the count (issue 24).

    Rows are claimed from the database by index, never held as countdown tasks:
    a crash before the commit leaves them snoozed for the next run; after it,
    the gateways' catch-up or the next page load shows them.
    """
    done = 0
    for _ in range(RESURFACE_ROUNDS):
        with session_scope() as session:
            rows = resurface_due(session, RESURFACE_BATCH)
        if rows:
            _publish_resurfaced(rows)
        done += len(rows)
        if len(rows) < RESURFACE_BATCH:
            break
    return done


def _publish_resurfaced(rows: list[Any]) -> None:
    with get_sessionmaker()() as session:  # read after the commit: the versioned count
        states = unread_states(session, {r.user_id for r in rows})
        reader_of = readers(session, {r.user_id for r in rows})  # issue 22: in each reader's language
    emits = [
        Emit("notification", payload_for(r, reader_of.get(r.user_id, ENGLISH_UTC)), user_room(r.user_id))
        for r in rows
    ]
    emits += [Emit("unread_count", s.payload(), user_room(uid)) for uid, s in sorted(states.items())]
    try:
        publish(emits)
    except Exception:  # the rows are committed: a page load or the catch-up shows them
        log.warning("resurfaced %d notification(s) but could not push them", len(rows), exc_info=True)
