"""the gateways' catch-up reads by index: when events were handled, when rows were read or archived

Built CONCURRENTLY on PostgreSQL (outside the migration's transaction), so
event_logs and notifications take writes meanwhile; plain on SQLite. The two
notification indexes are partial: a new (unread) row adds no entry to them.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# name, table, column, partial condition
_INDEXES = [
    ("ix_event_logs_processed", "event_logs", "processed_at", None),
    ("ix_notifications_read_at", "notifications", "read_at", "read_at IS NOT NULL"),
    ("ix_notifications_archived_at", "notifications", "archived_at", "archived_at IS NOT NULL"),
]


def _concurrently() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def upgrade() -> None:
    if _concurrently():
        with op.get_context().autocommit_block():
            for name, table, column, where in _INDEXES:
                # A build interrupted earlier leaves an INVALID index of this name: start again.
                op.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")
                condition = f" WHERE {where}" if where else ""
                op.execute(f"CREATE INDEX CONCURRENTLY {name} ON {table} ({column}){condition}")
        return
    for name, table, column, where in _INDEXES:
        extra = {"sqlite_where": sa.text(where)} if where else {}
        op.create_index(name, table, [column], **extra)


def downgrade() -> None:
    if _concurrently():
        with op.get_context().autocommit_block():
            for name, _table, _column, _where in _INDEXES:
                op.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")
        return
    for name, table, _column, _where in _INDEXES:
        op.drop_index(name, table_name=table)
