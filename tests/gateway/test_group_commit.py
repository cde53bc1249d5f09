"""POST /api/events/ requests that arrive together share one transaction (gateway/group_commit.py).

Each request still gets its own answer: the refused ones write nothing, the
others one row each, and a group that fails is written again one by one.
"""

import asyncio
import time
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event as sa_event
from sqlalchemy import func, select, text, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from common.db import get_engine
from common.models import EventLog, User
from common.services.errors import DomainError, NotFound
from gateway.group_commit import GroupCommit, Stopping
from gateway.main import create_app
from tests.conftest import auth, user_by_email

ORDER_EVENT = {"event_type": "ORDER_DISPATCHED", "entity_type": "order"}


def _count_event_inserts() -> tuple[list[int], Any]:
    inserts: list[int] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO EVENT_LOGS"):
            inserts.append(1)

    return inserts, count


async def _fire_together(bodies: list[tuple[dict[str, Any], dict[str, str]]]) -> list[httpx.Response]:
    app = create_app().other_asgi_app
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        return list(
            await asyncio.gather(
                *(client.post("/api/events/", json=body, headers=headers) for body, headers in bodies)
            )
        )


def test_requests_fired_together_each_get_their_own_answer(client: TestClient, db: Session) -> None:
    placed = client.post(
        "/api/orders/", json={"items": [{"part_id": 1, "quantity": 1}]}, headers=auth("buyer@demo.test")
    )
    order_id = placed.json()["id"]
    gone = user_by_email(db, "admin@demo.test")
    # A second admin, deactivated after its token was issued: its request alone is 401.
    second = User(email="admin2@demo.test", full_name="Second Admin", role="admin", password_hash="x")
    db.add(second)
    db.commit()
    second_headers = auth("admin2@demo.test")
    db.execute(update(User).where(User.id == second.id).values(is_active=False))
    db.commit()
    admin = auth(gone.email)
    good = [({**ORDER_EVENT, "entity_id": order_id, "metadata": {"seq": i}}, admin) for i in range(30)]
    missing = [({**ORDER_EVENT, "entity_id": 999_999, "metadata": {}}, admin)]
    wrong_type = [({**ORDER_EVENT, "entity_type": "part", "entity_id": 1, "metadata": {}}, admin)]
    deactivated = [({**ORDER_EVENT, "entity_id": order_id, "metadata": {"seq": -1}}, second_headers)]
    bodies = good[:10] + missing + good[10:20] + wrong_type + deactivated + good[20:]

    inserts, count = _count_event_inserts()
    sa_event.listen(get_engine(), "before_cursor_execute", count)
    try:
        responses = asyncio.run(_fire_together(bodies))
    finally:
        sa_event.remove(get_engine(), "before_cursor_execute", count)

    statuses = [r.status_code for r in responses]
    assert statuses == [202] * 10 + [404] + [202] * 10 + [422, 401] + [202] * 10, statuses
    assert "No order with id 999999" in responses[10].json()["detail"]
    accepted = [r.json()["event_id"] for r in responses if r.status_code == 202]
    assert len(set(accepted)) == 30
    rows = db.scalars(select(EventLog).where(EventLog.id.in_(accepted))).all()
    assert sorted(row.event_metadata["seq"] for row in rows) == list(range(30))
    assert all(row.event_metadata["order_id"] == order_id and row.actor_id == gone.id for row in rows)
    manual = select(func.count()).select_from(EventLog).where(EventLog.event_type == "ORDER_DISPATCHED")
    assert db.scalar(manual) == 30  # nothing for the refused ones
    # Requests waited for the writer and went in groups: fewer INSERTs than rows.
    assert 1 <= len(inserts) < 30, len(inserts)


def _writer(
    fail_group_with: str | None = None, fail_commit: bool = False, linger: float = 0.0
) -> GroupCommit[str, str]:
    def write(session: Session, items: list[str]) -> list[str | DomainError]:
        if fail_commit:
            sa_event.listen(session, "before_commit", _refuse_commit, once=True)
        session.execute(text("SELECT 1"))
        if fail_group_with in items and len(items) > 1:
            raise RuntimeError("the group failed")
        if fail_group_with in items:
            raise RuntimeError(f"{fail_group_with} failed alone")
        return [NotFound(f"no {item}") if item.startswith("missing") else item.upper() for item in items]

    return GroupCommit(write, linger=linger)


def _refuse_commit(session: Session) -> None:
    raise RuntimeError("commit refused")


async def _submit_all(writer: GroupCommit[str, str], items: list[str]) -> list[Any]:
    return list(await asyncio.gather(*(writer.submit(item) for item in items), return_exceptions=True))


@pytest.mark.usefixtures("clean_db")
def test_a_failed_group_is_written_again_one_by_one() -> None:
    outcomes = asyncio.run(_submit_all(_writer(fail_group_with="bad"), ["a", "b", "bad", "missing-c", "d"]))
    assert outcomes[:2] == ["A", "B"] and outcomes[4] == "D"
    assert isinstance(outcomes[2], RuntimeError) and str(outcomes[2]) == "bad failed alone"
    assert isinstance(outcomes[3], NotFound)


@pytest.mark.usefixtures("clean_db")
def test_a_failed_commit_fails_the_group_but_keeps_refusals() -> None:
    outcomes = asyncio.run(_submit_all(_writer(fail_commit=True), ["a", "missing-b", "c"]))
    assert isinstance(outcomes[0], RuntimeError) and str(outcomes[0]) == "commit refused"
    assert isinstance(outcomes[1], NotFound)
    assert isinstance(outcomes[2], RuntimeError)


@pytest.mark.usefixtures("clean_db")
def test_a_writer_survives_a_new_event_loop() -> None:
    writer = _writer()
    assert asyncio.run(_submit_all(writer, ["a"])) == ["A"]
    assert asyncio.run(_submit_all(writer, ["b", "c"])) == ["B", "C"]


@pytest.mark.usefixtures("clean_db")
def test_a_database_outage_fails_the_group_at_once_without_one_by_one_retries() -> None:
    calls: list[int] = []

    def write(session: Session, items: list[str]) -> list[str | DomainError]:
        calls.append(len(items))
        raise OperationalError("SELECT 1", {}, ConnectionRefusedError("the database is down"))

    outcomes = asyncio.run(_submit_all(GroupCommit(write), ["a", "b", "c"]))
    assert all(isinstance(o, OperationalError) for o in outcomes)
    assert calls == [3]  # one attempt: each alone would only have waited for its own timeout


@pytest.mark.usefixtures("clean_db")
def test_a_cancelled_writer_answers_every_waiting_request() -> None:
    def slow_write(session: Session, items: list[str]) -> list[str | DomainError]:
        time.sleep(0.3)
        return [item.upper() for item in items]

    async def scenario() -> list[Any]:
        writer: GroupCommit[str, str] = GroupCommit(slow_write)
        first = asyncio.ensure_future(writer.submit("a"))
        await asyncio.sleep(0.05)  # "a" is being written; "b" waits for the next group
        second = asyncio.ensure_future(writer.submit("b"))
        await asyncio.sleep(0.05)
        assert writer._writer is not None
        writer._writer.cancel()  # what stopping the server does to it
        both = asyncio.gather(first, second, return_exceptions=True)
        return list(await asyncio.wait_for(both, 5))  # none left waiting

    outcomes = asyncio.run(scenario())
    assert [type(o) for o in outcomes] == [Stopping, Stopping]
    assert outcomes[0].status_code == 503


@pytest.mark.usefixtures("clean_db")
def test_under_a_stream_the_linger_lets_a_group_grow_and_a_lone_request_goes_at_once() -> None:
    sizes: list[int] = []

    def write(session: Session, items: list[str]) -> list[str | DomainError]:
        sizes.append(len(items))
        return [item.upper() for item in items]

    async def scenario() -> tuple[float, list[str]]:
        writer: GroupCommit[str, str] = GroupCommit(write, linger=0.2)
        started = time.monotonic()
        assert await writer.submit("a") == "A"  # the first request: at once
        lone = time.monotonic() - started
        # "b" comes right after "a", faster than the wait: its group waits for company.
        first = asyncio.ensure_future(writer.submit("b"))
        await asyncio.sleep(0.02)
        second = asyncio.ensure_future(writer.submit("c"))
        return lone, list(await asyncio.gather(first, second))

    lone, outcomes = asyncio.run(scenario())
    assert lone < 0.15
    assert outcomes == ["B", "C"]
    assert sizes == [1, 2]


@pytest.mark.usefixtures("clean_db")
def test_a_writer_cancelled_while_it_lingers_answers_every_waiting_request() -> None:
    async def scenario() -> list[Any]:
        writer = _writer(linger=5.0)
        assert await writer.submit("a") == "A"
        waiting = asyncio.ensure_future(writer.submit("b"))  # right after "a": it waits for company
        await asyncio.sleep(0.05)
        assert writer._writer is not None
        writer._writer.cancel()
        return list(await asyncio.wait_for(asyncio.gather(waiting, return_exceptions=True), 2))

    assert [type(o) for o in asyncio.run(scenario())] == [Stopping]


@pytest.mark.usefixtures("clean_db")
def test_requests_further_apart_than_the_linger_are_not_held() -> None:
    async def scenario() -> list[float]:
        writer = _writer(linger=0.2)
        took = []
        for item in "abcd":  # a slow stream: waiting would bring no company
            started = time.monotonic()
            assert await writer.submit(item) == item.upper()
            took.append(time.monotonic() - started)
            await asyncio.sleep(0.3)
        return took

    assert max(asyncio.run(scenario())) < 0.15


def test_the_wait_follows_how_fast_requests_arrive() -> None:
    writer: GroupCommit[str, str] = GroupCommit(lambda session, items: [], linger=0.015)
    assert not writer._worth_waiting()  # nothing arrived yet
    now = 0.0
    for _ in range(10):  # 30/s: a request every 33 ms, slower than the wait
        now += 1 / 30
        writer._note_arrival(now)
        assert not writer._worth_waiting()
    for _ in range(10):  # 150/s: every 6.7 ms
        now += 1 / 150
        writer._note_arrival(now)
    assert writer._worth_waiting()
    writer._note_arrival(now + 10.0)  # a lull: the next request goes at once
    assert not writer._worth_waiting()
