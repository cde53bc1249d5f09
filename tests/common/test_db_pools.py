"""The connection budget (common/db.py): each process role has its own pool size,
DB_POOL_SIZE / DB_MAX_OVERFLOW win where set, and a forked child (a Celery pool
process) builds a small engine of its own instead of the parent's."""

import os

import pytest

from common import db
from common.config import get_settings


@pytest.fixture
def role_restored(database: str):  # the test database exists (on a fresh machine, made here)
    before = db._process_role  # noqa: SLF001
    yield
    db.set_process_role(before)


def test_each_role_has_its_pool_and_the_settings_win(monkeypatch: pytest.MonkeyPatch) -> None:
    assert db.pool_size_for("gateway") == db.PoolSize(36, 4)
    assert db.pool_size_for("worker_pool") == db.PoolSize(2, 1)
    monkeypatch.setattr(get_settings(), "db_pool_size", 5)
    assert db.pool_size_for("gateway") == db.PoolSize(5, 4)
    monkeypatch.setattr(get_settings(), "db_max_overflow", 0)
    assert db.pool_size_for("worker_pool") == db.PoolSize(5, 0)
    with pytest.raises(ValueError, match="unknown process role"):
        db.set_process_role("nobody")


def test_the_engine_follows_the_role(role_restored: None) -> None:
    db.set_process_role("gateway")
    gateway_engine = db.get_engine()
    assert gateway_engine.pool.size() == 36  # type: ignore[attr-defined]
    db.set_process_role("beat")
    assert db.get_engine() is not gateway_engine
    assert db.get_engine().pool.size() == 1  # type: ignore[attr-defined]


def test_a_forked_child_is_a_pool_process_with_an_engine_of_its_own(role_restored: None) -> None:
    db.set_process_role("worker")
    parent_engine = db.get_engine()
    with parent_engine.connect() as connection:  # the parent holds a pooled connection
        connection.exec_driver_sql("SELECT 1")
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # the child: report its role, whether its engine is new, and that it works
        try:
            engine = db.get_engine()
            with engine.connect() as connection:
                works = connection.exec_driver_sql("SELECT 1").scalar() == 1
            os.write(write, f"{db._process_role} {engine is not parent_engine} {works}".encode())  # noqa: SLF001
        finally:
            os._exit(0)
    os.close(write)
    os.waitpid(child, 0)
    assert os.read(read, 200).decode() == "worker_pool True True"
    os.close(read)
    with parent_engine.connect() as connection:  # the parent's connections were left alone
        assert connection.exec_driver_sql("SELECT 1").scalar() == 1
