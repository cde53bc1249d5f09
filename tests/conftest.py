"""Shared fixtures. Tests run against a PostgreSQL database and a Redis db of their own."""

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TEST_DATABASE_URL = os.environ.get(
    "TEST_DATABASE_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/partpulse_test"
)
TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
# `make test` runs pytest in lanes (pytest-xdist workers gw0, gw1, ...) and the
# browser tests in lanes of their own (TEST_LANE=browser0, browser1: one per window size).
# Each lane has a database, a Redis db (counting down from the one above by the
# lane's number), queues, a Socket.IO channel, logs and a VAR_DIR of its own, so
# lanes running at once never see each other.
LANE = os.environ.get("PYTEST_XDIST_WORKER") or os.environ.get("TEST_LANE", "")


def _lane_urls(database_url: str, redis_url: str, lane: str) -> tuple[str, str]:
    if not lane:
        return database_url, redis_url
    number = int(re.search(r"\d+$", lane)[0])  # type: ignore[index]
    redis_base, redis_db = redis_url.rsplit("/", 1)
    lane_db = int(redis_db) - 1 - number
    assert lane_db >= 0, f"no Redis db left for lane {lane} below {redis_url}"
    return f"{database_url}_{lane}", f"{redis_base}/{lane_db}"


TEST_DATABASE_URL, TEST_REDIS_URL = _lane_urls(TEST_DATABASE_URL, TEST_REDIS_URL, LANE)
# Databases a test makes for itself are named after the main test database, so
# two checkouts with their own TEST_DATABASE_URL never share one.
TEST_DB_NAME = TEST_DATABASE_URL.rsplit("/", 1)[1]
TEST_JWT_SECRET = "test-secret-for-partpulse-tests-only-0123456789"

# In-process code (TestClient, services) sees the test services. The relay is
# off here: API tests check what is recorded; integration tests run the real
# relay inside the gateway and worker processes they start.
TEST_ENV = {
    "DATABASE_URL": TEST_DATABASE_URL,
    "REDIS_URL": TEST_REDIS_URL,
    "JWT_SECRET": TEST_JWT_SECRET,
    "BCRYPT_ROUNDS": "4",
    "SOCKETIO_CHANNEL": f"partpulse-{TEST_DB_NAME}",
    "VAR_DIR": str(ROOT / "var" / "test" / LANE),
}
os.environ.update(TEST_ENV)
os.environ["EVENT_RELAY"] = "0"

from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from common.db import get_engine, get_sessionmaker  # noqa: E402
from common.models import Base, User  # noqa: E402
from common.security import create_access_token  # noqa: E402
from common.seed import seed  # noqa: E402


def _recreate_database(url: str) -> None:
    base, name = url.rsplit("/", 1)
    admin = create_engine(f"{base}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(
            text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"),
            {"n": name},
        )
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()


def alembic(*args: str, database_url: str = TEST_DATABASE_URL) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": database_url}
    return subprocess.run(
        [sys.executable, "-m", "alembic", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.fixture(scope="session")
def database() -> Iterator[str]:
    _recreate_database(TEST_DATABASE_URL)
    result = alembic("upgrade", "head")
    assert result.returncode == 0, result.stderr
    yield TEST_DATABASE_URL
    get_engine().dispose()


def reset_data() -> None:
    """Empty every table and put the demo data back."""
    tables = ", ".join(f'"{t.name}"' for t in reversed(Base.metadata.sorted_tables))
    with get_engine().begin() as connection:
        connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    with get_sessionmaker()() as session:
        seed(session)
        session.commit()


@pytest.fixture
def clean_db(database: str) -> Iterator[None]:
    reset_data()
    yield


@pytest.fixture
def db(clean_db: None) -> Iterator[Session]:
    session = get_sessionmaker()()
    yield session
    session.close()


def user_by_email(session: Session, email: str) -> User:
    from sqlalchemy import select

    user = session.scalar(select(User).where(User.email == email))
    assert user is not None, email
    return user


def token_for(email: str) -> str:
    with get_sessionmaker()() as session:
        user = user_by_email(session, email)
        return create_access_token(user.id, user.role)


def auth(email: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token_for(email)}"}
