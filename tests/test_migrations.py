from sqlalchemy import create_engine, text

from tests.conftest import TEST_DATABASE_URL, TEST_DB_NAME, _recreate_database, alembic

MIGRATION_DB = TEST_DATABASE_URL.rsplit("/", 1)[0] + f"/{TEST_DB_NAME}_migrations"


def test_upgrade_head_on_empty_database_then_no_drift() -> None:
    _recreate_database(MIGRATION_DB)
    upgrade = alembic("upgrade", "head", database_url=MIGRATION_DB)
    assert upgrade.returncode == 0, upgrade.stderr
    check = alembic("check", database_url=MIGRATION_DB)
    assert check.returncode == 0, check.stdout + check.stderr
    engine = create_engine(MIGRATION_DB)
    with engine.connect() as connection:
        indexes = set(connection.execute(text("SELECT indexname FROM pg_indexes")).scalars())
    engine.dispose()
    for name in [
        "ix_notifications_user_created",
        "ix_notifications_user_unread",
        "uq_notifications_event_user",
        "ix_event_logs_type_created",
        "ix_event_logs_entity",
        "ix_event_logs_pending",
    ]:
        assert name in indexes
