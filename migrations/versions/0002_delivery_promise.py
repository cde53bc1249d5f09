"""delivery promise: unread versions, redelivery bookkeeping

Revision ID: 0002
Revises: 0001
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import common.models.base

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("users", sa.Column("unread_version", sa.Integer(), server_default="0", nullable=False))
    op.add_column("event_logs", sa.Column("sends", sa.Integer(), server_default="0", nullable=False))
    op.add_column(
        "event_logs", sa.Column("redeliver_at", common.models.base.UTCDateTime(timezone=True), nullable=True)
    )
    op.create_index(
        "ix_event_logs_redeliver",
        "event_logs",
        ["redeliver_at"],
        postgresql_where=sa.text("state = 'QUEUED'"),
        sqlite_where=sa.text("state = 'QUEUED'"),
    )


    op.create_index("ix_order_status_history_at", "order_status_history", ["at"])


def downgrade() -> None:
    op.drop_index("ix_order_status_history_at", table_name="order_status_history")
    op.drop_index("ix_event_logs_redeliver", table_name="event_logs")
    op.drop_column("event_logs", "redeliver_at")
    op.drop_column("event_logs", "sends")
    op.drop_column("users", "unread_version")
