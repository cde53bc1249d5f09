"""delivery promise: unread versions, redelivery bookkeeping

Revision ID: 0002
Revises: 0001
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("users", sa.Column("unread_version", sa.Integer(), server_default="0", nullable=False))
    op.add_column("event_logs", sa.Column("sends", sa.Integer(), server_default="0", nullable=False))
    op.create_index(
        "ix_event_logs_queued",
        "event_logs",
        ["queued_at"],
        postgresql_where=sa.text("state = 'QUEUED'"),
        sqlite_where=sa.text("state = 'QUEUED'"),
    )


def downgrade() -> None:
    op.drop_index("ix_event_logs_queued", table_name="event_logs")
    op.drop_column("event_logs", "sends")
    op.drop_column("users", "unread_version")
