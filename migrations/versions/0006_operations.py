"""operations: an index for the event log's state filter and the outbox's oldest event

Revision ID: 0006
Revises: 0002
"""
from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_event_logs_state_created", "event_logs", ["state", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_event_logs_state_created", table_name="event_logs")
