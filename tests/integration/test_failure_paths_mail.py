"""Mail failure paths (issue 19), against a real SMTP server: with credentials set, TLS or
nothing; and an SMTP outage longer than several retry periods (refusing, then hanging),
through which escalations are still raised on time and after which each mail goes once."""

import socket
import time
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session

from common.mailer import Mailer, TlsRequired, parse_smtp_url
from common.models import EventLog, MailOutbox, Notification, utcnow
from tests.conftest import TEST_DB_NAME
from tests.integration.stack import (
    PrivateRedis,
    Process,
    free_port,
    fresh_seeded_database,
    process_env,
    start_gateway,
    start_worker,
    wait_until,
)
from tests.integration.test_email import BUYER, MailStack, SmtpHandler, _celery, order_status, place


class Recorder:
    def __init__(self) -> None:
        self.logins: list[bytes] = []
        self.messages: list[bytes] = []

    def authenticate(self, server, session, envelope, mechanism, auth_data):  # type: ignore[no-untyped-def]
        self.logins.append(bytes(getattr(auth_data, "password", b"") or b""))
        return AuthResult(success=True)

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
        self.messages.append(envelope.content)
        return "250 OK"


def _mail() -> MailOutbox:
    return MailOutbox(
        id=1,
        to_address="buyer@demo.test",
        subject="Order Escalated",
        message_id="<t@partpulse>",
        body_text="text",
        body_html="<p>text</p>",
        created_at=utcnow(),
    )


def test_with_credentials_and_no_starttls_offered_nothing_crosses_in_clear_text() -> None:
    recorder = Recorder()
    port = free_port()
    # A server that offers AUTH without TLS (as one whose STARTTLS a man in the middle stripped).
    controller = Controller(
        recorder,
        hostname="127.0.0.1",
        port=port,
        authenticator=recorder.authenticate,
        auth_require_tls=False,
    )
    controller.start()
    try:
        mailer = Mailer()
        mailer.target = parse_smtp_url(f"smtp://user:s3cret@127.0.0.1:{port}")
        with pytest.raises(TlsRequired, match="tls required"), mailer:
            mailer.send(_mail())
        # Without credentials the same server takes the mail (plain SMTP is allowed then).
        plain = Mailer()
        plain.target = parse_smtp_url(f"smtp://127.0.0.1:{port}")
        with plain:
            plain.send(_mail())
    finally:
        controller.stop()
    assert recorder.logins == []  # no AUTH was ever sent
    assert len(recorder.messages) == 1  # only the mail without credentials


# ---------------------------------------------------------------- SMTP down (refusing, then hanging)

SMTP_DOWN_SECONDS = 16  # MAIL_RETRY_SECONDS 1: longer than several retry periods (1, 2, 4, 8 s)
UNCONFIRMED_SECONDS = 4


def test_smtp_down_escalations_still_on_time_and_each_mail_sent_once_after(tmp_path: Path) -> None:
    """Injected: no SMTP server (connections refused) for the first half of the outage,
    then a socket that takes connections and never answers (SMTP_TIMEOUT_SECONDS 2) for
    the second half; SMTP_DOWN_SECONDS in all, the periods shortened by settings
    (ESCALATE_UNCONFIRMED_SECONDS 4, ESCALATION_CHECK_SECONDS 1, MAIL_RETRY_SECONDS 1).
    Observed: while SMTP is down, the matched order's ORDER_ESCALATED is raised on
    time (the `periodic` queue is not behind the `email` lane) and notified in-app;
    once a real server listens, every mail row ends SENT and each Message-ID reaches
    its recipient exactly once."""
    database_url = fresh_seeded_database("mailfp")
    smtp_port = free_port()
    redis = PrivateRedis()
    redis.start()
    env = process_env(
        DATABASE_URL=database_url,
        REDIS_URL=redis.url(),
        SOCKETIO_CHANNEL=f"partpulse-{TEST_DB_NAME}-mailfp",
        VAR_DIR=str(tmp_path),
        SMTP_URL=f"smtp://127.0.0.1:{smtp_port}",
        SMTP_TIMEOUT_SECONDS="2",
        ESCALATE_UNCONFIRMED_SECONDS=str(UNCONFIRMED_SECONDS),
        ESCALATION_CHECK_SECONDS="1",
        MAIL_SWEEP_SECONDS="1",
        MAIL_RETRY_SECONDS="1",
        MAIL_REQUEUE_SECONDS="5",
    )
    engine = create_engine(database_url)
    processes: list[Process] = []
    controller = None
    try:
        port = free_port()
        processes.append(start_gateway("mailfp-gateway", port, env))
        worker = start_worker("mailfp-worker", env)
        processes.append(worker)
        beat = _celery("mailfp-beat", ["beat", "--loglevel=INFO", "-s", env["VAR_DIR"] + "/beat"], env)
        processes.append(beat)
        wait_until(lambda: "beat: Starting" in beat.log(), 60, "beat")

        handler = SmtpHandler()  # listening only once SMTP is back
        stack = MailStack(f"http://127.0.0.1:{port}", database_url, redis.url(), handler, processes, engine)
        down_since = time.monotonic()  # nothing listens: connections refused
        order_id = place(stack, part_id=10, quantity=1)
        wait_until(lambda: order_status(stack, order_id) == "MATCHED", 30, "the order matched")
        matched_at = time.monotonic()

        time.sleep(max(0.0, SMTP_DOWN_SECONDS / 2 - (time.monotonic() - down_since)))
        hang = socket.socket()  # the second half: connections taken, never answered
        hang.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        hang.bind(("127.0.0.1", smtp_port))
        hang.listen(64)

        def escalated() -> int:
            with Session(engine) as session:
                return int(
                    session.scalar(
                        select(func.count())
                        .select_from(EventLog)
                        .where(EventLog.event_type == "ORDER_ESCALATED", EventLog.entity_id == order_id)
                    )
                    or 0
                )

        wait_until(escalated, UNCONFIRMED_SECONDS + 6, "the escalation while SMTP is down")
        raised_after = time.monotonic() - matched_at
        with Session(engine) as session:
            in_app = session.scalar(
                select(func.count())
                .select_from(Notification)
                .where(
                    Notification.event_type == "ORDER_ESCALATED", Notification.link == f"/orders/{order_id}"
                )
            )
        still_down = time.monotonic() - down_since < SMTP_DOWN_SECONDS
        with Session(engine) as session:
            sent_while_down = session.scalar(
                select(func.count()).select_from(MailOutbox).where(MailOutbox.state == "SENT")
            )
            tried_while_down = session.scalar(select(func.max(MailOutbox.attempts)))

        time.sleep(max(0.0, SMTP_DOWN_SECONDS - (time.monotonic() - down_since)))
        hang.close()
        controller = Controller(handler, hostname="127.0.0.1", port=smtp_port)
        controller.start()

        def all_sent() -> bool:
            with Session(engine) as session:
                states = list(session.scalars(select(MailOutbox.state)))
            return bool(states) and all(s == "SENT" for s in states)

        wait_until(all_sent, 60, "every mail SENT once SMTP is back")
        time.sleep(4)  # a second copy (a retry, the sweep, a redelivered task) would arrive by now
        with Session(engine) as session:
            rows = list(session.scalars(select(MailOutbox)))
        received = [(r.rcpt[0], r.message["Message-ID"]) for r in handler.mails()]
    finally:
        engine.dispose()
        for process in reversed(processes):
            process.stop()
        if controller is not None:
            controller.stop()
        redis.stop()
    assert raised_after <= UNCONFIRMED_SECONDS + 4, raised_after  # on time, 1 s checks
    assert still_down, "the escalation came only after SMTP was back"
    assert in_app == 3  # admin, buyer, supplier told in-app while SMTP was down
    assert sent_while_down == 0 and (tried_while_down or 0) >= 2  # really down, really retried
    subjects = {r.subject for r in rows}
    assert "Order Escalated" in subjects
    assert all(r.state == "SENT" and r.sent_at is not None for r in rows)
    assert sorted(received) == sorted((r.to_address, r.message_id) for r in rows)  # each once
    assert BUYER in {r.to_address for r in rows if r.subject == "Order Escalated"}
