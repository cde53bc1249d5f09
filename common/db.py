"""Engine and sessions. One engine per process, created lazily."""

import os
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

from sqlalchemy import CursorResult, Engine, Executable, create_engine, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, make_transient_to_detached, sessionmaker

from common.config import get_settings

# What every answer says when the database cannot be reached (HTTP 503, socket connect_error).
DATABASE_UNAVAILABLE = "The database is unavailable; try again shortly"
# A database that does not answer fails a request in seconds, never hangs it.
CONNECT_TIMEOUT_SECONDS = 3
POOL_TIMEOUT_SECONDS = 5


def _make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        get_settings().var_dir.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        return engine
    connect_args = {"connect_timeout": CONNECT_TIMEOUT_SECONDS} if url.startswith("postgresql") else {}
    return create_engine(
        url,
        pool_pre_ping=get_settings().db_pre_ping,
        # Kept open: as many as the gateway has requests in flight (32), plus its
        # relay and socket work. An overflow connection is closed when it is returned,
        # so a pool smaller than the load opens (forks a PostgreSQL backend) and closes
        # a connection per request just when the machine is busiest. Opened lazily:
        # a worker process that needs one or two holds one or two.
        pool_size=40,
        max_overflow=10,
        pool_timeout=POOL_TIMEOUT_SECONDS,
        connect_args=connect_args,
    )


@lru_cache
def get_engine() -> Engine:
    engine = _make_engine(get_settings().sqlalchemy_url)
    # A forked child (a Celery pool process) must not reuse the parent's
    # pooled connections: two processes on one socket corrupt both. The
    # parent's relay thread may have opened some before the pool forked.
    os.register_at_fork(after_in_child=lambda: engine.dispose(close=False))
    return engine


@lru_cache
def get_sessionmaker() -> sessionmaker[Session]:
    return sessionmaker(bind=get_engine(), expire_on_commit=False)


@contextmanager
def session_scope() -> Iterator[Session]:
    """A session that commits on success and rolls back on any error."""
    session = get_sessionmaker()()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def attach_as_loaded(session: Session, row: Any) -> Any:
    """An object built from a row just written by a prepared Core statement, made the
    session's own clean, persistent object without reading it back.

    For the hot path (every event writes a row): the ORM's unit of work costs
    about half as much again as the statement itself (bench/hot_path.py).
    Every column must be set on `row`.
    """
    make_transient_to_detached(row)
    session.add(row)
    return row


def execute_core(session: Session, statement: Executable, params: Any = None) -> CursorResult[Any]:
    """A prebuilt statement run on the session's connection, past the ORM.

    What is pending is flushed first, as session.execute would. For the
    statements every event batch runs: the ORM's work around a statement
    (its compile state, its result processing) cost the workers more CPU
    than the statement itself, and these need no ORM objects.
    """
    session.flush()
    return session.connection().execute(statement, params)


def insert_on_conflict(session: Session, model: Any) -> postgresql.Insert | sqlite.Insert:
    """An INSERT that takes ON CONFLICT, on PostgreSQL and on SQLite (standalone) alike."""
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(model)
    return sqlite.insert(model)
