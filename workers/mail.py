"""The `email` queue (sending mails) and the `periodic` one (the work Celery beat drives; issues 13, 19).

- send_mail(mail_ids): claims each mail (PENDING -> SENDING with a lease),
  sends it, marks it SENT; a refusal puts it back to PENDING with a backoff and
  schedules the retry. In-app delivery never waits on any of this.
- sweep_mail: hands over again the mails a lost task left behind.
- send_low_stock_digests: writes the digests whose period has ended.
- release_held_mail: sends the mails held outside their users' e-mail windows once they open.
- escalate_orders: raises ORDER_ESCALATED for late orders, once per order and reason.
- purge_idempotency_keys: deletes Idempotency-Key records past their 24 h window.
"""

import logging
from typing import Any

from celeryconfig import MAX_COUNTDOWN_SECONDS
from common.config import get_settings
from common.db import get_sessionmaker, session_scope
from common.events.broker import app
from common.mailer import Mailer, TlsRequired
from common.services import escalation, idempotency, mail

log = logging.getLogger(__name__)
CHUNK = 50


@app.task(name=mail.SEND_TASK, ignore_result=True)
def send_mail(mail_ids: list[int]) -> dict[str, Any]:
    sent: list[int] = []
    refused: list[int] = []
    session = get_sessionmaker()()
    try:
        with Mailer() as mailer:
            for mail_id in mail_ids:
                row = mail.claim(session, int(mail_id))
                if row is None:
                    continue  # sent already, taken by another worker, or waiting for its retry time
                try:
                    where = mailer.send(row)
                except TlsRequired as exc:  # a deployment error, not an outage: no retry
                    mail.mark_refused(session, row.id, get_settings().mail_max_attempts, str(exc))
                    refused.append(row.id)
                    log.error(
                        "mail %s to %s FAILED: %s (credentials set, no TLS offered)",
                        row.id,
                        row.to_address,
                        exc,
                    )
                    continue
                except Exception as exc:  # refused, unreachable, timed out: retry later
                    error = f"{type(exc).__name__}: {exc}"
                    delay = mail.mark_refused(session, row.id, row.attempts, error)
                    refused.append(row.id)
                    if delay is None:
                        log.error("mail %s to %s failed for good: %s", row.id, row.to_address, error)
                    else:
                        log.warning(
                            "mail %s to %s refused (%s); retry in %.0f s",
                            *(row.id, row.to_address, error, delay),
                        )
                        if delay <= MAX_COUNTDOWN_SECONDS:
                            mail.enqueue_send([row.id], countdown=delay)
                        # else the row's next_attempt_at holds the wait and the sweep hands it over:
                        # a longer countdown would outlive the visibility timeout (copies multiply)
                    continue
                mail.mark_sent(session, row.id)
                sent.append(row.id)
                log.info("mail %s %s sent to %s via %s", row.id, row.message_id, row.to_address, where)
    finally:
        session.close()
    return {"sent": sent, "refused": refused}


@app.task(name="sweep_mail", ignore_result=True)
def sweep_mail() -> int:
    with session_scope() as session:
        ids = mail.sweep(session)
    for start in range(0, len(ids), CHUNK):
        mail.enqueue_send(ids[start : start + CHUNK])
    if ids:
        log.info("mail sweep handed over %d mails again", len(ids))
    return len(ids)


@app.task(name="send_low_stock_digests", ignore_result=True)
def send_low_stock_digests() -> int:
    with session_scope() as session:  # the new digests are enqueued after the commit
        created = mail.write_due_digests(session)
    return len(created)


@app.task(name="release_held_mail", ignore_result=True)
def release_held_mail() -> int:
    """Quiet hours (issue 25): the held mails whose window opened go (several of a user as one)."""
    with session_scope() as session:  # the released mails are enqueued after the commit
        released = mail.release_due(session)
    return len(released)


@app.task(name="escalate_orders", ignore_result=True)
def escalate_orders() -> int:
    with session_scope() as session:  # the relay hands the events over after the commit
        events = escalation.escalate_due_orders(session)
    if events:
        log.info("escalated: events %s", events)
    return len(events)


@app.task(name="purge_idempotency_keys", ignore_result=True)
def purge_idempotency_keys() -> int:
    """Housekeeping: an expired key is reused anyway; this keeps the table from growing."""
    with session_scope() as session:
        purged = idempotency.purge_expired(session)
    if purged:
        log.info("purged %d idempotency keys past their 24 h window", purged)
    return purged
