"""Engine and sessions. One engine per process, created lazily."""

import os
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    CursorResult,
    Engine,
    Executable,
    Table,
    bindparam,
    cast,
    create_engine,
    event,
    func,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session, make_transient_to_detached, sessionmaker

from common.config import get_settings
from common.search import words_match

# What every answer says when the database cannot be reached (HTTP 503, socket connect_error).
DATABASE_UNAVAILABLE = "The database is unavailable; try again shortly"
# A database that does not answer fails a request in seconds, never hangs it.
CONNECT_TIMEOUT_SECONDS = 3
POOL_TIMEOUT_SECONDS = 5


@dataclass(frozen=True)
class PoolSize:
    size: int  # kept open once opened (opened lazily)
    overflow: int  # opened past it under load, closed when returned


# The connection budget per process role (the README adds them up per deployment).
PROCESS_POOLS = {
    # As many as the gateway admits requests at once (32), plus its relay, the
    # socket connects and health. An overflow connection is closed when returned,
    # so the kept size covers the steady load.
    "gateway": PoolSize(36, 4),
    # A Celery pool process runs one task at a time, and a relay thread beside it.
    "worker_pool": PoolSize(2, 1),
    # The worker's main process: its relay thread only.
    "worker": PoolSize(2, 1),
    # Beat, Flower, the command-line tools (seed, migrations): a connection or two.
    "beat": PoolSize(1, 1),
    "flower": PoolSize(1, 1),
    "tool": PoolSize(2, 2),
}
_process_role = "tool"


def set_process_role(role: str) -> None:
    """Which PROCESS_POOLS entry this process's engine is sized by; call before the first query."""
    global _process_role
    if role not in PROCESS_POOLS:
        raise ValueError(f"unknown process role {role!r}")
    if role != _process_role:
        _process_role = role
        _forget_engine()


def pool_size_for(role: str) -> PoolSize:
    """The role's pool, DB_POOL_SIZE and DB_MAX_OVERFLOW winning where set."""
    settings, default = get_settings(), PROCESS_POOLS[role]
    return PoolSize(
        default.size if settings.db_pool_size is None else settings.db_pool_size,
        default.overflow if settings.db_max_overflow is None else settings.db_max_overflow,
    )


def _make_engine(url: str, pool: PoolSize | None = None) -> Engine:
    pool = pool or pool_size_for("tool")
    if url.startswith("sqlite"):
        get_settings().var_dir.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()
            # ?q= on SQLite (common/search.py): PostgreSQL has its GIN index instead.
            dbapi_connection.create_function("pp_words_match", 2, words_match, deterministic=True)

        return engine
    connect_args = {"connect_timeout": CONNECT_TIMEOUT_SECONDS} if url.startswith("postgresql") else {}
    return create_engine(
        url,
        pool_pre_ping=get_settings().db_pre_ping,
        pool_size=pool.size,
        max_overflow=pool.overflow,
        pool_timeout=POOL_TIMEOUT_SECONDS,
        connect_args=connect_args,
    )


@lru_cache
def get_engine() -> Engine:
    return _make_engine(get_settings().sqlalchemy_url, pool_size_for(_process_role))


def direct_engine() -> Engine:
    """An engine on DATABASE_DIRECT_URL, for session-level work (migrations) that must
    not go through PgBouncer's transaction pooling; the usual engine when it is unset."""
    direct_url = get_settings().database_direct_url
    return get_engine() if direct_url is None else _make_engine(direct_url, PoolSize(1, 1))


def _forget_engine() -> None:
    """The next get_engine() builds an engine for the current role. Connections the
    old engine holds are left to it, not closed: in a forked child they are the
    parent's (two processes on one socket corrupt both)."""
    if get_engine.cache_info().currsize:
        get_engine().dispose(close=False)
    get_engine.cache_clear()
    get_sessionmaker.cache_clear()


def _in_forked_child() -> None:
    # A forked child is a Celery pool process (the only thing here that forks).
    global _process_role
    _process_role = "worker_pool"
    _forget_engine()


os.register_at_fork(after_in_child=_in_forked_child)


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


def insert_rows(
    session: Session, table: Table, rows: list[dict[str, Any]], skip_conflicts_on: tuple[str, ...] = ()
) -> None:
    """Many rows (dicts with the same keys) in one statement, ON CONFLICT (skip_conflicts_on)
    DO NOTHING when given.

    On PostgreSQL the rows travel as one array per column, unnested in SQL: a
    fan-out's thousand rows are a dozen parameters, not ten thousand for
    psycopg2 to quote one by one and SQLAlchemy to process (issue 26). Elsewhere
    (SQLite) a multi-row INSERT.
    """
    columns = tuple(rows[0])
    if session.get_bind().dialect.name != "postgresql":
        execute_core(session, _skipping_conflicts(sqlite.insert(table), skip_conflicts_on), rows)
        return
    arrays = {f"c{i}": [row[c] for row in rows] for i, c in enumerate(columns)}
    execute_core(session, _unnest_insert(table, columns, skip_conflicts_on), arrays)


@lru_cache(maxsize=64)
def _unnest_insert(table: Table, columns: tuple[str, ...], skip_conflicts_on: tuple[str, ...]) -> Executable:
    # Several unnest() in one select list run in lockstep (PostgreSQL 10+): row n takes element n of each.
    arrays = [
        func.unnest(cast(bindparam(f"c{i}", type_=ARRAY(table.c[c].type)), ARRAY(table.c[c].type)))
        for i, c in enumerate(columns)
    ]
    return _skipping_conflicts(
        postgresql.insert(table).from_select(list(columns), select(*arrays)), skip_conflicts_on
    )


def _skipping_conflicts(statement: Any, skip_conflicts_on: tuple[str, ...]) -> Any:
    if not skip_conflicts_on:
        return statement
    return statement.on_conflict_do_nothing(index_elements=list(skip_conflicts_on))


# ---------------------------------------------------------------- work that waits for the commit

_AFTER_COMMIT_KEY = "partpulse_after_commit"
SessionCallback = Callable[[Session], None]


def run_after_commit(
    session: Session,
    callback: SessionCallback,
    *,
    on_rollback: SessionCallback | None = None,
    key: Hashable | None = None,
) -> None:
    """Call `callback(session)` once the session's transaction commits: the one way
    work that must not outlive a rolled-back change (waking the relay, queueing
    mails) is deferred.

    Registered once per `key` (the callback itself unless given) until the commit:
    asking again before it is a no-op. If the transaction rolls back first,
    `on_rollback(session)` is called and the callback dropped; without an
    `on_rollback`, the callback waits for the session's next commit instead.
    """
    pending: dict[Hashable, tuple[SessionCallback, SessionCallback | None]] | None
    pending = session.info.get(_AFTER_COMMIT_KEY)
    if pending is None:
        pending = session.info[_AFTER_COMMIT_KEY] = {}
        event.listen(session, "after_commit", _run_committed)
        event.listen(session, "after_rollback", _run_rolled_back)
    pending.setdefault(callback if key is None else key, (callback, on_rollback))


def _run_committed(session: Session) -> None:
    pending = session.info.get(_AFTER_COMMIT_KEY)
    if not pending:
        return
    due = list(pending.values())
    pending.clear()
    for callback, _ in due:
        callback(session)


def _run_rolled_back(session: Session) -> None:
    pending = session.info.get(_AFTER_COMMIT_KEY)
    if not pending:
        return
    dropped = [(key, on_rollback) for key, (_, on_rollback) in pending.items() if on_rollback is not None]
    for key, on_rollback in dropped:
        del pending[key]
        on_rollback(session)
