"""CPU per call of the statements every event request runs: the ORM's way against the prepared way.

    .venv/bin/python bench/hot_path.py          # make bench's PostgreSQL, a database of its own

It migrates and seeds a fresh database (BENCH_DB_HOT, default partpulse_hot),
then times, in this process (time.process_time, so waiting for PostgreSQL is
not counted), each way of doing what POST /api/events/ does: load the caller,
read the order's ids, write the event row. Each figure includes opening a
session and rolling it back (no row is kept). The README's Benchmark section
quotes its output.
"""

import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PG_BASE = os.environ.get("BENCH_PG", "postgresql+psycopg2://postgres@127.0.0.1:5432")
DB_NAME = os.environ.get("BENCH_DB_HOT", "partpulse_hot")
DATABASE_URL = f"{PG_BASE}/{DB_NAME}"
os.environ["DATABASE_URL"] = DATABASE_URL
os.environ.setdefault("EVENT_RELAY", "false")  # nothing is committed; no relay thread needed
sys.path.insert(0, str(ROOT))

from fixtures import demo_order, fresh_database  # noqa: E402  (bench/ is on sys.path: run as a script)
from sqlalchemy import select  # noqa: E402


def cpu_us(work: Callable[[], None], calls: int = 2000) -> float:
    for _ in range(200):  # warm: statement caches, pool
        work()
    started = time.process_time()
    for _ in range(calls):
        work()
    return 1e6 * (time.process_time() - started) / calls


def main() -> None:
    fresh_database(PG_BASE, DB_NAME, ROOT)
    from common.db import attach_as_loaded, get_sessionmaker
    from common.events.bus import emit_event
    from common.events.types import EntityType, EventType
    from common.models import EventLog, Order, User
    from common.services.accounts import get_active_user
    from common.services.metadata import entity_ids, order_ids

    sessions = get_sessionmaker()
    admin_id, order_id = demo_order(sessions)

    def in_session(action: Callable[..., object]) -> Callable[[], None]:
        def run() -> None:
            with sessions() as session:
                action(session)
                session.rollback()

        return run

    def orm_insert(session: object) -> None:  # the way emit_event wrote before (unit of work)
        row = EventLog(
            event_type=EventType.ORDER_DISPATCHED.value,
            entity_type=EntityType.ORDER.value,
            entity_id=order_id,
            actor_id=admin_id,
            event_metadata={"bench": True},
        )
        session.add(row)  # type: ignore[attr-defined]
        session.flush()  # type: ignore[attr-defined]

    def prepared_insert(session: object) -> None:
        emit_event(session, EventType.ORDER_DISPATCHED, "order", order_id, actor_id=admin_id)  # type: ignore[arg-type]

    user_by_id = select(*User.__table__.columns).where(User.__table__.c.id == admin_id)

    def prepared_user(session: object) -> None:
        row = session.connection().execute(user_by_id).one()._mapping  # type: ignore[attr-defined]
        attributes = {a.key: row[a.columns[0].name] for a in User.__mapper__.column_attrs}
        attach_as_loaded(session, User(**attributes))  # type: ignore[arg-type]

    def orm_request(session: object) -> None:
        session.get(User, admin_id)  # type: ignore[attr-defined]
        order_ids(session.get(Order, order_id))  # type: ignore[attr-defined, arg-type]
        orm_insert(session)

    def prepared_request(session: object) -> None:
        get_active_user(session, admin_id)  # type: ignore[arg-type]
        entity_ids(session, EntityType.ORDER, order_id)  # type: ignore[arg-type]
        prepared_insert(session)

    rows = [
        ("open a session, roll back (the floor)", in_session(lambda s: s.connection())),
        ("user: ORM load (session.get), as shipped", in_session(lambda s: get_active_user(s, admin_id))),
        ("user: prepared SELECT + attach_as_loaded (tried, not kept)", in_session(prepared_user)),
        ("order ids: ORM load", in_session(lambda s: order_ids(s.get(Order, order_id)))),
        ("order ids: prepared SELECT", in_session(lambda s: entity_ids(s, EntityType.ORDER, order_id))),
        ("event row: ORM add + flush", in_session(orm_insert)),
        ("event row: prepared INSERT + attach_as_loaded", in_session(prepared_insert)),
        ("the three, all ORM (before)", in_session(orm_request)),
        ("the three as shipped (user ORM, order ids and event row prepared)", in_session(prepared_request)),
    ]
    print("| what (one session each) | CPU us per call |\n|---|---|")
    for name, work in rows:
        print(f"| {name} | {cpu_us(work):.0f} |", flush=True)


if __name__ == "__main__":
    main()
