"""Quiet hours (issue 25) with real processes: uvicorn, a `celery worker`, `celery beat` (restarted
while a mail is held) and a real SMTP server (aiosmtpd). Time is moved by the clock offset file
(PARTPULSE_CLOCK_OFFSET_FILE, read by every process at every call): no real waiting.

The buyer (zone Europe/Berlin, seeded) mails only on weekdays 06:00-22:00. At 03:00 Berlin a
routine SUPPLIER_MATCHED mail is held until 06:00 and a critical MATCHING_FAILED one goes at once;
beat is stopped, the clock moves to 06:00, a new beat releases the held mail.
"""

import shutil
import time
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import create_engine, select

from common.models import MailOutbox, MailState, User
from tests.conftest import TEST_DB_NAME
from tests.integration import stack as st
from tests.integration.test_email import ADMIN, BUYER, MailStack, SmtpHandler, _celery, place

pytestmark = pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs redis-server")

THREE_AM_BERLIN = datetime(2026, 12, 3, 2, 0, tzinfo=UTC)  # a Thursday, CET (+01:00)
SIX_AM_BERLIN = datetime(2026, 12, 3, 5, 0, tzinfo=UTC)
# The beat release and the sweep every second.
FAST_PERIODS = {"MAIL_SWEEP_SECONDS": "1", "MAIL_RETRY_SECONDS": "1"}
SCHEDULE = {d: [["06:00", "22:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}


def set_clock(path: Path, moment: datetime) -> None:
    """Every process's common.clock.now() reads `moment` (and runs on from it)."""
    tmp = path.with_suffix(".tmp")
    tmp.write_text(str((moment - datetime.now(UTC)).total_seconds()))
    tmp.replace(path)


def _beat(name: str, env: dict[str, str], schedule_file: Path) -> st.Process:
    beat = _celery(name, ["beat", "--loglevel=INFO", "-s", str(schedule_file)], env)
    st.wait_until(lambda: "beat: Starting" in beat.log(), 60, name)
    return beat


def test_a_mail_due_at_3_is_held_until_6_across_a_beat_restart_and_a_critical_one_goes_at_once(
    tmp_path: Path,
) -> None:
    database_url = st.fresh_seeded_database("quiet")
    handler = SmtpHandler()
    smtp_port = st.free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=smtp_port)
    redis = st.PrivateRedis()
    offset_file = tmp_path / "clock-offset"
    set_clock(offset_file, THREE_AM_BERLIN)
    settings = {
        "DATABASE_URL": database_url,
        "SOCKETIO_CHANNEL": f"partpulse-{TEST_DB_NAME}-quiet",
        "SMTP_URL": f"smtp://127.0.0.1:{smtp_port}",
        "PARTPULSE_CLOCK_OFFSET_FILE": str(offset_file),
    }
    env = st.process_env(**settings, **FAST_PERIODS, REDIS_URL=redis.url(), VAR_DIR=str(tmp_path))
    processes: list[st.Process] = []
    engine = create_engine(database_url)
    with ExitStack() as cleanup:
        cleanup.callback(redis.stop)
        cleanup.callback(controller.stop)
        cleanup.callback(engine.dispose)
        cleanup.callback(lambda: [p.stop() for p in reversed(processes)])
        controller.start()
        redis.start()
        port = st.free_port()
        processes.append(st.start_gateway("quiet-gateway", port, env))
        worker = st.start_worker("quiet-worker", env)
        processes.append(worker)
        beat = _beat("quiet-beat-1", env, tmp_path / "beat")
        processes.append(beat)
        stack = MailStack(f"http://127.0.0.1:{port}", database_url, redis.url(), handler, processes, engine)

        with stack.api(BUYER) as api:
            put = api.put(
                "/api/preferences/",
                json={"email_schedule": SCHEDULE, "event_types": {"SUPPLIER_MATCHED": {"email": True}}},
            )
            assert put.status_code == 200, put.text
            window = api.get("/api/preferences/email-window").json()
            assert window["open_now"] is False and window["next_opening"] == "2026-12-03T05:00:00Z"
        buyer_id = stack.scalar(select(User.id).where(User.email == BUYER))

        routine = place(stack, part_id=10, quantity=1)  # matched: SUPPLIER_MATCHED, routine
        unfillable = place(stack, part_id=1, quantity=999_999)  # MATCHING_FAILED: critical

        def buyer_mails() -> list[MailOutbox]:
            with stack.session() as session:
                return list(session.scalars(select(MailOutbox).where(MailOutbox.user_id == buyer_id)))

        mails = st.wait_until(lambda: len(buyer_mails()) >= 2 and buyer_mails(), 30, "the buyer's two mails")
        held = next(m for m in mails if f"/orders/{routine}\n" in m.body_text)
        critical = next(m for m in mails if f"/orders/{unfillable}\n" in m.body_text)
        assert held.state == MailState.HELD and held.not_before == SIX_AM_BERLIN
        # The critical one reaches the buyer at once, at 03:00.
        st.wait_until(
            lambda: handler.mails(critical.subject, f"/orders/{unfillable}"), 30, "the critical mail"
        )
        assert f"mail {held.id} to {BUYER} held until 2026-12-03T05:00:00+00:00" in worker.log()
        with stack.api(ADMIN) as api:
            items = api.get("/api/events/", params={"limit": 50}).json()["items"]
        assert {i["id"]: i["mail_held_until"] for i in items}[held.event_id] == "2026-12-03T05:00:00Z"

        # Beat runs the release every second: nothing goes before 06:00.
        time.sleep(3)
        assert handler.mails(held.subject, f"/orders/{routine}") == []
        # Beat stops; the clock moves to 06:00 Berlin; a new beat releases the held mail.
        beat.stop()
        processes.remove(beat)
        set_clock(offset_file, SIX_AM_BERLIN + timedelta(seconds=1))
        processes.append(_beat("quiet-beat-2", env, tmp_path / "beat"))
        [received] = st.wait_until(
            lambda: handler.mails(held.subject, f"/orders/{routine}"), 30, "the held mail at 06:00"
        )
        assert received.rcpt == [BUYER]
        assert str(received.message["Message-ID"]) == held.message_id  # sent as it is, once
        time.sleep(2)
        assert len(handler.mails(held.subject, f"/orders/{routine}")) == 1
        with stack.session() as session:
            row = session.get(MailOutbox, held.id)
            assert row is not None and row.state == MailState.SENT
