"""E-mail and escalation with real processes: uvicorn, a `celery worker` consuming the email
queue, two `celery beat` processes (a second one by mistake must raise nothing twice) and a
real SMTP server (aiosmtpd) on 127.0.0.1, with short periods set by environment.

The stack has its own database and its own redis-server, so the main integration stack
(which runs without these settings) never handles its events.
"""

import shutil
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import Engine, create_engine, func, select, text, update
from sqlalchemy.orm import Session

from common.models import EventLog, MailOutbox, MailState, Notification, User, utcnow
from common.security import create_access_token
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

pytestmark = pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs redis-server")

ADMIN, BUYER, SUPPLIER = "admin@demo.test", "buyer@demo.test", "supplier@demo.test"
PUBLIC_URL = "https://partpulse.example.test"
UNCONFIRMED_SECONDS = 4
DIGEST_SECONDS = 8


# ---------------------------------------------------------------- a real SMTP server


@dataclass
class Received:
    at: float
    rcpt: list[str]
    message: EmailMessage

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    def text(self) -> str:
        part = self.message.get_body(("plain",))
        return part.get_content() if part is not None else ""  # type: ignore[attr-defined]


@dataclass
class SmtpHandler:
    """Accepts everything, except the refusals a test asks for: {address: [reply, ...]}."""

    received: list[Received] = field(default_factory=list)
    refuse_rcpt: dict[str, list[str]] = field(default_factory=dict)
    refuse_data: dict[str, list[str]] = field(default_factory=dict)
    refusals: list[tuple[str, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        with self.lock:
            replies = self.refuse_rcpt.get(address)
            if replies:
                reply = replies.pop(0)
                self.refusals.append((address, reply))
                return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            for address in envelope.rcpt_tos:
                replies = self.refuse_data.get(address)
                if replies:
                    reply = replies.pop(0)
                    self.refusals.append((address, reply))
                    return reply
            message = message_from_bytes(envelope.content, policy=default_policy)
            self.received.append(Received(time.monotonic(), list(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"

    def mails(self, subject: str | None = None, contains: str | None = None) -> list[Received]:
        with self.lock:
            found = list(self.received)
        if subject is not None:
            found = [r for r in found if r.subject == subject]
        if contains is not None:
            found = [r for r in found if contains in r.text()]
        return found

    def to(self, mails: list[Received]) -> list[str]:
        return sorted(address for r in mails for address in r.rcpt)


# ---------------------------------------------------------------- the stack


@dataclass
class MailStack:
    url: str
    database_url: str
    redis_url: str
    smtp: SmtpHandler
    processes: list[Process]
    engine: Engine

    def session(self) -> Session:
        return Session(self.engine, expire_on_commit=False)

    def token(self, email: str) -> str:
        with self.session() as session:
            user = session.scalar(select(User).where(User.email == email))
            assert user is not None
            return create_access_token(user.id, user.role)

    def api(self, email: str) -> httpx.Client:
        return httpx.Client(
            base_url=self.url, headers={"Authorization": f"Bearer {self.token(email)}"}, timeout=15
        )

    def scalar(self, query: Any) -> Any:
        with self.session() as session:
            return session.scalar(query)



def _celery(name: str, args: list[str], env: dict[str, str]) -> Process:
    return Process(name, [sys.executable, "-m", "celery", "-A", "workers", *args], env)


@pytest.fixture(scope="module")
def mail_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MailStack]:
    database_url = fresh_seeded_database("mail")

    handler = SmtpHandler()
    smtp_port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    redis = PrivateRedis()
    redis.start()
    redis_url = redis.url()
    var_dir: Path = tmp_path_factory.mktemp("mailvar")
    env = process_env(
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        SOCKETIO_CHANNEL=f"partpulse-{TEST_DB_NAME}-mail",
        VAR_DIR=str(var_dir),
        SMTP_URL=f"smtp://127.0.0.1:{smtp_port}",
        PUBLIC_URL=PUBLIC_URL,
        ESCALATE_UNCONFIRMED_SECONDS=str(UNCONFIRMED_SECONDS),
        ESCALATION_CHECK_SECONDS="1",
        LOW_STOCK_DIGEST_SECONDS=str(DIGEST_SECONDS),
        MAIL_SWEEP_SECONDS="1",
        MAIL_RETRY_SECONDS="1",
        MAIL_REQUEUE_SECONDS="5",
    )
    processes: list[Process] = []
    engine = create_engine(database_url)
    try:
        port = free_port()
        processes.append(start_gateway("mail-gateway", port, env))
        worker = start_worker("mail-worker", env)
        processes.append(worker)
        # Two beat processes, as by mistake: every escalation must still be raised once.
        for n in (1, 2):
            beat = _celery(
                f"mail-beat-{n}", ["beat", "--loglevel=INFO", "-s", str(var_dir / f"beat-{n}")], env
            )
            processes.append(beat)
            wait_until(lambda b=beat: "beat: Starting" in b.log(), 60, f"beat {n}")
        yield MailStack(f"http://127.0.0.1:{port}", database_url, redis_url, handler, processes, engine)
    finally:
        engine.dispose()
        for process in reversed(processes):
            process.stop()
        controller.stop()
        redis.stop()


def place(stack: MailStack, part_id: int, quantity: int, **extra: Any) -> int:
    with stack.api(BUYER) as api:
        response = api.post(
            "/api/orders/", json={"items": [{"part_id": part_id, "quantity": quantity}], **extra}
        )
        assert response.status_code == 201, response.text
        return int(response.json()["id"])


def order_status(stack: MailStack, order_id: int) -> str:
    with stack.api(ADMIN) as api:
        return str(api.get(f"/api/orders/{order_id}").json()["status"])


def events_of(stack: MailStack, event_type: str, order_id: int) -> list[EventLog]:
    with stack.session() as session:
        return list(
            session.scalars(
                select(EventLog).where(EventLog.event_type == event_type, EventLog.entity_id == order_id)
            )
        )


# ---------------------------------------------------------------- the tests


def test_critical_mails_reach_the_right_addresses_with_subject_and_full_link(mail_stack: MailStack) -> None:
    smtp = mail_stack.smtp
    unfillable = place(mail_stack, part_id=1, quantity=999_999)
    link = f"{PUBLIC_URL}/orders/{unfillable}"
    failed = wait_until(
        lambda: (
            len(smtp.mails("No Supplier Available", link)) >= 2 and smtp.mails("No Supplier Available", link)
        ),
        30,
        "MATCHING_FAILED mails",
    )
    assert smtp.to(failed) == [ADMIN, BUYER]
    for received in failed:
        assert f"No supplier can fill order #{unfillable} now" in received.text()
        assert received.message.get_content_type() == "multipart/alternative"
        html_part = received.message.get_body(("html",))
        assert html_part is not None and f'href="{link}"' in html_part.get_content()  # type: ignore[attr-defined]
        assert received.message["From"] == "PartPulse <noreply@partpulse.local>"
    ids_sent = {str(r.message["Message-ID"]) for r in failed}
    with mail_stack.session() as session:
        recorded = set(
            session.scalars(select(MailOutbox.message_id).where(MailOutbox.body_text.contains(link)))
        )
    assert ids_sent == recorded

    matched = place(mail_stack, part_id=3, quantity=1)  # supplier 1 is cheapest
    wait_until(lambda: order_status(mail_stack, matched) == "MATCHED", 30, "the order to be matched")
    with mail_stack.api(BUYER) as api:
        response = api.post(
            f"/api/orders/{matched}/transitions", json={"status": "CANCELLED", "reason": "line stopped"}
        )
        assert response.status_code == 200, response.text
    link = f"{PUBLIC_URL}/orders/{matched}"
    cancelled = wait_until(
        lambda: len(smtp.mails("Order Cancelled", link)) >= 2 and smtp.mails("Order Cancelled", link),
        30,
        "ORDER_CANCELLED mails",
    )
    assert smtp.to(cancelled) == [ADMIN, SUPPLIER]  # the matched supplier's users and the admins
    assert all("cancelled by Bruno Buyer: line stopped" in r.text() for r in cancelled)
    time.sleep(2)  # nothing more arrives for these orders
    assert smtp.to(smtp.mails("Order Cancelled", link)) == [ADMIN, SUPPLIER]
    assert smtp.to(smtp.mails("No Supplier Available", f"{PUBLIC_URL}/orders/{unfillable}")) == [ADMIN, BUYER]


def test_refused_mail_is_retried_with_backoff_and_sent_once(mail_stack: MailStack) -> None:
    smtp = mail_stack.smtp
    with smtp.lock:
        smtp.refuse_rcpt[BUYER] = ["451 4.3.0 Mailbox busy, try again later"]
        smtp.refuse_data[ADMIN] = ["554 5.6.0 Message refused"]
    order_id = place(mail_stack, part_id=2, quantity=999_999)
    link = f"{PUBLIC_URL}/orders/{order_id}"
    # In-app delivery does not wait for the mail server.
    wait_until(
        lambda: (
            mail_stack.scalar(
                select(func.count())
                .select_from(Notification)
                .where(
                    Notification.event_type == "MATCHING_FAILED", Notification.link == f"/orders/{order_id}"
                )
            )
            == 2
        ),
        30,
        "the in-app notifications",
    )
    sent = wait_until(
        lambda: (
            len(smtp.mails("No Supplier Available", link)) >= 2 and smtp.mails("No Supplier Available", link)
        ),
        45,
        "the retried mails",
    )
    assert smtp.to(sent) == [ADMIN, BUYER]
    assert (BUYER, "451 4.3.0 Mailbox busy, try again later") in smtp.refusals
    assert (ADMIN, "554 5.6.0 Message refused") in smtp.refusals
    time.sleep(3)  # a second copy would arrive by now
    assert smtp.to(smtp.mails("No Supplier Available", link)) == [ADMIN, BUYER]
    with mail_stack.session() as session:
        rows = list(session.scalars(select(MailOutbox).where(MailOutbox.body_text.contains(link))))
    assert sorted((r.to_address, r.state, r.attempts) for r in rows) == [
        (ADMIN, MailState.SENT, 2),
        (BUYER, MailState.SENT, 2),
    ]
    assert all(r.last_error is None and r.sent_at is not None for r in rows)


def test_low_stock_digest_collects_several_parts_into_one_mail(mail_stack: MailStack) -> None:
    smtp = mail_stack.smtp
    started = time.monotonic()
    with mail_stack.api(SUPPLIER) as api:
        # Parts 7, 8, 9 go below threshold; part 7 goes back up and below again (alerted twice).
        for part_id, quantity in [(7, 3), (8, 2), (7, 500), (7, 1), (9, 0)]:
            body = {
                "quantity": quantity,
                "low_stock_threshold": 10,
                "unit_price": "10.00",
                "lead_time_days": 2,
            }
            response = api.put(f"/api/inventory/{part_id}", json=body)
            assert response.status_code == 200, response.text
    digests = wait_until(
        lambda: len(smtp.mails("Low stock: 3 parts")) >= 2 and smtp.mails("Low stock: 3 parts"),
        DIGEST_SECONDS + 30,
        "the digests",
    )
    assert smtp.to(digests) == [ADMIN, SUPPLIER]
    # The period the first alert opened ended first: no digest leaves before it.
    assert min(r.at for r in digests) - started >= DIGEST_SECONDS - 1
    by_address = {r.rcpt[0]: r.text() for r in digests}
    for address, body in by_address.items():
        for name in (
            "Hydraulic return filter element 10 um",
            "Compressor air intake filter C30",
            "Ball valve DN50 PN40 stainless",
        ):
            assert body.count(name) == 1, (address, body)
        assert f"{PUBLIC_URL}/inventory/7" in body
        assert "1 remaining" in body and "3 remaining" not in body  # part 7's latest level
    assert "Nordic Bearings AG" in by_address[ADMIN]  # an admin's digest names the supplier
    assert "Nordic Bearings AG" not in by_address[SUPPLIER]
    time.sleep(2)
    assert len(smtp.mails(contains="Ball valve DN50")) == 2  # one digest each, nothing per alert
    with mail_stack.session() as session:
        alerts = session.scalar(
            select(func.count()).select_from(EventLog).where(EventLog.event_type == "LOW_STOCK_ALERT")
        )
    assert alerts == 4


def test_escalation_fires_once_for_unconfirmed_and_once_for_past_eta(mail_stack: MailStack) -> None:
    smtp = mail_stack.smtp
    unconfirmed = place(mail_stack, part_id=10, quantity=1)
    needed_by = (datetime.now(UTC) + timedelta(seconds=2)).isoformat()
    late = place(mail_stack, part_id=11, quantity=999_999, needed_by=needed_by)  # stays PLACED
    wait_until(lambda: order_status(mail_stack, unconfirmed) == "MATCHED", 30, "the order to be matched")

    link = f"{PUBLIC_URL}/orders/{unconfirmed}"
    escalated = wait_until(
        lambda: len(smtp.mails("Order Escalated", link)) >= 3 and smtp.mails("Order Escalated", link),
        UNCONFIRMED_SECONDS + 40,
        "the unconfirmed escalation mails",
    )
    assert smtp.to(escalated) == [ADMIN, BUYER, SUPPLIER]
    assert all(f"Order #{unconfirmed} not confirmed for 0 h" in r.text() for r in escalated)

    link = f"{PUBLIC_URL}/orders/{late}"
    past = wait_until(
        lambda: len(smtp.mails("Order Escalated", link)) >= 2 and smtp.mails("Order Escalated", link),
        40,
        "the past-ETA escalation mails",
    )
    assert smtp.to(past) == [ADMIN, BUYER]  # no supplier was matched
    assert all(f"Order #{late} is past its ETA" in r.text() for r in past)

    time.sleep(4)  # several more checks by both beat processes
    [event] = events_of(mail_stack, "ORDER_ESCALATED", unconfirmed)
    assert event.event_metadata["reason"] == "unconfirmed" and event.event_metadata["hours"] == 0
    [event] = events_of(mail_stack, "ORDER_ESCALATED", late)
    assert event.event_metadata["reason"] == "past_eta"
    assert len(smtp.mails("Order Escalated", f"{PUBLIC_URL}/orders/{unconfirmed}")) == 3
    assert len(smtp.mails("Order Escalated", f"{PUBLIC_URL}/orders/{late}")) == 2
    with mail_stack.session() as session:
        notified = session.scalar(
            select(func.count())
            .select_from(Notification)
            .where(
                Notification.event_type == "ORDER_ESCALATED", Notification.link == f"/orders/{unconfirmed}"
            )
        )
    assert notified == 3  # in-app too


def test_replayed_or_redelivered_event_writes_no_second_mail(mail_stack: MailStack) -> None:
    from celery import Celery

    smtp = mail_stack.smtp
    order_id = place(mail_stack, part_id=3, quantity=999_999)
    link = f"{PUBLIC_URL}/orders/{order_id}"
    wait_until(lambda: len(smtp.mails("No Supplier Available", link)) >= 2, 30, "the first mails")
    [event] = events_of(mail_stack, "MATCHING_FAILED", order_id)
    assert event.state == "PROCESSED" and event.attempts == 1
    # Redelivery: the broker hands the same task over again.
    client = Celery(broker=mail_stack.redis_url)
    client.send_task("MATCHING_FAILED", args=[[event.id]], queue="notifications")
    # Replay: the row goes back to PENDING (processed_at kept), the relay sends it again.
    with mail_stack.engine.begin() as connection:
        connection.execute(update(EventLog).where(EventLog.id == event.id).values(state="PENDING"))
    wait_until(lambda: events_of(mail_stack, "MATCHING_FAILED", order_id)[0].attempts >= 2, 30, "the replay")
    time.sleep(3)
    assert smtp.to(smtp.mails("No Supplier Available", link)) == [ADMIN, BUYER]
    with mail_stack.session() as session:
        rows = session.scalar(
            select(func.count()).select_from(MailOutbox).where(MailOutbox.event_id == event.id)
        )
        notes = session.scalar(
            select(func.count()).select_from(Notification).where(Notification.event_id == event.id)
        )
    assert rows == 2 and notes == 2


def test_sweep_sends_a_mail_whose_task_was_lost(mail_stack: MailStack) -> None:
    """As after a Redis restart without persistence: the row is there, its task is not."""
    smtp = mail_stack.smtp
    long_ago = utcnow() - timedelta(minutes=5)
    with mail_stack.engine.begin() as connection:
        buyer_id = connection.execute(text("SELECT id FROM users WHERE email = :e"), {"e": BUYER}).scalar()
        connection.execute(
            MailOutbox.__table__.insert().values(
                user_id=buyer_id,
                to_address=BUYER,
                kind="single",
                event_id=None,
                subject="Orphaned mail",
                body_text="recorded, never enqueued",
                body_html="<p>recorded</p>",
                message_id="<orphan.1@partpulse.local>",
                state="PENDING",
                attempts=0,
                next_attempt_at=long_ago,
                created_at=long_ago,
            )
        )
    [received] = wait_until(lambda: smtp.mails("Orphaned mail"), 30, "the swept mail")
    assert received.message["Message-ID"] == "<orphan.1@partpulse.local>"
    wait_until(
        lambda: (
            mail_stack.scalar(select(MailOutbox.state).where(MailOutbox.subject == "Orphaned mail")) == "SENT"
        ),
        10,
        "the row to be SENT",
    )
    time.sleep(2)
    assert len(smtp.mails("Orphaned mail")) == 1
